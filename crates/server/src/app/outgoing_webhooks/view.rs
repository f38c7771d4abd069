//! Outgoing webhooks as admins see them (HTTP and CLI alike): header names but never their
//! values, never a secret unless the caller adds it on purpose. Fields in the order the
//! answers have always had (alphabetical).

use kiku_domain::{datetime, CallId, OutgoingDeliveryId, OutgoingWebhookId};
use kiku_storage::{OutgoingDelivery, OutgoingWebhook};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::schemas::OutgoingWebhookEvent;

/// An outgoing webhook endpoint.
#[derive(Serialize, ToSchema)]
#[schema(as = OutgoingWebhook)]
pub struct EndpointView {
    #[schema(format = DateTime)]
    created_at: String,
    /// Why Kiku disabled it (410 Gone, failing for 5 days).
    #[schema(required)]
    disabled_reason: Option<String>,
    enabled: bool,
    #[schema(value_type = Vec<OutgoingWebhookEvent>, min_items = 1)]
    events: Vec<String>,
    exclude_keywords: bool,
    exclude_phrases: bool,
    #[schema(required, format = DateTime)]
    failing_since: Option<String>,
    /// The names of the additional headers; their values are never shown.
    header_names: Vec<String>,
    id: OutgoingWebhookId,
    #[schema(required, format = DateTime)]
    last_success_at: Option<String>,
    name: String,
    /// Merged at the payload's top level.
    #[schema(value_type = Object)]
    payload: Value,
    #[schema(required, format = DateTime)]
    previous_secret_until: Option<String>,
    /// Standard Webhooks signing secret (`whsec_…`): only in the answers to creating the
    /// endpoint and to rotating its secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^whsec_")]
    secret: Option<String>,
    #[schema(format = DateTime)]
    updated_at: String,
    url: String,
}

pub fn endpoint(e: &OutgoingWebhook) -> EndpointView {
    let header_names = e
        .headers
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    EndpointView {
        created_at: datetime::format(e.created_at),
        disabled_reason: e.disabled_reason.clone(),
        enabled: e.enabled,
        events: e.events.clone(),
        exclude_keywords: e.exclude_keywords,
        exclude_phrases: e.exclude_phrases,
        failing_since: e.failing_since.map(datetime::format),
        header_names,
        id: e.id,
        last_success_at: e.last_success.map(datetime::format),
        name: e.name.clone(),
        payload: e.payload.clone(),
        previous_secret_until: e.previous_secret_until.map(datetime::format),
        secret: None,
        updated_at: datetime::format(e.updated_at),
        url: e.url.clone(),
    }
}

/// The endpoint with its signing secret (creation, rotation).
pub fn endpoint_with_secret(e: &OutgoingWebhook) -> EndpointView {
    EndpointView {
        secret: Some(e.secret.clone()),
        ..endpoint(e)
    }
}

/// One attempt to deliver an event to an outgoing webhook.
#[derive(Serialize, ToSchema)]
#[schema(as = OutgoingWebhookDelivery)]
pub struct DeliveryView {
    attempt: u32,
    #[schema(format = DateTime)]
    attempted_at: String,
    #[schema(required)]
    call_id: Option<CallId>,
    #[schema(required)]
    error: Option<String>,
    /// `webhook-id`: the same on every retry and replay.
    event_id: String,
    id: OutgoingDeliveryId,
    latency_ms: u64,
    outgoing_webhook_id: OutgoingWebhookId,
    replay: bool,
    /// First KiB of the response body.
    response_head: String,
    /// `null` when no response came (timeout, connection error, refused address).
    #[schema(required)]
    status: Option<u16>,
}

pub fn delivery(d: &OutgoingDelivery) -> DeliveryView {
    DeliveryView {
        attempt: d.attempt,
        attempted_at: datetime::format(d.attempted_at),
        call_id: d.call_id,
        error: d.error.clone(),
        event_id: d.event_id.clone(),
        id: d.id,
        latency_ms: d.latency_ms,
        outgoing_webhook_id: d.endpoint_id,
        replay: d.replay,
        response_head: d.response_head.clone(),
        status: d.status,
    }
}
