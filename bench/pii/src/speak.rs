//! How people say numbers on the phone, as a recogniser would write them down: digits
//! written with the caller's grouping, English digit words ("four one one one", "oh",
//! "double seven"), Japanese readings in katakana or kanji (「ゼロ・キュウ・ゼロ」,
//! 「〇九〇」).

use crate::rng::Rng;

/// A number's digits in groups, as said (e.g. [090, 1234, 5678]).
pub type Groups = Vec<String>;

/// Splits `digits` into groups of the given sizes (the rest in a last group).
pub fn grouped(digits: &str, sizes: &[usize]) -> Groups {
    let mut out = Vec::new();
    let mut at = 0;
    for &n in sizes {
        if at >= digits.len() {
            break;
        }
        let end = (at + n).min(digits.len());
        out.push(digits[at..end].to_string());
        at = end;
    }
    if at < digits.len() {
        out.push(digits[at..].to_string());
    }
    out
}

/// How one group of digits is written or said.
#[derive(Clone, Copy, Debug)]
pub enum Form {
    Written,
    English,
    Katakana,
    Kanji,
    FullWidth,
}

pub fn english_forms() -> &'static [Form] {
    &[Form::Written, Form::English]
}

pub fn japanese_forms() -> &'static [Form] {
    &[Form::Written, Form::Katakana, Form::Kanji, Form::FullWidth]
}

const EN: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const KATAKANA: [&[&str]; 10] = [
    &["ゼロ", "マル", "レイ"],
    &["イチ"],
    &["ニ", "ニー"],
    &["サン"],
    &["ヨン"],
    &["ゴ", "ゴー"],
    &["ロク"],
    &["ナナ"],
    &["ハチ"],
    &["キュウ", "キュー"],
];
const KANJI: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

fn digit(c: char) -> usize {
    c.to_digit(10).map_or(0, |d| d as usize)
}

/// One group in `form`.
pub fn say_group(rng: &Rng, group: &str, form: Form) -> String {
    match form {
        Form::Written => group.to_string(),
        Form::FullWidth => group
            .chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c))
            .collect(),
        Form::Kanji => group.chars().map(|c| KANJI[digit(c)]).collect(),
        Form::Katakana => {
            let sep = rng.pick(&["・", "", " "]);
            let words: Vec<&str> = group
                .chars()
                .map(|c| rng.pick(KATAKANA[digit(c)]))
                .collect();
            words.join(sep)
        }
        Form::English => {
            let chars: Vec<char> = group.chars().collect();
            let mut words = Vec::new();
            let mut i = 0;
            while i < chars.len() {
                let d = digit(chars[i]);
                let zero = if d == 0 && rng.chance(0.5) {
                    "oh"
                } else {
                    EN[d]
                };
                if i + 1 < chars.len() && chars[i + 1] == chars[i] && rng.chance(0.3) {
                    words.push(format!("double {zero}"));
                    i += 2;
                } else {
                    words.push(zero.to_string());
                    i += 1;
                }
            }
            words.join(" ")
        }
    }
}

/// Groups said one after the other in one breath, with the separator the form uses.
pub fn say_groups(rng: &Rng, groups: &[String], form: Form) -> String {
    let sep = match form {
        Form::Written => rng.pick(&["-", " ", ""]),
        Form::FullWidth => rng.pick(&["－", "ー", ""]),
        Form::English => ", ",
        Form::Katakana | Form::Kanji => rng.pick(&["の", "、", " "]),
    };
    let said: Vec<String> = groups.iter().map(|g| say_group(rng, g, form)).collect();
    said.join(sep)
}
