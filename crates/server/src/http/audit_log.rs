//! `GET /api/v1/audit-log` (admins) and the layer that records each audited request of the
//! API and the web UI once it has succeeded: its actor is the signed-in user, its client
//! the address `ClientAddr` gives, its action the route's (`app::audit`).

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequestParts, MatchedPath, Query, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::auth::{session_token, Admin};
use super::client::ClientAddr;
use super::{ApiError, AppState};
use crate::app::accounts;
use crate::app::audit::{self, Actor, Via};

/// Answers up to this size are read for the ids they name; larger ones are passed on as
/// they are.
const MAX_READ_ANSWER_BYTES: u64 = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryIn {
    since: Option<String>,
    until: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/audit-log`: the company's entries, newest first, `next_before` for the
/// next page.
pub async fn list(
    State(app): State<AppState>,
    Admin(me): Admin,
    Query(q): Query<AuditQueryIn>,
) -> Result<Json<Value>, ApiError> {
    let query = audit::Query {
        since: q.since,
        until: q.until,
        actor: q.actor,
        action: q.action,
        before: q.before,
        limit: q.limit,
    };
    let (entries, next) = audit::list(&app, me.company_id, &query).await?;
    let items: Vec<Value> = entries.iter().map(audit::view).collect();
    Ok(Json(json!({ "items": items, "next_before": next })))
}

/// Records an audited request that succeeded (2xx, or the web UI's redirect after a
/// form). A request that is not signed in, or fails, is left to its handler and not
/// recorded.
pub async fn record(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let action = route
        .as_deref()
        .and_then(|r| audit::http_action(request.method().as_str(), r));
    let (Some(route), Some(action)) = (route, action) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let user = match session_token(&parts.headers) {
        Some(token) => accounts::authenticate(&app, &token).await.ok(),
        None => None,
    };
    let Some(user) = user else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let ClientAddr(client) = match ClientAddr::from_request_parts(&mut parts, &app).await {
        Ok(addr) => addr,
        Err(never) => match never {},
    };
    let mut target = RawPathParams::from_request_parts(&mut parts, &app)
        .await
        .ok()
        .and_then(|params| params.iter().next().map(|(_, v)| v.to_string()));
    let mut details = Map::new();
    if action == "call.export" {
        details.insert("query".into(), json!(parts.uri.query().unwrap_or("")));
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    if !(status.is_success() || status.is_redirection()) {
        return response;
    }
    let via = if route.starts_with("/api/") {
        Via::Api
    } else {
        Via::Ui
    };
    let (response, answer) = if via == Via::Api && action != "call.export" {
        read_answer(response).await
    } else {
        (response, None)
    };
    if let Some(answer) = answer {
        let (made, kept) = audit::answer_details(&answer);
        target = target.or(made);
        details.extend(kept);
    }
    let actor = Actor {
        id: user.id.to_string(),
        name: user.email.clone(),
        client,
        via,
    };
    if let Err(e) = audit::record(&app, user.company_id, &actor, action, target, details).await {
        tracing::error!(error = %e, action, user_id = %user.id, "audit entry not recorded");
    }
    response
}

/// The JSON of a small answer, and the answer rebuilt from the bytes read.
async fn read_answer(response: Response) -> (Response, Option<Value>) {
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= MAX_READ_ANSWER_BYTES);
    if !small {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_READ_ANSWER_BYTES as usize).await {
        Ok(bytes) => {
            let answer = serde_json::from_slice(&bytes).ok();
            (Response::from_parts(parts, Body::from(bytes)), answer)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read an audited answer");
            (Response::from_parts(parts, Body::empty()), None)
        }
    }
}
