//! `GET /metrics` (Prometheus) and the middleware that counts and times every request by
//! its route template.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::app::metrics;

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "Operations",
    summary = r#"Prometheus metrics"#,
    description = r#"This process's metrics in the OpenMetrics text format (which Prometheus scrapes): HTTP requests by route template, method and status with latency histograms, ingested calls, uploads and bytes, analyses and their cost per audio second, deliveries by target and outcome, the shared job queue by kind and state with the oldest ready job's wait, and database connections. No authentication; keep it off the public side of a proxy. See docs/operations.md."#,
    responses(
        (status = 200, description = r#"The metrics."#, content((super::schemas::MetricsText = "application/openmetrics-text", examples(("some" = (value = json!("# HELP kiku_jobs Jobs in the shared queue, by kind and state (queued, running, dead).\n# TYPE kiku_jobs gauge\nkiku_jobs{kind=\"analyse_call\",state=\"queued\"} 3\n# EOF\n"))))))),
    ),
)]
pub async fn metrics(State(app): State<AppState>) -> Result<Response, ApiError> {
    let text = app
        .metrics
        .render(app.store.as_ref(), app.clock.now())
        .await?;
    Ok(([(CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response())
}

/// Runs after routing (added with `Router::layer`), so the route template is known.
pub async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let method = req.method().clone();
    let started = Instant::now();
    let response = next.run(req).await;
    app.metrics.http_request(
        &route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
