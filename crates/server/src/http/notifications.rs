//! E-mail notification settings (admins), a user's own choice, a call's notifications,
//! and what the attempt logs and replays share.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::CallId;
use kiku_storage::UserNotifications;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{Admin, CurrentUser};
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::app::notifications::attempts::{self, AttemptPage, PageRequest};
use crate::app::notifications::{email, history, replay, view};
use crate::app::AppError;

#[derive(Deserialize)]
pub struct PageIn {
    before: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    pub event_id: Option<String>,
    pub failed_since: Option<String>,
    /// E-mail only: the one address to send to.
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
pub(super) fn replaying(count: u64) -> (StatusCode, Json<Value>) {
    (StatusCode::ACCEPTED, Json(json!({ "replaying": count })))
}

/// One page of attempts as JSON, with the cursor of the next page.
pub(super) fn attempts_json(page: &AttemptPage) -> Value {
    let items: Vec<Value> = page.items.iter().map(view::attempt).collect();
    json!({ "items": items, "next_before": page.next_before })
}

impl From<PageIn> for PageRequest {
    fn from(page: PageIn) -> Self {
        PageRequest {
            before: page.before,
            limit: page.limit,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettingsIn {
    recipients: Vec<String>,
}

/// `GET /api/v1/email-notifications`: the company-wide recipients.
pub async fn show_email(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<Value>, ApiError> {
    let recipients = email::recipients(&app, me.company_id).await?;
    Ok(Json(email::settings_json(&app, &recipients)))
}

/// `PUT /api/v1/email-notifications`: replaces the company-wide recipients.
pub async fn set_email(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<EmailSettingsIn>,
) -> Result<Json<Value>, ApiError> {
    let recipients = email::set_recipients(&app, me.company_id, &input.recipients).await?;
    Ok(Json(email::settings_json(&app, &recipients)))
}

/// `GET /api/v1/email-notifications/deliveries`: every e-mail attempt, newest first.
pub async fn email_deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Query(page): Query<PageIn>,
) -> Result<Json<Value>, ApiError> {
    let page = attempts::of_email(&app, me.company_id, page.into()).await?;
    Ok(Json(attempts_json(&page)))
}

/// `POST /api/v1/email-notifications/replay`: e-mails of one event (to `to`, or to every
/// address it went to) or every failed one since a time, sent again.
pub async fn replay_email(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<ReplayIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let what = replay::Replay::from_request(input.event_id, input.failed_since)?;
    let count = replay::email(&app, me.company_id, input.to.as_deref(), what).await?;
    Ok(replaying(count))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyNotificationsIn {
    email_on_completion: bool,
}

/// `GET /api/v1/me/notifications`.
pub async fn show_mine(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    let choice = email::user_choice(&app, me.company_id, me.id).await?;
    Ok(Json(email::choice_json(choice)))
}

/// `PUT /api/v1/me/notifications`: *e-mail me when recognition of my calls completes*.
pub async fn set_mine(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(input): ApiJson<MyNotificationsIn>,
) -> Result<Json<Value>, ApiError> {
    let choice = UserNotifications {
        email_on_completion: input.email_on_completion,
    };
    let choice = email::set_user_choice(&app, me.company_id, me.id, choice).await?;
    Ok(Json(email::choice_json(choice)))
}

/// `GET /api/v1/calls/{id}/notifications` (admins): every notification of the call.
pub async fn of_call(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(call_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let missing = || AppError::NotFound("no such call in this company".into());
    let id: CallId = call_id.parse().map_err(|_| missing())?;
    app.store
        .call(me.company_id, id)
        .await?
        .ok_or_else(missing)?;
    let items = history::of_call(&app, me.company_id, id).await?;
    Ok(Json(json!({ "call_id": id, "items": items })))
}
