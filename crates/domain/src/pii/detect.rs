//! Finding personal data in the phrases of one speaker: numbers by their shape and check
//! digits (across phrases, as callers read them out in pieces), e-mail addresses, dates of
//! birth where the speaker says it is one, street addresses by their shape (a house number
//! and a street type; a ward, city or town of a prefecture and a block number), and the
//! names the call data or the company gives.

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
    Address,
    Name,
}

impl PiiKind {
    pub const ALL: [PiiKind; 8] = [
        Self::CardNumber,
        Self::PhoneNumber,
        Self::MyNumber,
        Self::PostalCode,
        Self::Email,
        Self::DateOfBirth,
        Self::Address,
        Self::Name,
    ];

    /// What replaces the span in a redacted text.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::CardNumber => "[card number]",
            Self::PhoneNumber => "[phone number]",
            Self::MyNumber => "[my number]",
            Self::PostalCode => "[postal code]",
            Self::Email => "[e-mail]",
            Self::DateOfBirth => "[date of birth]",
            Self::Address => "[address]",
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

/// What a number or date is, by the label said nearest before it ("your card number?",
/// 「郵便番号は」, "order number"). Personal labels count from what either party said in
/// the moments before; a label of something else ([`Cue::Other`]) only in the same phrase,
/// right before the number ("the tracking number is …"), so that an order mentioned
/// earlier does not hide a card read out later.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cue {
    Card,
    Phone,
    MyNumber,
    Postal,
    Birth,
    Other,
}

const CUES: &[(Cue, &[&str])] = &[
    (
        Cue::Card,
        &["card", "カード", "visa", "mastercard", "amex", "jcb"],
    ),
    (
        Cue::Phone,
        &[
            "phone",
            "mobile",
            "cell",
            "callback",
            "call me",
            "call you",
            "reach",
            "text me",
            "電話",
            "携帯",
            "連絡先",
            "折り返し",
        ],
    ),
    (
        Cue::MyNumber,
        &[
            "my number",
            "individual number",
            "マイナンバー",
            "個人番号",
            "番号カード",
        ],
    ),
    (
        Cue::Postal,
        &[
            "郵便番号",
            "〒",
            "postal code",
            "post code",
            "postcode",
            "zip",
        ],
    ),
    (
        Cue::Birth,
        &["生年月日", "誕生日", "生まれ", "birth", "born"],
    ),
];
/// Labels of numbers and dates that are not personal data.
const OTHER_CUES: &[&str] = &[
    "order",
    "tracking",
    "invoice",
    "account number",
    "customer id",
    "member",
    "reference",
    "ticket",
    "case number",
    "model",
    "part number",
    "serial",
    "barcode",
    "sku",
    "arrive",
    "deliver",
    "ship",
    "renew",
    "contract",
    "appointment",
    "technician",
    "due",
    "注文",
    "伝票",
    "追跡",
    "請求書",
    "会員",
    "お客様番号",
    "受付番号",
    "型番",
    "品番",
    "製造番号",
    "シリアル",
    "jan",
    "コード",
    "届け",
    "発送",
    "契約",
    "更新",
    "作業日",
    "予約",
];

/// The label ending nearest the end of `before` (what was said before the number) or of
/// `same_phrase` (its own phrase up to it), if any.
fn nearest_cue(before: &str, same_phrase: &str) -> Option<Cue> {
    let text = format!("{} {}", before.to_lowercase(), same_phrase.to_lowercase());
    let phrase_from = text.len() - same_phrase.to_lowercase().len();
    // Nearest first; of two ending at one place, the longer ("番号カード" over "カード").
    let mut best: Option<((usize, usize), Cue)> = None;
    let mut consider = |cue: Cue, word: &str, from: usize| {
        if let Some(at) = text[from..].rfind(word) {
            let key = (from + at + word.len(), word.len());
            if best.is_none_or(|(k, _)| key > k) {
                best = Some((key, cue));
            }
        }
    };
    for (cue, words) in CUES {
        for word in *words {
            consider(*cue, word, 0);
        }
    }
    for word in OTHER_CUES {
        consider(Cue::Other, word, phrase_from);
    }
    best.map(|(_, cue)| cue)
}

