//! The Incoming Webhook's call data: raw bytes, or a valid vendor batch with one field (of
//! the body, a call, a participant) changed, through `parse_batch` as `ingest` runs it.
#![no_main]

use kiku_domain::call_data::{parse_batch, MAX_CALLS_PER_BATCH};
use kiku_domain::Side;
use kiku_fuzz::{any_value, mutate_object, Choices};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const SAMPLES: &[&str] = &[
    include_str!("../../fixtures/miitel/sample1.json"),
    include_str!("../../fixtures/miitel/sample2.json"),
];

fuzz_target!(|data: &[u8]| {
    let mut c = Choices::new(data);
    let body = if c.byte().is_multiple_of(2) {
        match serde_json::from_slice::<Value>(c.rest()) {
            Ok(body) => body,
            Err(_) => return,
        }
    } else {
        mutated_sample(&mut c)
    };
    check(&body);
});

fn mutated_sample(c: &mut Choices<'_>) -> Value {
    let mut body: Value =
        serde_json::from_str(SAMPLES[c.below(SAMPLES.len())]).expect("the samples are JSON");
    if let Some(calls) = body["call_data"].as_array_mut() {
        // Several calls (up to one past the cap) so that per-call problems stack up.
        let copies = match c.byte() {
            // Rarely: one past the cap (slow to build, so not often).
            255 => MAX_CALLS_PER_BATCH + 1,
            n => 1 + usize::from(n % 3),
        };
        let first = calls[0].clone();
        calls.resize(copies, first);
    }
    for _ in 0..=c.below(2) {
        mutate_one_field(&mut body, c);
    }
    body
}

fn mutate_one_field(body: &mut Value, c: &mut Choices<'_>) {
    let calls = body["call_data"].as_array().map_or(0, Vec::len);
    let call = c.below(calls);
    let participant = c.below(2);
    let mut pointer = match c.byte() % 6 {
        0 => String::new(),
        1 => "/call_data".to_string(),
        2 | 3 => format!("/call_data/{call}"),
        4 => format!("/call_data/{call}/participants"),
        _ => format!("/call_data/{call}/participants/{participant}"),
    };
    // An earlier change may have removed the place: then the body itself changes.
    if body.pointer(&pointer).is_none() {
        pointer.clear();
    }
    let Some(target) = body.pointer_mut(&pointer) else {
        return;
    };
    match target {
        Value::Object(object) => mutate_object(object, c),
        Value::Array(items) => match c.byte() % 3 {
            0 if !items.is_empty() => {
                let at = c.below(items.len());
                items.remove(at);
            }
            1 if !items.is_empty() => {
                let at = c.below(items.len());
                items.push(items[at].clone());
            }
            _ => items.push(any_value(c)),
        },
        other => *other = any_value(c),
    }
}

/// What the rest of Kiku relies on once a batch is accepted.
fn check(body: &Value) {
    match parse_batch(body) {
        Ok(calls) => {
            let sent = body["call_data"].as_array().map_or(0, Vec::len);
            assert_eq!(calls.len(), sent, "every call sent is accepted or refused");
            assert!(calls.len() <= MAX_CALLS_PER_BATCH);
            for call in &calls {
                assert!(call.participant(Side::From).is_some());
                assert!(call.participant(Side::To).is_some());
                assert_eq!(call.participants.len(), 2);
                let _ = call.referenced_users().count();
                let _ = call.fingerprint();
                let _ = call.stereo_channels_ambiguous();
            }
        }
        Err(problems) => assert!(!problems.is_empty(), "a refusal says why"),
    }
}
