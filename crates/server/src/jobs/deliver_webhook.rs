//! `deliver_webhook`: one event to one outgoing webhook. The payload is rendered from the
//! event's version of the result (so every retry and replay sends the same thing under the
//! same event id); `deliver_once` signs, posts, logs the attempt and applies the retry
//! rule, and this schedules what it decided. An endpoint busy with as many deliveries as
//! it may have is not waited for: the job steps back (no attempt counted), so a slow
//! receiver never holds up the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kiku_domain::outgoing_webhook::{Decision, DeliveryPolicy};
use kiku_domain::{EventKind, OutgoingWebhookId};
use kiku_notify::{failed_payload, PayloadInput};
use kiku_storage::Event;

use super::{payload, JobContext, Outcome};
use crate::app::outgoing_webhooks::delivery_jobs::Deliver;
use crate::app::outgoing_webhooks::{deliver_once, DeliveryRequest, DeliveryTarget};
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
    let target = match DeliveryTarget::from_stored(&endpoint, app.clock.now()) {
        Ok(target) => target,
        Err(e) => {
            return Ok(Outcome::GiveUp(format!(
                "the stored endpoint does not read: {e}"
            )))
        }
    };
    let Some(body) = render(ctx, &event, &target).await? else {
        return Ok(Outcome::GiveUp(
            "the event's version of the result is gone".into(),
        ));
    };
    let event_id = event.id.to_string();
    let request = DeliveryRequest {
        endpoint: &endpoint,
        event_id: &event_id,
        call_id: event.call_id,
        body: &body,
        attempt: job.attempts,
        replay: deliver.replay,
    };
    let done = deliver_once(app, &settings.policy, request).await?;
    let what = match (done.attempt.status, &done.attempt.error) {
        (Some(status), _) => format!("the endpoint answered {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_string(),
    };
    let disabled = done.endpoint.as_ref().is_some_and(|e| !e.enabled);
    Ok(match done.decision {
        Decision::Delivered => Outcome::Done,
        Decision::Retry(_) if disabled => {
            Outcome::GiveUp(format!("{what}; the endpoint is now disabled"))
        }
        Decision::Retry(delay) => Outcome::Retry {
            cause: what,
            at: Some(app.clock.now() + delay),
        },
        Decision::GaveUp | Decision::DisableEndpoint => Outcome::GiveUp(what),
    })
}

/// The body `event` is sent to `target` with; `None` when its version of the result is gone.
async fn render(
    ctx: &JobContext<'_>,
    event: &Event,
    target: &DeliveryTarget,
) -> Result<Option<Vec<u8>>, AppError> {
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
        let payload = failed_payload(&call_text, &tenant, &event_id, cause, &target.payload);
        return Ok(Some(payload.to_string().into_bytes()));
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
    Ok(Some(target.completed_body(input)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_has_at_most_its_slots_and_gets_them_back() {
        let slots = EndpointSlots::default();
        let (a, b) = (OutgoingWebhookId::new(), OutgoingWebhookId::new());
        let first = slots.take(a, 2).expect("one");
        let second = slots.take(a, 2).expect("two");
        assert!(slots.take(a, 2).is_none(), "a third waits");
        assert!(
            slots.take(b, 2).is_some(),
            "another endpoint is not held up"
        );
        drop(first);
        let third = slots.take(a, 2).expect("a slot came back");
        drop((second, third));
        assert!(
            slots.0.lock().expect("lock").get(&a).is_none(),
            "no entry left behind"
        );
    }
}
