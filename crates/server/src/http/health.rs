//! `GET /health`: the process is up and its database answers. `GET /ready`: it can also
//! take writes now (the database commits, the recordings' disk has room); 503 otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

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
        (status = 200, description = r#"Healthy."#, content((Health = "application/json", examples(("ok" = (value = json!({"status": "ok"}))))))),
    ),
)]
pub async fn health(State(app): State<AppState>) -> Result<Json<Health>, ApiError> {
    app.store.ping().await?;
    Ok(Json(Health {
        status: HealthStatus::Ok,
    }))
}

/// The process is up.
#[derive(Serialize, ToSchema)]
pub struct Health {
    status: HealthStatus,
}

/// `"ok"`, the one value of `Health.status`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum HealthStatus {
    Ok,
}

/// Whether the process can take writes now, and each check's finding.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    checks: ReadinessChecks,
    status: ReadinessStatus,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum ReadinessStatus {
    Ready,
    NotReady,
}

#[derive(Serialize, ToSchema)]
struct ReadinessChecks {
    database: ReadinessCheck,
    storage: ReadinessCheck,
}

#[derive(Serialize, ToSchema)]
struct ReadinessCheck {
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    ok: bool,
}

impl ReadinessCheck {
    fn of(problem: &Option<String>) -> Self {
        Self {
            message: problem.clone(),
            ok: problem.is_none(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "ready",
    tag = "Operations",
    summary = r#"Readiness check"#,
    description = r#"Whether this process can take writes now: the database commits a small write and the recordings' disk has at least `min_free_disk_bytes` free and takes a synced write."#,
    responses(
        (status = 200, description = r#"Ready."#, content((Readiness = "application/json", examples(("ready" = (value = json!({"status": "ready", "checks": {"database": {"ok": true}, "storage": {"ok": true}}}))))))),
        (status = 503, description = r#"Not ready; each failing check says why."#, content((Readiness = "application/json", examples(("full" = (value = json!({"status": "not_ready", "checks": {"database": {"ok": true}, "storage": {"ok": false, "message": "writing the recording failed: 1024 bytes free, fewer than the 67108864 required"}}}))))))),
    ),
)]
pub async fn ready(State(app): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let checks = readiness::check(&app).await;
    let ready = checks.ready();
    let body = Readiness {
        checks: ReadinessChecks {
            database: ReadinessCheck::of(&checks.database),
            storage: ReadinessCheck::of(&checks.storage),
        },
        status: if ready {
            ReadinessStatus::Ready
        } else {
            ReadinessStatus::NotReady
        },
    };
    if ready {
        (StatusCode::OK, Json(body))
    } else {
        tracing::warn!(database = ?checks.database, storage = ?checks.storage, "not ready");
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}
