use proptest::prelude::*;

use super::*;
use crate::analysis::Word;

fn utterance(speaker: usize, start: f64, text: &str) -> Utterance {
    Utterance {
        speaker,
        start,
        end: start + 2.0,
        text: text.into(),
        words: Vec::new(),
    }
}

fn transcript(utterances: Vec<Utterance>) -> Transcript {
    Transcript {
        format: 1,
        duration_seconds: 60.0,
        language: "en".into(),
        speech: [Vec::new(), Vec::new()],
        voices: [None, None],
        utterances,
        overlaps_estimated: false,
        truncated: false,
    }
}

fn redacted_texts(utterances: Vec<Utterance>, names: &[&str]) -> Vec<String> {
    let names = names_to_find(names.iter().copied());
    let (out, _) = redact(&transcript(utterances), &names);
    out.utterances.into_iter().map(|u| u.text).collect()
}

fn one(text: &str) -> String {
    redacted_texts(vec![utterance(1, 0.0, text)], &[]).remove(0)
}

#[test]
fn written_numbers_by_kind() {
    assert_eq!(
        one("My card is 4111 1111 1111 1111, thanks."),
        "My card is [card number], thanks."
    );
    assert_eq!(
        one("電話番号は090-1234-5678です"),
        "電話番号は[phone number]です"
    );
    assert_eq!(
        one("Call +44 20 7946 0958 please"),
        "Call [phone number] please"
    );
    assert_eq!(
        one("マイナンバーは123456789018です"),
        "マイナンバーは[my number]です"
    );
    assert_eq!(one("〒150-0002 東京都"), "〒[postal code] 東京都");
    assert_eq!(
        one("write to jane.doe@example.co.jp today"),
        "write to [e-mail] today"
    );
}

#[test]
fn spoken_numbers_across_phrases() {
    let texts = redacted_texts(
        vec![
            utterance(1, 0.0, "It's four one one one,"),
            utterance(0, 2.5, "Yes."),
            utterance(1, 3.0, "one one one one, one one one one"),
            utterance(1, 6.0, "and one one one one."),
        ],
        &[],
    );
    assert_eq!(
        texts,
        [
            "It's [card number],",
            "Yes.",
            "[card number]",
            "and [card number]."
        ]
    );
    assert_eq!(
        one("ゼロ・キュウ・ゼロの、イチニーサンヨンの、ゴーロクナナハチ"),
        "[phone number]"
    );
    assert_eq!(
        one("zero nine oh double four five six, seven eight nine oh"),
        "[phone number]"
    );
}

#[test]
fn what_is_not_personal_data_stays() {
    for text in [
        "はい、承知しました。",
        "The order 12345 ships in 3 days for 1,200 yen.",
        "Invoice 4111111111111112 failed the check.", // 16 digits, Luhn fails
        "It was one of those days, two or three times.",
        "Meeting on April 12, 2026.", // a date, but not said to be a birth date
        "Room 1234567",               // seven digits, no postal context
    ] {
        assert_eq!(one(text), text);
    }
}

#[test]
fn a_misheard_card_number_goes_when_a_card_was_asked_for() {
    // Recognition dropped three digits: the check digit fails, the question says "card".
    let texts = redacted_texts(
        vec![
            utterance(0, 0.0, "Could I have your card number, please?"),
            utterance(1, 3.0, "Sure, 4111111111111"),
        ],
        &[],
    );
    assert_eq!(texts[1], "Sure, [card number]");
    // Recognition dropped digits of a phone number the customer was asked for.
    let texts = redacted_texts(
        vec![
            utterance(0, 0.0, "And a phone number to call you back?"),
            utterance(1, 3.0, "01234-678"),
        ],
        &[],
    );
    assert_eq!(texts[1], "[phone number]");
}

#[test]
fn dates_of_birth_only_when_said_to_be_one() {
    assert_eq!(
        one("My date of birth is March 3, 1985."),
        "My date of birth is [date of birth]."
    );
    assert_eq!(
        one("生年月日は1985年3月3日です"),
        "生年月日は[date of birth]です"
    );
}

