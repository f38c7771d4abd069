//! A report rendered as one `call.details[]` entry of MiiTel's `call_analysis_completed`
//! payload, with Kiku's additions in fields the schema leaves open (`role`, rates, …).

use serde_json::Value;
use uuid::Uuid;

use super::detail::{
    CallDetail, CallDetailAnalysis, DetailCallNote, DetailKeyword, DetailParticipant, DetailPhrase,
    DetailPhraseSentiment, DetailPhraseWords, DetailPhrases, DetailTag, DetailWord,
    ParticipantAnalysis, SpeechRecognition,
};
use super::notes::call_notes;
use super::{Phrase, Report, Role, SpeakerReport};
use crate::datetime::format;
use crate::metrics::Span;
use crate::{CallData, CallId, Side};

/// A participant as the detail names it.
#[derive(Clone, Debug, PartialEq)]
pub struct DetailParty {
    pub side: Side,
    pub role: Role,
    pub name: Option<String>,
    /// The user's sign-in e-mail, when the participant is a known user.
    pub login_id: Option<String>,
}

/// Participants need stable UUIDs; they are derived from the call and the side.
pub fn participant_id(call: CallId, side: Side) -> Uuid {
    Uuid::new_v5(&call.as_uuid(), side.as_str().as_bytes())
}

/// The call detail of `call` (its data and parties) analysed as `report`, as JSON.
pub fn call_detail(
    call: CallId,
    data: &CallData,
    parties: &[DetailParty],
    report: &Report,
) -> Value {
    // A struct of strings, numbers and lists: serialising it cannot fail.
    serde_json::to_value(detail(call, data, parties, report)).unwrap_or_default()
}

/// The call detail of `call` (its data and parties) analysed as `report`.
pub fn detail(
    call: CallId,
    data: &CallData,
    parties: &[DetailParty],
    report: &Report,
) -> CallDetail {
    let id_of = |role: Role| {
        parties
            .iter()
            .find(|p| p.role == role)
            .map(|p| participant_id(call, p.side).to_string())
    };
    let number = |side: Side| {
        data.participant(side)
            .map(|p| p.number.clone())
            .filter(|n| !n.is_empty())
    };
    let participants = parties
        .iter()
        .map(|p| {
            let stats = match p.role {
                Role::User => &report.user,
                Role::Customer => &report.customer,
            };
            let phrases = report.phrases.iter().filter(|ph| ph.role == p.role);
            DetailParticipant {
                id: participant_id(call, p.side).to_string(),
                from_to: p.side,
                name: p.name.clone(),
                company_name: None,
                login_id: p.login_id.clone(),
                role: p.role,
                analysis: participant_analysis(stats, &report.speech_rate_unit, phrases),
            }
        })
        .collect();
    let phrases = [Role::User, Role::Customer]
        .into_iter()
        .filter_map(|role| {
            let mine: Vec<_> = report.phrases.iter().filter(|p| p.role == role).collect();
            let raw = |summary: bool| -> Vec<DetailPhrase> {
                mine.iter()
                    .filter(|p| !summary || p.in_summary)
                    .map(|p| DetailPhrase {
                        order: p.order,
                        phrase: p.text.clone(),
                        phrase_nofiller: p.text_without_fillers.clone(),
                        start_at: round(p.start),
                        end_at: round(p.end),
                        filler_num: (!summary).then_some(p.filler_count),
                    })
                    .collect()
            };
            Some(DetailPhrases {
                participant_id: id_of(role)?,
                raw: raw(false),
                summary: raw(true),
            })
        })
        .collect();
    let keywords = report
        .keywords
        .iter()
        .filter_map(|k| {
            Some(DetailKeyword {
                starts_at: k.starts_at.max(0.0).floor() as u64,
                participant_id: id_of(k.role)?,
                value: k.keyword.clone(),
            })
        })
        .collect();
    CallDetail {
        id: call,
        dial_starts_at: format(data.call_starts_at),
        dial_answered_at: data.call_answered_at.map(format),
        dial_ends_at: format(data.call_ends_at),
        queueing_starts_at: None,
        queueing_answered_at: None,
        queueing_ends_at: None,
        call_type: data.event_type,
        circuit_number: data.circuit_number.clone(),
        // The PBX sends no circuit name.
        circuit_name: None,
        from_number: number(Side::From),
        to_number: number(Side::To),
        previous_id: None,
        dtmf: None,
        analysis: CallDetailAnalysis {
            score: round(report.score),
            tlr: round(report.tlr),
            rally_count: report.rally_count,
            overlap_count: report.overlaps.len(),
            silence_count: report.silences.len(),
            silence_positions: pairs(&report.silences),
            overlap_positions: pairs(&report.overlaps),
            duration_seconds: round(report.duration_seconds),
            silences_per_minute: round(report.silences_per_minute),
            silence_total_seconds: round(report.silence_total_seconds),
            overlaps_per_minute: round(report.overlaps_per_minute),
            overlaps_estimated: report.overlaps_estimated,
            recording_truncated: report.recording_truncated,
            rallies_per_minute: round(report.rallies_per_minute),
            speech_rate_unit: report.speech_rate_unit.clone(),
            speech_rate_difference: report.speech_rate_difference.map(round),
            language: report.language.clone(),
            role_confidence: round(report.roles.confidence),
            role_basis: report.roles.basis.clone(),
            role_needs_review: report.roles.need_review(),
        },
        participants,
        tags: data
            .tags
            .iter()
            .map(|t| DetailTag {
                created_by: "Incoming Webhook".into(),
                creator_type: "SYSTEM".into(),
                value: t.clone(),
            })
            .collect(),
        comments: Vec::new(),
        keywords,
        phrases,
        speech_recognition: SpeechRecognition {
            raw: report.transcript_text.clone(),
            summary: report.summary_text.clone(),
        },
        call_notes: call_notes(&report.phrases)
            .into_iter()
            .filter_map(|n| {
                Some(DetailCallNote {
                    kind: n.kind,
                    participant_id: id_of(n.role)?,
                    order: n.order,
                    start_at: round(n.start),
                    phrase: n.text,
                    dates: n.dates,
                    times: n.times,
                    amounts: n.amounts,
                    answered: n.answered,
                })
            })
            .collect(),
        version: None,
        version_reason: None,
    }
}