struct Patterns {
    address: Regex,
    address_ja: Regex,
    email: Regex,
    spoken_email: Regex,
    spoken_email_ja: Regex,
    date: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| Patterns {
        // "1234 Maple Avenue", "42 North Oak St., Apt 4B": a house number, the street's
        // capitalised name and its type.
        address: Regex::new(
            r"\b[0-9]{1,6}[A-Za-z]?,?\s+((?i:north|south|east|west)\s+)?([A-Z][A-Za-z'-]*\s+){1,3}(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|terrace|parkway|pkwy|circle|highway|hwy|square)\b\.?(,?\s+(?i:apartment|apt|suite|unit|flat)\.?\s*[0-9A-Za-z-]+)?",
        )
        .expect("valid pattern"),
        // 「東京都世田谷区桜丘3丁目12番5号」「横浜市中区山下町1-2-3」: a city, ward, town or
        // village (its prefecture may come first), then the block number.
        address_ja: Regex::new(&format!(
            r"({PREFECTURES})?[一-龥々ぁ-んァ-ヴー]{{1,6}}?[市区町村郡][一-龥々ァ-ヴーがヶケ]{{0,8}}?{JA_NUMBER}(丁目|番地|番|号|[-－ー‐])({JA_NUMBER})?((番地|番|号|[-－ー‐]){JA_NUMBER})*(番地|番|号)?"
        ))
        .expect("valid pattern"),
        email: Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
            .expect("valid pattern"),
        spoken_email: Regex::new(
            r"(?i)\b[a-z0-9]+(( dot | underscore | )[a-z0-9]+)* at [a-z0-9-]+( dot [a-z0-9-]+)*( dot (com|net|org|jp|co|ne|or|io|uk|de|info))\b",
        )
        .expect("valid pattern"),
        // 「yamada ドット taro アットマーク example ドット co ドット jp」
        spoken_email_ja: Regex::new(
            r"(?i)[a-z0-9._-]+( ?(ドット|アンダーバー|アンダースコア|ハイフン) ?[a-z0-9]+)* ?(アットマーク|アット) ?[a-z0-9-]+( ?(ドット|\.) ?[a-z0-9-]+)+",
        )
        .expect("valid pattern"),
        date: Regex::new(
            r"(?i)((19|20)[0-9]{2}\s*年\s*[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日|(昭和|平成|令和)\s*[0-9]{1,2}\s*年\s*[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日|\b(january|february|march|april|may|june|july|august|september|october|november|december)\s+[0-9]{1,2}(st|nd|rd|th)?,?\s+(19|20)[0-9]{2}\b|\b[0-9]{1,2}(st|nd|rd|th)?\s+(of\s+)?(january|february|march|april|may|june|july|august|september|october|november|december),?\s+(19|20)[0-9]{2}\b|\b[0-9]{1,2}/[0-9]{1,2}/(19|20)[0-9]{2}\b|\b(19|20)[0-9]{2}[-/][0-9]{1,2}[-/][0-9]{1,2}\b)",
        )
        .expect("valid pattern"),
    })
}

/// The 47 prefectures, as a pattern's alternatives.
const PREFECTURES: &str = "北海道|東京都|大阪府|京都府|(青森|岩手|宮城|秋田|山形|福島|茨城|栃木|群馬|埼玉|千葉|神奈川|新潟|富山|石川|福井|山梨|長野|岐阜|静岡|愛知|三重|滋賀|兵庫|奈良|和歌山|鳥取|島根|岡山|広島|山口|徳島|香川|愛媛|高知|福岡|佐賀|長崎|熊本|大分|宮崎|鹿児島|沖縄)県";
/// A block or house number in a Japanese address: digits (half or full width) or kanji.
const JA_NUMBER: &str = "[0-9０-９一二三四五六七八九十〇]+";

/// The digits of a run said in one phrase.
struct Segment {
    phrase: usize,
    spans: Vec<Range<usize>>,
    digits: String,
    /// The digits as 'd' with what separated them ("ddd-dddd", "d d d, d d d").
    shape: String,
}

/// Digits separated only by separators, possibly over several phrases; `plus`: a `+`
/// (or "plus") came first.
struct Run {
    segments: Vec<Segment>,
    plus: Option<(usize, Range<usize>)>,
}

fn runs(phrases: &[&str]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut current: Option<Run> = None;
    let mut plus_pending: Option<(usize, Range<usize>)> = None;
    for (phrase, text) in phrases.iter().enumerate() {
        for (range, token) in tokens(text) {
            match token {
                Token::Digits(d) => {
                    let run = current.get_or_insert_with(|| Run {
                        segments: Vec::new(),
                        plus: plus_pending.take(),
                    });
                    if run.segments.last().is_none_or(|s| s.phrase != phrase) {
                        run.segments.push(Segment {
                            phrase,
                            spans: Vec::new(),
                            digits: String::new(),
                            shape: String::new(),
                        });
                    }
                    if let Some(segment) = run.segments.last_mut() {
                        segment.spans.push(range);
                        segment.shape.push_str(&"d".repeat(d.len()));
                        segment.digits.push_str(&d);
                    }
                }
                Token::Separator => {
                    let segment = current.as_mut().and_then(|r| r.segments.last_mut());
                    if let Some(segment) = segment.filter(|s| s.phrase == phrase) {
                        // Words between digits ("double", "uh", 「えーと」) count as spacing.
                        let separator = &text[range];
                        let word = separator.chars().nth(1).is_some();
                        segment.shape.push_str(if word { " " } else { separator });
                    }
                }
                Token::Plus => {
                    out.extend(current.take());
                    plus_pending = Some((phrase, range));
                }
                Token::Other => {
                    out.extend(current.take());
                    plus_pending = None;
                }
            }
        }
    }
    out.extend(current.take());
    out
}

