//! Which party of a call is the user, and which voice of a STEREO call is theirs: the
//! seed's rules applied to the call data.

use super::{Roles, Speaker};
use crate::{CallData, EventType, Side, StereoChannel};

/// The user's side: the participant with a `miitel_user_id`; when both or neither have
/// one, the side the event type puts the company on (the caller for outgoing and internal
/// calls, the called party for incoming ones). With how sure that is, and why.
pub fn user_side(call: &CallData) -> (Side, String, f64) {
    let with_id: Vec<Side> = call
        .participants
        .iter()
        .filter(|p| p.miitel_user_id.is_some())
        .map(|p| p.side)
        .collect();
    match with_id.as_slice() {
        [only] => (
            *only,
            "the participant with a miitel_user_id".to_string(),
            1.0,
        ),
        [_, _] => (
            Side::From,
            "internal call: the FROM side is the user".to_string(),
            1.0,
        ),
        _ => (
            company_side(call.event_type),
            format!("no miitel_user_id: the company side of {}", call.event_type),
            0.8,
        ),
    }
}

/// STEREO: the user's channel is their speaker.
pub fn stereo_roles(call: &CallData) -> Roles {
    let (side, mut basis, mut confidence) = user_side(call);
    let channel = call.channel_of(side).unwrap_or(StereoChannel::Left);
    if call.stereo_channels_ambiguous() {
        basis.push_str(
            "; both parties declared the same channel, so FROM is taken as left and TO as right",
        );
        confidence = 0.5;
    }
    Roles {
        user_speaker: speaker_of_channel(channel),
        user_side: side,
        confidence,
        basis,
    }
}

pub fn speaker_of_channel(channel: StereoChannel) -> Speaker {
    match channel {
        StereoChannel::Left => 0,
        StereoChannel::Right => 1,
    }
}

/// The side the company is on when the call data does not name a user.
pub fn company_side(event: EventType) -> Side {
    match event {
        EventType::IncomingCall | EventType::AutomaticTransfer => Side::To,
        EventType::OutgoingCall
        | EventType::OutgoingTransfer
        | EventType::Extension
        | EventType::ExtensionTransfer
        | EventType::AutomaticRecord => Side::From,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_data::parse_batch;
    use serde_json::json;

    fn call(event: &str, from: (&str, bool), to: (&str, bool)) -> CallData {
        let user = |has: bool| has.then_some("0184f502-8b66-4ab1-10d3-34c0049a9100");
        let body = json!({"call_data": [{
            "call_data_id": "c", "audio_file_type": "wav", "event_type": event,
            "call_starts_at": "2024-01-01T00:00:00Z", "call_answered_at": "2024-01-01T00:00:05Z",
            "call_ends_at": "2024-01-01T00:01:00Z", "audio_channel_type": "STEREO",
            "participants": [
                {"type": "FROM", "stereo_lr": from.0, "miitel_user_id": user(from.1), "number": "1", "name": null},
                {"type": "TO", "stereo_lr": to.0, "miitel_user_id": user(to.1), "number": "2", "name": null}
            ]
        }]});
        parse_batch(&body)
            .map(|mut v| v.remove(0))
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn the_user_is_the_participant_with_an_id_on_their_channel() {
        let r = stereo_roles(&call("INCOMING_CALL", ("left", false), ("right", true)));
        assert_eq!((r.user_speaker, r.confidence), (1, 1.0));
        let r = stereo_roles(&call("OUTGOING_CALL", ("right", true), ("left", false)));
        assert_eq!(r.user_speaker, 1);
        let r = stereo_roles(&call("EXTENSION", ("right", true), ("left", true)));
        assert_eq!(r.user_speaker, 1, "internal: FROM is the user");
    }

    #[test]
    fn ambiguous_channels_follow_the_documented_rule_with_less_confidence() {
        let r = stereo_roles(&call("INCOMING_CALL", ("left", false), ("left", true)));
        assert_eq!(r.user_speaker, 1, "TO is taken as right");
        assert_eq!(r.confidence, 0.5);
        assert!(r.basis.contains("same channel"));
    }
}
