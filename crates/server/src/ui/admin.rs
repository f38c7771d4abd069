//! Admin pages: the company's users (add, switch *Use Incoming Webhook*, copy an ID for the
//! PBX) and its Incoming Webhook URL (create, show, copy, delete). Others get a readable
//! "not allowed" page, as the API refuses them too.

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kiku_domain::UserId;
use kiku_storage::UserPatch;
use serde::Deserialize;

use super::calls::ViewerView;
use super::error::UiError;
use super::html;
use super::i18n::{Lang, Text};
use super::session::{CsrfForm, Viewer};
use crate::app::{accounts, webhook_url, AppError};
use crate::http::AppState;

/// A signed-in admin.
pub struct AdminViewer(pub Viewer);

impl FromRequestParts<AppState> for AdminViewer {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, app).await?;
        if !viewer.user.admin {
            return Err(UiError::new(
                AppError::Forbidden("only admins can see this page".into()),
                viewer.lang,
            ));
        }
        Ok(AdminViewer(viewer))
    }
}

struct UserRow {
    id: UserId,
    name: String,
    email: String,
    admin: bool,
    use_incoming_webhook: bool,
}

/// What the add-user form had, kept when it is refused.
#[derive(Default)]
struct Draft {
    name: String,
    email: String,
    admin: bool,
    use_incoming_webhook: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    users: Vec<UserRow>,
    draft: Draft,
    problem: Option<String>,
}

async fn users_page(
    app: &AppState,
    viewer: &Viewer,
    draft: Draft,
    problem: Option<String>,
) -> Result<Response, UiError> {
    let users = accounts::users(app, viewer.user.company_id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            name: u.name,
            email: u.email,
            admin: u.admin,
            use_incoming_webhook: u.use_incoming_webhook,
        })
        .collect();
    html(UsersPage {
        t: viewer.text(),
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        users,
        draft,
        problem,
    })
}

pub async fn users(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> Result<Response, UiError> {
    users_page(&app, &viewer, Draft::default(), None).await
}

#[derive(Deserialize)]
pub struct NewUserForm {
    csrf: String,
    name: String,
    email: String,
    #[serde(default)]
    password: String,
    admin: Option<String>,
    use_incoming_webhook: Option<String>,
}

pub async fn create_user(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<NewUserForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let input = accounts::UserInput {
        name: form.name.clone(),
        email: form.email.clone(),
        password: Some(form.password).filter(|p| !p.is_empty()),
        admin: form.admin.is_some(),
        use_incoming_webhook: form.use_incoming_webhook.is_some(),
    };
    match accounts::create_user(&app, viewer.user.company_id, input).await {
        Ok(user) => {
            tracing::info!(user_id = %user.id, by = %viewer.user.id, "user created (web UI)");
            Ok(Redirect::to("/admin/users").into_response())
        }
        Err(e @ (AppError::InvalidRequest(_) | AppError::Conflict(_))) => {
            let draft = Draft {
                name: form.name,
                email: form.email,
                admin: form.admin.is_some(),
                use_incoming_webhook: form.use_incoming_webhook.is_some(),
            };
            let page = users_page(&app, &viewer, draft, Some(e.to_string())).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(UiError::new(e, viewer.lang)),
    }
}

#[derive(Deserialize)]
pub struct SwitchForm {
    csrf: String,
    use_incoming_webhook: Option<String>,
    admin: Option<String>,
}

/// `POST /admin/users/{id}`: switches a flag (`true`/`false`).
pub async fn update_user(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(user_id): Path<String>,
    Form(form): Form<SwitchForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let lang = viewer.lang;
    let id: UserId = user_id
        .parse()
        .map_err(|_| UiError::new(AppError::NotFound("no such user".into()), lang))?;
    let flag = |v: Option<String>| v.map(|v| v == "true");
    let patch = UserPatch {
        admin: flag(form.admin),
        use_incoming_webhook: flag(form.use_incoming_webhook),
    };
    accounts::update_user(&app, viewer.user.company_id, id, patch)
        .await
        .map_err(|e| UiError::new(e, lang))?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Template)]
#[template(path = "admin_webhook.html")]
struct WebhookPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    /// The full URL: only on the page that answers its creation.
    url: Option<String>,
    masked: Option<String>,
    created: String,
}

fn webhook_page(
    viewer: &Viewer,
    shown: Option<webhook_url::WebhookUrl>,
) -> Result<Response, UiError> {
    html(WebhookPage {
        t: viewer.text(),
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        created: shown
            .as_ref()
            .map(|u| kiku_domain::datetime::format(u.created_at))
            .unwrap_or_default(),
        masked: shown.as_ref().map(|u| u.masked_url.clone()),
        url: shown.and_then(|u| u.url),
    })
}

