//! E-mail notification settings (admins), a user's own choice, a call's notifications,
//! and what the attempt logs and replays share.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::CallId;
use kiku_storage::UserNotifications;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Admin, CurrentUser};
use super::json::{ApiJson, ApiQuery};
use super::outgoing_webhooks::ReplayResult;
use super::{ApiError, AppState};
use crate::app::notifications::attempts::{self, AttemptPage, PageRequest};
use crate::app::notifications::email::{EmailSettings, MyNotifications};
use crate::app::notifications::history::CallNotification;
use crate::app::notifications::view::AttemptView;
use crate::app::notifications::{email, history, replay, view};
use crate::app::AppError;

#[derive(Deserialize)]
pub struct PageIn {
    before: Option<String>,
    limit: Option<u32>,
}

/// One event (`event_id`) or every event that failed since a time (`failed_since`).
#[derive(Deserialize, ToSchema)]
#[schema(as = ReplayNotificationsRequest)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    #[schema(format = "uuid")]
    pub event_id: Option<String>,
    #[schema(format = DateTime)]
    pub failed_since: Option<String>,
    /// E-mail replays only, with `event_id`: the one address to send to (default: every
    /// address the event went to).
    #[schema(format = "email")]
    pub to: Option<String>,
}

/// A replay to one Slack rule or CRM connection: one event or every failed one since a
/// time (`to` is for e-mail replays only).
pub(super) fn target_replay(input: ReplayIn) -> Result<replay::Replay, AppError> {
    if input.to.is_some() {
        return Err(AppError::InvalidRequest("to is for e-mail replays".into()));
    }
    replay::Replay::from_request(input.event_id, input.failed_since)
}

/// 202 with how many notifications will be sent again.
pub(super) fn replaying(count: u64) -> (StatusCode, Json<ReplayResult>) {
    (
        StatusCode::ACCEPTED,
        Json(ReplayResult { replaying: count }),
    )
}

/// One page of notification attempts, newest first.
#[derive(Serialize, ToSchema)]
pub struct NotificationAttemptPage {
    items: Vec<AttemptView>,
    /// Pass as `before` for the next (older) page; null on the last.
    #[schema(required)]
    next_before: Option<String>,
}

/// One page of attempts, with the cursor of the next page.
pub(super) fn attempt_page(page: &AttemptPage) -> Json<NotificationAttemptPage> {
    Json(NotificationAttemptPage {
        items: page.items.iter().map(view::attempt).collect(),
        next_before: page.next_before.clone(),
    })
}

/// Every notification of a call.
#[derive(Serialize, ToSchema)]
pub struct CallNotificationList {
    call_id: CallId,
    items: Vec<CallNotification>,
}

impl From<PageIn> for PageRequest {
    fn from(page: PageIn) -> Self {
        PageRequest {
            before: page.before,
            limit: page.limit,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SetEmailNotificationsRequest)]
#[serde(deny_unknown_fields)]
pub struct EmailSettingsIn {
    #[schema(max_items = 50, value_type = Vec<EmailAddress>)]
    recipients: Vec<String>,
}

/// An e-mail address (a string in the `email` format).
#[derive(ToSchema)]
#[schema(format = "email")]
#[allow(dead_code)] // Only its schema is used.
struct EmailAddress(String);

/// `GET /api/v1/email-notifications`: the company-wide recipients.
#[utoipa::path(
    get,
    path = "/api/v1/email-notifications",
    operation_id = "showEmailNotifications",
    tag = "Notifications",
    summary = r#"Company-wide e-mail recipients (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The settings."#, content((EmailSettings = "application/json", examples(("ok" = (value = json!({"recipients": ["sales-lead@acme.example"], "smtp_configured": true}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn show_email(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<EmailSettings>, ApiError> {
    let recipients = email::recipients(&app, me.company_id).await?;
    Ok(Json(email::settings_view(&app, &recipients)))
}