#[test]
fn names_from_the_call_data() {
    let texts = redacted_texts(
        vec![
            utterance(0, 0.0, "This is Tanaka from Acme."),
            utterance(1, 3.0, "Hi, Jane Smith here. Smithson is my boss."),
            utterance(1, 20.0, "鈴木太郎と申します"),
        ],
        &["Tanaka Ichiro", "Jane Smith", "鈴木 太郎"],
    );
    assert_eq!(
        texts,
        [
            "This is [name] from Acme.",
            "Hi, [name] here. Smithson is my boss.",
            "[name]と申します"
        ]
    );
}

#[test]
fn word_timings_follow_the_phrase() {
    let mut u = utterance(1, 0.0, "Card 4111 1111 1111 1111 ok");
    let words = ["Card", "4111", "1111", "1111", "1111", "ok"];
    u.words = words
        .iter()
        .enumerate()
        .map(|(i, w)| Word {
            start: i as f64 * 0.3,
            end: i as f64 * 0.3 + 0.25,
            text: format!(" {w}"),
        })
        .collect();
    let (out, counts) = redact(&transcript(vec![u]), &[]);
    let words: Vec<_> = out.utterances[0]
        .words
        .iter()
        .map(|w| (w.text.as_str(), w.start, w.end))
        .collect();
    assert_eq!(
        words,
        [
            (" Card", 0.0, 0.25),
            (" [card number]", 0.3, 1.45),
            (" ok", 1.5, 1.75)
        ]
    );
    assert_eq!(counts.get(&PiiKind::CardNumber), Some(&1));

    // Words that cannot be placed in the text go, rather than keep a card number.
    let mut u = utterance(1, 0.0, "Card 4111111111111111");
    u.words = vec![Word {
        start: 0.0,
        end: 1.0,
        text: " 4111-1111-1111-1111".into(),
    }];
    let (out, _) = redact(&transcript(vec![u]), &[]);
    assert!(out.utterances[0].words.is_empty());
}

/// A card number with a valid check digit: 15 random digits and the Luhn digit.
fn card() -> impl Strategy<Value = String> {
    proptest::collection::vec(0u32..10, 15).prop_map(|digits| {
        let body: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
        let check = (0..10)
            .find(|c| digits::luhn(&format!("{body}{c}")))
            .unwrap_or(0);
        format!("{body}{check}")
    })
}

const WORDS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const KANA: [&str; 10] = [
    "ゼロ",
    "イチ",
    "ニー",
    "サン",
    "ヨン",
    "ゴー",
    "ロク",
    "ナナ",
    "ハチ",
    "キュウ",
];

proptest! {
    /// However a card number is read out (digits, English words or kana, in groups, over
    /// up to four phrases), no digit of it is left in the redacted text.
    #[test]
    fn a_card_read_out_in_any_form_is_redacted(
        number in card(),
        form in 0usize..3,
        pieces in 1usize..=4,
        lead in "(Sure|はい|OK)",
    ) {
        let said: Vec<String> = number.chars().map(|c| {
            let d = c.to_digit(10).unwrap_or(0) as usize;
            match form {
                0 => c.to_string(),
                1 => WORDS[d].to_string(),
                _ => KANA[d].to_string(),
            }
        }).collect();
        let per = said.len().div_ceil(pieces);
        let sep = if form == 2 { "・" } else { " " };
        let mut utterances = vec![utterance(1, 0.0, &lead)];
        for (i, chunk) in said.chunks(per).enumerate() {
            utterances.push(utterance(1, 2.5 * (i + 1) as f64, &chunk.join(sep)));
        }
        let texts = redacted_texts(utterances, &[]);
        for text in &texts[1..] {
            prop_assert_eq!(text.as_str(), "[card number]");
        }
        prop_assert_eq!(texts[0].as_str(), lead.as_str());
    }

    /// Text with no digits, digit words or names comes back unchanged.
    #[test]
    fn text_without_numbers_is_unchanged(text in "[a-z ,.?]{0,80}") {
        let has_digit_word = text
            .split(|c: char| !c.is_ascii_alphabetic())
            .any(|w| WORDS.contains(&w) || w == "oh" || w == "o");
        prop_assume!(!has_digit_word);
        prop_assert_eq!(one(&text), text);
    }
}
