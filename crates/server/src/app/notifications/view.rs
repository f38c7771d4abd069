//! Slack rules and notification attempts as admins see them (HTTP and CLI alike): a rule's
//! webhook URL is never shown, only its host.

use kiku_domain::datetime;
use kiku_domain::outgoing_webhook::EndpointUrl;
use kiku_storage::{NotificationAttempt, SlackRule};
use serde_json::{json, Value};

pub fn rule(r: &SlackRule) -> Value {
    let host = EndpointUrl::parse(&r.webhook_url)
        .ok()
        .and_then(|u| u.url().host_str().map(str::to_string));
    json!({
        "id": r.id,
        "name": r.name,
        "webhook_host": host,
        "enabled": r.enabled,
        "include_summary": r.include_summary,
        "trigger": "speech_recognition_completed",
        "filters": r.filters,
        "created_at": datetime::format(r.created_at),
        "updated_at": datetime::format(r.updated_at),
    })
}

pub fn attempt(a: &NotificationAttempt) -> Value {
    json!({
        "id": a.id,
        "channel": a.channel,
        "slack_rule_id": a.slack_rule_id,
        "target": a.target,
        "event_id": a.event_id,
        "call_id": a.call_id,
        "attempt": a.attempt,
        "attempted_at": datetime::format(a.attempted_at),
        "status": a.status,
        "latency_ms": a.latency_ms,
        "response_head": a.response_head,
        "error": a.error,
        "outcome": a.outcome,
        "replay": a.replay,
    })
}