/// `PUT /api/v1/email-notifications`: replaces the company-wide recipients.
#[utoipa::path(
    put,
    path = "/api/v1/email-notifications",
    operation_id = "setEmailNotifications",
    tag = "Notifications",
    summary = r#"Replace the company-wide e-mail recipients (admins)"#,
    description = r#"Each receives an e-mail when a call's speech recognition completes, and again after a swap. At most 50; stored lower-cased, each once."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((EmailSettingsIn = "application/json", examples(("example" = (value = json!({"recipients": ["sales-lead@acme.example"]}))))))),
    responses(
        (status = 200, description = r#"The settings."#, content((EmailSettings = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn set_email(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<EmailSettingsIn>,
) -> Result<Json<EmailSettings>, ApiError> {
    let recipients = email::set_recipients(&app, me.company_id, &input.recipients).await?;
    Ok(Json(email::settings_view(&app, &recipients)))
}

/// `GET /api/v1/email-notifications/deliveries`: every e-mail attempt, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/email-notifications/deliveries",
    operation_id = "listEmailDeliveries",
    tag = "Notifications",
    summary = r#"Every e-mail attempt, newest first (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("before" = Option<String>, Query, description = r#"`next_before` of the previous page."#),
        ("limit" = Option<i64>, Query, description = r#"Default: `50`."#, minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = r#"A page of attempts."#, content((NotificationAttemptPage = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 422, description = r#"`invalid_request`: `before` is not a cursor this API handed out, or `limit` is not a number."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid_request" = (summary = r#"Bad cursor"#, value = json!({"code": "invalid_request", "message": "before is not a cursor this API handed out"}))))))),
    ),
)]
pub async fn email_deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiQuery(page): ApiQuery<PageIn>,
) -> Result<Json<NotificationAttemptPage>, ApiError> {
    let page = attempts::of_email(&app, me.company_id, page.into()).await?;
    Ok(attempt_page(&page))
}

/// `POST /api/v1/email-notifications/replay`: e-mails of one event (to `to`, or to every
/// address it went to) or every failed one since a time, sent again.
#[utoipa::path(
    post,
    path = "/api/v1/email-notifications/replay",
    operation_id = "replayEmailNotifications",
    tag = "Notifications",
    summary = r#"Send e-mails again (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((ReplayIn = "application/json", examples(("example" = (value = json!({"event_id": "9d1f3a70-1c2e-4f7b-9a51-0b3c2d4e5f60", "to": "sales-lead@acme.example"}))))))),
    responses(
        (status = 202, description = r#"Queued."#, content((ReplayResult = "application/json", examples(("ok" = (value = json!({"replaying": 1}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn replay_email(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<ReplayIn>,
) -> Result<(StatusCode, Json<ReplayResult>), ApiError> {
    let what = replay::Replay::from_request(input.event_id, input.failed_since)?;
    let count = replay::email(&app, me.company_id, input.to.as_deref(), what).await?;
    Ok(replaying(count))
}

/// *E-mail me when recognition of my calls completes.*
#[derive(Deserialize, ToSchema)]
#[schema(as = SetMyNotificationsRequest)]
#[serde(deny_unknown_fields)]
pub struct MyNotificationsIn {
    email_on_completion: bool,
}

/// `GET /api/v1/me/notifications`.
#[utoipa::path(
    get,
    path = "/api/v1/me/notifications",
    operation_id = "showMyNotifications",
    tag = "Notifications",
    summary = r#"My notification choices"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The choices."#, content((MyNotifications = "application/json"))),
    ),
)]
pub async fn show_mine(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<MyNotifications>, ApiError> {
    let choice = email::user_choice(&app, me.company_id, me.id).await?;
    Ok(Json(email::choice_view(choice)))
}

/// `PUT /api/v1/me/notifications`: *e-mail me when recognition of my calls completes*.
#[utoipa::path(
    put,
    path = "/api/v1/me/notifications",
    operation_id = "setMyNotifications",
    tag = "Notifications",
    summary = r#"Set my notification choices"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((MyNotificationsIn = "application/json", examples(("example" = (value = json!({"email_on_completion": true}))))))),
    responses(
        (status = 200, description = r#"The choices."#, content((MyNotifications = "application/json"))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn set_mine(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(input): ApiJson<MyNotificationsIn>,
) -> Result<Json<MyNotifications>, ApiError> {
    let choice = UserNotifications {
        email_on_completion: input.email_on_completion,
    };
    let choice = email::set_user_choice(&app, me.company_id, me.id, choice).await?;
    Ok(Json(email::choice_view(choice)))
}

/// `GET /api/v1/calls/{id}/notifications` (admins): every notification of the call.
#[utoipa::path(
    get,
    path = "/api/v1/calls/{call_id}/notifications",
    operation_id = "listCallNotifications",
    tag = "CallHistories",
    summary = r#"Every notification of the call (admins)"#,
    description = r#"Outgoing webhooks, Slack messages, e-mails and CRM records: one entry per target and event."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("call_id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The notifications."#, content((CallNotificationList = "application/json"))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Not found"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn of_call(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(call_id): Path<String>,
) -> Result<Json<CallNotificationList>, ApiError> {
    let missing = || AppError::NotFound("no such call in this company".into());
    let id: CallId = call_id.parse().map_err(|_| missing())?;
    app.store
        .call(me.company_id, id)
        .await?
        .ok_or_else(missing)?;
    let items = history::of_call(&app, me.company_id, id).await?;
    Ok(Json(CallNotificationList { call_id: id, items }))
}
