//! CRM connections of the admin's company: create, list, show, change, delete, the attempt
//! log and replays. Credentials are write-only: taken here, never shown.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::crm::CrmFields;
use kiku_domain::CrmConnectionId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::json::{ApiJson, ApiQuery};
use super::notifications::{
    attempt_page, replaying, target_replay, NotificationAttemptPage, PageIn, ReplayIn,
};
use super::outgoing_webhooks::ReplayResult;
use super::{ApiError, AppState};
use crate::app::notifications::crm_connections::{
    self as service, not_found, ConnectionChange, ConnectionRequest,
};
use crate::app::notifications::view::ConnectionView;
use crate::app::notifications::{attempts, replay, view};
use crate::app::AppError;
use crate::http::schemas::{CrmContent, CrmKind};

/// Every field a request may carry, flat as the API takes them (one struct, so that
/// `deny_unknown_fields` catches a misspelt setting); which settings apply depends on the
/// connection's kind.
///
/// Creating: `kind` and `name` are required. Changing: `kind` cannot change; fields left
/// out keep their value.
#[derive(Deserialize, ToSchema)]
#[schema(as = CrmConnectionRequest)]
#[serde(deny_unknown_fields)]
pub struct ConnectionIn {
    #[schema(value_type = Option<CrmKind>)]
    kind: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// The vendor's API address. kintone: required, `https://<subdomain>.cybozu.com`;
    /// Salesforce: the token endpoint's host (default `https://login.salesforce.com`; the
    /// client-credentials flow needs your My Domain URL); HubSpot: default
    /// `https://api.hubapi.com`. Refused (`unsafe_url`) when the host is, or resolves to, a
    /// network outgoing webhooks may not reach. On PATCH, `""` goes back to the default.
    base_url: Option<String>,
    /// Default `transcript`.
    #[schema(value_type = Option<CrmContent>)]
    content: Option<String>,
    /// Default true.
    enabled: Option<bool>,
    /// Salesforce: the connected app's consumer key; write-only.
    client_id: Option<String>,
    /// Salesforce: the consumer secret; write-only.
    client_secret: Option<String>,
    /// Salesforce: use the refresh-token flow instead of client credentials; write-only.
    refresh_token: Option<String>,
    /// Salesforce REST API version. Default `v62.0`.
    #[schema(pattern = "^v[0-9]{1,3}\\.[0-9]{1,3}$")]
    api_version: Option<String>,
    /// HubSpot: the private app's access token (scopes `crm.objects.contacts.read`,
    /// `crm.objects.contacts.write` for calls and associations); write-only.
    access_token: Option<String>,
    /// kintone: the app's number.
    #[schema(minimum = 1)]
    app: Option<u64>,
    /// kintone: the app's API token (several joined by commas); write-only.
    api_token: Option<String>,
    /// kintone: Kiku field → field code of the app. Kiku fields: `call_id`, `title`,
    /// `started_at` (UTC, DATETIME format), `direction` (`inbound`/`outbound`),
    /// `event_type`, `duration_seconds`, `caller`, `callee`, `caller_number`,
    /// `callee_number`, `customer_number`, `score`, `link`, `body` (transcript or summary,
    /// per `content`), `transcript`, `summary`.
    field_map: Option<BTreeMap<String, String>>,
    /// kintone: the guest space of the app, if any.
    #[schema(minimum = 1)]
    guest_space_id: Option<u64>,
}

impl ConnectionIn {
    fn fields(&self) -> CrmFields {
        CrmFields {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            refresh_token: self.refresh_token.clone(),
            api_version: self.api_version.clone(),
            access_token: self.access_token.clone(),
            app: self.app,
            api_token: self.api_token.clone(),
            field_map: self.field_map.clone(),
            guest_space_id: self.guest_space_id,
        }
    }
}

fn id_of(text: &str) -> Result<CrmConnectionId, AppError> {
    text.parse().map_err(|_| not_found())
}

