//! `GET /api/v1/audit-log` (admins) and the layer that records each audited request of the
//! API and the web UI once it has succeeded: its actor is the signed-in user, its client
//! the address `ClientAddr` gives, its action the route's (`app::audit`).

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::auth::{session_token, Admin};
use super::client::ClientAddr;
use super::json::ApiQuery;
use super::{ApiError, AppState};
use crate::app::accounts;
use crate::app::audit::{self, Actor, EntryView, Via};

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
#[utoipa::path(
    get,
    path = "/api/v1/audit-log",
    operation_id = "listAuditLog",
    tag = "AuditLog",
    summary = r#"The company's audit log, newest first (admin only)"#,
    description = r#"Every admin action (users, webhook URL, settings, endpoints and rules), swap and export that succeeded, with who, when, what and from where. Entries are never changed or removed."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("since" = Option<String>, Query, format = "date-time", description = "Entries at or after this time."),
        ("until" = Option<String>, Query, format = "date-time", description = "Entries before this time."),
        ("actor" = Option<String>, Query, description = "A user id, or `cli`."),
        ("action" = Option<String>, Query, description = "An action name such as `user.update`."),
        ("before" = Option<String>, Query, description = "The `next_before` of the previous page."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Entries per page (default 50)."),
    ),
    responses(
        (status = 200, description = r#"A page of entries."#, content((AuditLogPage = "application/json", examples(("ok" = (value = json!({"items": [{"id": "0190f7e2-5b1c-7d3a-9e4f-2a6b8c0d1e2f", "at": "2026-01-05T10:00:00Z", "actor": {"id": "7d1e4a52-0c3b-4f6e-8a9d-1b2c3d4e5f60", "name": "admin@acme.example"}, "action": "user.update", "target": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "details": {"admin": true}, "client": "203.0.113.7", "via": "api"}], "next_before": null}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 422, description = r#"`invalid_request`: a time, cursor or limit that does not read."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid query"#, value = json!({"code": "invalid_request", "message": "limit must be between 1 and 200"}))))))),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiQuery(q): ApiQuery<AuditQueryIn>,
) -> Result<Json<AuditLogPage>, ApiError> {
    let query = audit::Query {
        since: q.since,
        until: q.until,
        actor: q.actor,
        action: q.action,
        before: q.before,
        limit: q.limit,
    };
    let (entries, next) = audit::list(&app, me.company_id, &query).await?;
    let items = entries.iter().map(audit::view).collect();
    Ok(Json(AuditLogPage {
        items,
        next_before: next,
    }))
}

/// One page of the audit log, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditLogPage {
    items: Vec<EntryView>,
    /// Pass as `before` for the next (older) page; null on the last.
    #[schema(required)]
    next_before: Option<String>,
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
