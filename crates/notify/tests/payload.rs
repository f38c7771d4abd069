//! Every payload variant validates against the vendor's `call_analysis_completed` schema,
//! and the bytes sent are those of the payload.

#[path = "../../domain/tests/support/miitel_schema.rs"]
mod miitel_schema;

use kiku_domain::outgoing_webhook::{EventKind, ExtraPayload};
use kiku_notify::{completed_body, completed_payload, detail_json, PayloadInput, PayloadOptions};
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
