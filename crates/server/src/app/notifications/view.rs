//! Slack rules, CRM connections and notification attempts as admins see them (HTTP and CLI
//! alike): a rule's webhook URL is never shown, only its host; a connection's credentials
//! never.

use kiku_domain::datetime;
use kiku_domain::outgoing_webhook::EndpointUrl;
use kiku_storage::{CrmConnection, NotificationAttempt, SlackRule};

use super::crm_connections::{base_url, config_of};
use serde_json::{json, Value};

/// The host a rule posts to: all of its webhook URL that may be shown.
pub fn webhook_host(r: &SlackRule) -> Option<String> {
    EndpointUrl::parse(&r.webhook_url)
        .ok()
        .and_then(|u| u.url().host_str().map(str::to_string))
}

pub fn rule(r: &SlackRule) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "webhook_host": webhook_host(r),
        "enabled": r.enabled,
        "include_summary": r.include_summary,
        "trigger": "speech_recognition_completed",
        "filters": r.filters,
        "created_at": datetime::format(r.created_at),
        "updated_at": datetime::format(r.updated_at),
    })
}

/// Everything but the credentials; a stored row that does not read shows without its
/// settings rather than failing the list.
pub fn connection(c: &CrmConnection) -> Value {
    let mut out = json!({
        "id": c.id,
        "kind": c.kind,
        "name": c.name,
        "base_url": c.base_url,
        "content": c.content,
        "enabled": c.enabled,
        "trigger": "speech_recognition_completed",
        "created_at": datetime::format(c.created_at),
        "updated_at": datetime::format(c.updated_at),
    });
    if let Ok((kind, config, _)) = config_of(c) {
        out["base_url"] = json!(base_url(kind, c));
        if let (Some(o), Value::Object(settings)) = (out.as_object_mut(), config.settings()) {
            o.extend(settings);
        }
    }
    out
}

pub fn attempt(a: &NotificationAttempt) -> Value {
    json!({
        "id": a.id,
        "channel": a.channel,
        "slack_rule_id": a.slack_rule_id,
        "crm_connection_id": a.crm_connection_id,
        "crm_record_id": a.crm_record_id,
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