/// MiiTel's participant figures; `f0` is 0 for a party without voiced speech because
/// the schema has no null there. `positive_score` / `negative_score` are the shares of
/// positive and negative speech in whole percent (the schema's integers), and absent with
/// `phrase_sentiments` when no lexicon covered the call's language. `phrase_words` holds
/// the word timings of the party's phrases here, because MiiTel's phrase objects admit no
/// extra field; it is absent when the analysis kept none.
fn participant_analysis<'a>(
    stats: &SpeakerReport,
    unit: &str,
    phrases: impl Iterator<Item = &'a Phrase> + Clone,
) -> ParticipantAnalysis {
    let percent = |share: f64| (share.clamp(0.0, 1.0) * 100.0).round() as u64;
    let sentiments = stats.sentiment.map(|_| {
        phrases
            .clone()
            .filter_map(|p| {
                let s = p.sentiment?;
                Some(DetailPhraseSentiment {
                    order: p.order,
                    start_at: round(p.start),
                    end_at: round(p.end),
                    sentiment: s.polarity,
                    score: round(s.score),
                })
            })
            .collect()
    });
    let timed: Vec<DetailPhraseWords> = phrases
        .filter(|p| !p.words.is_empty())
        .map(|p| DetailPhraseWords {
            order: p.order,
            words: p
                .words
                .iter()
                .map(|w| DetailWord {
                    word: w.text.clone(),
                    start_at: round(w.start),
                    end_at: round(w.end),
                    probability: w.probability.map(round),
                })
                .collect(),
        })
        .collect();
    ParticipantAnalysis {
        f0: round(stats.f0_mean_hz.unwrap_or(0.0)),
        speechrate: round(stats.speech_rate.unwrap_or(0.0)),
        variance: stats.f0_std_dev_hz.map(round),
        filler_count: stats.filler_count,
        positive_score: stats.sentiment.map(|s| percent(s.positive)),
        negative_score: stats.sentiment.map(|s| percent(s.negative)),
        speech_rate_unit: unit.to_string(),
        talk_seconds: round(stats.talk_seconds),
        longest_monologue_seconds: round(stats.longest_monologue_seconds),
        keyword_count: stats.keyword_count,
        speech_segments: pairs(&stats.speech),
        phrase_sentiments: sentiments,
        phrase_words: (!timed.is_empty()).then_some(timed),
    }
}

/// Spans as `[start, end]` pairs, as MiiTel's positions are.
fn pairs(spans: &[Span]) -> Vec<[f64; 2]> {
    spans
        .iter()
        .map(|s| [round(s.start), round(s.end)])
        .collect()
}

/// Four decimals, as MiiTel's figures have.
fn round(x: f64) -> f64 {
    if x.is_finite() {
        // `+ 0.0` turns −0 (an empty sum) into 0.
        (x * 10_000.0).round() / 10_000.0 + 0.0
    } else {
        0.0
    }
}

/// The call's two participants with their roles; `login_of` gives a user's e-mail.
pub fn detail_parties(
    data: &CallData,
    roles: &super::Roles,
    login_of: impl Fn(crate::UserId) -> Option<String>,
) -> Vec<DetailParty> {
    data.participants
        .iter()
        .map(|p| DetailParty {
            side: p.side,
            role: roles.role_of_side(p.side),
            name: p.name.clone(),
            login_id: p.miitel_user_id.and_then(&login_of),
        })
        .collect()
}
