//! The `call_analysis_completed` payload: MiiTel's `{"call": {id, tenant_code, details}}`
//! with the call detail Kiku renders, plus Kiku's keys and the endpoint's additional payload.

use kiku_domain::outgoing_webhook::{EventKind, ExtraPayload};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
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
    envelope(input, detail, extra)
}

/// MiiTel's `{"call": {id, tenant_code, details: [detail]}}` after the endpoint's
/// additional payload, then Kiku's keys.
fn envelope(input: PayloadInput<'_>, detail: Value, extra: &ExtraPayload) -> Value {
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

/// The detail with the endpoint's leave-out options applied, serialized once for every
/// body that carries it ([`completed_body`]).
pub fn detail_json(detail: &Value, options: PayloadOptions) -> Box<RawValue> {
    let raw = if options == PayloadOptions::default() || !detail.is_object() {
        serde_json::value::to_raw_value(detail)
    } else {
        let mut detail = detail.clone();
        if let Value::Object(d) = &mut detail {
            if options.exclude_phrases {
                d.insert("phrases".into(), json!([]));
            }
            if options.exclude_keywords {
                d.insert("keywords".into(), json!([]));
            }
        }
        serde_json::value::to_raw_value(&detail)
    };
    // A `Value` always serializes; `null` (the default) keeps the function total.
    raw.unwrap_or_default()
}

/// The bytes of [`completed_payload`] (its keys in the same order), with the detail
/// already serialized by [`detail_json`] (`input.detail` is not read): a detail sent in
/// many events or to many endpoints is serialized once, not copied and serialized per
/// delivery.
pub fn completed_body(input: PayloadInput<'_>, detail: &RawValue, extra: &ExtraPayload) -> Vec<u8> {
    enum Entry<'a> {
        Value(&'a Value),
        Str(&'a str),
        Int(Option<i64>),
        Call(&'a str, &'a str, &'a RawValue),
    }
    impl Serialize for Entry<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Entry::Value(v) => v.serialize(s),
                Entry::Str(v) => s.serialize_str(v),
                Entry::Int(v) => v.serialize(s),
                Entry::Call(id, tenant, detail) => {
                    let mut call = s.serialize_map(Some(3))?;
                    call.serialize_entry("details", &[detail])?;
                    call.serialize_entry("id", id)?;
                    call.serialize_entry("tenant_code", tenant)?;
                    call.end()
                }
            }
        }
    }
    struct Body<'a>(Vec<(&'a str, Entry<'a>)>);
    impl Serialize for Body<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (key, entry) in &self.0 {
                map.serialize_entry(key, entry)?;
            }
            map.end()
        }
    }
    let mut entries: Vec<(&str, Entry<'_>)> = extra
        .as_map()
        .iter()
        .map(|(k, v)| (k.as_str(), Entry::Value(v)))
        .collect();
    entries.extend([
        (
            "call",
            Entry::Call(input.call_id, input.tenant_code, detail),
        ),
        ("event_id", Entry::Str(input.event_id)),
        ("event_type", Entry::Str(input.event_type.as_str())),
        ("version", Entry::Int(Some(input.version))),
        ("previous_version", Entry::Int(input.previous_version)),
    ]);
    // As a `Map` (sorted, the last of a key winning) writes them; `ExtraPayload` refuses
    // Kiku's keys anyway.
    entries.reverse();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries.dedup_by(|later, first| later.0 == first.0);
    serde_json::to_vec(&Body(entries)).unwrap_or_default()
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

/// The call detail's keys MiiTel's `call_summarization_completed` repeats, and its
/// participants' keys.
const MINUTES_DETAIL_KEYS: [&str; 13] = [
    "id",
    "dial_starts_at",
    "dial_answered_at",
    "dial_ends_at",
    "queueing_starts_at",
    "queueing_answered_at",
    "queueing_ends_at",
    "call_type",
    "circuit_number",
    "circuit_name",
    "from_number",
    "to_number",
    "previous_id",
];
const MINUTES_PARTICIPANT_KEYS: [&str; 5] = ["id", "from_to", "name", "company_name", "login_id"];

/// The `call_summarization_completed` payload: MiiTel's envelope with the call's own
/// fields from `input.detail` (the version the minutes were written from), its
/// participants, and `minutes`; then Kiku's keys, as in [`completed_payload`].
pub fn minutes_payload(input: PayloadInput<'_>, minutes: &str, extra: &ExtraPayload) -> Value {
    let pick = |from: &Value, keys: &[&str]| -> Map<String, Value> {
        keys.iter()
            .map(|k| {
                (
                    (*k).to_string(),
                    from.get(k).cloned().unwrap_or(Value::Null),
                )
            })
            .collect()
    };
    let mut detail = pick(input.detail, &MINUTES_DETAIL_KEYS);
    let participants: Vec<Value> = input.detail["participants"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|p| Value::Object(pick(p, &MINUTES_PARTICIPANT_KEYS)))
                .collect()
        })
        .unwrap_or_default();
    detail.insert("participants".into(), Value::Array(participants));
    detail.insert("minutes".into(), json!(minutes));
    envelope(input, Value::Object(detail), extra)
}