pub async fn webhook(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> Result<Response, UiError> {
    let shown = match webhook_url::show(&app, viewer.user.company_id).await {
        Ok(url) => Some(url),
        Err(AppError::NotFound(_)) => None,
        Err(e) => return Err(UiError::new(e, viewer.lang)),
    };
    webhook_page(&viewer, shown)
}

/// Answers with the page itself, not a redirect: the full URL exists only in this answer
/// (a reload would post again and be refused, as a second URL is).
pub async fn create_webhook(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let created = webhook_url::create(&app, viewer.user.company_id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    webhook_page(&viewer, Some(created))
}

pub async fn delete_webhook(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    webhook_url::delete(&app, viewer.user.company_id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    Ok(Redirect::to("/admin/webhook").into_response())
}

struct SimulatedRow {
    id: kiku_domain::CallId,
    started: String,
    now: String,
    then: String,
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    language: String,
    keywords: String,
    vocabulary: String,
    score_rule: String,
    redact_personal_data: bool,
    write_minutes: bool,
    problem: Option<String>,
    saved: Option<u64>,
    simulated: Option<Vec<SimulatedRow>>,
}

/// How many recent calls the simulation tries the settings on.
const SIMULATED_CALLS: u32 = 5;

fn language_text(language: &kiku_domain::analysis::Language) -> String {
    match language {
        kiku_domain::analysis::Language::Auto => "auto".into(),
        kiku_domain::analysis::Language::Fixed(code) => code.clone(),
    }
}

pub async fn settings(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> Result<Response, UiError> {
    let current = crate::app::analysis::settings(&app, viewer.user.company_id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    html(SettingsPage {
        t: viewer.text(),
        lang: viewer.lang,
        viewer: ViewerView::of(&viewer),
        language: language_text(&current.language),
        keywords: current.keywords.join("\n"),
        vocabulary: current.vocabulary.join("\n"),
        score_rule: serde_json::to_string_pretty(&current.score_rule).unwrap_or_default(),
        redact_personal_data: current.redact_personal_data,
        write_minutes: current.write_minutes,
        problem: None,
        saved: None,
        simulated: None,
    })
}

#[derive(Deserialize)]
pub struct SettingsForm {
    csrf: String,
    action: String,
    language: String,
    #[serde(default)]
    keywords: String,
    #[serde(default)]
    vocabulary: String,
    score_rule: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    redact_personal_data: Option<String>,
    #[serde(default)]
    write_minutes: Option<String>,
}

/// The settings the form describes, or why not.
/// The settings the form gives; what the page does not show (the recording's redaction,
/// set through the API) stays as `current` has it, off with redaction itself.
fn settings_of(
    form: &SettingsForm,
    current: &kiku_domain::analysis::AnalysisSettings,
) -> Result<kiku_domain::analysis::AnalysisSettings, String> {
    let language = kiku_domain::analysis::Language::try_from(form.language.clone())?;
    let keywords = lines(&form.keywords);
    let score_rule = serde_json::from_str(&form.score_rule)
        .map_err(|e| format!("the score rule does not read: {e}"))?;
    let settings = kiku_domain::analysis::AnalysisSettings {
        language,
        keywords,
        vocabulary: lines(&form.vocabulary),
        score_rule,
        redact_personal_data: form.redact_personal_data.is_some(),
        redact_audio: match form.redact_personal_data {
            Some(_) => current.redact_audio,
            None => kiku_domain::analysis::AudioRedaction::Off,
        },
        keep_original_recording: current.keep_original_recording,
        write_minutes: form.write_minutes.is_some(),
    };
    settings.validate()?;
    Ok(settings)
}

/// The non-blank lines of a text area, trimmed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// `POST /admin/settings`: `action=simulate` shows what the settings would give on recent
/// calls without saving; `action=save` stores them (past calls are re-scored by a job).
pub async fn save_settings(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<SettingsForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let lang = viewer.lang;
    let company = viewer.user.company_id;
    let mut page = SettingsPage {
        t: viewer.text(),
        lang,
        viewer: ViewerView::of(&viewer),
        language: form.language.clone(),
        keywords: form.keywords.clone(),
        vocabulary: form.vocabulary.clone(),
        score_rule: form.score_rule.clone(),
        redact_personal_data: form.redact_personal_data.is_some(),
        write_minutes: form.write_minutes.is_some(),
        problem: None,
        saved: None,
        simulated: None,
    };
    let current = crate::app::analysis::settings(&app, company)
        .await
        .map_err(|e| UiError::new(e, lang))?;
    let settings = match settings_of(&form, &current) {
        Ok(settings) => settings,
        Err(problem) => {
            page.problem = Some(problem);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(page)?).into_response());
        }
    };
    let failed = |e| UiError::new(e, lang);
    if form.action == "save" {
        let rescoring = crate::app::analysis::set_settings(&app, company, &settings)
            .await
            .map_err(failed)?;
        tracing::info!(company_id = %company, by = %viewer.user.id, rescoring, "analysis settings saved (web UI)");
        page.saved = Some(rescoring);
    } else {
        let simulated = crate::app::analysis::simulate(&app, company, &settings, SIMULATED_CALLS)
            .await
            .map_err(failed)?;
        page.simulated = Some(
            simulated
                .into_iter()
                .map(|s| SimulatedRow {
                    id: s.call.id,
                    started: kiku_domain::datetime::format(s.call.data.call_starts_at),
                    now: format!("{:.1}", s.now),
                    then: format!("{:.1}", s.then),
                })
                .collect(),
        );
    }
    html(page)
}
