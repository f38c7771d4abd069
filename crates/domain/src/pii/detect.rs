//! Finding personal data in the phrases of one speaker: numbers by their shape and check
//! digits (across phrases, as callers read them out in pieces), e-mail addresses, dates of
//! birth where the speaker says it is one, and the names the call data or the company gives.

use std::ops::Range;

use regex_lite::Regex;
use serde::{Deserialize, Serialize};

use super::digits::{luhn, my_number, tokens, Token};

/// What kind of personal data a span holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    CardNumber,
    PhoneNumber,
    MyNumber,
    PostalCode,
    Email,
    DateOfBirth,
    Name,
}

impl PiiKind {
    /// What replaces the span in a redacted text.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::CardNumber => "[card number]",
            Self::PhoneNumber => "[phone number]",
            Self::MyNumber => "[my number]",
            Self::PostalCode => "[postal code]",
            Self::Email => "[e-mail]",
            Self::DateOfBirth => "[date of birth]",
            Self::Name => "[name]",
        }
    }
}

/// A span of personal data: phrase `phrase` (an index into the slice given), bytes `range`.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: PiiKind,
    pub phrase: usize,
    pub range: Range<usize>,
}

/// Words that say a number or a date near them is a postal code or a date of birth.
const POSTAL_CONTEXT: &[&str] = &["郵便番号", "〒", "postal code", "post code", "zip"];
const BIRTH_CONTEXT: &[&str] = &["生年月日", "誕生日", "生まれ", "birth", "born"];
/// Words that say a long number is a card's, even when recognition got a digit wrong and
/// its check digit fails.
const CARD_CONTEXT: &[&str] = &["card", "カード", "visa", "mastercard", "amex"];
/// Words that say a shorter or misheard number is a phone number.
const PHONE_CONTEXT: &[&str] = &["phone", "mobile", "電話", "携帯", "連絡先"];

fn mentions(text: &str, words: &[&str]) -> bool {
    let lower = text.to_lowercase();
    words.iter().any(|w| lower.contains(w))
}

struct Patterns {
    email: Regex,
    spoken_email: Regex,
    date: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| Patterns {
        email: Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
            .expect("valid pattern"),
        spoken_email: Regex::new(
            r"(?i)\b[a-z0-9]+(( dot | underscore | )[a-z0-9]+)* at [a-z0-9-]+( dot [a-z0-9-]+)*( dot (com|net|org|jp|co|ne|or|io|uk|de|info))\b",
        )
        .expect("valid pattern"),
        date: Regex::new(
            r"(?i)((19|20)[0-9]{2}\s*年\s*[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日|(昭和|平成|令和)\s*[0-9]{1,2}\s*年\s*[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日|\b(january|february|march|april|may|june|july|august|september|october|november|december)\s+[0-9]{1,2}(st|nd|rd|th)?,?\s+(19|20)[0-9]{2}\b|\b[0-9]{1,2}(st|nd|rd|th)?\s+(of\s+)?(january|february|march|april|may|june|july|august|september|october|november|december),?\s+(19|20)[0-9]{2}\b|\b[0-9]{1,2}/[0-9]{1,2}/(19|20)[0-9]{2}\b|\b(19|20)[0-9]{2}[-/][0-9]{1,2}[-/][0-9]{1,2}\b)",
        )
        .expect("valid pattern"),
    })
}

/// A run of digits: where each of its tokens lies, the digits, and whether `+` came first.
struct Run {
    spans: Vec<(usize, Range<usize>)>,
    digits: String,
    plus: bool,
    /// Written in one phrase as `ddd-dddd` (a postal code's written form).
    postal_form: bool,
}

fn runs(phrases: &[&str]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut current: Option<Run> = None;
    let mut plus_pending: Option<(usize, Range<usize>)> = None;
    let mut shape = String::new(); // the run's characters, digits as 'd', for its written form
    for (phrase, text) in phrases.iter().enumerate() {
        for (range, token) in tokens(text) {
            match token {
                Token::Digits(d) => {
                    if current.is_none() {
                        shape.clear();
                    }
                    let run = current.get_or_insert_with(|| {
                        let plus = plus_pending.take();
                        Run {
                            plus: plus.is_some(),
                            spans: plus.into_iter().collect(),
                            digits: String::new(),
                            postal_form: false,
                        }
                    });
                    run.spans.push((phrase, range.clone()));
                    run.digits.push_str(&d);
                    shape.push_str(&"d".repeat(d.len()));
                }
                Token::Separator => {
                    if current.is_some() {
                        shape.push_str(&text[range]);
                    }
                }
                Token::Plus => {
                    finish(&mut current, &mut shape, &mut out);
                    plus_pending = Some((phrase, range));
                }
                Token::Other => {
                    finish(&mut current, &mut shape, &mut out);
                    plus_pending = None;
                }
            }
        }
        // A phrase boundary separates, but does not end, a number read out in pieces.
        if current.is_some() {
            shape.push('|');
        }
    }
    finish(&mut current, &mut shape, &mut out);
    out
}

