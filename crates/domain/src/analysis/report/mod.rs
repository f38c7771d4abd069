//! The report: every metric of a call, computed from its transcript, the role mapping
//! and the company's settings. Deterministic, so it can be recomputed at any time.

use serde::{Deserialize, Serialize};

use super::sentiment::{PhraseSentiment, SentimentShares};
use super::text::{clock, counts_characters, keyword_offsets, speech_units, summary_choice};
use super::{AnalysisSettings, Role, Roles, Transcript, Word};
use crate::metrics::fillers;
use crate::metrics::{ScoreInputs, Span, Timeline};

/// Everything shown about an analysed call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub score: f64,
    pub duration_seconds: f64,
    pub language: String,
    pub roles: Roles,
    /// User speaking time / (user + customer speaking time); 0 when nobody spoke.
    pub tlr: f64,
    pub rally_count: usize,
    pub rallies_per_minute: f64,
    pub silences: Vec<Span>,
    pub silences_per_minute: f64,
    pub silence_total_seconds: f64,
    pub overlaps: Vec<Span>,
    pub overlaps_per_minute: f64,
    pub overlaps_estimated: bool,
    /// Only the start of the recording was analysed (it ran past the decode cap).
    /// Absent from reports stored before it existed.
    #[serde(default)]
    pub recording_truncated: bool,
    /// `characters_per_minute` (Japanese, Chinese, …) or `words_per_minute`.
    pub speech_rate_unit: String,
    /// User's speech rate minus the customer's, when both spoke.
    pub speech_rate_difference: Option<f64>,
    pub user: SpeakerReport,
    pub customer: SpeakerReport,
    /// In order of start time; `order` is the index.
    pub phrases: Vec<Phrase>,
    pub keywords: Vec<KeywordHit>,
    /// Transcript lines `m:ss (role) text`, all phrases and the summary's.
    pub transcript_text: String,
    pub summary_text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpeakerReport {
    /// When the speaker speaks, merged and in order (a diarization's turns in mono calls).
    #[serde(default)]
    pub speech: Vec<Span>,
    pub talk_seconds: f64,
    pub longest_monologue_seconds: f64,
    /// In `speech_rate_unit`, over the speaker's speaking time; `None` if they never spoke.
    pub speech_rate: Option<f64>,
    pub f0_mean_hz: Option<f64>,
    /// Standard deviation of F0 (MiiTel's `variance`).
    pub f0_std_dev_hz: Option<f64>,
    pub filler_count: usize,
    pub keyword_count: usize,
    /// Shares of positive and negative speech; `None` when no lexicon covered the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<SentimentShares>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phrase {
    pub order: usize,
    pub role: Role,
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub text_without_fillers: String,
    pub filler_count: usize,
    pub in_summary: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
    /// `None` when no lexicon covered the call (see [`super::sentiment::with_sentiment`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<PhraseSentiment>,
}

/// One occurrence of a company keyword.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeywordHit {
    pub keyword: String,
    pub role: Role,
    pub starts_at: f64,
}

