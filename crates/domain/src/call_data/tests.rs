//! Validation rules, one by one and combined.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

const USER: &str = "9b1d82f5-9845-4158-9c7b-75e7c235d8e7";

fn call(
    event: &str,
    answered: bool,
    group: Option<&str>,
    from_id: Option<&str>,
    to_id: Option<&str>,
) -> Value {
    json!({
        "call_data_id": "c1",
        "audio_file_type": "wav",
        "event_type": event,
        "groupname": group,
        "queue_name": null,
        "call_starts_at": "2024-01-01T10:00:00+09:00",
        "call_answered_at": if answered { json!("2024-01-01T10:00:05+0900") } else { Value::Null },
        "call_ends_at": "2024-01-01T10:03:00+09:00",
        "circuit_number": null,
        "participants": [
            {"type": "FROM", "stereo_lr": "left", "miitel_user_id": from_id, "number": "0311112222", "name": null},
            {"type": "TO", "stereo_lr": "right", "miitel_user_id": to_id, "number": "0322223333", "name": "Sato"}
        ],
        "tags": [{"value": "memo"}]
    })
}

fn batch(calls: Vec<Value>) -> Value {
    json!({ "call_data": calls })
}

fn problems(body: Value) -> Vec<Problem> {
    parse_batch(&body).expect_err("should be rejected")
}

fn paths(body: Value) -> Vec<String> {
    problems(body)
        .into_iter()
        .map(|p| format!("{}: {}", p.path, p.reason))
        .collect()
}

#[test]
fn vendor_samples_are_accepted_as_they_are() {
    let s1: Value = serde_json::from_str(include_str!("../../../../fixtures/miitel/sample1.json"))
        .expect("json");
    let s2: Value = serde_json::from_str(include_str!("../../../../fixtures/miitel/sample2.json"))
        .expect("json");
    let c1 = parse_batch(&s1).expect("sample1").remove(0);
    assert!(c1.stereo_channels_ambiguous());
    assert_eq!(c1.channel_of(Side::From), Some(StereoChannel::Left));
    assert_eq!(c1.channel_of(Side::To), Some(StereoChannel::Right));
    let c2 = parse_batch(&s2).expect("sample2").remove(0);
    assert_eq!(c2.group_name, None, "empty group_name means none");
    assert_eq!(c2.queue_name, None);
    assert_eq!(c2.audio_channel_type, ChannelType::Monaural);
    assert_eq!(c2.tags, vec!["応対メモテスト".to_string()]);
    assert!(!c2.stereo_channels_ambiguous());
}

#[test]
fn missing_channel_type_means_stereo_and_offsets_normalise() {
    let mut a = call("OUTGOING_CALL", true, None, Some(USER), None);
    a.as_object_mut().map(|o| o.remove("audio_channel_type"));
    let parsed = parse_batch(&batch(vec![a.clone()])).expect("valid");
    assert_eq!(parsed[0].audio_channel_type, ChannelType::Stereo);
    // Same instant written with the other offset spelling: same fingerprint.
    a["call_answered_at"] = json!("2024-01-01T10:00:05+09:00");
    let again = parse_batch(&batch(vec![a])).expect("valid");
    assert_eq!(parsed[0].fingerprint(), again[0].fingerprint());
}

#[test]
fn group_name_alias_and_empty_strings() {
    let mut a = call("EXTENSION", false, None, Some(USER), None);
    a.as_object_mut().map(|o| o.remove("groupname"));
    a["group_name"] = json!("sales");
    let parsed = parse_batch(&batch(vec![a.clone()])).expect("group via alias makes TO optional");
    assert_eq!(parsed[0].group_name.as_deref(), Some("sales"));
    a["group_name"] = json!("");
    assert_eq!(
        paths(batch(vec![a.clone()])),
        vec!["call_data[0].participants[1].miitel_user_id: required for EXTENSION TO without a group name"]
    );
    a["group_name"] = json!("a");
    a["groupname"] = json!("b");
    assert_eq!(
        paths(batch(vec![a])),
        vec!["call_data[0].group_name: differs from groupname; send one of them"]
    );
}

