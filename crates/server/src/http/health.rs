//! `GET /health`: the process is up and its database answers. `GET /ready`: it can also
//! take writes now (the database commits, the recordings' disk has room); 503 otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::app::readiness;

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "Operations",
    summary = r#"Health check"#,
    description = r#"Checks the database."#,
    responses(
        (status = 200, description = r#"Healthy."#, content((ref("#/components/schemas/Health") = "application/json", examples(("ok" = (value = json!({"status": "ok"}))))))),
    ),
)]
pub async fn health(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    app.store.ping().await?;
    Ok(Json(json!({"status": "ok"})))
}

#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "ready",
    tag = "Operations",
    summary = r#"Readiness check"#,
    description = r#"Whether this process can take writes now: the database commits a small write and the recordings' disk has at least `min_free_disk_bytes` free and takes a synced write."#,
    responses(
        (status = 200, description = r#"Ready."#, content((ref("#/components/schemas/Readiness") = "application/json", examples(("ready" = (value = json!({"status": "ready", "checks": {"database": {"ok": true}, "storage": {"ok": true}}}))))))),
        (status = 503, description = r#"Not ready; each failing check says why."#, content((ref("#/components/schemas/Readiness") = "application/json", examples(("full" = (value = json!({"status": "not_ready", "checks": {"database": {"ok": true}, "storage": {"ok": false, "message": "writing the recording failed: 1024 bytes free, fewer than the 67108864 required"}}}))))))),
    ),
)]
pub async fn ready(State(app): State<AppState>) -> (StatusCode, Json<Value>) {
    let checks = readiness::check(&app).await;
    let state = |problem: &Option<String>| match problem {
        None => json!({"ok": true}),
        Some(why) => json!({"ok": false, "message": why}),
    };
    let body = json!({
        "status": if checks.ready() { "ready" } else { "not_ready" },
        "checks": {"database": state(&checks.database), "storage": state(&checks.storage)},
    });
    if checks.ready() {
        (StatusCode::OK, Json(body))
    } else {
        tracing::warn!(body = %body, "not ready");
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}
