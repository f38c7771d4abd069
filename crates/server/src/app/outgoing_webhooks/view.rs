//! Outgoing webhooks as admins see them (HTTP and CLI alike): header names but never their
//! values, never a secret unless the caller adds it on purpose.

use kiku_domain::datetime;
use kiku_storage::{OutgoingDelivery, OutgoingWebhook};
use serde_json::{json, Value};

pub fn endpoint(e: &OutgoingWebhook) -> Value {
    let header_names: Vec<&String> = e
        .headers
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    json!({
        "id": e.id,
        "name": e.name,
        "url": e.url,
        "header_names": header_names,
        "payload": e.payload,
        "exclude_phrases": e.exclude_phrases,
        "exclude_keywords": e.exclude_keywords,
        "enabled": e.enabled,
        "events": e.events,
        "disabled_reason": e.disabled_reason,
        "failing_since": e.failing_since.map(datetime::format),
        "last_success_at": e.last_success.map(datetime::format),
        "previous_secret_until": e.previous_secret_until.map(datetime::format),
        "created_at": datetime::format(e.created_at),
        "updated_at": datetime::format(e.updated_at),
    })
}

pub fn delivery(d: &OutgoingDelivery) -> Value {
    json!({
        "id": d.id,
        "outgoing_webhook_id": d.endpoint_id,
        "event_id": d.event_id,
        "call_id": d.call_id,
        "attempt": d.attempt,
        "attempted_at": datetime::format(d.attempted_at),
        "status": d.status,
        "latency_ms": d.latency_ms,
        "response_head": d.response_head,
        "error": d.error,
        "replay": d.replay,
    })
}
