//! Values going in and out of the notification tables. Storage keeps what it is given;
//! validation lives in `kiku_domain::notification`.

use kiku_domain::notification::NotificationJob;
use kiku_domain::{
    CallId, CompanyId, CrmConnectionId, JobKind, NotificationAttemptId, SlackRuleId, UserId,
};
use serde_json::Value;
use time::OffsetDateTime;

use crate::{CrmRecordWrite, JobChange, NewJob};

/// A stored Slack rule, its webhook URL included: never hand it to a response as is.
#[derive(Clone, Debug, PartialEq)]
pub struct SlackRule {
    pub id: SlackRuleId,
    pub company_id: CompanyId,
    pub name: String,
    pub webhook_url: String,
    pub enabled: bool,
    pub include_summary: bool,
    /// The filters' JSON object.
    pub filters: Value,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct NewSlackRule {
    pub company_id: CompanyId,
    pub name: String,
    pub webhook_url: String,
    pub enabled: bool,
    pub include_summary: bool,
    pub filters: Value,
    pub now: OffsetDateTime,
}

/// `None` keeps the stored value.
#[derive(Clone, Debug, Default)]
pub struct SlackRulePatch {
    pub name: Option<String>,
    pub webhook_url: Option<String>,
    pub enabled: Option<bool>,
    pub include_summary: Option<bool>,
    pub filters: Option<Value>,
}

/// One attempt to record.
#[derive(Clone, Debug)]
pub struct NewNotificationAttempt {
    pub company_id: CompanyId,
    pub call_id: Option<CallId>,
    pub event_id: String,
    /// `slack`, `email` or `crm`.
    pub channel: String,
    pub slack_rule_id: Option<SlackRuleId>,
    pub crm_connection_id: Option<CrmConnectionId>,
    /// The CRM's id of the record written (or to be updated), when known.
    pub crm_record_id: Option<String>,
    /// The rule's or connection's name, or the e-mail address.
    pub target: String,
    pub attempt: u32,
    pub attempted_at: OffsetDateTime,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub response_head: String,
    pub error: Option<String>,
    /// `delivered`, `retrying` or `failed`.
    pub outcome: String,
    pub replay: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NotificationAttempt {
    pub id: NotificationAttemptId,
    pub company_id: CompanyId,
    pub call_id: Option<CallId>,
    pub event_id: String,
    pub channel: String,
    pub slack_rule_id: Option<SlackRuleId>,
    pub crm_connection_id: Option<CrmConnectionId>,
    pub crm_record_id: Option<String>,
    pub target: String,
    pub attempt: u32,
    pub attempted_at: OffsetDateTime,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub response_head: String,
    pub error: Option<String>,
    pub outcome: String,
    pub replay: bool,
}

/// Which attempts to list, newest first. `before` is the (`attempted_at`, `id`) of the
/// last row of the previous page.
#[derive(Clone, Debug, Default)]
pub struct AttemptFilter {
    pub call: Option<CallId>,
    pub slack_rule: Option<SlackRuleId>,
    pub crm_connection: Option<CrmConnectionId>,
    /// `slack`, `email` or `crm`.
    pub channel: Option<String>,
    pub before: Option<(OffsetDateTime, NotificationAttemptId)>,
    pub limit: u32,
}

/// A user's own notification choices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserNotifications {
    /// E-mail me when recognition of my calls completes.
    pub email_on_completion: bool,
}

/// The user who asked for e-mail, for [`crate::NotificationStore::email_opt_ins`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptedIn {
    pub user_id: UserId,
    pub email: String,
}

/// A notification job's attempts are bounded by the retry schedule, not by the job
/// table's counter (as for outgoing webhooks).
const NOTIFICATION_MAX_ATTEMPTS: u32 = 1_000;

impl NewJob {
    /// The `deliver_notification` job of `job`, ready now; kept with its call so that the
    /// call's notifications list what is still pending.
    pub fn notification(
        company: CompanyId,
        call: Option<CallId>,
        job: &NotificationJob,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: job.job_id(),
            kind: JobKind::DeliverNotification,
            company_id: company,
            call_id: call,
            payload: job.payload(),
            max_attempts: NOTIFICATION_MAX_ATTEMPTS,
            run_at: now,
        }
    }
}

/// A notification job's end: its attempt (if one was made) and what becomes of the job,
/// written in one transaction.
#[derive(Clone, Debug)]
pub struct FinishedNotification {
    pub job: kiku_domain::JobId,
    pub worker: String,
    pub attempt: Option<NewNotificationAttempt>,
    pub change: JobChange,
    /// The CRM record a delivered attempt wrote: kept per (connection, call), unless a
    /// newer version of the result is already there.
    pub crm_record: Option<CrmRecordWrite>,
    /// A CRM job: its claim on the call's record (if it holds one) ends with the attempt.
    pub crm_claim: bool,
}
