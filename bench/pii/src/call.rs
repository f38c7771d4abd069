//! A generated call: the phrases of two speakers with their times, as the detector sees a
//! transcript, and where the planted personal data lies (the truth).

use std::ops::Range;

use kiku_domain::analysis::{Transcript, Utterance};
use kiku_domain::pii::PiiKind;

use crate::rng::Rng;

/// The agent (the company's side) and the customer.
pub const AGENT: usize = 0;
pub const CUSTOMER: usize = 1;

/// One planted piece of personal data: its kind and where it lies (one range per phrase
/// it runs over).
pub struct Planted {
    pub kind: PiiKind,
    pub pieces: Vec<(usize, Range<usize>)>,
}

pub struct Call {
    pub transcript: Transcript,
    /// The participants' full names, as the call data gives them.
    pub names: Vec<String>,
    pub truth: Vec<Planted>,
}

/// A part of a phrase: plain text, or text that is (part of) planted entity `n`.
pub enum Piece {
    Text(String),
    Pii(usize, String),
}

pub fn t(text: impl Into<String>) -> Piece {
    Piece::Text(text.into())
}

pub fn p(entity: usize, text: impl Into<String>) -> Piece {
    Piece::Pii(entity, text.into())
}

pub struct Builder {
    language: &'static str,
    utterances: Vec<Utterance>,
    truth: Vec<Planted>,
    at: f64,
    seconds_per_char: f64,
}

impl Builder {
    pub fn new(language: &'static str) -> Self {
        Self {
            language,
            utterances: Vec::new(),
            truth: Vec::new(),
            at: 0.5,
            seconds_per_char: if language == "ja" { 0.14 } else { 0.065 },
        }
    }

    /// A new piece of personal data of `kind`, to be placed with [`p`].
    pub fn entity(&mut self, kind: PiiKind) -> usize {
        self.truth.push(Planted {
            kind,
            pieces: Vec::new(),
        });
        self.truth.len() - 1
    }

    /// A phrase after the usual pause between turns (0.3–1.5 s).
    pub fn say(&mut self, rng: &Rng, speaker: usize, pieces: Vec<Piece>) {
        let gap = 0.3 + 1.2 * rng.unit();
        self.phrase(speaker, gap, pieces);
    }

    /// A phrase after a pause inside one's own turn, as when reading a number out in
    /// pieces (0.4–2.5 s).
    pub fn go_on(&mut self, rng: &Rng, speaker: usize, pieces: Vec<Piece>) {
        let gap = 0.4 + 2.1 * rng.unit();
        self.phrase(speaker, gap, pieces);
    }

    /// Time passes with talk that is not part of the set (a pause, hold music).
    pub fn pause(&mut self, seconds: f64) {
        self.at += seconds;
    }

    fn phrase(&mut self, speaker: usize, gap: f64, pieces: Vec<Piece>) {
        let index = self.utterances.len();
        let mut text = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(s) => text.push_str(&s),
                Piece::Pii(n, s) => {
                    let start = text.len();
                    text.push_str(&s);
                    self.truth[n].pieces.push((index, start..text.len()));
                }
            }
        }
        let start = self.at + gap;
        let end = start + 0.4 + self.seconds_per_char * text.chars().count() as f64;
        self.at = end;
        self.utterances.push(Utterance {
            speaker,
            start,
            end,
            text,
            words: Vec::new(),
        });
    }

    pub fn finish(self, names: Vec<String>) -> Call {
        let transcript = Transcript {
            format: 1,
            duration_seconds: self.at + 1.0,
            language: self.language.into(),
            speech: [Vec::new(), Vec::new()],
            voices: [None, None],
            utterances: self.utterances,
            overlaps_estimated: false,
            truncated: false,
        };
        Call {
            transcript,
            names,
            truth: self.truth,
        }
    }
}
