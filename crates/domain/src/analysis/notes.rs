//! Call notes: what anyone reading a call wants first, picked from its phrases by fixed
//! rules (no model, so the same transcript always gives the same notes) — what the
//! customer asked for, what the company's user committed to, and the customer's
//! questions, each with the dates, times and amounts it names. English and Japanese.
//!
//! The rules look for the ways those are usually said ("I'd like…", "could you…",
//! 「〜したいのですが」「〜ください」; "I will…", "we'll…", 「〜いたします」「伺います」;
//! a question mark, 「〜ですか」), so they miss what is said in other ways and can
//! take a polite formula for a request: notes point at the phrases, the phrases are the
//! record.

use std::sync::OnceLock;

use regex_lite::Regex;
use serde::{Deserialize, Serialize};

use super::report::Phrase;
use super::Role;

/// What a note records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// The customer asks for something.
    Request,
    /// The user says the company will do something.
    Commitment,
    /// The customer asks a question.
    Question,
}

/// One note: a phrase of the call and what it names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallNote {
    pub kind: NoteKind,
    pub role: Role,
    /// The phrase's `order`.
    pub order: usize,
    pub start: f64,
    pub text: String,
    /// Days named: weekdays, dates, "tomorrow", 「十二日」「来週」…, as said.
    pub dates: Vec<String>,
    /// Times of day named ("9 am", 「午前九時」), as said.
    pub times: Vec<String>,
    /// Sums of money named ("$4", "500円"), as said.
    pub amounts: Vec<String>,
    /// Questions only: whether the user spoke on after it before the customer's next
    /// phrase (an answer may start while the question is asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<bool>,
}

/// The notes of a call whose phrases (in order) are `phrases`, in phrase order. A phrase
/// can be a request and a question at once ("Could you send it today?").
pub fn call_notes(phrases: &[Phrase]) -> Vec<CallNote> {
    let mut notes = Vec::new();
    for phrase in phrases {
        // As the transcript lines show it: without fillers ("えー、", "um,").
        let text = match phrase.text_without_fillers.trim() {
            "" => phrase.text.trim(),
            clean => clean,
        };
        let kinds = match phrase.role {
            Role::Customer => [
                is_request(text).then_some(NoteKind::Request),
                is_question(text).then_some(NoteKind::Question),
            ],
            Role::User => [is_commitment(text).then_some(NoteKind::Commitment), None],
        };
        for kind in kinds.into_iter().flatten() {
            let answered = (kind == NoteKind::Question).then(|| answered(phrase, phrases));
            notes.push(CallNote {
                kind,
                role: phrase.role,
                order: phrase.order,
                start: phrase.start,
                text: text.to_string(),
                dates: found(&patterns().dates, text),
                times: found(&patterns().times, text),
                amounts: found(&patterns().amounts, text),
                answered,
            });
        }
    }
    notes
}

/// Whether the user spoke on after `question` before the customer's next phrase: an
/// answer can start while the question is still being asked.
fn answered(question: &Phrase, phrases: &[Phrase]) -> bool {
    let next_from_customer = phrases
        .iter()
        .filter(|p| p.role == Role::Customer && p.start >= question.end)
        .map(|p| p.start)
        .fold(f64::INFINITY, f64::min);
    phrases
        .iter()
        .any(|p| p.role == Role::User && p.end > question.end && p.start < next_from_customer)
}

