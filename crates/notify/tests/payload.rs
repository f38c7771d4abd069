//! Every payload variant validates against the vendor's `call_analysis_completed` schema
//! (the minutes' against `call_summarization_completed`), and the bytes sent are those of
//! the payload.

#[path = "../../domain/tests/support/miitel_schema.rs"]
mod miitel_schema;

use kiku_domain::outgoing_webhook::{EventKind, ExtraPayload};
use kiku_notify::{
    completed_body, completed_payload, detail_json, minutes_payload, PayloadInput, PayloadOptions,
};
use serde_json::{json, Value};

fn vendor_detail() -> Value {
    let sample: Value = serde_json::from_str(include_str!(
        "../../../fixtures/miitel/call_analysis_completed_sample1.json"
    ))
    .expect("sample");
    sample["call"]["details"][0].clone()
}

#[test]
fn every_variant_matches_the_vendor_schema() {
    let detail = vendor_detail();
    assert!(!detail["phrases"].as_array().expect("phrases").is_empty());
    let extras = [
        ExtraPayload::default(),
        ExtraPayload::parse(&json!({"source": "kiku", "tenant": {"x": 1}})).expect("extra"),
    ];
    for extra in &extras {
        for (exclude_phrases, exclude_keywords) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            for (event_type, version, previous) in [
                (EventKind::CallAnalysisCompleted, 1, None),
                (EventKind::CallAnalysisCompleted, 2, Some(1)),
                (EventKind::CallAnalysisRescored, 3, Some(2)),
            ] {
                let input = PayloadInput {
                    call_id: "0184f502-8b66-4ab1-10d3-34c0049a9100",
                    tenant_code: "acme",
                    detail: &detail,
                    event_id: "evt_1",
                    event_type,
                    version,
                    previous_version: previous,
                };
                let options = PayloadOptions {
                    exclude_phrases,
                    exclude_keywords,
                };
                let payload = completed_payload(input, extra, options);
                // What is sent: the same bytes, from the detail serialized once.
                let body = completed_body(input, &detail_json(&detail, options), extra);
                assert_eq!(body, serde_json::to_vec(&payload).expect("json"));
                let problems = miitel_schema::problems(&payload, "Welcome");
                assert!(problems.is_empty(), "{options:?} {problems:#?}");
                let d = &payload["call"]["details"][0];
                assert_eq!(
                    d["phrases"].as_array().expect("phrases").is_empty(),
                    exclude_phrases
                );
                assert_eq!(
                    d["keywords"] == json!([]),
                    exclude_keywords || detail["keywords"] == json!([])
                );
                assert_eq!(payload["event_type"], event_type.as_str());
                assert_eq!(payload["version"], version);
                assert_eq!(payload["previous_version"], json!(previous));
                assert_eq!(payload["event_id"], "evt_1");
                assert_eq!(payload["call"]["tenant_code"], "acme");
                for (k, v) in extra.as_map() {
                    assert_eq!(&payload[k], v);
                }
            }
        }
    }
}

#[test]
fn the_minutes_payload_matches_the_vendor_schema() {
    let sample: Value = serde_json::from_str(include_str!(
        "../../../fixtures/miitel/call_summarization_completed_sample1.json"
    ))
    .expect("sample");
    // The checker reads this schema: the vendor's own sample passes, a detail without
    // `minutes` does not.
    assert!(
        miitel_schema::problems_against(miitel_schema::MINUTES_SCHEMA, &sample, "Welcome")
            .is_empty()
    );
    let mut broken = sample.clone();
    broken["call"]["details"][0]
        .as_object_mut()
        .expect("detail")
        .remove("minutes");
    assert!(
        !miitel_schema::problems_against(miitel_schema::MINUTES_SCHEMA, &broken, "Welcome")
            .is_empty()
    );

    let detail = vendor_detail();
    let extra = ExtraPayload::parse(&json!({"source": "kiku"})).expect("extra");
    let input = PayloadInput {
        call_id: "0184f502-8b66-4ab1-10d3-34c0049a9100",
        tenant_code: "acme",
        detail: &detail,
        event_id: "evt_2",
        event_type: EventKind::CallSummarizationCompleted,
        version: 2,
        previous_version: None,
    };
    let minutes = "Topic:\nA router.\n\nKey points:\n- It is broken.";
    let payload = minutes_payload(input, minutes, &extra);
    let problems =
        miitel_schema::problems_against(miitel_schema::MINUTES_SCHEMA, &payload, "Welcome");
    assert!(problems.is_empty(), "{problems:#?}");
    let d = &payload["call"]["details"][0];
    assert_eq!(d["minutes"], minutes);
    assert_eq!(d["id"], detail["id"]);
    assert_eq!(d["dial_starts_at"], detail["dial_starts_at"]);
    // Only what the vendor's event carries: no analysis, phrases or participant scores.
    assert!(d.get("phrases").is_none() && d.get("analysis").is_none());
    let participants = d["participants"].as_array().expect("participants");
    assert_eq!(
        participants.len(),
        detail["participants"].as_array().expect("p").len()
    );
    assert!(participants
        .iter()
        .all(|p| p.get("analysis").is_none() && p["id"].is_string()));
    assert_eq!(payload["event_type"], "call_summarization_completed");
    assert_eq!(payload["version"], 2);
    assert_eq!(payload["source"], "kiku");
}
