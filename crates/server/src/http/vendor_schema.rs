//! The Incoming Webhook's schemas as served (derived from `kiku_domain::call_data::wire`
//! and the domain's `Participant` and enums) keep following MiiTel's JSON Schema: the
//! vendor's sample documents validate against them, and every structural fact of the
//! vendor's schema (property names, required fields, types, enums, closed objects) holds
//! in them, save the leniencies docs/openapi.md lists.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::openapi_document;

#[path = "../../../domain/tests/support/miitel_schema.rs"]
mod miitel_schema;
use miitel_schema::json_type;

const VENDOR_SCHEMA: &str = include_str!("../../../../fixtures/miitel/incoming_schema.json");
const SAMPLES: [&str; 2] = [
    include_str!("../../../../fixtures/miitel/sample1.json"),
    include_str!("../../../../fixtures/miitel/sample2.json"),
];

/// The vendor's definitions and the served schemas that describe the same objects.
const SAME_OBJECTS: [(&str, &str); 4] = [
    ("Welcome", "IncomingWebhookRequest"),
    ("CallData", "CallData"),
    ("Participant", "Participant"),
    ("Tag", "Tag"),
];

/// Fields the vendor requires and Kiku accepts left out (documented in `CallData` and
/// `Participant`): `audio_channel_type` then means `STEREO`, the others `null`.
const LENIENT_REQUIRED: [(&str, &str); 3] = [
    ("CallData", "audio_channel_type"),
    ("Participant", "miitel_user_id"),
    ("Participant", "name"),
];

/// The schema `reference` points to in the served document.
fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("a local reference");
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} does not resolve"))
}

/// The problems of `value` against `schema` of the served document (the parts of JSON
/// Schema the derived schemas use, patterns aside); empty when it validates.
fn validate(value: &Value, schema: &Value, doc: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        return validate(value, resolve(doc, reference), doc, path, errors);
    }
    for all in schema["allOf"].as_array().into_iter().flatten() {
        validate(value, all, doc, path, errors);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let passing = options
                .iter()
                .filter(|option| {
                    let mut found = Vec::new();
                    validate(value, option, doc, path, &mut found);
                    found.is_empty()
                })
                .count();
            if passing == 0 || (key == "oneOf" && passing > 1) {
                errors.push(format!("{path}: {passing} of the {key} options match"));
            }
        }
    }
    let actual = json_type(value);
    let allowed = declared_types(schema);
    let number = actual == "integer" && allowed.contains("number");
    if !allowed.is_empty() && !allowed.contains(actual) && !number {
        errors.push(format!("{path}: {actual} is not {allowed:?}"));
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            errors.push(format!("{path}: {value} is not one of {options:?}"));
        }
    }
    let count = |key: &str| schema[key].as_u64().map(|n| n as usize);
    match value {
        Value::Object(map) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap_or_default();
                if !map.contains_key(key) {
                    errors.push(format!("{path}: missing {key}"));
                }
            }
            for (key, child) in map {
                let at = format!("{path}.{key}");
                match schema["properties"].get(key) {
                    Some(s) => validate(child, s, doc, &at, errors),
                    None if schema["additionalProperties"] == json!(false) => {
                        errors.push(format!("{path}: unexpected {key}"))
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            if count("minItems").is_some_and(|min| items.len() < min)
                || count("maxItems").is_some_and(|max| items.len() > max)
            {
                errors.push(format!("{path}: {} items", items.len()));
            }
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item, s, doc, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::String(text) => {
            let chars = text.chars().count();
            if count("minLength").is_some_and(|min| chars < min)
                || count("maxLength").is_some_and(|max| chars > max)
            {
                errors.push(format!("{path}: {chars} characters"));
            }
        }
        _ => {}
    }
}

/// The `type` of a schema, as a set.
fn declared_types(schema: &Value) -> BTreeSet<String> {
    match &schema["type"] {
        Value::String(t) => BTreeSet::from([t.clone()]),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Every type a value of `schema` may have, through references and alternatives.
fn types_of(schema: &Value, doc: &Value) -> BTreeSet<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        return types_of(resolve(doc, reference), doc);
    }
    let mut types = declared_types(schema);
    for key in ["oneOf", "anyOf"] {
        for option in schema[key].as_array().into_iter().flatten() {
            types.extend(types_of(option, doc));
        }
    }
    types
}

/// Every enumerated value of `schema` but `null`, through references and alternatives.
fn enum_of(schema: &Value, doc: &Value) -> BTreeSet<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        return enum_of(resolve(doc, reference), doc);
    }
    let mut values: BTreeSet<String> = schema["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| !v.is_null())
        .map(Value::to_string)
        .collect();
    for key in ["oneOf", "anyOf"] {
        for option in schema[key].as_array().into_iter().flatten() {
            values.extend(enum_of(option, doc));
        }
    }
    values
}

fn names(list: &Value) -> BTreeSet<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn the_vendor_samples_validate_against_the_served_schema() {
    let doc = openapi_document();
    let request = &doc["components"]["schemas"]["IncomingWebhookRequest"];
    for sample in SAMPLES {
        let sample: Value = serde_json::from_str(sample).expect("sample");
        let mut errors = Vec::new();
        validate(&sample, request, &doc, "$", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
    }
    // What the vendor's schema refuses, the served one refuses too.
    let sample: Value = serde_json::from_str(SAMPLES[1]).expect("sample");
    let mut broken = Vec::new();
    for (pointer, change) in [
        ("/call_data/0/participants/0", json!({"type": "FROM"})),
        ("/call_data/0/event_type", json!("CALL")),
        ("/call_data/0/tags/0", json!({"value": ""})),
        ("/call_data/0/participants", json!([])),
    ] {
        let mut wrong = sample.clone();
        *wrong.pointer_mut(pointer).expect(pointer) = change;
        broken.push(wrong);
    }
    let mut extra = sample.clone();
    extra["call_data"][0]["participants"][0]["nickname"] = json!("Taro");
    broken.push(extra);
    for wrong in broken {
        let mut errors = Vec::new();
        validate(&wrong, request, &doc, "$", &mut errors);
        assert!(!errors.is_empty(), "{wrong}");
    }
}

#[test]
fn the_served_schema_keeps_every_structural_fact_of_the_vendors() {
    let doc = openapi_document();
    let vendor: Value = serde_json::from_str(VENDOR_SCHEMA).expect("vendor schema");
    for (theirs, ours) in SAME_OBJECTS {
        let v = &vendor["definitions"][theirs];
        let o = &doc["components"]["schemas"][ours];
        assert!(o.is_object(), "{ours} is not served");
        let closed = |s: &Value| s["additionalProperties"] == json!(false);
        assert_eq!(closed(v), closed(o), "{ours}: additionalProperties");
        let required = names(&o["required"]);
        for field in names(&v["required"]) {
            let lenient = LENIENT_REQUIRED.contains(&(theirs, field));
            assert!(
                required.contains(field) || lenient,
                "{ours}.{field} is required by the vendor"
            );
        }
        for (field, vs) in v["properties"].as_object().expect("vendor properties") {
            let os = &o["properties"][field];
            assert!(os.is_object(), "{ours}.{field} is not served");
            let (vt, ot) = (types_of(vs, &vendor), types_of(os, &doc));
            assert!(vt.is_subset(&ot), "{ours}.{field}: {vt:?} ⊄ {ot:?}");
            assert_eq!(enum_of(vs, &vendor), enum_of(os, &doc), "{ours}.{field}");
        }
    }
}