struct Patterns {
    request: Regex,
    commitment: Regex,
    question: Regex,
    dates: Regex,
    times: Regex,
    amounts: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("a fixed pattern");
        Patterns {
            request: re(concat!(
                r"(?i)\b(i would like|i'd like|i want|i need|we need|we would like|",
                r"can you|could you|would you|can i|could i|please|i'm calling (about|to)|",
                r"i am calling (about|to))\b",
                r"|たい(ん|の|です|と思|$)|ください|下さい|お願いします|お願いできますか|",
                r"いただけますか|頂けますか|もらえますか|くれますか|欲しい|ほしい"
            )),
            commitment: re(concat!(
                r"(?i)\b(i will|i'll|we will|we'll|i can|we can|let me|i am going to|",
                r"i'm going to|we are going to|we're going to|i'll make sure|",
                r"(will|shall) (call|send|deliver|email|e-mail|text|arrange|add|book|ship))\b",
                r"|いたします|致します|伺います|お伺いします|お送りします|お届けします|",
                r"折り返し|ご連絡します|お伝えしておきます|伝えておきます|手配します|",
                r"お待ちしております|確認して"
            )),
            question: re(r"[?？]\s*$|(か|かね|でしょうか|ますか|ですか)[。．.]?\s*$"),
            dates: re(concat!(
                r"(?i)\b(today|tomorrow|tonight|yesterday|next (week|month|monday|tuesday|",
                r"wednesday|thursday|friday|saturday|sunday)|this (week|weekend|afternoon|",
                r"morning|evening)|(on )?(monday|tuesday|wednesday|thursday|friday|",
                r"saturday|sunday)s?|(january|february|march|april|may|june|july|august|",
                r"september|october|november|december) \d{1,2}(st|nd|rd|th)?|",
                r"the \d{1,2}(st|nd|rd|th))\b",
                r"|[0-9０-９一二三四五六七八九十]+月[0-9０-９一二三四五六七八九十]+日",
                r"|[0-9０-９一二三四五六七八九十]+日の?[月火水木金土日]曜日",
                r"|[0-9０-９一二三四五六七八九十]+日|[月火水木金土日]曜日",
                r"|今日|明日|明後日|あした|あさって|来週|今週|来月|週末"
            )),
            times: re(concat!(
                r"(?i)\b\d{1,2}(:\d{2})?\s?(am|pm|a\.m\.|p\.m\.|o'clock)",
                r"|\b(noon|midnight)\b",
                r"|(午前|午後)?[0-9０-９一二三四五六七八九十]+時([0-9０-９一二三四五六七八九十]+分|半)?",
                r"|午前中|午後"
            )),
            amounts: re(concat!(
                r"(?i)[$€£¥]\s?\d[\d,]*(\.\d+)?",
                r"|\b\d[\d,]*(\.\d+)? ?(dollars?|euros?|pounds?|yen|cents?)\b",
                r"|[0-9０-９][0-9０-９,，]*(万|千)?円|[一二三四五六七八九十百千万]+円"
            )),
        }
    })
}

fn is_request(text: &str) -> bool {
    patterns().request.is_match(text)
}

fn is_commitment(text: &str) -> bool {
    patterns().commitment.is_match(text)
}

fn is_question(text: &str) -> bool {
    patterns().question.is_match(text)
}

