//! Every notification of a call — outgoing webhooks, Slack messages, e-mails, CRM records
//! — one entry per (target, event): its attempts and how it ended, or that it is still
//! waiting; a CRM entry carries the CRM's record id.

use std::collections::BTreeMap;

use kiku_domain::notification::{NotificationJob, Target};
use kiku_domain::{datetime, CallId, CompanyId, JobKind};
use kiku_storage::{AttemptFilter, DeliveryFilter, JobState};
use serde_json::{json, Value};

use crate::app::{App, AppError};

/// Attempts read per channel at most.
const MAX_ATTEMPTS: u32 = 1000;

#[derive(Default)]
struct Entry {
    target: Value,
    channel: &'static str,
    event_id: String,
    attempts: u32,
    /// The latest attempt's (time, replay, number): attempts made in the same millisecond
    /// are ordered by their number, a replay's after the originals.
    latest: Option<(time::OffsetDateTime, bool, u32)>,
    last: Option<Value>,
    outcome: String,
    /// CRM entries: the record written or updated.
    crm_record_id: Option<String>,
}

impl Entry {
    /// Counts an attempt; the latest one decides the outcome.
    fn add(&mut self, order: (time::OffsetDateTime, bool, u32), outcome: &str, last: Value) {
        self.attempts += 1;
        if self.latest.is_none_or(|seen| order > seen) {
            self.latest = Some(order);
            self.outcome = outcome.to_string();
            self.last = Some(last);
        }
    }
}

/// The call's notifications, oldest event first.
pub async fn of_call(app: &App, company: CompanyId, call: CallId) -> Result<Vec<Value>, AppError> {
    let mut entries: BTreeMap<(String, String, String), Entry> = BTreeMap::new();
    // The jobs before the attempts: a job ends in the transaction that logs its attempt,
    // so a job read as ended has its attempt in the later read (read the other way round,
    // a job ending in between would show as skipped).
    let jobs = app.store.jobs_for_call(call).await?;
    let filter = AttemptFilter {
        call: Some(call),
        limit: MAX_ATTEMPTS,
        ..AttemptFilter::default()
    };
    for a in app.store.notification_attempts(company, &filter).await? {
        let (channel, key_target, target) = match (a.slack_rule_id, a.crm_connection_id) {
            (Some(rule), _) => (
                "slack",
                rule.to_string(),
                json!({"slack_rule_id": rule, "name": a.target}),
            ),
            (None, Some(crm)) => (
                "crm",
                crm.to_string(),
                json!({"crm_connection_id": crm, "name": a.target}),
            ),
            (None, None) => ("email", a.target.clone(), json!({"email": a.target})),
        };
        let key = (channel.to_string(), key_target, a.event_id.clone());
        let entry = entries.entry(key).or_insert_with(|| Entry {
            target,
            channel,
            event_id: a.event_id.clone(),
            ..Entry::default()
        });
        let last = last_attempt(a.attempted_at, a.status, a.error.as_deref());
        entry.add((a.attempted_at, a.replay, a.attempt), &a.outcome, last);
        if a.crm_record_id.is_some() && entry.crm_record_id.is_none() {
            // Newest first: the first one seen is the latest.
            entry.crm_record_id = a.crm_record_id.clone();
        }
    }
    let deliveries = DeliveryFilter {
        endpoint: None,
        call: Some(call),
        before: None,
        limit: MAX_ATTEMPTS,
    };
    for d in app.store.outgoing_deliveries(company, &deliveries).await? {
        let key = (
            "webhook".into(),
            d.endpoint_id.to_string(),
            d.event_id.clone(),
        );
        let ok = d.status.is_some_and(|s| (200..300).contains(&s));
        let entry = entries.entry(key).or_insert_with(|| Entry {
            target: json!({"outgoing_webhook_id": d.endpoint_id}),
            channel: "webhook",
            event_id: d.event_id.clone(),
            ..Entry::default()
        });
        let outcome = if ok { "delivered" } else { "failed" };
        let last = last_attempt(d.attempted_at, d.status, d.error.as_deref());
        entry.add((d.attempted_at, d.replay, d.attempt), outcome, last);
    }
    // Jobs still waiting for their first attempt (or their next one).
    for job in jobs {
        if job.kind != JobKind::DeliverNotification || job.company_id != company {
            continue;
        }
        let Ok(payload) = serde_json::from_str::<NotificationJob>(&job.payload) else {
            continue;
        };
        let (channel, key_target, target) = match &payload.target {
            Target::Slack { rule_id } => (
                "slack",
                rule_id.to_string(),
                json!({"slack_rule_id": rule_id}),
            ),
            Target::Email { to } => ("email", to.clone(), json!({"email": to})),
            Target::Crm { connection_id } => (
                "crm",
                connection_id.to_string(),
                json!({"crm_connection_id": connection_id}),
            ),
        };
        let key = (
            channel.to_string(),
            key_target,
            payload.event_id.to_string(),
        );
        let pending = matches!(job.state, JobState::Queued | JobState::Running);
        let entry = entries.entry(key).or_insert_with(|| Entry {
            target,
            channel,
            event_id: payload.event_id.to_string(),
            // A done job without an attempt: the rule's filters left the call out.
            outcome: if pending { "pending" } else { "skipped" }.into(),
            ..Entry::default()
        });
        if pending && entry.outcome == "failed" {
            entry.outcome = "pending".into(); // replayed
        }
    }
    let mut items: Vec<Value> = entries
        .into_values()
        .map(|e| {
            let mut item = json!({
                "channel": e.channel,
                "target": e.target,
                "event_id": e.event_id,
                "attempts": e.attempts,
                "last_attempt": e.last,
                "outcome": e.outcome,
            });
            if e.channel == "crm" {
                item["crm_record_id"] = json!(e.crm_record_id);
            }
            item
        })
        .collect();
    items.sort_by(|a, b| {
        let at = |v: &Value| {
            v["last_attempt"]["attempted_at"]
                .as_str()
                .map(str::to_string)
        };
        (at(a), a["channel"].as_str().map(str::to_string))
            .cmp(&(at(b), b["channel"].as_str().map(str::to_string)))
    });
    Ok(items)
}

fn last_attempt(at: time::OffsetDateTime, status: Option<u16>, error: Option<&str>) -> Value {
    json!({"attempted_at": datetime::format(at), "status": status, "error": error})
}
