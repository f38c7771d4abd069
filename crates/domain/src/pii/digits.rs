//! Numbers as callers say them: written digits with any grouping ("090-1234-5678",
//! "4111 1111 …"), English digit words ("four one one one", "double seven"), and Japanese
//! readings in kana or kanji (「ゼロ・キュウ・ゼロ」「〇九〇の一二三四」), across phrases.
//! The scanner turns text into tokens; a *run* is digits separated only by separators.

use std::ops::Range;

/// A piece of one phrase.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    /// Digits said or written here (one or more: "double four" is two).
    Digits(String),
    /// Spacing and punctuation a number may be grouped with.
    Separator,
    /// `+` or "plus": an international number follows.
    Plus,
    /// Anything else: a run of digits ends here.
    Other,
}

/// Kana readings of digits, longest first within each digit so that the longest matches.
const KANA: &[(&str, char)] = &[
    ("ゼロ", '0'),
    ("ぜろ", '0'),
    ("レイ", '0'),
    ("れい", '0'),
    ("マル", '0'),
    ("まる", '0'),
    ("イチ", '1'),
    ("いち", '1'),
    ("ニー", '2'),
    ("にい", '2'),
    ("ニ", '2'),
    ("に", '2'),
    ("サン", '3'),
    ("さん", '3'),
    ("ヨン", '4'),
    ("よん", '4'),
    ("シ", '4'),
    ("ゴー", '5'),
    ("ごう", '5'),
    ("ゴ", '5'),
    ("ご", '5'),
    ("ロク", '6'),
    ("ろく", '6'),
    ("ナナ", '7'),
    ("なな", '7'),
    ("シチ", '7'),
    ("ハチ", '8'),
    ("はち", '8'),
    ("キュウ", '9'),
    ("きゅう", '9'),
    ("キュー", '9'),
    ("ク", '9'),
];

const ENGLISH: &[(&str, char)] = &[
    ("zero", '0'),
    ("oh", '0'),
    ("o", '0'),
    ("one", '1'),
    ("two", '2'),
    ("three", '3'),
    ("four", '4'),
    ("five", '5'),
    ("six", '6'),
    ("seven", '7'),
    ("eight", '8'),
    ("nine", '9'),
];

/// Fillers a caller says between the pieces of a number; they do not end it.
const FILLERS_EN: &[&str] = &["and", "then", "uh", "um", "er", "erm"];
const FILLERS_JA: &[&str] = &["えーと", "えっと", "えー", "あのー", "あと", "で、"];

fn digit_of(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
        '〇' | '零' => Some('0'),
        '一' => Some('1'),
        '二' => Some('2'),
        '三' => Some('3'),
        '四' => Some('4'),
        '五' => Some('5'),
        '六' => Some('6'),
        '七' => Some('7'),
        '八' => Some('8'),
        '九' => Some('9'),
        _ => None,
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '‐'
                | '−'
                | '–'
                | 'ー'
                | '－'
                | '・'
                | '、'
                | '。'
                | ','
                | '.'
                | '，'
                | '('
                | ')'
                | '（'
                | '）'
                | 'の'
                | '/'
                | '…'
        )
}

/// The tokens of `text` with their byte ranges.
pub fn tokens(text: &str) -> Vec<(Range<usize>, Token)> {
    let mut out: Vec<(Range<usize>, Token)> = Vec::new();
    let mut repeat = 1; // "double"/"triple" before the next digit word
    let mut repeat_from = 0; // where that word began: it belongs to the digits' span
    let mut kana_digit_before = false; // the last digit was read in kana, separators since
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        let rest = &text[at..];
        if let Some(d) = digit_of(c) {
            kana_digit_before = false;
            out.push((at..at + c.len_utf8(), Token::Digits(d.to_string())));
            at += c.len_utf8();
            continue;
        }
        if let Some((reading, d)) = KANA.iter().find(|(k, _)| rest.starts_with(k)) {
            // 「に」「ご」 are particles too (「2404にお願いします」「ヨンにお願いします」):
            // digits only before another digit read in kana, or ending such a number.
            let after = &rest[reading.len()..];
            let digit_follows = KANA.iter().any(|(k, _)| after.starts_with(k));
            let ends_number = kana_digit_before && after.chars().next().is_none_or(is_separator);
            let particle = matches!(*reading, "に" | "ご") && !digit_follows && !ends_number;
            if !particle {
                out.push((at..at + reading.len(), Token::Digits(d.to_string())));
                at += reading.len();
                kana_digit_before = true;
                continue;
            }
        }
        kana_digit_before = kana_digit_before && is_separator(c);
        if let Some(plus) = ["プラス", "ぷらす"].iter().find(|p| rest.starts_with(*p)) {
            out.push((at..at + plus.len(), Token::Plus));
            at += plus.len();
            continue;
        }
        if let Some(filler) = FILLERS_JA.iter().find(|f| rest.starts_with(*f)) {
            out.push((at..at + filler.len(), Token::Separator));
            at += filler.len();
            continue;
        }
        if c.is_ascii_alphabetic() {
            let len = rest
                .find(|ch: char| !ch.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let word = rest[..len].to_ascii_lowercase();
            let mut from = at;
            let token = match word.as_str() {
                "double" => {
                    repeat = 2;
                    repeat_from = at;
                    Token::Separator
                }
                "triple" => {
                    repeat = 3;
                    repeat_from = at;
                    Token::Separator
                }
                "plus" => Token::Plus,
                w if FILLERS_EN.contains(&w) => Token::Separator,
                _ => match ENGLISH.iter().find(|(w, _)| *w == word) {
                    Some((_, d)) => {
                        let digits = d.to_string().repeat(repeat);
                        if repeat > 1 {
                            from = repeat_from;
                        }
                        repeat = 1;
                        Token::Digits(digits)
                    }
                    None => {
                        repeat = 1;
                        Token::Other
                    }
                },
            };
            out.push((from..at + len, token));
            at += len;
            continue;
        }
        let token = if c == '+' || c == '＋' {
            Token::Plus
        } else if is_separator(c) {
            Token::Separator
        } else {
            Token::Other
        };
        out.push((at..at + c.len_utf8(), token));
        at += c.len_utf8();
    }
    out
}

/// The Luhn checksum of a card number holds.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// The check digit of a 12-digit My Number (個人番号) holds.
pub fn my_number(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 12 || digits.len() != 12 {
        return false;
    }
    // P(n) is the n-th digit from the right of the first eleven; Q(n) its weight.
    let sum: u32 = (1..=11)
        .map(|n| {
            let p = d[11 - n];
            let q = if n <= 6 { n as u32 + 1 } else { n as u32 - 5 };
            p * q
        })
        .sum();
    let rest = sum % 11;
    let check = if rest <= 1 { 0 } else { 11 - rest };
    check == d[11]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(text: &str) -> String {
        tokens(text)
            .into_iter()
            .filter_map(|(_, t)| match t {
                Token::Digits(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn spoken_and_written_digits_read_the_same() {
        assert_eq!(digits("090-1234-5678"), "09012345678");
        assert_eq!(digits("zero nine oh, double four five"), "090445");
        assert_eq!(digits("ゼロ・キュウ・ゼロの一二三四"), "0901234");
        assert_eq!(digits("０９０ー１２"), "09012");
        assert_eq!(digits("ゼロキューゼロ"), "090");
    }

    #[test]
    fn check_digits() {
        assert!(luhn("4111111111111111"));
        assert!(!luhn("4111111111111112"));
        // A My Number whose check digit follows the published rule: 12345678901 → 8.
        assert!(my_number("123456789018"));
        assert!(!my_number("123456789011"));
    }
}
