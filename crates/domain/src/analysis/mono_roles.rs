//! Which of the two voices of a MONAURAL call is the user, with how sure Kiku is. Evidence
//! is weighed as log-odds that speaker 0 is the user:
//! - the answering party usually speaks first (the TO side of an external call);
//! - a self-introduction ("…の鈴木と申します", "this is Daniel speaking") by a speaker,
//!   stronger when it names the user or the company;
//! - company phrases ("thank you for calling", "お電話ありがとうございます") and addressing the
//!   other party with 様.

use super::{Roles, Speaker, Utterance};
use crate::{CallData, Side};

/// Below this confidence a call is flagged for review.
pub const REVIEW_BELOW: f64 = 0.75;

const FIRST_SPEAKER: f64 = 1.0;
const INTRODUCTION: f64 = 1.5;
const NAMED_INTRODUCTION: f64 = 3.0;
const COMPANY_PHRASE: f64 = 1.0;
const HONORIFIC: f64 = 0.4;
const HONORIFIC_CAP: f64 = 1.2;

/// What is known about the user besides the call data.
#[derive(Clone, Debug, Default)]
pub struct UserHints {
    /// The user's name (participant name or account name), e.g. "鈴木" or "Daniel Smith".
    pub user_names: Vec<String>,
    pub company_name: Option<String>,
}