/// Computes the report of `transcript` with `roles` under `settings`.
pub fn report(transcript: &Transcript, roles: &Roles, settings: &AnalysisSettings) -> Report {
    let user = roles.speaker_of(Role::User);
    let customer = roles.speaker_of(Role::Customer);
    let timeline = Timeline {
        user: transcript.speech[user].clone(),
        customer: transcript.speech[customer].clone(),
        duration: transcript.duration_seconds,
    };
    let by_characters = counts_characters(&transcript.language);
    let keywords = settings.normalised_keywords();

    let mut utterances: Vec<_> = transcript.utterances.iter().collect();
    utterances.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut phrases: Vec<Phrase> = utterances
        .iter()
        .enumerate()
        .map(|(order, u)| {
            let stripped = fillers::strip(&u.text);
            Phrase {
                order,
                role: roles.role_of(u.speaker),
                start: u.start,
                end: u.end,
                text: u.text.clone(),
                text_without_fillers: stripped.text,
                filler_count: stripped.count,
                in_summary: false,
                words: u.words.clone(),
                sentiment: None,
            }
        })
        .collect();
    let texts: Vec<&str> = phrases
        .iter()
        .map(|p| p.text_without_fillers.as_str())
        .collect();
    let chosen = summary_choice(&texts, by_characters);
    for (phrase, chosen) in phrases.iter_mut().zip(chosen) {
        phrase.in_summary = chosen;
    }

    let mut hits: Vec<KeywordHit> = Vec::new();
    for phrase in &phrases {
        let spoken = spoken_text(phrase, by_characters);
        for keyword in &keywords {
            for offset in keyword_offsets(&spoken.text, keyword) {
                hits.push(KeywordHit {
                    keyword: keyword.clone(),
                    role: phrase.role,
                    starts_at: spoken.time_at(offset).unwrap_or(phrase.start),
                });
            }
        }
    }
    hits.sort_by(|a, b| a.starts_at.total_cmp(&b.starts_at));

    let speaker = |role: Role, own: &[Span], other: &[Span]| {
        let speech = crate::metrics::timeline::merge(own);
        let talk = crate::metrics::timeline::total(&speech);
        let mine = phrases.iter().filter(|p| p.role == role);
        let units: usize = mine
            .clone()
            .map(|p| speech_units(&p.text_without_fillers, by_characters))
            .sum();
        let voice = transcript.voices[roles.speaker_of(role)];
        SpeakerReport {
            speech,
            talk_seconds: talk,
            longest_monologue_seconds: Timeline::longest_monologue(own, other),
            speech_rate: (talk > 0.0).then(|| units as f64 * 60.0 / talk),
            f0_mean_hz: voice.map(|v| v.f0_mean_hz),
            f0_std_dev_hz: voice.map(|v| v.f0_std_dev_hz),
            filler_count: mine.map(|p| p.filler_count).sum(),
            keyword_count: hits.iter().filter(|h| h.role == role).count(),
            sentiment: None,
        }
    };
    let user_report = speaker(Role::User, &timeline.user, &timeline.customer);
    let customer_report = speaker(Role::Customer, &timeline.customer, &timeline.user);

    let silences = timeline.silences();
    let overlaps = timeline.overlaps();
    let mut keyword_totals: Vec<(String, usize)> = Vec::new();
    for hit in &hits {
        match keyword_totals.iter_mut().find(|(k, _)| *k == hit.keyword) {
            Some((_, n)) => *n += 1,
            None => keyword_totals.push((hit.keyword.clone(), 1)),
        }
    }
    let score_inputs = ScoreInputs {
        duration_seconds: transcript.duration_seconds,
        talk_ratio: timeline.talk_ratio(),
        overlaps_per_minute: timeline.per_minute(overlaps.len()),
        silences_per_minute: timeline.per_minute(silences.len()),
        keyword_hits: keyword_totals,
    };
    let labels = role_labels(&transcript.language);
    let lines = |only_summary: bool| {
        phrases
            .iter()
            .filter(|p| !only_summary || p.in_summary)
            .filter(|p| !p.text_without_fillers.trim().is_empty())
            .map(|p| {
                let label = if p.role == Role::User {
                    labels.0
                } else {
                    labels.1
                };
                format!("{} ({label}) {}", clock(p.start), p.text_without_fillers)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };

    Report {
        score: settings.score_rule.score(&score_inputs),
        duration_seconds: transcript.duration_seconds,
        language: transcript.language.clone(),
        roles: roles.clone(),
        tlr: score_inputs.talk_ratio.unwrap_or(0.0),
        rally_count: timeline.rally_count(),
        rallies_per_minute: timeline.per_minute(timeline.rally_count()),
        silence_total_seconds: silences.iter().map(Span::len).sum(),
        silences_per_minute: score_inputs.silences_per_minute,
        silences,
        overlaps_per_minute: score_inputs.overlaps_per_minute,
        overlaps,
        overlaps_estimated: transcript.overlaps_estimated,
        recording_truncated: transcript.truncated,
        speech_rate_unit: if by_characters {
            "characters_per_minute"
        } else {
            "words_per_minute"
        }
        .into(),
        speech_rate_difference: user_report
            .speech_rate
            .zip(customer_report.speech_rate)
            .map(|(u, c)| u - c),
        user: user_report,
        customer: customer_report,
        transcript_text: lines(false),
        summary_text: lines(true),
        keywords: hits,
        phrases,
    }
}

/// A phrase's text as searched for keywords, with the start time of each character when
/// word timings exist (the words joined as the language writes them).
struct Spoken {
    text: String,
    times: Vec<f64>,
}

impl Spoken {
    fn time_at(&self, offset: usize) -> Option<f64> {
        self.times.get(offset).copied()
    }
}

fn spoken_text(phrase: &Phrase, by_characters: bool) -> Spoken {
    if phrase.words.is_empty() {
        return Spoken {
            text: phrase.text.clone(),
            times: Vec::new(),
        };
    }
    let mut text = String::new();
    let mut times = Vec::new();
    for word in &phrase.words {
        if !by_characters && !text.is_empty() {
            text.push(' ');
            times.push(word.start);
        }
        text.push_str(&word.text);
        times.extend(std::iter::repeat_n(word.start, word.text.chars().count()));
    }
    Spoken { text, times }
}

/// How the transcript names the two sides: MiiTel's Japanese labels for Japanese calls.
fn role_labels(language: &str) -> (&'static str, &'static str) {
    if language == "ja" {
        ("ユーザー", "取引先")
    } else {
        ("User", "Customer")
    }
}

#[cfg(test)]
mod tests;
