//! `deliver_webhook`: one event to one outgoing webhook. The payload is rendered from the
//! event's version of the result (so every retry and replay sends the same thing under the
//! same event id), signed and posted; the attempt is logged and the retry rule decides
//! what follows. An endpoint busy with as many deliveries as it may have is not waited
//! for: the job steps back (no attempt counted), so a slow receiver never holds up others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kiku_domain::outgoing_webhook::{
    decide, should_disable, AttemptResult, Decision, DeliveryPolicy,
};
use kiku_domain::{EventKind, OutgoingWebhookId};
use kiku_notify::{completed_payload, failed_payload, Delivery, PayloadInput};
use kiku_storage::{DeliveryEffect, Event, NewOutgoingDelivery, OutgoingWebhook};
use serde_json::Value;

use super::{payload, JobContext, Outcome};
use crate::app::outgoing_webhooks::delivery_jobs::Deliver;
use crate::app::outgoing_webhooks::DeliveryTarget;
use crate::app::{analysis, AppError};

/// How deliveries run (settings `outgoing_retry_schedule_seconds`,
/// `outgoing_disable_after_hours`, `outgoing_deliveries_per_endpoint`).
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    pub policy: DeliveryPolicy,
    /// Deliveries in flight to one endpoint from this process at most.
    pub per_endpoint: usize,
    pub slots: EndpointSlots,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            policy: DeliveryPolicy::default(),
            per_endpoint: 4,
            slots: EndpointSlots::default(),
        }
    }
}

/// Deliveries in flight per endpoint in this process.
#[derive(Clone, Debug, Default)]
pub struct EndpointSlots(Arc<Mutex<HashMap<OutgoingWebhookId, usize>>>);

/// A taken slot, given back on drop.
struct Slot {
    slots: EndpointSlots,
    endpoint: OutgoingWebhookId,
}

impl EndpointSlots {
    fn take(&self, endpoint: OutgoingWebhookId, limit: usize) -> Option<Slot> {
        let mut busy = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = busy.entry(endpoint).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            endpoint,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = busy.get_mut(&self.endpoint) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                busy.remove(&self.endpoint);
            }
        }
    }
}

