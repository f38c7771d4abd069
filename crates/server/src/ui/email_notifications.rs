//! E-mail notifications: the admin page (the company-wide recipients, whether SMTP is
//! configured, the e-mails' attempt log with replays) and every user's own page
//! (*e-mail me when recognition of my calls completes*), over the same services as
//! `/api/v1/email-notifications` and `/api/v1/me/notifications`.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Form;
use kiku_storage::UserNotifications;
use serde::Deserialize;

use super::admin::AdminViewer;
use super::attempt_log::{AttemptLog, ReplayForm};
use super::calls::ViewerView;
use super::edit_page::Shown;
use super::error::UiError;
use super::html;
use super::i18n::{Lang, Text};
use super::session::Viewer;
use crate::app::notifications::attempts::{self, PageRequest};
use crate::app::notifications::{email, replay};
use crate::http::AppState;

#[derive(Template)]
#[template(path = "admin_email.html")]
struct AdminPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    smtp_configured: bool,
    recipients: String,
    problem: Option<String>,
    saved: bool,
    log: AttemptLog,
}

/// `shown.draft`: the recipients as typed, when they were refused.
async fn admin_page(
    app: &AppState,
    viewer: &Viewer,
    shown: Shown<String>,
) -> Result<Response, UiError> {
    let failed = |e| UiError::new(e, viewer.lang);
    let company = viewer.user.company_id;
    let status = shown.status();
    let recipients = match shown.draft {
        Some(typed) => typed,
        None => email::recipients(app, company)
            .await
            .map_err(failed)?
            .join("\n"),
    };
    let page = attempts::of_email(app, company, PageRequest::default())
        .await
        .map_err(failed)?;
    let mut log = AttemptLog::of_attempts(
        app,
        &page.items,
        "/admin/email/replay".into(),
        shown.replaying,
    );
    log.per_recipient = true;
    let page = html(AdminPage {
        t: viewer.text(),
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        smtp_configured: email::smtp_configured(app),
        recipients,
        problem: shown.problem,
        saved: shown.saved,
        log,
    })?;
    Ok((status, page).into_response())
}

pub async fn admin(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> Result<Response, UiError> {
    admin_page(&app, &viewer, Shown::default()).await
}

#[derive(Deserialize)]
pub struct RecipientsForm {
    csrf: String,
    #[serde(default)]
    recipients: String,
}

/// `POST /admin/email`: replaces the company-wide recipients (one address a line).
pub async fn set_recipients(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<RecipientsForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let addresses: Vec<String> = form
        .recipients
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    let changed = email::set_recipients(&app, viewer.user.company_id, &addresses).await;
    let shown = Shown::after_change(changed, || form.recipients.clone(), viewer.lang)?;
    admin_page(&app, &viewer, shown).await
}

/// `POST /admin/email/replay`: one event's e-mail again (to the row's recipient), or
/// every failed e-mail since a time.
pub async fn replay(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<ReplayForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let what = form.replay(viewer.lang)?;
    let to = form.to.as_deref().filter(|to| !to.is_empty());
    let count = replay::email(&app, viewer.user.company_id, to, what)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    admin_page(&app, &viewer, Shown::replayed(count)).await
}

#[derive(Template)]
#[template(path = "my_notifications.html")]
struct MinePage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    email: String,
    email_on_completion: bool,
    saved: bool,
}

async fn mine_page(app: &AppState, viewer: &Viewer, saved: bool) -> Result<Response, UiError> {
    let choice = email::user_choice(app, viewer.user.company_id, viewer.user.id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    html(MinePage {
        t: viewer.text(),
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        email: viewer.user.email.clone(),
        email_on_completion: choice.email_on_completion,
        saved,
    })
}

/// `GET /me/notifications`: any signed-in user's own notification settings.
pub async fn mine(State(app): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    mine_page(&app, &viewer, false).await
}

#[derive(Deserialize)]
pub struct MineForm {
    csrf: String,
    email_on_completion: Option<String>,
}

pub async fn set_mine(
    State(app): State<AppState>,
    viewer: Viewer,
    Form(form): Form<MineForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let choice = UserNotifications {
        email_on_completion: form.email_on_completion.is_some(),
    };
    email::set_user_choice(&app, viewer.user.company_id, viewer.user.id, choice)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    tracing::info!(user_id = %viewer.user.id, email_on_completion = choice.email_on_completion, "own notifications set (web UI)");
    mine_page(&app, &viewer, true).await
}