/// The sizes of the groups a number was said in: split at dashes, commas and phrase
/// ends where there are any ("four one five, five five five, …"), else at spaces.
fn group_sizes(shapes: &[&str]) -> Vec<usize> {
    let joined = shapes
        .iter()
        .map(|s| s.trim_end_matches(|c| c != 'd'))
        .collect::<Vec<_>>()
        .join("|");
    let strong = |c: char| {
        matches!(
            c,
            '-' | '－' | 'ー' | ',' | '、' | '|' | '(' | ')' | '.' | 'の'
        )
    };
    let groups: Vec<usize> = if joined.contains(strong) {
        joined
            .split(strong)
            .map(|g| g.matches('d').count())
            .collect()
    } else {
        joined.split(' ').map(|g| g.matches('d').count()).collect()
    };
    groups.into_iter().filter(|&n| n > 0).collect()
}

fn classify(digits: &str, plus: bool, sizes: &[usize], cue: Option<Cue>) -> Option<PiiKind> {
    let n = digits.len();
    if cue == Some(Cue::Other) {
        return None;
    }
    // A card's number in its printed grouping (4-4-4-4, American Express 4-6-5) is one even
    // when recognition got a digit wrong and the check digit fails.
    let card_groups = matches!(sizes, [4, 4, 4, 4] | [4, 6, 5]);
    if (13..=19).contains(&n) && (luhn(digits) || cue == Some(Cue::Card) || card_groups) {
        return Some(PiiKind::CardNumber);
    }
    if n == 12 && !plus && (my_number(digits) || cue == Some(Cue::MyNumber)) {
        return Some(PiiKind::MyNumber);
    }
    // North American numbers are said area code, exchange, line: 3-3-4 (with a leading 1).
    let nanp = matches!(sizes, [3, 3, 4] | [1, 3, 3, 4]) && !digits.starts_with('0');
    if (plus && (8..=15).contains(&n))
        || (digits.starts_with('0') && (10..=11).contains(&n))
        || nanp
    {
        return Some(PiiKind::PhoneNumber);
    }
    if n == 7 && (sizes == [3, 4] || cue == Some(Cue::Postal)) {
        return Some(PiiKind::PostalCode);
    }
    if (7..=15).contains(&n) && cue == Some(Cue::Phone) {
        return Some(PiiKind::PhoneNumber);
    }
    None
}

/// The personal data in `phrases`, consecutive phrases of one speaker (a number may run
/// over several). `before[i]`: what either party said in the moments before phrase `i`
/// began, which tells what a number is ("your card number?"). `names`: the people's names
/// to look for (from the call data), matched case-insensitively as whole words.
pub fn find(phrases: &[&str], before: &[String], names: &[String]) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    let cue_at = |phrase: usize, at: usize| {
        let before = before.get(phrase).map_or("", String::as_str);
        nearest_cue(before, phrases[phrase].get(..at).unwrap_or(""))
    };
    for run in runs(phrases) {
        // The longest stretch of phrases that makes a number, from the first on: digits
        // said in the next phrase may be the next number, not the rest of this one.
        let mut first = 0;
        while first < run.segments.len() {
            let mut taken = 0;
            for last in (first..run.segments.len()).rev() {
                let segments = &run.segments[first..=last];
                let digits: String = segments.iter().map(|s| s.digits.as_str()).collect();
                let shapes: Vec<&str> = segments.iter().map(|s| s.shape.as_str()).collect();
                let plus = if first == 0 { run.plus.clone() } else { None };
                let (phrase, at) = match (&plus, segments[0].spans.first()) {
                    (Some((p, r)), _) => (*p, r.start),
                    (None, Some(r)) => (segments[0].phrase, r.start),
                    (None, None) => continue,
                };
                let cue = cue_at(phrase, at);
                if let Some(kind) = classify(&digits, plus.is_some(), &group_sizes(&shapes), cue) {
                    // One span per phrase, from its first piece to its last, fillers included.
                    for segment in segments {
                        let (Some(s), Some(e)) = (segment.spans.first(), segment.spans.last())
                        else {
                            continue;
                        };
                        let start = match &plus {
                            Some((p, r)) if *p == segment.phrase => r.start,
                            _ => s.start,
                        };
                        found.push(Finding {
                            kind,
                            phrase: segment.phrase,
                            range: start..e.end,
                        });
                    }
                    taken = last - first + 1;
                    break;
                }
            }
            first += taken.max(1);
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
        patterns
            .spoken_email_ja
            .find_iter(text)
            .for_each(|m| add(PiiKind::Email, m));
        patterns
            .address
            .find_iter(text)
            .for_each(|m| add(PiiKind::Address, m));
        for m in patterns.address_ja.find_iter(text) {
            // 「2番目」 counts; it is no block number.
            if !text[m.end()..].starts_with('目') {
                add(PiiKind::Address, m);
            }
        }
        for m in patterns.date.find_iter(text) {
            // 「1985年4月12日生まれ」: the label may follow the date.
            let born_after = text[m.end()..].trim_start().starts_with("生まれ");
            if born_after || cue_at(phrase, m.start()) == Some(Cue::Birth) {
                add(PiiKind::DateOfBirth, m);
            }
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
