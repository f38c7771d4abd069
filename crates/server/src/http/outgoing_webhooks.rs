//! Outgoing webhook endpoints of the admin's company: create (challenged), list, show,
//! change, delete, rotate the secret, the delivery log and replays.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::OutgoingWebhookId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Admin;
use super::json::{ApiJson, ApiQuery};
use super::{ApiError, AppState};
use crate::app::outgoing_webhooks::replay::{self, Replay};
use crate::app::outgoing_webhooks::view::{self, DeliveryView, EndpointView};
use crate::app::outgoing_webhooks::{self as service, EndpointChange, EndpointRequest};
use crate::app::AppError;
use crate::http::schemas::OutgoingWebhookEvent;

#[derive(Deserialize, ToSchema)]
#[schema(as = CreateOutgoingWebhookRequest)]
#[serde(deny_unknown_fields)]
pub struct EndpointIn {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// http or https.
    #[schema(format = "uri")]
    url: String,
    /// Additional headers. `User-Agent`, `Content-Type`, `Content-Length`, `Host` and
    /// `webhook-*` are refused.
    #[schema(value_type = Option<HashMap<String, String>>)]
    headers: Option<Value>,
    /// Merged at the payload's top level; may not use `call`, `event_id`, `event_type`,
    /// `version`, `previous_version`.
    #[schema(value_type = Option<Object>)]
    payload: Option<Value>,
    /// Send `phrases: []`. Default false.
    exclude_phrases: Option<bool>,
    /// Send `keywords: []`. Default false.
    exclude_keywords: Option<bool>,
    /// Default true.
    enabled: Option<bool>,
    /// Default: call_analysis_completed, call_analysis_failed.
    #[schema(value_type = Option<Vec<OutgoingWebhookEvent>>, min_items = 1)]
    events: Option<Vec<String>>,
}

/// Fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[schema(as = UpdateOutgoingWebhookRequest)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatchIn {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// http or https.
    #[schema(format = "uri")]
    url: Option<String>,
    /// Additional headers. `User-Agent`, `Content-Type`, `Content-Length`, `Host` and
    /// `webhook-*` are refused.
    #[schema(value_type = Option<HashMap<String, String>>)]
    headers: Option<Value>,
    /// Merged at the payload's top level; may not use `call`, `event_id`, `event_type`,
    /// `version`, `previous_version`.
    #[schema(value_type = Option<Object>)]
    payload: Option<Value>,
    /// Send `phrases: []`. Default false.
    exclude_phrases: Option<bool>,
    /// Send `keywords: []`. Default false.
    exclude_keywords: Option<bool>,
    /// Default true.
    enabled: Option<bool>,
    /// Default: call_analysis_completed, call_analysis_failed.
    #[schema(value_type = Option<Vec<OutgoingWebhookEvent>>, min_items = 1)]
    events: Option<Vec<String>>,
}

#[derive(Deserialize)]
pub struct PageIn {
    before: Option<String>,
    limit: Option<u32>,
}