pub async fn run(ctx: &JobContext<'_>) -> Result<Outcome, AppError> {
    let (app, job) = (ctx.app, ctx.job);
    let deliver: Deliver = match payload(job) {
        Ok(p) => p,
        Err(outcome) => return Ok(outcome),
    };
    let company = job.company_id;
    let Some(endpoint) = app
        .store
        .outgoing_webhook(company, deliver.endpoint_id)
        .await?
    else {
        return Ok(Outcome::GiveUp("the outgoing webhook was deleted".into()));
    };
    if !endpoint.enabled {
        let why = endpoint.disabled_reason.as_deref().unwrap_or("by an admin");
        return Ok(Outcome::GiveUp(format!(
            "the outgoing webhook is disabled ({why})"
        )));
    }
    let settings = &ctx.options.delivery;
    let Some(_slot) = settings.slots.take(endpoint.id, settings.per_endpoint) else {
        return Ok(Outcome::Postpone {
            at: app.clock.now() + std::time::Duration::from_secs(1),
        });
    };
    let Some(event) = app.store.event(company, deliver.event_id).await? else {
        return Ok(Outcome::GiveUp("the event no longer exists".into()));
    };
    let now = app.clock.now();
    let target = match DeliveryTarget::from_stored(&endpoint, now) {
        Ok(target) => target,
        Err(e) => {
            return Ok(Outcome::GiveUp(format!(
                "the stored endpoint does not read: {e}"
            )))
        }
    };
    let body = match render(ctx, &event, &target).await? {
        Some(body) => body,
        None => {
            return Ok(Outcome::GiveUp(
                "the event's version of the result is gone".into(),
            ))
        }
    };
    let body = serde_json::to_vec(&body).map_err(AppError::internal)?;
    let event_id = event.id.to_string();
    let attempt = app
        .outgoing_webhooks
        .deliver(Delivery {
            url: &target.url,
            headers: &target.headers,
            event_id: &event_id,
            timestamp: now.unix_timestamp(),
            body: &body,
            secrets: &target.secret_refs(),
        })
        .await;
    let result = AttemptResult {
        status: attempt.status,
        retry_after: attempt.retry_after,
    };
    let decision = decide(&settings.policy, job.attempts, result, rand::random());
    let effect = effect_of(&settings.policy, decision, &endpoint, now);
    let record = NewOutgoingDelivery {
        endpoint_id: endpoint.id,
        company_id: company,
        event_id: event_id.clone(),
        call_id: event.call_id,
        attempt: job.attempts,
        attempted_at: now,
        status: attempt.status,
        latency_ms: attempt.latency_ms,
        response_head: attempt.response_head.clone(),
        error: attempt.error.clone(),
        replay: deliver.replay,
    };
    app.store.record_outgoing_delivery(&record, &effect).await?;
    let what = match (attempt.status, &attempt.error) {
        (Some(status), _) => format!("the endpoint answered {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_string(),
    };
    tracing::info!(endpoint = %endpoint.id, event = %event_id, attempt = job.attempts, status = ?attempt.status, latency_ms = attempt.latency_ms, "outgoing webhook attempt");
    Ok(match (decision, effect) {
        (Decision::Delivered, _) => Outcome::Done,
        (_, DeliveryEffect::Disable(reason)) => Outcome::GiveUp(reason),
        (Decision::Retry(delay), _) => Outcome::Retry {
            cause: what,
            at: Some(now + delay),
        },
        (Decision::GaveUp | Decision::DisableEndpoint, _) => Outcome::GiveUp(what),
    })
}

/// What the attempt does to the endpoint: 410 and five days of failures disable it.
fn effect_of(
    policy: &DeliveryPolicy,
    decision: Decision,
    endpoint: &OutgoingWebhook,
    now: time::OffsetDateTime,
) -> DeliveryEffect {
    match decision {
        Decision::Delivered => DeliveryEffect::Delivered,
        Decision::DisableEndpoint => {
            DeliveryEffect::Disable("the endpoint answered 410 Gone".into())
        }
        Decision::Retry(_) | Decision::GaveUp => {
            let since = endpoint
                .failing_since
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
            let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
            if should_disable(policy, since, now_ms) {
                let days = policy.disable_after.as_secs() / 86_400;
                DeliveryEffect::Disable(format!(
                    "no delivery succeeded for {days} days; the last attempts failed"
                ))
            } else {
                DeliveryEffect::Failed
            }
        }
    }
}

/// The payload of `event` for `target`; `None` when its version of the result is gone.
async fn render(
    ctx: &JobContext<'_>,
    event: &Event,
    target: &DeliveryTarget,
) -> Result<Option<Value>, AppError> {
    let app = ctx.app;
    let company = ctx.job.company_id;
    let tenant = company.to_string();
    let event_id = event.id.to_string();
    let Some(call_id) = event.call_id else {
        return Ok(None);
    };
    let call_text = call_id.to_string();
    if event.kind == EventKind::CallAnalysisFailed {
        let cause = event.detail.as_deref().unwrap_or("the analysis failed");
        return Ok(Some(failed_payload(
            &call_text,
            &tenant,
            &event_id,
            cause,
            &target.payload,
        )));
    }
    let (Some(version), Some(call)) = (event.version, app.store.call(company, call_id).await?)
    else {
        return Ok(None);
    };
    let Some(record) = app
        .store
        .analysis_version(company, call_id, version)
        .await?
    else {
        return Ok(None);
    };
    let calls = [call];
    let mut details = analysis::details_of(app, company, &calls, vec![record]).await?;
    let Some(detail) = details.remove(&call_id) else {
        return Ok(None);
    };
    let input = PayloadInput {
        call_id: &call_text,
        tenant_code: &tenant,
        detail: &detail.detail,
        event_id: &event_id,
        event_type: event.kind,
        version: i64::from(version),
        previous_version: event.previous_version.map(i64::from),
    };
    Ok(Some(completed_payload(
        input,
        &target.payload,
        target.options,
    )))
}
