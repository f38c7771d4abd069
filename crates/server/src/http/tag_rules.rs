//! Auto-tag rules of the admin's company: create, list, show, change, delete, and apply
//! one to every past call.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Admin;
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::app::tag_rules::{self as service, id_of, view, TagRuleRequest, TagRuleView};

#[utoipa::path(
    post,
    path = "/api/v1/tag-rules",
    operation_id = "createTagRule",
    tag = "TagRules",
    summary = r#"Create an auto-tag rule (admin only)"#,
    description = r#"Calls analysed from now on (and every later version of a result: a swap, a re-score) are tagged when their transcript matches. Past calls are tagged when the rule is applied (`POST /api/v1/tag-rules/{id}/apply`)."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((TagRuleRequest = "application/json", examples(("churn" = (value = json!({"name": "Churn", "keywords": ["解約", "cancel"], "match": "any", "min_count": 2, "speaker": "customer", "tag": "churn risk"}))))))),
    responses(
        (status = 201, description = r#"Created."#, content((TagRuleView = "application/json", examples(("ok" = (value = json!({"id": "0b6c3f4e-8a61-4c1e-9d0f-3f1b2a6c7d88", "name": "Churn", "keywords": ["解約", "cancel"], "match": "any", "min_count": 2, "speaker": "customer", "tag": "churn risk", "enabled": true, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<TagRuleRequest>,
) -> Result<(StatusCode, Json<TagRuleView>), ApiError> {
    let rule = service::create(&app, me.company_id, input).await?;
    Ok((StatusCode::CREATED, Json(view(&rule))))
}

#[utoipa::path(
    get,
    path = "/api/v1/tag-rules",
    operation_id = "listTagRules",
    tag = "TagRules",
    summary = r#"The company's auto-tag rules, oldest first (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The rules."#, content((TagRuleList = "application/json", examples(("ok" = (value = json!({"items": [{"id": "0b6c3f4e-8a61-4c1e-9d0f-3f1b2a6c7d88", "name": "Churn", "keywords": ["解約", "cancel"], "match": "any", "min_count": 2, "speaker": "customer", "tag": "churn risk", "enabled": true, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}]}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<TagRuleList>, ApiError> {
    let items = service::list(&app, me.company_id)
        .await?
        .iter()
        .map(view)
        .collect();
    Ok(Json(TagRuleList { items }))
}

/// The company's auto-tag rules, oldest first.
#[derive(Serialize, ToSchema)]
pub struct TagRuleList {
    items: Vec<TagRuleView>,
}

/// What applying a rule queued.
#[derive(Serialize, ToSchema)]
pub struct TagRuleApplyResult {
    /// How many analysed calls the job will look at.
    applying_to_calls: u64,
}

#[utoipa::path(
    get,
    path = "/api/v1/tag-rules/{id}",
    operation_id = "showTagRule",
    tag = "TagRules",
    summary = r#"One auto-tag rule (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The rule."#, content((TagRuleView = "application/json", examples(("ok" = (value = json!({"id": "0b6c3f4e-8a61-4c1e-9d0f-3f1b2a6c7d88", "name": "Churn", "keywords": ["解約", "cancel"], "match": "any", "min_count": 2, "speaker": "customer", "tag": "churn risk", "enabled": true, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<TagRuleView>, ApiError> {
    let rule = service::show(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view(&rule)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/tag-rules/{id}",
    operation_id = "updateTagRule",
    tag = "TagRules",
    summary = r#"Change an auto-tag rule (admin only)"#,
    description = r#"Fields left out keep their value. Calls analysed from now on follow the new rule; calls tagged earlier keep their tags until the rule is applied again."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    request_body(content((TagRuleRequest = "application/json", examples(("disable" = (value = json!({"enabled": false}))))))),
    responses(
        (status = 200, description = r#"The changed rule."#, content((TagRuleView = "application/json", examples(("ok" = (value = json!({"id": "0b6c3f4e-8a61-4c1e-9d0f-3f1b2a6c7d88", "name": "Churn", "keywords": ["解約", "cancel"], "match": "any", "min_count": 2, "speaker": "customer", "tag": "churn risk", "enabled": true, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TagRuleRequest>,
) -> Result<Json<TagRuleView>, ApiError> {
    let rule = service::update(&app, me.company_id, id_of(&id)?, input).await?;
    Ok(Json(view(&rule)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tag-rules/{id}",
    operation_id = "deleteTagRule",
    tag = "TagRules",
    summary = r#"Delete an auto-tag rule and the tags it gave (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 204, description = r#"Deleted; calls no longer carry its tags."#),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
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

/// `POST /api/v1/tag-rules/{id}/apply`: the rule evaluated on every analysed call of the
/// company by a background job; 202 with how many calls it will look at.
#[utoipa::path(
    post,
    path = "/api/v1/tag-rules/{id}/apply",
    operation_id = "applyTagRule",
    tag = "TagRules",
    summary = r#"Apply an auto-tag rule to every analysed call (admin only)"#,
    description = r#"A background job evaluates the rule, as it is when each page is read, on the current result of every analysed call of the company: matching calls get its tag, the others lose it. Running it twice is harmless."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 202, description = r#"Queued; how many analysed calls the job will look at."#, content((TagRuleApplyResult = "application/json", examples(("ok" = (value = json!({"applying_to_calls": 1250}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn apply(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TagRuleApplyResult>), ApiError> {
    let applying_to_calls = service::apply(&app, me.company_id, id_of(&id)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TagRuleApplyResult { applying_to_calls }),
    ))
}
