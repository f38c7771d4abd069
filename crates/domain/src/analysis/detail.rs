//! The call detail's shape: one `call.details[]` entry of MiiTel's
//! `call_analysis_completed` payload, with Kiku's additions in fields the schema leaves
//! open. Built by [`super::call_detail`]; the API's `CallHistory.analysis` and the outgoing
//! webhooks' payload carry it. Times are seconds from the start of the recording, figures
//! rounded to four decimals.

use serde::Serialize;

use super::notes::NoteKind;
use super::sentiment::Polarity;
use super::Role;
use crate::{CallId, EventType, Side};

/// A completed call's analysis: one entry of `call.details[]` of MiiTel's
/// `call_analysis_completed` payload, with Kiku's additions in fields that schema leaves
/// open (participants' `role`, extra figures in `analysis` and participant `analysis`).
/// `id` is the Kiku `call_id`; participant ids are UUID v5 of the call id and
/// `FROM`/`TO`; `keywords` has one entry per occurrence; `speech_recognition` lines read
/// `m:ss (User|Customer) text` (`ユーザー`/`取引先` for Japanese). Metric definitions:
/// docs/analysis.md.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallDetail {
    pub id: CallId,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub dial_starts_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, required))]
    pub dial_answered_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub dial_ends_at: String,
    /// Always `null`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub queueing_starts_at: Option<String>,
    /// Always `null`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub queueing_answered_at: Option<String>,
    /// Always `null`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub queueing_ends_at: Option<String>,
    pub call_type: EventType,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub circuit_number: Option<String>,
    /// Always `null`: the PBX sends no circuit name.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub circuit_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub from_number: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub to_number: Option<String>,
    /// Always `null`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub previous_id: Option<String>,
    /// Always `null`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub dtmf: Option<String>,
    pub analysis: CallDetailAnalysis,
    pub participants: Vec<DetailParticipant>,
    /// The PBX's tags, then those the company's auto-tag rules gave the call.
    pub tags: Vec<DetailTag>,
    /// Always empty.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub comments: Vec<serde_json::Value>,
    pub keywords: Vec<DetailKeyword>,
    /// One entry per participant: `raw` every phrase, `summary` the summary's
    /// (`filler_num` null there).
    pub phrases: Vec<DetailPhrases>,
    pub speech_recognition: SpeechRecognition,
    /// Kiku: the call's notes — the customer's requests and questions, the user's
    /// commitments — picked from the phrases by fixed rules, in phrase order
    /// (docs/analysis.md, *Call notes*).
    pub call_notes: Vec<DetailCallNote>,
    /// Kiku: which version of the call's result this is (set once stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, minimum = 1))]
    pub version: Option<u32>,
    /// Kiku: why that version was made: `analysis`, `rescore` or `swap`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub version_reason: Option<String>,
}

/// Call metrics (MiiTel's `DetailAnalysis` plus Kiku's additions).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallDetailAnalysis {
    /// 0–100 under the default rule.
    pub score: f64,
    /// User talk time ÷ both parties' talk time, 0–1.
    pub tlr: f64,
    /// Times the floor changes hands.
    pub rally_count: usize,
    /// Stretches of more than 1 s where both speak.
    pub overlap_count: usize,
    /// Gaps of more than 3 s with nobody speaking, between the first and the last speech.
    pub silence_count: usize,
    /// `[start, end]` in seconds.
    pub silence_positions: Vec<[f64; 2]>,
    /// `[start, end]` in seconds.
    pub overlap_positions: Vec<[f64; 2]>,
    /// Kiku: length of the recording as decoded.
    pub duration_seconds: f64,
    pub silences_per_minute: f64,
    pub silence_total_seconds: f64,
    pub overlaps_per_minute: f64,
    /// Kiku: `false` for STEREO calls; `true` when overlaps come from speaker separation.
    pub overlaps_estimated: bool,
    /// Kiku: the recording ran past the decode cap (the call's length × 1.25 + 2 min, at
    /// most `max_recording_minutes`); only its first `duration_seconds` were analysed.
    pub recording_truncated: bool,
    pub rallies_per_minute: f64,
    /// Kiku: unit of every `speechrate`: `words_per_minute` or `characters_per_minute`.
    pub speech_rate_unit: String,
    /// Kiku: user's speech rate − customer's; `null` unless both spoke.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub speech_rate_difference: Option<f64>,
    /// Kiku: the language recognised or fixed (Whisper code).
    pub language: String,
    /// Kiku: 1 when the call data names the user, 0.8 when inferred from the event type,
    /// 0.5 when both parties declared the same channel; for MONAURAL calls, how strongly
    /// who answered first and what each voice said point to one voice.
    pub role_confidence: f64,
    /// Kiku: how the user was chosen, in words.
    pub role_basis: String,
    /// Kiku: `role_confidence` is below 0.75; the call history carries the flag
    /// `roles_need_review`.
    pub role_needs_review: bool,
}