fn id_of(text: &str) -> Result<OutgoingWebhookId, AppError> {
    text.parse()
        .map_err(|_| AppError::NotFound("no such outgoing webhook in this company".into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/outgoing-webhooks",
    operation_id = "createOutgoingWebhook",
    tag = "OutgoingWebhooks",
    summary = r#"Create an outgoing webhook endpoint (admin only)"#,
    description = r#"The URL is checked against the SSRF rule, then challenged: Kiku POSTs `{"challenge": "<random hex>"}` and the endpoint must answer 200, `Content-Type: text/plain`, the hex exactly, within 10 s. The response carries the signing `secret`; it is shown only here and on rotation."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((EndpointIn = "application/json", examples(("create" = (value = json!({"name": "CRM", "url": "https://crm.example.com/kiku", "headers": {"Authorization": "Bearer …"}, "payload": {"source": "kiku"}}))))))),
    responses(
        (status = 201, description = r#"Created; `secret` is shown only now."#, content((EndpointView = "application/json", examples(("ok" = (value = json!({"id": "5f0c1c9e-2b7a-4d43-9a53-0d1f3c2b7e11", "name": "CRM", "url": "https://crm.example.com/kiku", "header_names": ["Authorization"], "payload": {"source": "kiku"}, "exclude_phrases": false, "exclude_keywords": false, "enabled": true, "events": ["call_analysis_completed", "call_analysis_failed"], "disabled_reason": null, "failing_since": null, "last_success_at": null, "previous_secret_until": null, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z", "secret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 413, description = r#"`payload_too_large`: the request body is over the configured limit."#, content((ref("#/components/schemas/Error") = "application/json", examples(("too_large" = (summary = r#"Too large"#, value = json!({"code": "payload_too_large", "message": "request body is over the limit"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_request` (bad name, URL, headers such as `User-Agent`/`Content-Type`/`webhook-*`, payload keys, events), `unsafe_url` (the host is or resolves to an address the SSRF rule refuses and `outgoing_allow_networks` does not allow) or `challenge_failed` (the endpoint did not answer 200, `text/plain`, exactly the challenge within 10 s; the message says what came back)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsafe" = (summary = r#"SSRF"#, value = json!({"code": "unsafe_url", "message": "host 169.254.169.254 is or resolves to 169.254.169.254, in a network Kiku does not send to (loopback, private, link-local, CGNAT, multicast, reserved…); the operator can allow it with outgoing_allow_networks"}))), ("challenge" = (summary = r#"Challenge failed"#, value = json!({"code": "challenge_failed", "message": "the challenge answer was wrong: status 200, content type \"application/json\", body starts \"{}\" (expected 200, text/plain and exactly the challenge)"}))), ("header" = (summary = r#"Reserved header"#, value = json!({"code": "invalid_request", "message": "header \"User-Agent\" cannot be set (Kiku sets it)"}))))))),
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<EndpointIn>,
) -> Result<(StatusCode, Json<EndpointView>), ApiError> {
    let request = EndpointRequest {
        name: input.name,
        url: input.url,
        headers: input.headers,
        payload: input.payload,
        exclude_phrases: input.exclude_phrases,
        exclude_keywords: input.exclude_keywords,
        enabled: input.enabled,
        events: input.events,
    };
    let created = service::create(&app, me.company_id, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(view::endpoint_with_secret(&created)),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/outgoing-webhooks",
    operation_id = "listOutgoingWebhooks",
    tag = "OutgoingWebhooks",
    summary = r#"List the company's outgoing webhook endpoints (admin only)"#,
    description = r#"Never shows secrets or header values: `header_names` only."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The endpoints, oldest first."#, content((OutgoingWebhookList = "application/json", examples(("ok" = (value = json!({"items": [{"id": "5f0c1c9e-2b7a-4d43-9a53-0d1f3c2b7e11", "name": "CRM", "url": "https://crm.example.com/kiku", "header_names": ["Authorization"], "payload": {"source": "kiku"}, "exclude_phrases": false, "exclude_keywords": false, "enabled": true, "events": ["call_analysis_completed", "call_analysis_failed"], "disabled_reason": null, "failing_since": null, "last_success_at": null, "previous_secret_until": null, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}]}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<OutgoingWebhookList>, ApiError> {
    let items = service::list(&app, me.company_id)
        .await?
        .iter()
        .map(view::endpoint)
        .collect();
    Ok(Json(OutgoingWebhookList { items }))
}

/// The company's outgoing webhooks.
#[derive(Serialize, ToSchema)]
pub struct OutgoingWebhookList {
    items: Vec<EndpointView>,
}

/// One page of delivery attempts, newest first.
#[derive(Serialize, ToSchema)]
pub struct OutgoingWebhookDeliveryPage {
    items: Vec<DeliveryView>,
    /// Pass as `before` for the next (older) page; null on the last.
    #[schema(required)]
    next_before: Option<String>,
}

/// How many events a replay queued.
#[derive(Serialize, ToSchema)]
pub struct ReplayResult {
    pub(super) replaying: u64,
}

#[utoipa::path(
    get,
    path = "/api/v1/outgoing-webhooks/{id}",
    operation_id = "showOutgoingWebhook",
    tag = "OutgoingWebhooks",
    summary = r#"Show one endpoint (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The endpoint, without secret or header values."#, content((EndpointView = "application/json", examples(("ok" = (value = json!({"id": "5f0c1c9e-2b7a-4d43-9a53-0d1f3c2b7e11", "name": "CRM", "url": "https://crm.example.com/kiku", "header_names": ["Authorization"], "payload": {"source": "kiku"}, "exclude_phrases": false, "exclude_keywords": false, "enabled": true, "events": ["call_analysis_completed", "call_analysis_failed"], "disabled_reason": null, "failing_since": null, "last_success_at": null, "previous_secret_until": null, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, ApiError> {
    let e = service::show(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view::endpoint(&e)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/outgoing-webhooks/{id}",
    operation_id = "updateOutgoingWebhook",
    tag = "OutgoingWebhooks",
    summary = r#"Change an endpoint (admin only)"#,
    description = r#"Fields left out keep their value. A new URL is checked and challenged first (with the headers the endpoint will be called with). `enabled: true` also clears `disabled_reason`."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    request_body(content((EndpointPatchIn = "application/json", examples(("disable" = (value = json!({"enabled": false}))))))),
    responses(
        (status = 200, description = r#"The changed endpoint."#, content((EndpointView = "application/json", examples(("ok" = (value = json!({"id": "5f0c1c9e-2b7a-4d43-9a53-0d1f3c2b7e11", "name": "CRM", "url": "https://crm.example.com/kiku", "header_names": ["Authorization"], "payload": {"source": "kiku"}, "exclude_phrases": false, "exclude_keywords": false, "enabled": true, "events": ["call_analysis_completed", "call_analysis_failed"], "disabled_reason": null, "failing_since": null, "last_success_at": null, "previous_secret_until": null, "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 413, description = r#"`payload_too_large`: the request body is over the configured limit."#, content((ref("#/components/schemas/Error") = "application/json", examples(("too_large" = (summary = r#"Too large"#, value = json!({"code": "payload_too_large", "message": "request body is over the limit"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_request` (bad name, URL, headers such as `User-Agent`/`Content-Type`/`webhook-*`, payload keys, events), `unsafe_url` (the host is or resolves to an address the SSRF rule refuses and `outgoing_allow_networks` does not allow) or `challenge_failed` (the endpoint did not answer 200, `text/plain`, exactly the challenge within 10 s; the message says what came back)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsafe" = (summary = r#"SSRF"#, value = json!({"code": "unsafe_url", "message": "host 169.254.169.254 is or resolves to 169.254.169.254, in a network Kiku does not send to (loopback, private, link-local, CGNAT, multicast, reserved…); the operator can allow it with outgoing_allow_networks"}))), ("challenge" = (summary = r#"Challenge failed"#, value = json!({"code": "challenge_failed", "message": "the challenge answer was wrong: status 200, content type \"application/json\", body starts \"{}\" (expected 200, text/plain and exactly the challenge)"}))), ("header" = (summary = r#"Reserved header"#, value = json!({"code": "invalid_request", "message": "header \"User-Agent\" cannot be set (Kiku sets it)"}))))))),
    ),
)]
pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EndpointPatchIn>,
) -> Result<Json<EndpointView>, ApiError> {
    let change = EndpointChange {
        name: input.name,
        url: input.url,
        headers: input.headers,
        payload: input.payload,
        exclude_phrases: input.exclude_phrases,
        exclude_keywords: input.exclude_keywords,
        enabled: input.enabled,
        events: input.events,
    };
    let e = service::update(&app, me.company_id, id_of(&id)?, change).await?;
    Ok(Json(view::endpoint(&e)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/outgoing-webhooks/{id}",
    operation_id = "deleteOutgoingWebhook",
    tag = "OutgoingWebhooks",
    summary = r#"Delete an endpoint and its delivery log (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 204, description = r#"Deleted."#),
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

#[utoipa::path(
    post,
    path = "/api/v1/outgoing-webhooks/{id}/secret",
    operation_id = "rotateOutgoingWebhookSecret",
    tag = "OutgoingWebhooks",
    summary = r#"Rotate the signing secret (admin only)"#,
    description = r#"A new `secret`, shown only in this response. For 24 hours every delivery carries two signatures (new and old, space-separated in `webhook-signature`), so the receiver can switch without losing events."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The endpoint with its new secret."#, content((EndpointView = "application/json", examples(("ok" = (value = json!({"id": "5f0c1c9e-2b7a-4d43-9a53-0d1f3c2b7e11", "name": "CRM", "url": "https://crm.example.com/kiku", "header_names": ["Authorization"], "payload": {"source": "kiku"}, "exclude_phrases": false, "exclude_keywords": false, "enabled": true, "events": ["call_analysis_completed", "call_analysis_failed"], "disabled_reason": null, "failing_since": null, "last_success_at": null, "previous_secret_until": "2026-01-06T10:00:00Z", "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z", "secret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn rotate_secret(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, ApiError> {
    let e = service::rotate_secret(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view::endpoint_with_secret(&e)))
}

#[utoipa::path(
    get,
    path = "/api/v1/outgoing-webhooks/{id}/deliveries",
    operation_id = "listOutgoingWebhookDeliveries",
    tag = "OutgoingWebhooks",
    summary = r#"The endpoint's delivery attempts, newest first (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
        ("before" = Option<String>, Query, description = r#"`next_before` of the previous page."#),
        ("limit" = Option<i64>, Query, description = r#"Default: `50`."#, minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = r#"One page of attempts."#, content((OutgoingWebhookDeliveryPage = "application/json", examples(("ok" = (value = json!({"items": [{"id": "0d9a8c51-7f0e-4b51-9f3c-3c1f8d2e6a77", "outgoing_webhook_id": "5f0c1c9e-2b7a-4d43-9a53-0d1f3c2b7e11", "event_id": "evt_2mX…", "call_id": "8d7c6b5a-4e3f-4a1b-9c8d-7e6f5a4b3c2d", "attempt": 1, "attempted_at": "2026-01-05T10:05:00Z", "status": 503, "latency_ms": 41, "response_head": "busy", "error": null, "replay": false}], "next_before": null}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageIn>,
) -> Result<Json<OutgoingWebhookDeliveryPage>, ApiError> {
    let (items, next) = service::deliveries(
        &app,
        me.company_id,
        id_of(&id)?,
        page.before.as_deref(),
        page.limit,
    )
    .await?;
    let items = items.iter().map(view::delivery).collect();
    Ok(Json(OutgoingWebhookDeliveryPage {
        items,
        next_before: next,
    }))
}

/// One event (`event_id`) or every event that failed since a time (`failed_since`).
#[derive(Deserialize, ToSchema)]
#[schema(as = ReplayRequest)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    #[schema(format = "uuid")]
    event_id: Option<String>,
    #[schema(format = DateTime)]
    failed_since: Option<String>,
}

/// `POST /api/v1/outgoing-webhooks/{id}/replay`: one event (`event_id`) or every event that
/// failed since a time (`failed_since`) sent again, under the same event ids.
#[utoipa::path(
    post,
    path = "/api/v1/outgoing-webhooks/{id}/replay",
    operation_id = "replayOutgoingWebhookDeliveries",
    tag = "OutgoingWebhooks",
    summary = r#"Send events again to this endpoint"#,
    description = r#"One event (`event_id`), or every event with a failed attempt since `failed_since` and no successful one, sent again under the same event id with a fresh retry schedule."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, format = "uuid"),
    ),
    request_body(content((ReplayIn = "application/json", examples(("one" = (value = json!({"event_id": "9d1f3a70-1c2e-4f7b-9a51-0b3c2d4e5f60"}))), ("failed" = (value = json!({"failed_since": "2026-11-30T00:00:00Z"}))))))),
    responses(
        (status = 202, description = r#"Queued."#, content((ReplayResult = "application/json", examples(("ok" = (value = json!({"replaying": 3}))))))),
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
    let what = Replay::from_request(input.event_id, input.failed_since)?;
    let replaying = replay::replay(&app, me.company_id, id_of(&id)?, what).await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayResult { replaying })))
}