/// Every match of `pattern` in `text`, as said, in order, without repeats.
fn found(pattern: &Regex, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in pattern.find_iter(text) {
        let s = m.as_str().trim().to_string();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(order: usize, role: Role, text: &str) -> Phrase {
        Phrase {
            order,
            role,
            start: order as f64 * 5.0,
            end: order as f64 * 5.0 + 4.0,
            text: text.into(),
            text_without_fillers: text.into(),
            filler_count: 0,
            in_summary: false,
            words: Vec::new(),
            sentiment: None,
        }
    }

    fn kinds(notes: &[CallNote]) -> Vec<(usize, NoteKind)> {
        notes.iter().map(|n| (n.order, n.kind)).collect()
    }

    #[test]
    fn an_english_call_gives_its_request_commitments_and_questions() {
        use Role::{Customer as C, User as U};
        let call = [
            phrase(0, U, "Thank you for calling Zentrix, this is Maya."),
            phrase(1, C, "Hi, I'd like to move my delivery to Friday."),
            phrase(
                2,
                U,
                "Sure. We can deliver it on Friday between 9 am and 1 pm.",
            ),
            phrase(3, C, "Is the cloud backup included, or is that extra?"),
            phrase(
                4,
                U,
                "It is included for the first year, after that it is $4 a month.",
            ),
            phrase(
                5,
                U,
                "I will send you a text when the driver is on the way.",
            ),
            phrase(6, C, "Great, thanks."),
            phrase(7, C, "Who do I call if it breaks?"),
        ];
        let notes = call_notes(&call);
        assert_eq!(
            kinds(&notes),
            [
                (1, NoteKind::Request),
                (2, NoteKind::Commitment),
                (3, NoteKind::Question),
                (5, NoteKind::Commitment),
                (7, NoteKind::Question),
            ]
        );
        assert_eq!(notes[0].dates, ["Friday"]);
        assert_eq!(notes[1].dates, ["on Friday"]);
        assert_eq!(notes[1].times, ["9 am", "1 pm"]);
        assert_eq!(notes[2].answered, Some(true));
        assert_eq!(
            notes[4].answered,
            Some(false),
            "nobody answered the last one"
        );
        assert!(notes[3].amounts.is_empty());
        // The price was the user's answer, not a commitment: it is not a note, and the
        // amount is found where a note names it.
        let priced = call_notes(&[phrase(0, C, "Could you do it for $4.50 a month?")]);
        assert_eq!(
            kinds(&priced),
            [(0, NoteKind::Request), (0, NoteKind::Question)]
        );
        assert_eq!(priced[0].amounts, ["$4.50"]);
    }

    #[test]
    fn a_japanese_call_gives_its_request_commitments_and_questions() {
        use Role::{Customer as C, User as U};
        let call = [
            phrase(0, U, "お電話ありがとうございます。ソラリンクの望月です。"),
            phrase(1, C, "工事の日程を変更したいのですが。"),
            phrase(2, U, "承知しました。十二日の水曜日、午前九時に伺います。"),
            phrase(3, C, "工事はどのくらいかかりますか。"),
            phrase(4, U, "三時間ほどです。料金は月額500円です。"),
            phrase(5, C, "では、スマートプランに変更してください。"),
            phrase(6, U, "かしこまりました。担当者に伝えておきます。"),
        ];
        let notes = call_notes(&call);
        assert_eq!(
            kinds(&notes),
            [
                (1, NoteKind::Request),
                (2, NoteKind::Commitment),
                (3, NoteKind::Question),
                (5, NoteKind::Request),
                (6, NoteKind::Commitment),
            ]
        );
        assert_eq!(notes[1].dates, ["十二日の水曜日"]);
        assert_eq!(notes[1].times, ["午前九時"]);
        assert_eq!(notes[2].answered, Some(true));
        assert!(
            call_notes(&call[4..5]).is_empty(),
            "a price said is no note"
        );
        assert_eq!(
            found(&patterns().amounts, &call[4].text),
            ["500円"],
            "amounts are found"
        );
    }

    #[test]
    fn an_answer_that_starts_during_the_question_answers_it() {
        let mut question = phrase(0, Role::Customer, "So what should I do now?");
        question.end = 6.0;
        let mut answer = phrase(1, Role::User, "We will send you a new router tomorrow.");
        (answer.start, answer.end) = (5.5, 9.0);
        // Sorted by start, the answer comes first.
        let notes = call_notes(&[answer.clone(), question.clone()]);
        let asked = notes
            .iter()
            .find(|n| n.kind == NoteKind::Question)
            .expect("question");
        assert_eq!(asked.answered, Some(true));
        // An earlier remark of the user's is no answer.
        (answer.start, answer.end) = (-3.0, -1.0);
        let notes = call_notes(&[answer, question]);
        let asked = notes
            .iter()
            .find(|n| n.kind == NoteKind::Question)
            .expect("question");
        assert_eq!(asked.answered, Some(false));
    }

    #[test]
    fn small_talk_and_past_events_are_no_notes() {
        use Role::{Customer as C, User as U};
        let call = [
            phrase(0, U, "Good morning, this is Rahul from Xero Network."),
            phrase(1, C, "Oh, I was at work all day."),
            phrase(2, U, "ご連絡いたしました。"),
            phrase(3, C, "はい、そうです。"),
        ];
        assert!(call_notes(&call).is_empty(), "{:?}", call_notes(&call));
    }
}