#[test]
fn every_problem_is_reported_with_index_id_and_path() {
    let mut bad = call("OUTGOING_CALL", true, None, None, Some("not-a-uuid"));
    bad["audio_file_type"] = json!("ogg");
    bad["participants"][0]["number"] = json!("03-1111");
    bad["participants"][1]["extra"] = json!(1);
    bad["tags"] = json!([{"value": ""}]);
    bad["call_ends_at"] = json!("2024-01-01T09:00:00+09:00");
    let good = call("AUTOMATIC_RECORD", false, None, None, None);
    let found = problems(batch(vec![good, bad]));
    assert!(found
        .iter()
        .all(|p| p.index == Some(1) && p.call_data_id.as_deref() == Some("c1")));
    let text: Vec<String> = found
        .iter()
        .map(|p| format!("{}: {}", p.path, p.reason))
        .collect();
    for expected in [
        "call_data[1].audio_file_type: must be one of m4a, mp3, wav",
        "call_data[1].call_ends_at: must not be before call_starts_at",
        "call_data[1].call_ends_at: must not be before call_answered_at",
        "call_data[1].participants[0].number: must be digits, optionally after one leading +, * or #, or \"Anonymous\"",
        "call_data[1].participants[1].extra: unknown field",
        "call_data[1].participants[1].miitel_user_id: must be a user ID (UUID) or null",
        "call_data[1].tags[0].value: must be 1 to 512 characters long",
    ] {
        assert!(text.contains(&expected.to_string()), "missing {expected:?} in {text:#?}");
    }
}

#[test]
fn body_shape_errors() {
    assert_eq!(
        paths(json!([])),
        vec!["$: must be an object with a call_data array"]
    );
    assert_eq!(paths(json!({})), vec!["call_data: required"]);
    assert_eq!(
        paths(json!({"call_data": []})),
        vec!["call_data: must hold at least one call"]
    );
    assert_eq!(
        paths(json!({"call_data": 1})),
        vec!["call_data: must be an array"]
    );
    assert_eq!(
        paths(json!({"call_data": [1]})),
        vec!["call_data[0]: must be an object"]
    );
    let many: Vec<Value> = (0..=MAX_CALLS_PER_BATCH).map(|_| json!({})).collect();
    assert_eq!(
        paths(batch(many)),
        vec![format!(
            "call_data: must hold at most {MAX_CALLS_PER_BATCH} calls"
        )]
    );
}

#[test]
fn participants_need_one_from_and_one_to() {
    let mut a = call("AUTOMATIC_RECORD", false, None, None, None);
    a["participants"][1]["type"] = json!("FROM");
    assert_eq!(
        paths(batch(vec![a])),
        vec!["call_data[0].participants: must hold exactly one FROM and one TO participant"]
    );
}

#[test]
fn extra_call_fields_are_kept() {
    let mut a = call("AUTOMATIC_RECORD", false, None, None, None);
    a["pbx_vendor_field"] = json!({"x": 1});
    let parsed = parse_batch(&batch(vec![a])).expect("extra fields allowed");
    assert_eq!(
        parsed[0].extra.get("pbx_vendor_field"),
        Some(&json!({"x": 1}))
    );
}

#[test]
fn duplicates_in_a_batch_must_agree() {
    let a = call("AUTOMATIC_RECORD", false, None, None, None);
    assert_eq!(
        parse_batch(&batch(vec![a.clone(), a.clone()])).map(|c| c.len()),
        Ok(2)
    );
    let mut b = a.clone();
    b["tags"] = json!([]);
    assert_eq!(
        paths(batch(vec![a, b])),
        vec!["call_data[1].call_data_id: also at call_data[0] with different content"]
    );
}

fn event_name() -> impl Strategy<Value = EventType> {
    proptest::sample::select(EventType::ALL.to_vec())
}

proptest! {
    /// Whatever the combination, a call is accepted exactly when the table's required
    /// user IDs are present, and each missing one is reported at its own path.
    #[test]
    fn acceptance_follows_the_user_id_table(
        event in event_name(), answered: bool, group: bool, from_id: bool, to_id: bool,
    ) {
        let body = batch(vec![call(
            event.as_str(), answered, group.then_some("g"),
            from_id.then_some(USER), to_id.then_some(USER),
        )]);
        let need_from = user_id_required(event, Side::From, answered, group) && !from_id;
        let need_to = user_id_required(event, Side::To, answered, group) && !to_id;
        match parse_batch(&body) {
            Ok(calls) => prop_assert!(!need_from && !need_to && calls.len() == 1),
            Err(problems) => {
                let mut expected = Vec::new();
                if need_from { expected.push("call_data[0].participants[0].miitel_user_id".to_string()); }
                if need_to { expected.push("call_data[0].participants[1].miitel_user_id".to_string()); }
                let got: Vec<String> = problems.into_iter().map(|p| p.path).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }
}
