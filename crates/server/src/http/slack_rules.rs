//! Slack rules of the admin's company: create (SSRF-checked), list, show, change, delete,
//! the attempt log and replays. The webhook URL is write-only.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::SlackRuleId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Admin;
use super::json::ApiJson;
use super::notifications::{attempts_json, replaying, target_replay, PageIn, ReplayIn};
use super::{ApiError, AppState};
use crate::app::notifications::slack_rules::{self as service, not_found, RuleChange, RuleRequest};
use crate::app::notifications::{attempts, replay, view};
use crate::app::AppError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleIn {
    name: String,
    webhook_url: String,
    enabled: Option<bool>,
    include_summary: Option<bool>,
    filters: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePatchIn {
    name: Option<String>,
    webhook_url: Option<String>,
    enabled: Option<bool>,
    include_summary: Option<bool>,
    filters: Option<Value>,
}

fn id_of(text: &str) -> Result<SlackRuleId, AppError> {
    text.parse().map_err(|_| not_found())
}

pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<RuleIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request = RuleRequest {
        name: input.name,
        webhook_url: input.webhook_url,
        enabled: input.enabled,
        include_summary: input.include_summary,
        filters: input.filters,
    };
    let created = service::create(&app, me.company_id, request).await?;
    Ok((StatusCode::CREATED, Json(view::rule(&created))))
}

pub async fn list(State(app): State<AppState>, Admin(me): Admin) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = service::list(&app, me.company_id)
        .await?
        .iter()
        .map(view::rule)
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rule = service::show(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view::rule(&rule)))
}

pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RulePatchIn>,
) -> Result<Json<Value>, ApiError> {
    let change = RuleChange {
        name: input.name,
        webhook_url: input.webhook_url,
        enabled: input.enabled,
        include_summary: input.include_summary,
        filters: input.filters,
    };
    let rule = service::update(&app, me.company_id, id_of(&id)?, change).await?;
    Ok(Json(view::rule(&rule)))
}

pub async fn delete(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::delete(&app, me.company_id, id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/slack-rules/{id}/deliveries`: the rule's attempts, newest first.
pub async fn deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    Query(page): Query<PageIn>,
) -> Result<Json<Value>, ApiError> {
    let page = attempts::of_slack_rule(&app, me.company_id, id_of(&id)?, page.into()).await?;
    Ok(Json(attempts_json(&page)))
}

/// `POST /api/v1/slack-rules/{id}/replay`: one event (`event_id`) or every failed one
/// since a time (`failed_since`) posted again, under the same event ids.
pub async fn replay(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReplayIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let what = target_replay(input)?;
    let count = replay::slack(&app, me.company_id, id_of(&id)?, what).await?;
    Ok(replaying(count))
}
