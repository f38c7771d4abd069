//! Every notification of a call — outgoing webhooks, Slack messages, e-mails, CRM records
//! — one entry per (target, event): its attempts and how it ended, or that it is still
//! waiting; a CRM entry carries the CRM's record id.

use std::collections::BTreeMap;

use kiku_domain::notification::{NotificationJob, Target};
use kiku_domain::{
    datetime, CallId, CompanyId, CrmConnectionId, JobKind, OutgoingWebhookId, SlackRuleId,
};
use kiku_storage::{AttemptFilter, DeliveryFilter, JobState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::{App, AppError};

/// Attempts read per channel at most.
const MAX_ATTEMPTS: u32 = 1000;

/// Where a notification goes; a Slack rule's or CRM connection's name once attempted.
/// Fields of this module's answers in the order they have always had (alphabetical).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum NotificationTarget {
    Slack {
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        name: Option<String>,
        slack_rule_id: SlackRuleId,
    },
    Crm {
        crm_connection_id: CrmConnectionId,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        name: Option<String>,
    },
    Email {
        email: String,
    },
    Webhook {
        outgoing_webhook_id: OutgoingWebhookId,
    },
}

/// The latest attempt of a notification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastAttempt {
    #[serde(skip)]
    pub at: time::OffsetDateTime,
    #[schema(format = DateTime)]
    pub attempted_at: String,
    #[schema(required)]
    pub error: Option<String>,
    #[schema(required)]
    pub status: Option<u16>,
}

/// One notification of a call: one target, one event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallNotification {
    #[schema(minimum = 0)]
    pub attempts: u32,
    #[schema(value_type = crate::http::schemas::NotificationChannel)]
    pub channel: &'static str,
    /// CRM notifications only (absent elsewhere): the record's id in the CRM (a Salesforce
    /// Task, a HubSpot call, a kintone record), `null` until one is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_record_id: Option<Option<String>>,
    #[schema(format = "uuid")]
    pub event_id: String,
    #[schema(required)]
    pub last_attempt: Option<LastAttempt>,
    /// `pending`: waiting for its first attempt (or a replay); `skipped`: the Slack rule's
    /// filters left the call out, or the CRM record already holds a newer version.
    #[schema(value_type = crate::http::schemas::NotificationOutcome)]
    pub outcome: String,
    pub target: NotificationTarget,
}

struct Entry {
    target: NotificationTarget,
    channel: &'static str,
    event_id: String,
    attempts: u32,
    /// The latest attempt's (time, replay, number): attempts made in the same millisecond
    /// are ordered by their number, a replay's after the originals.
    latest: Option<(time::OffsetDateTime, bool, u32)>,
    last: Option<LastAttempt>,
    outcome: String,
    /// CRM entries: the record written or updated.
    crm_record_id: Option<String>,
}

impl Entry {
    fn new(
        channel: &'static str,
        target: NotificationTarget,
        event_id: &str,
        outcome: &str,
    ) -> Self {
        Entry {
            target,
            channel,
            event_id: event_id.to_string(),
            attempts: 0,
            latest: None,
            last: None,
            outcome: outcome.to_string(),
            crm_record_id: None,
        }
    }

    /// Counts an attempt; the latest one decides the outcome.
    fn add(&mut self, order: (time::OffsetDateTime, bool, u32), outcome: &str, last: LastAttempt) {
        self.attempts += 1;
        if self.latest.is_none_or(|seen| order > seen) {
            self.latest = Some(order);
            self.outcome = outcome.to_string();
            self.last = Some(last);
        }
    }
}

/// The call's notifications, oldest event first.
pub async fn of_call(
    app: &App,
    company: CompanyId,
    call: CallId,
) -> Result<Vec<CallNotification>, AppError> {
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
                NotificationTarget::Slack {
                    slack_rule_id: rule,
                    name: Some(a.target.clone()),
                },
            ),
            (None, Some(crm)) => (
                "crm",
                crm.to_string(),
                NotificationTarget::Crm {
                    crm_connection_id: crm,
                    name: Some(a.target.clone()),
                },
            ),
            (None, None) => (
                "email",
                a.target.clone(),
                NotificationTarget::Email {
                    email: a.target.clone(),
                },
            ),
        };
        let key = (channel.to_string(), key_target, a.event_id.clone());
        let entry = entries
            .entry(key)
            .or_insert_with(|| Entry::new(channel, target, &a.event_id, ""));
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
        let target = NotificationTarget::Webhook {
            outgoing_webhook_id: d.endpoint_id,
        };
        let entry = entries
            .entry(key)
            .or_insert_with(|| Entry::new("webhook", target, &d.event_id, ""));
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
                NotificationTarget::Slack {
                    slack_rule_id: *rule_id,
                    name: None,
                },
            ),
            Target::Email { to } => (
                "email",
                to.clone(),
                NotificationTarget::Email { email: to.clone() },
            ),
            Target::Crm { connection_id } => (
                "crm",
                connection_id.to_string(),
                NotificationTarget::Crm {
                    crm_connection_id: *connection_id,
                    name: None,
                },
            ),
        };
        let key = (
            channel.to_string(),
            key_target,
            payload.event_id.to_string(),
        );
        let pending = matches!(job.state, JobState::Queued | JobState::Running);
        // A done job without an attempt: the rule's filters left the call out.
        let outcome = if pending { "pending" } else { "skipped" };
        let event_id = payload.event_id.to_string();
        let entry = entries
            .entry(key)
            .or_insert_with(|| Entry::new(channel, target, &event_id, outcome));
        if pending && entry.outcome == "failed" {
            entry.outcome = "pending".into(); // replayed
        }
    }
    let mut items: Vec<CallNotification> = entries
        .into_values()
        .map(|e| CallNotification {
            channel: e.channel,
            target: e.target,
            event_id: e.event_id,
            attempts: e.attempts,
            last_attempt: e.last,
            outcome: e.outcome,
            crm_record_id: (e.channel == "crm").then_some(e.crm_record_id),
        })
        .collect();
    // Oldest first; never attempted (pending, skipped) first of all.
    items.sort_by(|a, b| {
        let at = |n: &CallNotification| n.last_attempt.as_ref().map(|l| l.at);
        (at(a), a.channel).cmp(&(at(b), b.channel))
    });
    Ok(items)
}

fn last_attempt(at: time::OffsetDateTime, status: Option<u16>, error: Option<&str>) -> LastAttempt {
    LastAttempt {
        at,
        attempted_at: datetime::format(at),
        status,
        error: error.map(str::to_string),
    }
}