#[utoipa::path(
    post,
    path = "/api/v1/crm-connections",
    operation_id = "createCrmConnection",
    tag = "Notifications",
    summary = r#"Connect a CRM (admins)"#,
    description = r#"After each completed speech recognition every enabled connection gets one activity record of the call (a Salesforce Task with `TaskSubtype = 'Call'`, a HubSpot call engagement, a kintone record); after *Swap user and customer* the same record is updated. Settings and credentials by kind: Salesforce `client_id`, `client_secret` (client credentials) and optionally `refresh_token`, `api_version`; HubSpot `access_token`; kintone `base_url`, `app`, `api_token`, `field_map`, optionally `guest_space_id`. A setting of another kind is refused."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((ConnectionIn = "application/json", examples(("kintone" = (value = json!({"kind": "kintone", "name": "Sales calls", "base_url": "https://acme.cybozu.com", "app": 12, "api_token": "<token>", "field_map": {"started_at": "call_time", "body": "memo", "link": "kiku_url"}}))), ("hubspot" = (value = json!({"kind": "hubspot", "name": "HubSpot", "access_token": "pat-na1-…", "content": "summary"}))), ("salesforce" = (value = json!({"kind": "salesforce", "name": "Salesforce", "base_url": "https://acme.my.salesforce.com", "client_id": "3MVG9…", "client_secret": "<secret>"}))))))),
    responses(
        (status = 201, description = r#"Created."#, content((ConnectionView = "application/json", examples(("ok" = (value = json!({"id": "5b7e0c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e", "kind": "kintone", "name": "Sales calls", "base_url": "https://acme.cybozu.com/", "content": "transcript", "enabled": true, "trigger": "speech_recognition_completed", "app": 12, "field_map": {"started_at": "call_time", "body": "memo", "link": "kiku_url"}, "guest_space_id": null, "created_at": "2026-11-30T09:00:00Z", "updated_at": "2026-11-30T09:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<ConnectionIn>,
) -> Result<(StatusCode, Json<ConnectionView>), ApiError> {
    let missing = |field: &str| AppError::InvalidRequest(format!("{field} is required"));
    let request = ConnectionRequest {
        fields: input.fields(),
        kind: input.kind.ok_or_else(|| missing("kind"))?,
        name: input.name.ok_or_else(|| missing("name"))?,
        base_url: input.base_url,
        content: input.content,
        enabled: input.enabled,
    };
    let created = service::create(&app, me.company_id, request).await?;
    Ok((StatusCode::CREATED, Json(view::connection(&created))))
}

#[utoipa::path(
    get,
    path = "/api/v1/crm-connections",
    operation_id = "listCrmConnections",
    tag = "Notifications",
    summary = r#"The company's CRM connections (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"Oldest first."#, content((CrmConnectionList = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<CrmConnectionList>, ApiError> {
    let items = service::list(&app, me.company_id)
        .await?
        .iter()
        .map(view::connection)
        .collect();
    Ok(Json(CrmConnectionList { items }))
}

