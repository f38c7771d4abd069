//! Slack rules of the admin's company: create (SSRF-checked), list, show, change, delete,
//! the attempt log and replays. The webhook URL is write-only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::notification::SlackRuleFilters;
use kiku_domain::SlackRuleId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Admin;
use super::json::{ApiJson, ApiQuery};
use super::notifications::{
    attempt_page, replaying, target_replay, NotificationAttemptPage, PageIn, ReplayIn,
};
use super::outgoing_webhooks::ReplayResult;
use super::{ApiError, AppState};
use crate::app::notifications::slack_rules::{self as service, not_found, RuleChange, RuleRequest};
use crate::app::notifications::view::RuleView;
use crate::app::notifications::{attempts, replay, view};
use crate::app::AppError;

#[derive(Deserialize, ToSchema)]
#[schema(as = CreateSlackRuleRequest)]
#[serde(deny_unknown_fields)]
pub struct RuleIn {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Slack's incoming-webhook URL; write-only. Refused (`unsafe_url`) when the host is,
    /// or resolves to, a network outgoing webhooks may not reach.
    #[schema(format = "uri")]
    webhook_url: String,
    /// Default true.
    enabled: Option<bool>,
    /// Default false.
    include_summary: Option<bool>,
    #[schema(value_type = Option<SlackRuleFilters>)]
    filters: Option<Value>,
}

/// Fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[schema(as = UpdateSlackRuleRequest)]
#[serde(deny_unknown_fields)]
pub struct RulePatchIn {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// Slack's incoming-webhook URL; write-only. Refused (`unsafe_url`) when the host is,
    /// or resolves to, a network outgoing webhooks may not reach.
    #[schema(format = "uri")]
    webhook_url: Option<String>,
    /// Default true.
    enabled: Option<bool>,
    /// Default false.
    include_summary: Option<bool>,
    #[schema(value_type = Option<SlackRuleFilters>)]
    filters: Option<Value>,
}

fn id_of(text: &str) -> Result<SlackRuleId, AppError> {
    text.parse().map_err(|_| not_found())
}

