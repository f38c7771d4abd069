//! Auto-tag rules of the admin's company: create, list, show, change, delete, and apply
//! one to every past call.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::auth::Admin;
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::app::tag_rules::{self as service, id_of, view, TagRuleRequest};

pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<TagRuleRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let rule = service::create(&app, me.company_id, input).await?;
    Ok((StatusCode::CREATED, Json(view(&rule))))
}

pub async fn list(State(app): State<AppState>, Admin(me): Admin) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = service::list(&app, me.company_id)
        .await?
        .iter()
        .map(view)
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rule = service::show(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view(&rule)))
}

pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TagRuleRequest>,
) -> Result<Json<Value>, ApiError> {
    let rule = service::update(&app, me.company_id, id_of(&id)?, input).await?;
    Ok(Json(view(&rule)))
}

pub async fn delete(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::delete(&app, me.company_id, id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/tag-rules/{id}/apply`: the rule evaluated on every analysed call of the
/// company by a background job; 202 with how many calls it will look at.
pub async fn apply(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let calls = service::apply(&app, me.company_id, id_of(&id)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "applying_to_calls": calls })),
    ))
}
