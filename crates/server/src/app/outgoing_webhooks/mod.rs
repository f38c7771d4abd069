//! Outgoing webhook endpoints: created and re-pointed only after the SSRF check and the
//! challenge pass, listed without secrets, rotated; `target` turns a stored endpoint into
//! what is sent with, `deliver` makes and records one attempt (for the delivery runner),
//! `view` is the JSON admins see.

mod deliver;
pub mod render;
pub mod replay;
mod target;
pub mod view;

use kiku_domain::outgoing_webhook::{
    EndpointName, EndpointUrl, ExtraHeaders, ExtraPayload, InvalidEndpoint, OutgoingEvents,
};
use kiku_domain::{CompanyId, OutgoingWebhookId};
use kiku_notify::{ChallengeError, WebhookSecret};
use kiku_storage::{
    DeliveryFilter, NewOutgoingWebhook, OutgoingDelivery, OutgoingWebhook, OutgoingWebhookPatch,
};
use serde_json::Value;

use super::{cursor, App, AppError};

pub use deliver::{
    deliver_once, try_delivery, try_delivery_to, DeliveryOutcome, DeliveryRequest, Tried,
};
pub use target::{DeliveryTarget, InvalidStoredEndpoint};

/// How long the old secret still signs after a rotation.
pub const ROTATION_OVERLAP: time::Duration = time::Duration::hours(24);

/// What an admin sends to create an endpoint (`None`: the default).
#[derive(Debug, Clone, Default)]
pub struct EndpointRequest {
    pub name: String,
    pub url: String,
    pub headers: Option<Value>,
    pub payload: Option<Value>,
    pub exclude_phrases: Option<bool>,
    pub exclude_keywords: Option<bool>,
    pub enabled: Option<bool>,
    pub events: Option<Vec<String>>,
}

/// What an admin sends to change an endpoint (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub name: Option<String>,
    pub url: Option<String>,
    pub headers: Option<Value>,
    pub payload: Option<Value>,
    pub exclude_phrases: Option<bool>,
    pub exclude_keywords: Option<bool>,
    pub enabled: Option<bool>,
    pub events: Option<Vec<String>>,
}

fn invalid(e: InvalidEndpoint) -> AppError {
    AppError::InvalidRequest(e.to_string())
}

fn refused(e: ChallengeError) -> AppError {
    match e {
        ChallengeError::Ssrf(e) => AppError::UnsafeUrl(e.to_string()),
        other => AppError::ChallengeFailed(other.to_string()),
    }
}

fn not_found() -> AppError {
    AppError::NotFound("no such outgoing webhook in this company".into())
}

/// The SSRF check, then MiiTel's challenge, against `url` with `headers`.
async fn prove(app: &App, url: &EndpointUrl, headers: &ExtraHeaders) -> Result<(), AppError> {
    app.outgoing_webhooks
        .challenge(url.as_str(), headers)
        .await
        .map_err(refused)
}

pub async fn create(
    app: &App,
    company: CompanyId,
    req: EndpointRequest,
) -> Result<OutgoingWebhook, AppError> {
    let name = EndpointName::parse(&req.name).map_err(invalid)?;
    let url = EndpointUrl::parse(&req.url).map_err(invalid)?;
    let headers = match &req.headers {
        Some(h) => ExtraHeaders::parse(h).map_err(invalid)?,
        None => ExtraHeaders::default(),
    };
    let payload = match &req.payload {
        Some(p) => ExtraPayload::parse(p).map_err(invalid)?,
        None => ExtraPayload::default(),
    };
    let events = match &req.events {
        Some(e) => OutgoingEvents::parse(e).map_err(invalid)?,
        None => OutgoingEvents::default(),
    };
    if app.store.company(company).await?.is_none() {
        return Err(AppError::NotFound("no such company".into()));
    }
    prove(app, &url, &headers).await?;
    let new = NewOutgoingWebhook {
        company_id: company,
        name: name.as_str().into(),
        url: url.as_str().into(),
        headers: headers.to_json(),
        payload: Value::Object(payload.as_map().clone()),
        exclude_phrases: req.exclude_phrases.unwrap_or(false),
        exclude_keywords: req.exclude_keywords.unwrap_or(false),
        enabled: req.enabled.unwrap_or(true),
        events: events.names().into_iter().map(String::from).collect(),
        secret: WebhookSecret::generate().reveal(),
        now: app.clock.now(),
    };
    let created = app.store.create_outgoing_webhook(&new).await?;
    tracing::info!(company_id = %company, outgoing_webhook_id = %created.id, "outgoing webhook created");
    Ok(created)
}