fn finish(current: &mut Option<Run>, shape: &mut String, out: &mut Vec<Run>) {
    if let Some(mut run) = current.take() {
        let written = shape.trim_end_matches(|c: char| c != 'd');
        run.postal_form = matches!(written, "ddd-dddd" | "ddd－dddd" | "dddーdddd");
        out.push(run);
    }
    shape.clear();
}

fn classify(run: &Run, context: &str) -> Option<PiiKind> {
    let n = run.digits.len();
    if (13..=19).contains(&n) && (luhn(&run.digits) || mentions(context, CARD_CONTEXT)) {
        return Some(PiiKind::CardNumber);
    }
    if n == 12 && my_number(&run.digits) {
        return Some(PiiKind::MyNumber);
    }
    if (run.plus && (8..=15).contains(&n))
        || (run.digits.starts_with('0') && (10..=11).contains(&n))
    {
        return Some(PiiKind::PhoneNumber);
    }
    if n == 7 && (run.postal_form || mentions(context, POSTAL_CONTEXT)) {
        return Some(PiiKind::PostalCode);
    }
    if (7..=15).contains(&n) && mentions(context, PHONE_CONTEXT) {
        return Some(PiiKind::PhoneNumber);
    }
    None
}

/// The personal data in `phrases`, consecutive phrases of one speaker (a number may run
/// over several). `context`: what was said around them by either party ("your card
/// number?"), which tells what a number is. `names`: the people's names to look for (from
/// the call data), matched case-insensitively as whole words.
pub fn find(phrases: &[&str], context: &str, names: &[String]) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    let context = format!("{context} {}", phrases.join(" "));
    for run in runs(phrases) {
        if let Some(kind) = classify(&run, &context) {
            // One span per phrase, from its first piece to its last, fillers included.
            let mut spans: Vec<Finding> = Vec::new();
            for (phrase, range) in run.spans {
                match spans.last_mut() {
                    Some(last) if last.phrase == phrase => last.range.end = range.end,
                    _ => spans.push(Finding {
                        kind,
                        phrase,
                        range,
                    }),
                }
            }
            found.extend(spans);
        }
    }
    let patterns = patterns();
    for (phrase, text) in phrases.iter().enumerate() {
        let mut add = |kind, m: regex_lite::Match<'_>| {
            found.push(Finding {
                kind,
                phrase,
                range: m.range(),
            })
        };
        patterns
            .email
            .find_iter(text)
            .for_each(|m| add(PiiKind::Email, m));
        patterns
            .spoken_email
            .find_iter(text)
            .for_each(|m| add(PiiKind::Email, m));
        if mentions(&context, BIRTH_CONTEXT) {
            patterns
                .date
                .find_iter(text)
                .for_each(|m| add(PiiKind::DateOfBirth, m));
        }
        for name in names {
            found.extend(name_spans(text, name).map(|range| Finding {
                kind: PiiKind::Name,
                phrase,
                range,
            }));
        }
    }
    found
}

/// Where `name` occurs in `text`, case-insensitively; as a whole word where words have
/// spaces (Latin script), anywhere in Japanese.
fn name_spans<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = Range<usize>> + 'a {
    let name = name.trim();
    let latin = name.is_ascii();
    let (hay, needle) = if latin {
        (text.to_ascii_lowercase(), name.to_ascii_lowercase())
    } else {
        (text.to_string(), name.to_string())
    };
    let usable = needle.chars().count() >= if latin { 3 } else { 2 };
    let mut spans = Vec::new();
    if usable {
        let mut from = 0;
        while let Some(at) = hay[from..].find(&needle) {
            let start = from + at;
            let end = start + needle.len();
            let word_edge = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
            if !latin
                || (word_edge(hay[..start].chars().next_back())
                    && word_edge(hay[end..].chars().next()))
            {
                spans.push(start..end);
            }
            from = end;
        }
    }
    spans.into_iter()
}
