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

#[utoipa::path(
    get,
    path = "/api/v1/incoming-webhook",
    operation_id = "getIncomingWebhook",
    tag = "IncomingWebhookSettings",
    summary = r#"The company's Incoming Webhook URL (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The current URL."#, content((ref("#/components/schemas/IncomingWebhookUrl") = "application/json", examples(("ok" = (value = json!({"url": "https://kiku.example.com/webhooks/incoming/5f0c3d1e-2b7a-4c55-9e0d-1a2b3c4d5e6f/q8Xz2nR4vT6wY1bC3dF5gH7jK9mN0pQ2sU4xZ6aB8cE", "created_at": "2025-04-01T09:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`: the company has no Incoming Webhook URL."#, content((ref("#/components/schemas/Error") = "application/json", examples(("none" = (summary = r#"No URL"#, value = json!({"code": "not_found", "message": "no incoming webhook URL"}))))))),
    ),
)]
pub async fn show(State(app): State<AppState>, Admin(me): Admin) -> Result<Json<Value>, ApiError> {
    Ok(out(webhook_url::show(&app, me.company_id).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/incoming-webhook",
    operation_id = "createIncomingWebhook",
    tag = "IncomingWebhookSettings",
    summary = r#"Create the Incoming Webhook URL (admin only)"#,
    description = r#"Mints a new secret URL. A company has at most one; delete the current one first. Creating again after a delete mints a different URL."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 201, description = r#"Created."#, content((ref("#/components/schemas/IncomingWebhookUrl") = "application/json", examples(("ok" = (value = json!({"url": "https://kiku.example.com/webhooks/incoming/5f0c3d1e-2b7a-4c55-9e0d-1a2b3c4d5e6f/q8Xz2nR4vT6wY1bC3dF5gH7jK9mN0pQ2sU4xZ6aB8cE", "created_at": "2025-04-01T09:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 409, description = r#"`conflict`: the company already has a URL."#, content((ref("#/components/schemas/Error") = "application/json", examples(("exists" = (summary = r#"URL exists"#, value = json!({"code": "conflict", "message": "an incoming webhook URL already exists"}))))))),
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        out(webhook_url::create(&app, me.company_id).await?),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/incoming-webhook",
    operation_id = "deleteIncomingWebhook",
    tag = "IncomingWebhookSettings",
    summary = r#"Revoke the Incoming Webhook URL (admin only)"#,
    description = r#"Takes effect at once: requests to the old URL get 404."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 204, description = r#"Revoked."#),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`: the company has no Incoming Webhook URL."#, content((ref("#/components/schemas/Error") = "application/json", examples(("none" = (summary = r#"No URL"#, value = json!({"code": "not_found", "message": "no incoming webhook URL"}))))))),
    ),
)]
pub async fn delete(State(app): State<AppState>, Admin(me): Admin) -> Result<StatusCode, ApiError> {
    webhook_url::delete(&app, me.company_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
