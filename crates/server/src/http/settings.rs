//! The admin's Incoming Webhook URL settings: show, create, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::datetime;
use serde_json::{json, Value};

use super::auth::Admin;
use super::{ApiError, AppState};
use crate::app::webhook_url::{self, WebhookUrl};

fn out(url: WebhookUrl) -> Json<Value> {
    Json(json!({ "url": url.url, "created_at": datetime::format(url.created_at) }))
}

pub async fn show(State(app): State<AppState>, Admin(me): Admin) -> Result<Json<Value>, ApiError> {
    Ok(out(webhook_url::show(&app, me.company_id).await?))
}

pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        out(webhook_url::create(&app, me.company_id).await?),
    ))
}

pub async fn delete(State(app): State<AppState>, Admin(me): Admin) -> Result<StatusCode, ApiError> {
    webhook_url::delete(&app, me.company_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
