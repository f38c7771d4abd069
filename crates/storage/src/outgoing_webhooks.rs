//! Values going in and out of the outgoing webhook tables. Storage keeps what it is given;
//! validation lives in `kiku_domain::outgoing_webhook`.

use kiku_domain::{CallId, CompanyId, JobId, OutgoingDeliveryId, OutgoingWebhookId};

use crate::JobChange;
use serde_json::Value;
use time::OffsetDateTime;

/// A stored endpoint, secrets included: never hand it to a response as is.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingWebhook {
    pub id: OutgoingWebhookId,
    pub company_id: CompanyId,
    pub name: String,
    pub url: String,
    /// A JSON object of string values.
    pub headers: Value,
    /// A JSON object.
    pub payload: Value,
    pub exclude_phrases: bool,
    pub exclude_keywords: bool,
    pub enabled: bool,
    pub events: Vec<String>,
    /// `whsec_…`.
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<OffsetDateTime>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<OffsetDateTime>,
    pub last_success: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl OutgoingWebhook {
    /// The secrets to sign with at `now`: the current one, then the previous one while its
    /// 24 hours last.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if now < until {
                out.push(old);
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct NewOutgoingWebhook {
    pub company_id: CompanyId,
    pub name: String,
    pub url: String,
    pub headers: Value,
    pub payload: Value,
    pub exclude_phrases: bool,
    pub exclude_keywords: bool,
    pub enabled: bool,
    pub events: Vec<String>,
    pub secret: String,
    pub now: OffsetDateTime,
}

/// `None` keeps the stored value. Enabling clears `disabled_reason` and `failing_since`.
#[derive(Clone, Debug, Default)]
pub struct OutgoingWebhookPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub headers: Option<Value>,
    pub payload: Option<Value>,
    pub exclude_phrases: Option<bool>,
    pub exclude_keywords: Option<bool>,
    pub enabled: Option<bool>,
    pub events: Option<Vec<String>>,
}

/// A delivery job's end: its attempt (if one was made) and what becomes of the job,
/// recorded with others in one transaction.
#[derive(Clone, Debug)]
pub struct FinishedDelivery {
    pub job: JobId,
    /// The worker holding the job; nothing of it is written when it lost the job.
    pub worker: String,
    /// The attempt and its effect on the endpoint; `None` when none was made.
    pub attempt: Option<(NewOutgoingDelivery, DeliveryEffect)>,
    pub change: JobChange,
}

/// One attempt to record.
#[derive(Clone, Debug)]
pub struct NewOutgoingDelivery {
    pub endpoint_id: OutgoingWebhookId,
    pub company_id: CompanyId,
    pub event_id: String,
    pub call_id: Option<CallId>,
    /// 1 for the first attempt of this event to this endpoint.
    pub attempt: u32,
    pub attempted_at: OffsetDateTime,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub response_head: String,
    pub error: Option<String>,
    pub replay: bool,
}

/// What an attempt does to its endpoint, decided by the caller
/// (`kiku_domain::outgoing_webhook::decide` and `should_disable`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryEffect {
    /// Success: `last_success` = now, `failing_since` cleared.
    Delivered,
    /// Failure: `failing_since` set unless already set.
    Failed,
    /// Failure that disables the endpoint with this reason (410, failing for days).
    Disable(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingDelivery {
    pub id: OutgoingDeliveryId,
    pub endpoint_id: OutgoingWebhookId,
    pub company_id: CompanyId,
    pub event_id: String,
    pub call_id: Option<CallId>,
    pub attempt: u32,
    pub attempted_at: OffsetDateTime,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub response_head: String,
    pub error: Option<String>,
    pub replay: bool,
}

/// Which deliveries to list, newest first. `before` is the (`attempted_at`, `id`) of the
/// last row of the previous page.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub endpoint: Option<OutgoingWebhookId>,
    pub call: Option<CallId>,
    pub before: Option<(OffsetDateTime, OutgoingDeliveryId)>,
    pub limit: u32,
}
