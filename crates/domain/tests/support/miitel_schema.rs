//! A small checker for the vendor's JSON Schema (`call_analysis_completed`), shared by the
//! tests that must match it (`#[path]`-included: domain's call detail, notify's payloads,
//! the server's served Incoming Webhook schema).

#![allow(dead_code)] // each including test uses part of it

use serde_json::{json, Value};

pub const SCHEMA: &str =
    include_str!("../../../../fixtures/miitel/call_analysis_completed_schema.json");
/// The vendor's `call_summarization_completed` schema (the minutes' event).
pub const MINUTES_SCHEMA: &str =
    include_str!("../../../../fixtures/miitel/call_summarization_completed_schema.json");

/// The problems of `value` against the schema's definition `name` (`"Welcome"` for a whole
/// payload, `"Detail"` for one call detail); empty when it validates.
pub fn problems(value: &Value, name: &str) -> Vec<String> {
    problems_against(SCHEMA, value, name)
}

/// [`problems`] against another of the vendor's schemas.
pub fn problems_against(schema: &str, value: &Value, name: &str) -> Vec<String> {
    let schema: Value = serde_json::from_str(schema).expect("schema");
    let defs = &schema["definitions"];
    let mut errors = Vec::new();
    check(value, &defs[name], defs, name, &mut errors);
    errors
}

/// The JSON Schema `type` of `value` (`integer` for whole numbers).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The parts of JSON Schema the vendor's file uses: `$ref`, `type`, `required`,
/// `properties`, `additionalProperties: false`, `items` and `enum`.
pub fn check(value: &Value, schema: &Value, defs: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(name) = schema["$ref"].as_str() {
        let key = name.trim_start_matches("#/definitions/");
        return check(value, &defs[key], defs, path, errors);
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = json_type(value);
        let ok = allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !ok {
            errors.push(format!("{path}: {actual} is not {allowed:?}"));
        }
    }
    if let (Some(options), false) = (schema["enum"].as_array(), value.is_null()) {
        if !options.contains(value) {
            errors.push(format!("{path}: {value} not in enum"));
        }
    }
    if let Value::Object(map) = value {
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap_or_default();
            if !map.contains_key(key) {
                errors.push(format!("{path}: missing {key}"));
            }
        }
        for (key, child) in map {
            match schema["properties"].get(key) {
                Some(s) => check(child, s, defs, &format!("{path}.{key}"), errors),
                None if schema["additionalProperties"] == json!(false) => {
                    errors.push(format!("{path}: unexpected {key}"))
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(item, s, defs, &format!("{path}[{i}]"), errors);
        }
    }
}