/// Decides the user's voice from the call data and what each speaker said.
pub fn mono_roles(
    call: &CallData,
    user_side: Side,
    utterances: &[Utterance],
    hints: &UserHints,
) -> Roles {
    let mut odds = 0.0; // log-odds that speaker 0 is the user
    let mut reasons: Vec<String> = Vec::new();
    if let Some(first) = first_speaker(utterances) {
        // The answering party speaks first; for internal calls there is no such habit.
        if call.is_answered() && !is_internal(call) {
            let answerer_is_user = user_side == Side::To;
            let sign = if (first == 0) == answerer_is_user {
                1.0
            } else {
                -1.0
            };
            odds += sign * FIRST_SPEAKER;
            reasons.push(format!("speaker {} answered first", first + 1));
        }
    }
    for speaker in 0..2 {
        let sign = if speaker == 0 { 1.0 } else { -1.0 };
        let said: String = utterances
            .iter()
            .filter(|u| u.speaker == speaker)
            .map(|u| u.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let evidence = evidence(&said, hints);
        if evidence.weight != 0.0 {
            odds += sign * evidence.weight;
            reasons.push(format!(
                "speaker {} {}",
                speaker + 1,
                evidence.reasons.join(", ")
            ));
        }
    }
    let user_speaker: Speaker = if odds >= 0.0 { 0 } else { 1 };
    let confidence = 1.0 / (1.0 + (-odds.abs()).exp());
    Roles {
        user_speaker,
        user_side,
        confidence,
        basis: if reasons.is_empty() {
            "no evidence either way".into()
        } else {
            reasons.join("; ")
        },
    }
}

fn first_speaker(utterances: &[Utterance]) -> Option<Speaker> {
    utterances
        .iter()
        .filter(|u| !u.text.trim().is_empty())
        .min_by(|a, b| a.start.total_cmp(&b.start))
        .map(|u| u.speaker)
}

fn is_internal(call: &CallData) -> bool {
    call.participants.iter().all(|p| p.miitel_user_id.is_some())
}

struct Evidence {
    weight: f64,
    reasons: Vec<String>,
}

/// How strongly `said` sounds like the company side.
fn evidence(said: &str, hints: &UserHints) -> Evidence {
    let text = said.to_lowercase();
    let mut weight = 0.0;
    let mut reasons = Vec::new();
    let names: Vec<String> = hints
        .user_names
        .iter()
        .chain(hints.company_name.iter())
        .flat_map(|n| {
            n.split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .filter(|n| n.chars().count() >= 2)
        .collect();
    let intro = introductions(&text);
    if let Some(named) = intro
        .iter()
        .find(|i| names.iter().any(|n| i.contains(n.as_str())))
    {
        weight += NAMED_INTRODUCTION;
        reasons.push(format!(
            "introduced themselves as the user or company ({named})"
        ));
    } else if !intro.is_empty() {
        weight += INTRODUCTION;
        reasons.push("introduced themselves".to_string());
    }
    const COMPANY_PHRASES: &[&str] = &[
        "thank you for calling",
        "thanks for calling",
        "how can i help",
        "how may i help",
        "お電話ありがとうございます",
        "お待たせいたしました",
    ];
    if COMPANY_PHRASES.iter().any(|p| text.contains(p)) {
        weight += COMPANY_PHRASE;
        reasons.push("used a company phrase".to_string());
    }
    let honorifics = text.matches("様").count() as f64 * HONORIFIC;
    if honorifics > 0.0 {
        weight += honorifics.min(HONORIFIC_CAP);
        reasons.push("addressed the other party with 様".to_string());
    }
    Evidence { weight, reasons }
}

/// The stretches of text where a speaker names themselves: the words before と申します /
/// でございます, or after "this is" / "my name is" / "speaking" forms.
fn introductions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["と申します", "でございます"] {
        for (at, _) in text.match_indices(marker) {
            let before: String = text[..at]
                .chars()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            out.push(before);
        }
    }
    for marker in [
        "this is ",
        "my name is ",
        "you're speaking with ",
        "you are speaking with ",
    ] {
        for (at, m) in text.match_indices(marker) {
            let after: String = text[at + m.len()..]
                .split_whitespace()
                .take(4)
                .collect::<Vec<_>>()
                .join(" ");
            out.push(after);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_data::parse_batch;
    use serde_json::json;

    fn call(event: &str, user_on: &str) -> CallData {
        let id = |side: &str| (side == user_on).then_some("0184f502-8b66-4ab1-10d3-34c0049a9100");
        let body = json!({"call_data": [{
            "call_data_id": "c", "audio_file_type": "wav", "event_type": event,
            "call_starts_at": "2024-01-01T00:00:00Z", "call_answered_at": "2024-01-01T00:00:05Z",
            "call_ends_at": "2024-01-01T00:01:00Z", "audio_channel_type": "MONAURAL",
            "participants": [
                {"type": "FROM", "stereo_lr": "left", "miitel_user_id": id("FROM"), "number": "1", "name": null},
                {"type": "TO", "stereo_lr": "left", "miitel_user_id": id("TO"), "number": "2", "name": null}
            ]
        }]});
        parse_batch(&body)
            .map(|mut v| v.remove(0))
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn say(speaker: usize, start: f64, text: &str) -> Utterance {
        Utterance {
            speaker,
            start,
            end: start + 2.0,
            text: text.into(),
            words: vec![],
        }
    }

    fn hints() -> UserHints {
        UserHints {
            user_names: vec!["鈴木".into(), "Daniel Smith".into()],
            company_name: Some("Kiku".into()),
        }
    }

    #[test]
    fn an_outgoing_call_where_the_user_introduces_themselves() {
        let u = [
            say(1, 0.5, "はい、高橋です。"),
            say(0, 2.0, "お世話になります。IP電話ミーテルの鈴木と申します。"),
            say(0, 5.0, "高橋様はいらっしゃいますか。"),
        ];
        let r = mono_roles(&call("OUTGOING_CALL", "FROM"), Side::From, &u, &hints());
        assert_eq!(r.user_speaker, 0);
        assert!(r.confidence > 0.95, "{r:?}");
        assert!(r.basis.contains("answered first"));
    }

    #[test]
    fn an_incoming_call_answered_by_the_user() {
        let u = [
            say(
                0,
                0.3,
                "Thank you for calling Kiku, this is Daniel speaking. How can I help?",
            ),
            say(1, 4.0, "Hi, I have a question about my bill."),
        ];
        let r = mono_roles(&call("INCOMING_CALL", "TO"), Side::To, &u, &hints());
        assert_eq!(r.user_speaker, 0);
        assert!(r.confidence > 0.95, "{r:?}");
    }

    #[test]
    fn evidence_outweighs_who_spoke_first() {
        // The customer spoke first on an incoming call (unusual), but the other voice
        // introduces itself with the user's name.
        let u = [
            say(1, 0.3, "Hello? Hello?"),
            say(0, 1.5, "Hello, this is Daniel from Kiku support."),
        ];
        let r = mono_roles(&call("INCOMING_CALL", "TO"), Side::To, &u, &hints());
        assert_eq!(r.user_speaker, 0);
        assert!(r.confidence > 0.8, "{r:?}");
    }

    #[test]
    fn without_evidence_confidence_is_low_and_flagged() {
        let u = [say(0, 0.3, "Yes."), say(1, 1.0, "Okay.")];
        let call = call("AUTOMATIC_RECORD", "FROM");
        let r = mono_roles(&call, Side::From, &u, &UserHints::default());
        assert!(r.confidence < REVIEW_BELOW, "{r:?}");
        let r = mono_roles(&call, Side::From, &[], &UserHints::default());
        assert_eq!(r.confidence, 0.5);
        assert_eq!(r.basis, "no evidence either way");
    }
}