/// Changes an endpoint; a new URL is checked and challenged first (with the headers it
/// will be called with).
pub async fn update(
    app: &App,
    company: CompanyId,
    id: OutgoingWebhookId,
    change: EndpointChange,
) -> Result<OutgoingWebhook, AppError> {
    let current = show(app, company, id).await?;
    let name = change
        .name
        .as_deref()
        .map(EndpointName::parse)
        .transpose()
        .map_err(invalid)?;
    let url = change
        .url
        .as_deref()
        .map(EndpointUrl::parse)
        .transpose()
        .map_err(invalid)?;
    let headers = change
        .headers
        .as_ref()
        .map(ExtraHeaders::parse)
        .transpose()
        .map_err(invalid)?;
    let payload = change
        .payload
        .as_ref()
        .map(ExtraPayload::parse)
        .transpose()
        .map_err(invalid)?;
    let events = change
        .events
        .as_deref()
        .map(OutgoingEvents::parse)
        .transpose()
        .map_err(invalid)?;
    if let Some(url) = url.as_ref().filter(|u| u.as_str() != current.url) {
        let headers = match &headers {
            Some(h) => h.clone(),
            None => ExtraHeaders::parse(&current.headers).map_err(invalid)?,
        };
        prove(app, url, &headers).await?;
    }
    let patch = OutgoingWebhookPatch {
        name: name.map(|n| n.as_str().into()),
        url: url.map(|u| u.as_str().into()),
        headers: headers.map(|h| h.to_json()),
        payload: payload.map(|p| Value::Object(p.as_map().clone())),
        exclude_phrases: change.exclude_phrases,
        exclude_keywords: change.exclude_keywords,
        enabled: change.enabled,
        events: events.map(|e| e.names().into_iter().map(String::from).collect()),
    };
    let updated = app
        .store
        .update_outgoing_webhook(company, id, &patch, app.clock.now())
        .await?;
    updated.ok_or_else(not_found)
}

pub async fn list(app: &App, company: CompanyId) -> Result<Vec<OutgoingWebhook>, AppError> {
    Ok(app.store.outgoing_webhooks(company).await?)
}

pub async fn show(
    app: &App,
    company: CompanyId,
    id: OutgoingWebhookId,
) -> Result<OutgoingWebhook, AppError> {
    app.store
        .outgoing_webhook(company, id)
        .await?
        .ok_or_else(not_found)
}

pub async fn delete(app: &App, company: CompanyId, id: OutgoingWebhookId) -> Result<(), AppError> {
    if app.store.delete_outgoing_webhook(company, id).await? {
        tracing::info!(company_id = %company, outgoing_webhook_id = %id, "outgoing webhook deleted");
        Ok(())
    } else {
        Err(not_found())
    }
}

/// A new secret; the old one keeps signing (as a second signature) for 24 hours.
pub async fn rotate_secret(
    app: &App,
    company: CompanyId,
    id: OutgoingWebhookId,
) -> Result<OutgoingWebhook, AppError> {
    let now = app.clock.now();
    let secret = WebhookSecret::generate().reveal();
    let rotated = app
        .store
        .rotate_outgoing_webhook_secret(company, id, &secret, now + ROTATION_OVERLAP, now)
        .await?;
    tracing::info!(company_id = %company, outgoing_webhook_id = %id, "outgoing webhook secret rotated");
    rotated.ok_or_else(not_found)
}

/// One page of an endpoint's attempts, newest first, and the cursor of the next page.
pub async fn deliveries(
    app: &App,
    company: CompanyId,
    id: OutgoingWebhookId,
    before: Option<&str>,
    limit: Option<u32>,
) -> Result<(Vec<OutgoingDelivery>, Option<String>), AppError> {
    show(app, company, id).await?;
    let limit = limit.unwrap_or(50).clamp(1, 200);
    let before = before.map(cursor::decode).transpose()?;
    let filter = DeliveryFilter {
        endpoint: Some(id),
        call: None,
        before,
        limit: limit + 1,
    };
    let mut page = app.store.outgoing_deliveries(company, &filter).await?;
    let next = if page.len() > limit as usize {
        page.truncate(limit as usize);
        page.last().map(|d| cursor::encode(d.attempted_at, d.id))
    } else {
        None
    };
    Ok((page, next))
}