/// The company's CRM connections.
#[derive(Serialize, ToSchema)]
pub struct CrmConnectionList {
    items: Vec<ConnectionView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/crm-connections/{id}",
    operation_id = "showCrmConnection",
    tag = "Notifications",
    summary = r#"One CRM connection (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The CRM connection's id."#, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The connection."#, content((ConnectionView = "application/json", examples(("ok" = (value = json!({"id": "5b7e0c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e", "kind": "kintone", "name": "Sales calls", "base_url": "https://acme.cybozu.com/", "content": "transcript", "enabled": true, "trigger": "speech_recognition_completed", "app": 12, "field_map": {"started_at": "call_time", "body": "memo", "link": "kiku_url"}, "guest_space_id": null, "created_at": "2026-11-30T09:00:00Z", "updated_at": "2026-11-30T09:00:00Z"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn show(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    let connection = service::show(&app, me.company_id, id_of(&id)?).await?;
    Ok(Json(view::connection(&connection)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/crm-connections/{id}",
    operation_id = "updateCrmConnection",
    tag = "Notifications",
    summary = r#"Change a CRM connection (admins)"#,
    description = r#"Fields left out keep their value; the kind never changes. Credentials given replace the stored ones; a new `base_url` is SSRF-checked."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The CRM connection's id."#, format = "uuid"),
    ),
    request_body(content((ConnectionIn = "application/json", examples(("example" = (value = json!({"enabled": false}))))))),
    responses(
        (status = 200, description = r#"The connection."#, content((ConnectionView = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConnectionIn>,
) -> Result<Json<ConnectionView>, ApiError> {
    if input.kind.is_some() {
        return Err(AppError::InvalidRequest(
            "kind cannot change: create another connection".into(),
        )
        .into());
    }
    let change = ConnectionChange {
        fields: input.fields(),
        name: input.name,
        base_url: input.base_url,
        content: input.content,
        enabled: input.enabled,
    };
    let connection = service::update(&app, me.company_id, id_of(&id)?, change).await?;
    Ok(Json(view::connection(&connection)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/crm-connections/{id}",
    operation_id = "deleteCrmConnection",
    tag = "Notifications",
    summary = r#"Delete a CRM connection (admins)"#,
    description = r#"The record ids it kept go with it (records in the CRM stay); its attempts stay in the call's notifications."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The CRM connection's id."#, format = "uuid"),
    ),
    responses(
        (status = 204, description = r#"Deleted."#),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
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

/// `GET /api/v1/crm-connections/{id}/deliveries`: the connection's attempts, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/crm-connections/{id}/deliveries",
    operation_id = "listCrmConnectionDeliveries",
    tag = "Notifications",
    summary = r#"The connection's attempts, newest first (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The CRM connection's id."#, format = "uuid"),
        ("before" = Option<String>, Query, description = r#"`next_before` of the previous page."#),
        ("limit" = Option<i64>, Query, description = r#"Default: `50`."#, minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = r#"A page of attempts."#, content((NotificationAttemptPage = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 422, description = r#"`invalid_request`: `before` is not a cursor this API handed out, or `limit` is not a number."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid_request" = (summary = r#"Bad cursor"#, value = json!({"code": "invalid_request", "message": "before is not a cursor this API handed out"}))))))),
    ),
)]
pub async fn deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageIn>,
) -> Result<Json<NotificationAttemptPage>, ApiError> {
    let page = attempts::of_crm_connection(&app, me.company_id, id_of(&id)?, page.into()).await?;
    Ok(attempt_page(&page))
}

/// `POST /api/v1/crm-connections/{id}/replay`: one event (`event_id`) or every failed one
/// since a time (`failed_since`) written again, updating the call's record.
#[utoipa::path(
    post,
    path = "/api/v1/crm-connections/{id}/replay",
    operation_id = "replayCrmConnection",
    tag = "Notifications",
    summary = r#"Write events again to this CRM (admins)"#,
    description = r#"One event (`event_id`), or every event with a failed attempt since `failed_since` and no successful one, written again under the same event id with a fresh retry schedule. The call's record is updated, never made twice; an event older than the version the record already holds is skipped."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("id" = String, Path, description = r#"The CRM connection's id."#, format = "uuid"),
    ),
    request_body(content((ReplayIn = "application/json", examples(("example" = (value = json!({"event_id": "9d1f3a70-1c2e-4f7b-9a51-0b3c2d4e5f60"}))))))),
    responses(
        (status = 202, description = r#"Queued."#, content((ReplayResult = "application/json", examples(("ok" = (value = json!({"replaying": 1}))))))),
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
    let what = target_replay(input)?;
    let count = replay::crm(&app, me.company_id, id_of(&id)?, what).await?;
    Ok(replaying(count))
}
