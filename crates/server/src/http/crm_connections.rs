//! CRM connections of the admin's company: create, list, show, change, delete, the attempt
//! log and replays. Credentials are write-only: taken here, never shown.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::crm::CrmFields;
use kiku_domain::CrmConnectionId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Admin;
use super::json::ApiJson;
use super::notifications::{attempts_json, replaying, target_replay, PageIn, ReplayIn};
use super::{ApiError, AppState};
use crate::app::notifications::crm_connections::{
    self as service, not_found, ConnectionChange, ConnectionRequest,
};
use crate::app::notifications::{attempts, replay, view};
use crate::app::AppError;

/// Every field a request may carry, flat as the API takes them (one struct, so that
/// `deny_unknown_fields` catches a misspelt setting); which settings apply depends on the
/// connection's kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionIn {
    kind: Option<String>,
    name: Option<String>,
    base_url: Option<String>,
    content: Option<String>,
    enabled: Option<bool>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    api_version: Option<String>,
    access_token: Option<String>,
    app: Option<u64>,
    api_token: Option<String>,
    field_map: Option<BTreeMap<String, String>>,
    guest_space_id: Option<u64>,
}

impl ConnectionIn {
    fn fields(&self) -> CrmFields {
        CrmFields {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            refresh_token: self.refresh_token.clone(),
            api_version: self.api_version.clone(),
            access_token: self.access_token.clone(),
            app: self.app,
            api_token: self.api_token.clone(),
            field_map: self.field_map.clone(),
            guest_space_id: self.guest_space_id,
        }
    }
}

fn id_of(text: &str) -> Result<CrmConnectionId, AppError> {
    text.parse().map_err(|_| not_found())
}

pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<ConnectionIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let missing = |field: &str| AppError::InvalidRequest(format!("{field} is required"));
    let request = ConnectionRequest {
        fields: input.fields(),
        kind: input.kind.ok_or_else(|| missing("kind"))?,
        name: input.name.ok_or_else(|| missing("name"))?,
        base_url: input.base_url,
        content: input.content,
        enabled: input.enabled,
    };
    let created = service::create(&app, me.company_id, request).await?;
    Ok((StatusCode::CREATED, Json(view::connection(&created))))
}

pub async fn list(State(app): State<AppState>, Admin(me): Admin) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = service::list(&app, me.company_id)
        .await?
        .iter()
        .map(view::connection)
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let connection = service::show(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view::connection(&connection)))
}

pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConnectionIn>,
) -> Result<Json<Value>, ApiError> {
    if input.kind.is_some() {
        return Err(AppError::InvalidRequest(
            "kind cannot change: create another connection".into(),
        )
        .into());
    }
    let change = ConnectionChange {
        fields: input.fields(),
        name: input.name,
        base_url: input.base_url,
        content: input.content,
        enabled: input.enabled,
    };
    let connection = service::update(&app, me.company_id, id_of(&id)?, change).await?;
    Ok(Json(view::connection(&connection)))
}

pub async fn delete(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::delete(&app, me.company_id, id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/crm-connections/{id}/deliveries`: the connection's attempts, newest first.
pub async fn deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    Query(page): Query<PageIn>,
) -> Result<Json<Value>, ApiError> {
    let page = attempts::of_crm_connection(&app, me.company_id, id_of(&id)?, page.into()).await?;
    Ok(Json(attempts_json(&page)))
}

/// `POST /api/v1/crm-connections/{id}/replay`: one event (`event_id`) or every failed one
/// since a time (`failed_since`) written again, updating the call's record.
pub async fn replay(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReplayIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let what = target_replay(input)?;
    let count = replay::crm(&app, me.company_id, id_of(&id)?, what).await?;
    Ok(replaying(count))
}
