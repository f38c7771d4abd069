//! The admin's Incoming Webhook URL settings: show, create, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::auth::Admin;
use super::{ApiError, AppState};
use crate::app::webhook_url::{self, WebhookUrl, WebhookUrlView};

fn out(url: WebhookUrl) -> Json<WebhookUrlView> {
    Json(webhook_url::view(&url))
}

#[utoipa::path(
    get,
    path = "/api/v1/incoming-webhook",
    operation_id = "getIncomingWebhook",
    tag = "IncomingWebhookSettings",
    summary = r#"The company's Incoming Webhook URL, masked (admin only)"#,
    description = r#"Only the secret's hash is stored, so the full URL is shown once, in the answer to `POST`; this shows it with the secret masked, and when it was created."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The current URL, masked."#, content((WebhookUrlView = "application/json", examples(("ok" = (value = json!({"masked_url": "https://kiku.example.com/webhooks/incoming/5f0c3d1e-2b7a-4c55-9e0d-1a2b3c4d5e6f/********", "created_at": "2025-04-01T09:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`: the company has no Incoming Webhook URL."#, content((ref("#/components/schemas/Error") = "application/json", examples(("none" = (summary = r#"No URL"#, value = json!({"code": "not_found", "message": "no incoming webhook URL"}))))))),
    ),
)]
pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<WebhookUrlView>, ApiError> {
    Ok(out(webhook_url::show(&app, me.company_id).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/incoming-webhook",
    operation_id = "createIncomingWebhook",
    tag = "IncomingWebhookSettings",
    summary = r#"Create the Incoming Webhook URL (admin only)"#,
    description = r#"Mints a new secret URL. A company has at most one; delete the current one first. Creating again after a delete mints a different URL. The answer is the only time the full `url` is shown: Kiku keeps only its secret's hash."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 201, description = r#"Created; `url` is shown this once."#, content((WebhookUrlView = "application/json", examples(("ok" = (value = json!({"url": "https://kiku.example.com/webhooks/incoming/5f0c3d1e-2b7a-4c55-9e0d-1a2b3c4d5e6f/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "masked_url": "https://kiku.example.com/webhooks/incoming/5f0c3d1e-2b7a-4c55-9e0d-1a2b3c4d5e6f/********", "created_at": "2025-04-01T09:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 409, description = r#"`conflict`: the company already has a URL."#, content((ref("#/components/schemas/Error") = "application/json", examples(("exists" = (summary = r#"URL exists"#, value = json!({"code": "conflict", "message": "an incoming webhook URL already exists"}))))))),
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<(StatusCode, Json<WebhookUrlView>), ApiError> {
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
