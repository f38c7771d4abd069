//! Outgoing webhook endpoints of the admin's company: create (challenged), list, show,
//! change, delete, rotate the secret, the delivery log and replays.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::OutgoingWebhookId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Admin;
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::app::outgoing_webhooks::replay::{self, Replay};
use crate::app::outgoing_webhooks::{self as service, view, EndpointChange, EndpointRequest};
use crate::app::AppError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointIn {
    name: String,
    url: String,
    headers: Option<Value>,
    payload: Option<Value>,
    exclude_phrases: Option<bool>,
    exclude_keywords: Option<bool>,
    enabled: Option<bool>,
    events: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatchIn {
    name: Option<String>,
    url: Option<String>,
    headers: Option<Value>,
    payload: Option<Value>,
    exclude_phrases: Option<bool>,
    exclude_keywords: Option<bool>,
    enabled: Option<bool>,
    events: Option<Vec<String>>,
}

#[derive(Deserialize)]
pub struct PageIn {
    before: Option<String>,
    limit: Option<u32>,
}

fn id_of(text: &str) -> Result<OutgoingWebhookId, AppError> {
    text.parse()
        .map_err(|_| AppError::NotFound("no such outgoing webhook in this company".into()))
}

pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<EndpointIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request = EndpointRequest {
        name: input.name,
        url: input.url,
        headers: input.headers,
        payload: input.payload,
        exclude_phrases: input.exclude_phrases,
        exclude_keywords: input.exclude_keywords,
        enabled: input.enabled,
        events: input.events,
    };
    let created = service::create(&app, me.company_id, request).await?;
    Ok((StatusCode::CREATED, Json(service::json_of(&created, true))))
}

pub async fn list(State(app): State<AppState>, Admin(me): Admin) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = service::list(&app, me.company_id)
        .await?
        .iter()
        .map(view::endpoint)
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = service::show(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view::endpoint(&e)))
}

pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EndpointPatchIn>,
) -> Result<Json<Value>, ApiError> {
    let change = EndpointChange {
        name: input.name,
        url: input.url,
        headers: input.headers,
        payload: input.payload,
        exclude_phrases: input.exclude_phrases,
        exclude_keywords: input.exclude_keywords,
        enabled: input.enabled,
        events: input.events,
    };
    let e = service::update(&app, me.company_id, id_of(&id)?, change).await?;
    Ok(Json(view::endpoint(&e)))
}

pub async fn delete(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::delete(&app, me.company_id, id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate_secret(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = service::rotate_secret(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(service::json_of(&e, true)))
}

pub async fn deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    Query(page): Query<PageIn>,
) -> Result<Json<Value>, ApiError> {
    let (items, next) = service::deliveries(
        &app,
        me.company_id,
        id_of(&id)?,
        page.before.as_deref(),
        page.limit,
    )
    .await?;
    let items: Vec<Value> = items.iter().map(view::delivery).collect();
    Ok(Json(json!({ "items": items, "next_before": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    event_id: Option<String>,
    failed_since: Option<String>,
}

/// `POST /api/v1/outgoing-webhooks/{id}/replay`: one event (`event_id`) or every event that
/// failed since a time (`failed_since`) sent again, under the same event ids.
pub async fn replay(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReplayIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let what = Replay::from_request(input.event_id, input.failed_since)?;
    let replaying = replay::replay(&app, me.company_id, id_of(&id)?, what).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "replaying": replaying })),
    ))
}
