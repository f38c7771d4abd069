//! `GET /health`: the process is up and its database answers. `GET /ready`: it can also
//! take writes now (the database commits, the recordings' disk has room); 503 otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::app::readiness;

pub async fn health(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    app.store.ping().await?;
    Ok(Json(json!({"status": "ok"})))
}

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
