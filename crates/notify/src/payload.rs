//! The `call_analysis_completed` payload: MiiTel's `{"call": {id, tenant_code, details}}`
//! with the call detail Kiku renders, plus Kiku's keys and the endpoint's additional payload.

use kiku_domain::outgoing_webhook::{EventKind, ExtraPayload};
use serde_json::{json, Map, Value};

/// The endpoint's *leave out* options. The schema requires `phrases` and `keywords` in
/// every detail, so leaving them out sends empty arrays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayloadOptions {
    pub exclude_phrases: bool,
    pub exclude_keywords: bool,
}

/// What one event says about one call.
#[derive(Debug, Clone, Copy)]
pub struct PayloadInput<'a> {
    pub call_id: &'a str,
    pub tenant_code: &'a str,
    /// The detail as `GET /api/v1/calls/{id}` renders it (`analysis.detail`).
    pub detail: &'a Value,
    pub event_id: &'a str,
    pub event_type: EventKind,
    pub version: i64,
    pub previous_version: Option<i64>,
}

/// Builds the payload for one endpoint. Kiku's keys are written after the additional
/// payload, which cannot name them anyway (`ExtraPayload` refuses those keys).
pub fn completed_payload(
    input: PayloadInput<'_>,
    extra: &ExtraPayload,
    options: PayloadOptions,
) -> Value {
    let mut detail = input.detail.clone();
    if let Value::Object(d) = &mut detail {
        if options.exclude_phrases {
            d.insert("phrases".into(), json!([]));
        }
        if options.exclude_keywords {
            d.insert("keywords".into(), json!([]));
        }
    }
    let mut out: Map<String, Value> = extra.as_map().clone();
    out.insert(
        "call".into(),
        json!({"id": input.call_id, "tenant_code": input.tenant_code, "details": [detail]}),
    );
    out.insert("event_id".into(), json!(input.event_id));
    out.insert("event_type".into(), json!(input.event_type.as_str()));
    out.insert("version".into(), json!(input.version));
    out.insert("previous_version".into(), json!(input.previous_version));
    Value::Object(out)
}

/// The `call_analysis_failed` payload (Kiku's own event; MiiTel has none): the call in
/// MiiTel's envelope without details, and the cause.
pub fn failed_payload(
    call_id: &str,
    tenant_code: &str,
    event_id: &str,
    cause: &str,
    extra: &ExtraPayload,
) -> Value {
    let mut out: Map<String, Value> = extra.as_map().clone();
    out.insert(
        "call".into(),
        json!({"id": call_id, "tenant_code": tenant_code, "details": []}),
    );
    out.insert("event_id".into(), json!(event_id));
    out.insert(
        "event_type".into(),
        json!(kiku_domain::EventKind::CallAnalysisFailed.as_str()),
    );
    out.insert("version".into(), Value::Null);
    out.insert("previous_version".into(), Value::Null);
    out.insert("cause".into(), json!(cause));
    Value::Object(out)
}
