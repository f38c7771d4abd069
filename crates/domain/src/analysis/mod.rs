//! A call's analysis as data. The engine produces a role-free [`Transcript`] (what each of
//! the two speakers said and when); [`Roles`] say which speaker is the user; the
//! [`Report`] (metrics, phrases, summary, score) is computed from both plus the company's
//! [`AnalysisSettings`], so a rule change or a role swap recomputes it without the audio.

pub mod detail;
mod miitel;
pub mod minutes;
mod mono_roles;
mod notes;
mod report;
mod roles;
pub mod sentiment;
mod settings;
pub mod text;

use serde::{Deserialize, Serialize};

use crate::metrics::Span;
use crate::Side;

pub use detail::CallDetail;
pub use miitel::{call_detail, detail, detail_parties, participant_id, DetailParty};
pub use mono_roles::{mono_roles, UserHints, REVIEW_BELOW};
pub use notes::{call_notes, CallNote, NoteKind};
pub use report::{report, KeywordHit, Phrase, Report, SpeakerReport};
pub use roles::{company_side, speaker_of_channel, stereo_roles, user_side};
pub use sentiment::{with_sentiment, Lexicons};
pub use settings::{AnalysisSettings, AudioRedaction, Language};
pub use text::counts_characters;

/// Bumped when the transcript's meaning changes, so stored ones can be told apart.
pub const TRANSCRIPT_FORMAT: u32 = 1;

/// One of the two voices of a call: 0 and 1. For STEREO calls speaker 0 is the left channel.
pub type Speaker = usize;

/// What the engine heard, with no opinion on who is the user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub format: u32,
    /// Length of the recording.
    pub duration_seconds: f64,
    /// The language recognised (or the one fixed by the company), as a Whisper code.
    pub language: String,
    /// Speech of speaker 0 and speaker 1.
    pub speech: [Vec<Span>; 2],
    pub voices: [Option<Voice>; 2],
    /// In order of start time.
    pub utterances: Vec<Utterance>,
    /// Mono recordings: overlaps come from diarization, an estimate.
    #[serde(default)]
    pub overlaps_estimated: bool,
    /// The recording ran past the decode cap: only its first `duration_seconds` were analysed.
    #[serde(default)]
    pub truncated: bool,
}

/// Pitch of one speaker's voiced speech.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Voice {
    pub f0_mean_hz: f64,
    pub f0_std_dev_hz: f64,
}

/// Text one speaker said between two times (seconds from the start of the recording).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    pub speaker: Speaker,
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// Word timings, where the model gives them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// The recogniser's confidence in the word (0–1); `None` for analyses stored before
    /// it was kept, and for a redaction's placeholder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl Word {
    /// A word without the recogniser's confidence (a placeholder, or one written by hand).
    pub fn new(start: f64, end: f64, text: impl Into<String>) -> Self {
        Self {
            start,
            end,
            text: text.into(),
            probability: None,
        }
    }
}

/// The company side or the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Customer,
}

/// Whose words count, by name: `user`, `customer` or `any` (either side, `None`).
pub fn speaker_name(speaker: Option<Role>) -> &'static str {
    match speaker {
        None => "any",
        Some(Role::User) => "user",
        Some(Role::Customer) => "customer",
    }
}

/// The side named by [`speaker_name`]; `None` inside for either side.
pub fn parse_speaker(text: &str) -> Option<Option<Role>> {
    match text {
        "any" => Some(None),
        "user" => Some(Some(Role::User)),
        "customer" => Some(Some(Role::Customer)),
        _ => None,
    }
}

/// How [`Roles::swapped`] names a person's decision.
const SWAPPED: &str = "user and customer swapped by a person";

/// Which speaker is the user, how sure Kiku is, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Roles {
    pub user_speaker: Speaker,
    /// The participant of the call data who is the user.
    pub user_side: Side,
    /// 0–1; 1 when the call data says it outright (a STEREO channel per party).
    pub confidence: f64,
    /// How the decision was made, for the operator.
    pub basis: String,
}

impl Roles {
    pub fn role_of(&self, speaker: Speaker) -> Role {
        if speaker == self.user_speaker {
            Role::User
        } else {
            Role::Customer
        }
    }

    /// A decision this unsure is flagged on the call history for someone to check.
    pub fn need_review(&self) -> bool {
        self.confidence < REVIEW_BELOW
    }

    pub fn speaker_of(&self, role: Role) -> Speaker {
        match role {
            Role::User => self.user_speaker,
            Role::Customer => 1 - self.user_speaker.min(1),
        }
    }

    /// User and customer the other way round, as a person decided: certain, so no longer
    /// flagged for review. The participant who is the user stays; their voice changes.
    pub fn swapped(&self) -> Roles {
        let basis = if self.basis.starts_with(SWAPPED) {
            "user and customer swapped back by a person".to_string()
        } else {
            SWAPPED.to_string()
        };
        Roles {
            user_speaker: self.speaker_of(Role::Customer),
            user_side: self.user_side,
            confidence: 1.0,
            basis,
        }
    }

    pub fn role_of_side(&self, side: Side) -> Role {
        if side == self.user_side {
            Role::User
        } else {
            Role::Customer
        }
    }
}

#[cfg(test)]
mod swap_tests {
    use super::*;

    #[test]
    fn swapping_flips_the_voice_is_certain_and_twice_gives_the_original_voice() {
        let decided = Roles {
            user_speaker: 1,
            user_side: Side::To,
            confidence: 0.6,
            basis: "who answered first".into(),
        };
        assert!(decided.need_review());
        let once = decided.swapped();
        assert_eq!((once.user_speaker, once.user_side), (0, Side::To));
        assert!(!once.need_review(), "a person decided");
        assert_eq!(once.role_of(1), Role::Customer);
        let twice = once.swapped();
        assert_eq!(twice.user_speaker, decided.user_speaker);
        assert_ne!(twice.basis, once.basis);
    }
}
