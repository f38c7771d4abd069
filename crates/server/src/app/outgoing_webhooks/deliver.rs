//! One delivery attempt of one event to one endpoint, start to end: send, decide by the
//! retry rule, record the attempt and its effect on the endpoint. The delivery job runner
//! calls this and schedules what the decision says.

use kiku_domain::outgoing_webhook::{
    decide, should_disable, AttemptResult, Decision, DeliveryPolicy,
};
use kiku_domain::CallId;
use kiku_notify::{Attempt, Delivery};
use kiku_storage::{DeliveryEffect, NewOutgoingDelivery, OutgoingWebhook};
use time::OffsetDateTime;

use super::target::DeliveryTarget;
use crate::app::{App, AppError};

/// What to send.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryRequest<'a> {
    /// The endpoint as stored now (fetch it just before: it may have been disabled).
    pub endpoint: &'a OutgoingWebhook,
    /// `webhook-id`; the same for every attempt and replay of the event.
    pub event_id: &'a str,
    pub call_id: Option<CallId>,
    /// This endpoint's payload (see [`DeliveryTarget::completed_body`]).
    pub body: &'a [u8],
    /// 1 for the first attempt of this event to this endpoint.
    pub attempt: u32,
    pub replay: bool,
}

/// What came of it.
#[derive(Debug, Clone)]
pub struct DeliveryOutcome {
    pub attempt: Attempt,
    /// `Retry(delay)`: schedule attempt + 1 after `delay`; the others are final.
    pub decision: Decision,
    /// The endpoint after the attempt (`None`: deleted meanwhile, nothing recorded).
    pub endpoint: Option<OutgoingWebhook>,
}

const DAY_MS: u128 = 24 * 3600 * 1000;

/// An attempt made and judged, not yet recorded.
#[derive(Debug, Clone)]
pub struct Tried {
    pub attempt: Attempt,
    /// `Retry(delay)`: schedule attempt + 1 after `delay`; the others are final.
    pub decision: Decision,
    /// What it does to the endpoint (success, failure streak, disabled).
    pub effect: DeliveryEffect,
    /// The log row.
    pub record: NewOutgoingDelivery,
}

/// Sends once, records the attempt and what it does to the endpoint (success, failure
/// streak, disabled on 410 or after `policy.disable_after` without success). Endpoint
/// trouble is in the outcome; `Err` only when the database fails. The delivery runner
/// records many at once instead: [`try_delivery`], then `finish_deliveries`.
pub async fn deliver_once(
    app: &App,
    policy: &DeliveryPolicy,
    req: DeliveryRequest<'_>,
) -> Result<DeliveryOutcome, AppError> {
    let tried = try_delivery(app, policy, req).await;
    let endpoint = app
        .store
        .record_outgoing_delivery(&tried.record, &tried.effect)
        .await?;
    Ok(DeliveryOutcome {
        attempt: tried.attempt,
        decision: tried.decision,
        endpoint,
    })
}

/// Signs and sends once, and judges the answer by the retry rule; writes nothing.
pub async fn try_delivery(app: &App, policy: &DeliveryPolicy, req: DeliveryRequest<'_>) -> Tried {
    let now = app.clock.now();
    match DeliveryTarget::from_stored(req.endpoint, now) {
        Ok(target) => try_delivery_to(app, policy, req, &target).await,
        Err(e) => {
            let attempt = Attempt {
                status: None,
                latency_ms: 0,
                response_head: String::new(),
                error: Some(format!("the stored endpoint is no longer valid: {e}")),
                retry_after: None,
            };
            judged(policy, req, now, attempt, Decision::GaveUp)
        }
    }
}

/// [`try_delivery`] to an endpoint already made ready (the delivery runner makes each
/// endpoint's target once per batch, not once per delivery).
pub async fn try_delivery_to(
    app: &App,
    policy: &DeliveryPolicy,
    req: DeliveryRequest<'_>,
    target: &DeliveryTarget,
) -> Tried {
    let now = app.clock.now();
    let secrets = target.secret_refs();
    let attempt = app
        .outgoing_webhooks
        .deliver(Delivery {
            url: &target.url,
            headers: &target.headers,
            event_id: req.event_id,
            timestamp: now.unix_timestamp(),
            body: req.body,
            secrets: &secrets,
        })
        .await;
    let result = AttemptResult {
        status: attempt.status,
        retry_after: attempt.retry_after,
    };
    let decision = decide(policy, req.attempt, result, rand::random::<f64>());
    judged(policy, req, now, attempt, decision)
}

/// What an attempt made at `now` does to its endpoint, and its log row.
fn judged(
    policy: &DeliveryPolicy,
    req: DeliveryRequest<'_>,
    now: OffsetDateTime,
    attempt: Attempt,
    decision: Decision,
) -> Tried {
    let failing_since_ms = req
        .endpoint
        .failing_since
        .unwrap_or(now)
        .unix_timestamp_nanos()
        / 1_000_000;
    let now_ms = now.unix_timestamp_nanos() / 1_000_000;
    let effect = match decision {
        Decision::Delivered => DeliveryEffect::Delivered,
        Decision::DisableEndpoint => {
            DeliveryEffect::Disable("the receiver answered 410 Gone".into())
        }
        _ if should_disable(
            policy,
            i64::try_from(failing_since_ms).ok(),
            i64::try_from(now_ms).unwrap_or(i64::MAX),
        ) =>
        {
            DeliveryEffect::Disable(format!(
                "no successful delivery for {} days",
                policy.disable_after.as_millis() / DAY_MS
            ))
        }
        _ => DeliveryEffect::Failed,
    };
    let record = NewOutgoingDelivery {
        endpoint_id: req.endpoint.id,
        company_id: req.endpoint.company_id,
        event_id: req.event_id.into(),
        call_id: req.call_id,
        attempt: req.attempt,
        attempted_at: now,
        status: attempt.status,
        latency_ms: attempt.latency_ms,
        response_head: attempt.response_head.clone(),
        error: attempt.error.clone(),
        replay: req.replay,
    };
    // Ids and numbers only: the URL may carry a token, the response may carry anything.
    tracing::info!(
        outgoing_webhook_id = %req.endpoint.id,
        event_id = req.event_id,
        attempt = req.attempt,
        status = attempt.status,
        latency_ms = attempt.latency_ms,
        decision = ?decision,
        "outgoing webhook attempt"
    );
    if let DeliveryEffect::Disable(reason) = &effect {
        tracing::warn!(outgoing_webhook_id = %req.endpoint.id, reason = %reason, "outgoing webhook disabled");
    }
    Tried {
        attempt,
        decision,
        effect,
        record,
    }
}