/// One party of the call.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailParticipant {
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub id: String,
    pub from_to: Side,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub name: Option<String>,
    /// Always `null`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub company_name: Option<String>,
    /// The user's sign-in e-mail when the participant is a known user.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub login_id: Option<String>,
    /// Kiku: the company side (`user`) or the other party.
    pub role: Role,
    pub analysis: ParticipantAnalysis,
}

/// One party's metrics (MiiTel's `ParticipantAnalysis` plus Kiku's additions).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParticipantAnalysis {
    /// Mean F0 in Hz over voiced speech; 0 when the party has no voiced speech.
    pub f0: f64,
    /// Per minute of the party's talk time, in `speech_rate_unit`; 0 when the party never
    /// spoke.
    pub speechrate: f64,
    /// Standard deviation of F0 in Hz (MiiTel's name); `null` without voiced speech.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub variance: Option<f64>,
    pub filler_count: usize,
    /// The share of the party's speech that is positive, weighted by how strongly, in
    /// whole percent (MiiTel's integer field). Absent when no sentiment lexicon covers the
    /// call's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, maximum = 100))]
    pub positive_score: Option<u64>,
    /// The share of the party's speech that is negative, as `positive_score`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, maximum = 100))]
    pub negative_score: Option<u64>,
    pub speech_rate_unit: String,
    pub talk_seconds: f64,
    pub longest_monologue_seconds: f64,
    /// Kiku: occurrences of the company's keywords.
    pub keyword_count: usize,
    /// Kiku: when this party speaks, `[start, end]` seconds in order (for MONAURAL calls,
    /// the speaker separation's turns).
    pub speech_segments: Vec<[f64; 2]>,
    /// Kiku: the sentiment of each of the party's phrases (`order` as in
    /// `phrases[].raw[]`); absent with the scores.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub phrase_sentiments: Option<Vec<DetailPhraseSentiment>>,
    /// Kiku: the word timings of each of the party's phrases that has them (`order` as in
    /// `phrases[].raw[]`; here because MiiTel's phrase objects admit no extra field);
    /// absent when the analysis kept none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub phrase_words: Option<Vec<DetailPhraseWords>>,
}

/// The words of one phrase.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailPhraseWords {
    pub order: usize,
    pub words: Vec<DetailWord>,
}

/// A word, timed, with the recogniser's confidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailWord {
    /// As recognised: with its leading space in spaced scripts, so the words joined give
    /// the phrase.
    pub word: String,
    pub start_at: f64,
    pub end_at: f64,
    /// The mean probability of the word's tokens (0–1); `null` for a redaction's
    /// placeholder or an analysis stored before it was kept.
    #[cfg_attr(feature = "openapi", schema(required, minimum = 0, maximum = 1))]
    pub probability: Option<f64>,
}

/// One phrase's sentiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailPhraseSentiment {
    pub order: usize,
    pub start_at: f64,
    pub end_at: f64,
    pub sentiment: Polarity,
    /// −1 (most negative) to 1; `neutral` when closer to 0 than 0.3.
    #[cfg_attr(feature = "openapi", schema(minimum = -1, maximum = 1))]
    pub score: f64,
}

/// A tag of the call.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailTag {
    /// `Incoming Webhook` (the PBX's) or `Auto tag rule: <name>`.
    pub created_by: String,
    /// Always `SYSTEM`.
    pub creator_type: String,
    pub value: String,
}

/// One occurrence of a company keyword.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailKeyword {
    /// Whole seconds.
    pub starts_at: u64,
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub participant_id: String,
    pub value: String,
}

/// One participant's phrases.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailPhrases {
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub participant_id: String,
    pub raw: Vec<DetailPhrase>,
    pub summary: Vec<DetailPhrase>,
}

/// One phrase.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailPhrase {
    pub order: usize,
    pub phrase: String,
    pub phrase_nofiller: String,
    pub start_at: f64,
    pub end_at: f64,
    /// `null` in `summary`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub filler_num: Option<usize>,
}

/// One call note: a phrase and what it names.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetailCallNote {
    /// `request` and `question` (the customer's), `commitment` (the user's).
    pub kind: NoteKind,
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub participant_id: String,
    /// The phrase's `order` in `phrases[].raw`.
    pub order: usize,
    pub start_at: f64,
    pub phrase: String,
    /// Days named (weekdays, dates, "tomorrow", 「十二日」…), as said.
    pub dates: Vec<String>,
    /// Times of day named ("9 am", 「午前九時」), as said.
    pub times: Vec<String>,
    /// Sums of money named ("$4", 「500円」), as said.
    pub amounts: Vec<String>,
    /// Questions only: whether the user spoke on after it before the customer's next
    /// phrase (an answer may start while the question is asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub answered: Option<bool>,
}

/// The transcript as text, every phrase (`raw`) and the summary's.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpeechRecognition {
    pub raw: String,
    pub summary: String,
}