#[utoipa::path(
    post,
    path = "/api/v1/slack-rules",
    operation_id = "createSlackRule",
    tag = "Notifications",
    summary = r#"Add a Slack rule (admins)"#,
    description = r#"After each completed speech recognition (and again after *Swap user and customer*), every enabled rule whose filters match the call posts one Block Kit message to its Slack incoming webhook."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((RuleIn = "application/json", examples(("example" = (value = json!({"name": "sales", "webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX", "include_summary": true, "filters": {"event_types": ["OUTGOING_CALL"], "min_score": 60}}))))))),
    responses(
        (status = 201, description = r#"Created."#, content((RuleView = "application/json", examples(("ok" = (value = json!({"id": "3f0c9a52-7a61-4f4e-9d7e-5b8a1e2c3d40", "name": "sales", "webhook_host": "hooks.slack.com", "enabled": true, "include_summary": true, "trigger": "speech_recognition_completed", "filters": {"user_ids": [], "event_types": ["OUTGOING_CALL"], "tags": [], "min_score": 60, "max_score": null}, "created_at": "2026-11-30T09:00:00Z", "updated_at": "2026-11-30T09:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<RuleIn>,
) -> Result<(StatusCode, Json<RuleView>), ApiError> {
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

#[utoipa::path(
    get,
    path = "/api/v1/slack-rules",
    operation_id = "listSlackRules",
    tag = "Notifications",
    summary = r#"The company's Slack rules (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"Oldest first."#, content((SlackRuleList = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<SlackRuleList>, ApiError> {
    let items = service::list(&app, me.company_id)
        .await?
        .iter()
        .map(view::rule)
        .collect();
    Ok(Json(SlackRuleList { items }))
}

/// The company's Slack rules.
#[derive(Serialize, ToSchema)]
pub struct SlackRuleList {
    items: Vec<RuleView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/slack-rules/{id}",
    operation_id = "showSlackRule",
    tag = "Notifications",
    summary = r#"One Slack rule (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The Slack rule's id."#, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The rule."#, content((RuleView = "application/json", examples(("ok" = (value = json!({"id": "3f0c9a52-7a61-4f4e-9d7e-5b8a1e2c3d40", "name": "sales", "webhook_host": "hooks.slack.com", "enabled": true, "include_summary": true, "trigger": "speech_recognition_completed", "filters": {"user_ids": [], "event_types": ["OUTGOING_CALL"], "tags": [], "min_score": 60, "max_score": null}, "created_at": "2026-11-30T09:00:00Z", "updated_at": "2026-11-30T09:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    let rule = service::show(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view::rule(&rule)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/slack-rules/{id}",
    operation_id = "updateSlackRule",
    tag = "Notifications",
    summary = r#"Change a Slack rule (admins)"#,
    description = r#"Fields left out keep their value; a new `webhook_url` is SSRF-checked."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The Slack rule's id."#, format = "uuid"),
    ),
    request_body(content((RulePatchIn = "application/json", examples(("example" = (value = json!({"enabled": false}))))))),
    responses(
        (status = 200, description = r#"The rule."#, content((RuleView = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RulePatchIn>,
) -> Result<Json<RuleView>, ApiError> {
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

#[utoipa::path(
    delete,
    path = "/api/v1/slack-rules/{id}",
    operation_id = "deleteSlackRule",
    tag = "Notifications",
    summary = r#"Delete a Slack rule (admins)"#,
    description = r#"Its attempts stay in the call's notifications."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The Slack rule's id."#, format = "uuid"),
    ),
    responses(
        (status = 204, description = r#"Deleted."#),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn delete(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::delete(&app, me.company_id, id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/slack-rules/{id}/deliveries`: the rule's attempts, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/slack-rules/{id}/deliveries",
    operation_id = "listSlackRuleDeliveries",
    tag = "Notifications",
    summary = r#"The rule's attempts, newest first (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The Slack rule's id."#, format = "uuid"),
        ("before" = Option<String>, Query, description = r#"`next_before` of the previous page."#),
        ("limit" = Option<i64>, Query, description = r#"Default: `50`."#, minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = r#"A page of attempts."#, content((NotificationAttemptPage = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 422, description = r#"`invalid_request`: `before` is not a cursor this API handed out, or `limit` is not a number."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid_request" = (summary = r#"Bad cursor"#, value = json!({"code": "invalid_request", "message": "before is not a cursor this API handed out"}))))))),
    ),
)]
pub async fn deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageIn>,
) -> Result<Json<NotificationAttemptPage>, ApiError> {
    let page = attempts::of_slack_rule(&app, me.company_id, id_of(&id)?, page.into()).await?;
    Ok(attempt_page(&page))
}

/// `POST /api/v1/slack-rules/{id}/replay`: one event (`event_id`) or every failed one
/// since a time (`failed_since`) posted again, under the same event ids.
#[utoipa::path(
    post,
    path = "/api/v1/slack-rules/{id}/replay",
    operation_id = "replaySlackRule",
    tag = "Notifications",
    summary = r#"Post events again to this rule (admins)"#,
    description = r#"One event (`event_id`), or every event with a failed attempt since `failed_since` and no successful one, posted again under the same event id with a fresh retry schedule."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The Slack rule's id."#, format = "uuid"),
    ),
    request_body(content((ReplayIn = "application/json", examples(("example" = (value = json!({"event_id": "9d1f3a70-1c2e-4f7b-9a51-0b3c2d4e5f60"}))))))),
    responses(
        (status = 202, description = r#"Queued."#, content((ReplayResult = "application/json", examples(("ok" = (value = json!({"replaying": 1}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn replay(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReplayIn>,
) -> Result<(StatusCode, Json<ReplayResult>), ApiError> {
    let what = target_replay(input)?;
    let count = replay::slack(&app, me.company_id, id_of(&id)?, what).await?;
    Ok(replaying(count))
}
