//! Admin pages for Slack rules: the rules and a form to add one, and each rule's page
//! (change it, its attempt log with replays, delete), over the same services as
//! `/api/v1/slack-rules`. The webhook URL is write-only: a form never shows it, only the
//! host it posts to, and leaving it empty keeps it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kiku_domain::notification::SlackRuleFilters;
use kiku_domain::{EventType, SlackRuleId};
use kiku_storage::SlackRule;
use serde_json::json;

use super::admin::AdminViewer;
use super::attempt_log::{AttemptLog, ReplayForm};
use super::calls::ViewerView;
use super::edit_page::{refused, Shown};
use super::error::UiError;
use super::form::Fields;
use super::html;
use super::i18n::{Lang, Text};
use super::session::{CsrfForm, Viewer};
use crate::app::notifications::attempts::{self, PageRequest};
use crate::app::notifications::slack_rules::{self as service, RuleChange, RuleRequest};
use crate::app::notifications::{replay, view};
use crate::app::{accounts, AppError};
use crate::http::AppState;

/// What the rule form holds: a stored rule's settings, or what was typed.
struct Draft {
    name: String,
    include_summary: bool,
    enabled: bool,
    user_ids: Vec<String>,
    event_types: Vec<String>,
    tags: String,
    min_score: String,
    max_score: String,
}

impl Draft {
    fn new() -> Self {
        Draft {
            name: String::new(),
            include_summary: false,
            enabled: true,
            user_ids: Vec::new(),
            event_types: Vec::new(),
            tags: String::new(),
            min_score: String::new(),
            max_score: String::new(),
        }
    }

    fn of_rule(rule: &SlackRule) -> Self {
        let filters = SlackRuleFilters::parse(&rule.filters).unwrap_or_default();
        let score = |s: Option<f64>| s.map(|s| s.to_string()).unwrap_or_default();
        Draft {
            name: rule.name.clone(),
            include_summary: rule.include_summary,
            enabled: rule.enabled,
            user_ids: filters.user_ids.iter().map(ToString::to_string).collect(),
            event_types: filters
                .event_types
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            tags: filters.tags.join("\n"),
            min_score: score(filters.min_score),
            max_score: score(filters.max_score),
        }
    }

    fn of_fields(f: &Fields) -> Self {
        Draft {
            name: f.value("name").to_string(),
            include_summary: f.ticked("include_summary"),
            enabled: f.ticked("enabled"),
            user_ids: f.values("user_ids"),
            event_types: f.values("event_types"),
            tags: f.value("tags").to_string(),
            min_score: f.value("min_score").to_string(),
            max_score: f.value("max_score").to_string(),
        }
    }
}

/// The filters a form describes, as the API takes them.
fn filters_of(f: &Fields) -> Result<serde_json::Value, AppError> {
    Ok(json!({
        "user_ids": f.values("user_ids"),
        "event_types": f.values("event_types"),
        "tags": f.lines("tags"),
        "min_score": f.number::<f64>("min_score")?,
        "max_score": f.number::<f64>("max_score")?,
    }))
}

/// The rule form as the template shows it.
struct RuleForm {
    action: String,
    draft: Draft,
    /// Editing: the host the stored URL posts to.
    webhook_host: Option<String>,
    users: Vec<(String, String, bool)>,
    event_types: Vec<(&'static str, &'static str, bool)>,
    submit: &'static str,
}

async fn rule_form(
    app: &AppState,
    viewer: &Viewer,
    action: String,
    draft: Draft,
    webhook_host: Option<String>,
) -> Result<RuleForm, UiError> {
    let t = viewer.text();
    let users = accounts::users(app, viewer.user.company_id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?
        .into_iter()
        .map(|u| {
            let id = u.id.to_string();
            let chosen = draft.user_ids.contains(&id);
            (id, u.name, chosen)
        })
        .collect();
    let event_types = EventType::ALL
        .iter()
        .map(|e| {
            let chosen = draft.event_types.iter().any(|c| c == e.as_str());
            (e.as_str(), t.event_type(*e), chosen)
        })
        .collect();
    let submit = if webhook_host.is_some() {
        t.notify.save_changes
    } else {
        t.notify.add_slack_rule
    };
    Ok(RuleForm {
        action,
        draft,
        webhook_host,
        users,
        event_types,
        submit,
    })
}

struct RuleRow {
    id: SlackRuleId,
    name: String,
    host: String,
    filters: String,
    include_summary: bool,
    enabled: bool,
}

/// "Users: Tanaka; Call types: Outgoing; Tags: vip; Score 60–100", or "Every call".
fn filters_text(t: &Text, rule: &SlackRule, names: &[(String, String)]) -> String {
    let f = SlackRuleFilters::parse(&rule.filters).unwrap_or_default();
    let mut parts = Vec::new();
    if !f.user_ids.is_empty() {
        let users: Vec<&str> = f
            .user_ids
            .iter()
            .map(|id| {
                let id = id.to_string();
                names
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map_or("?", |(_, n)| n.as_str())
            })
            .collect();
        parts.push(format!("{}: {}", t.users_title, users.join(", ")));
    }
    if !f.event_types.is_empty() {
        let kinds: Vec<&str> = f.event_types.iter().map(|e| t.event_type(*e)).collect();
        parts.push(format!("{}: {}", t.filter_event_type, kinds.join(", ")));
    }
    if !f.tags.is_empty() {
        parts.push(format!("{}: {}", t.tags, f.tags.join(", ")));
    }
    if f.min_score.is_some() || f.max_score.is_some() {
        let bound = |s: Option<f64>| s.map(|s| s.to_string()).unwrap_or_default();
        parts.push(format!(
            "{} {}–{}",
            t.col_score,
            bound(f.min_score),
            bound(f.max_score)
        ));
    }
    if parts.is_empty() {
        t.notify.every_call.to_string()
    } else {
        parts.join("; ")
    }
}

#[derive(Template)]
#[template(path = "admin_slack_rules.html")]
struct ListPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    rules: Vec<RuleRow>,
    form: RuleForm,
    problem: Option<String>,
}

async fn list_page(
    app: &AppState,
    viewer: &Viewer,
    draft: Draft,
    problem: Option<String>,
) -> Result<Response, UiError> {
    let t = viewer.text();
    let failed = |e| UiError::new(e, viewer.lang);
    let company = viewer.user.company_id;
    let rules = service::list(app, company).await.map_err(failed)?;
    let names: Vec<(String, String)> = accounts::users(app, company)
        .await
        .map_err(failed)?
        .into_iter()
        .map(|u| (u.id.to_string(), u.name))
        .collect();
    let form = rule_form(app, viewer, "/admin/slack-rules".into(), draft, None).await?;
    html(ListPage {
        t,
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        rules: rules
            .iter()
            .map(|r| RuleRow {
                id: r.id,
                name: r.name.clone(),
                host: view::webhook_host(r).unwrap_or_default(),
                filters: filters_text(t, r, &names),
                include_summary: r.include_summary,
                enabled: r.enabled,
            })
            .collect(),
        form,
        problem,
    })
}

pub async fn list(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> Result<Response, UiError> {
    list_page(&app, &viewer, Draft::new(), None).await
}

/// `POST /admin/slack-rules`: a refused rule shows the form again with why (the URL is
/// not kept: it is a credential).
pub async fn create(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(f): Form<Fields>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, f.value("csrf"))?;
    let made = match filters_of(&f) {
        Ok(filters) => {
            let request = RuleRequest {
                name: f.value("name").to_string(),
                webhook_url: f.value("webhook_url").trim().to_string(),
                enabled: Some(f.ticked("enabled")),
                include_summary: Some(f.ticked("include_summary")),
                filters: Some(filters),
            };
            service::create(&app, viewer.user.company_id, request).await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(rule) => Ok(Redirect::to(&format!("/admin/slack-rules/{}", rule.id)).into_response()),
        Err(e) => {
            let problem = refused(e, viewer.lang)?;
            let page = list_page(&app, &viewer, Draft::of_fields(&f), Some(problem)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "admin_slack_rule.html")]
struct DetailPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    id: SlackRuleId,
    name: String,
    form: RuleForm,
    problem: Option<String>,
    saved: bool,
    log: AttemptLog,
}

async fn detail_page(
    app: &AppState,
    viewer: &Viewer,
    id: SlackRuleId,
    shown: Shown<Draft>,
) -> Result<Response, UiError> {
    let failed = |e| UiError::new(e, viewer.lang);
    let company = viewer.user.company_id;
    let rule = service::show(app, company, id).await.map_err(failed)?;
    let page = attempts::of_slack_rule(app, company, id, PageRequest::default())
        .await
        .map_err(failed)?;
    let log = AttemptLog::of_attempts(
        app,
        &page.items,
        format!("/admin/slack-rules/{id}/replay"),
        shown.replaying,
    );
    let draft = shown.draft.unwrap_or_else(|| Draft::of_rule(&rule));
    let host = Some(view::webhook_host(&rule).unwrap_or_default());
    let form = rule_form(app, viewer, format!("/admin/slack-rules/{id}"), draft, host).await?;
    html(DetailPage {
        t: viewer.text(),
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        id,
        name: rule.name,
        form,
        problem: shown.problem,
        saved: shown.saved,
        log,
    })
}

fn rule_id(id: &str, lang: Lang) -> Result<SlackRuleId, UiError> {
    id.parse()
        .map_err(|_| UiError::new(service::not_found(), lang))
}

pub async fn detail(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id = rule_id(&id, viewer.lang)?;
    detail_page(&app, &viewer, id, Shown::default()).await
}

/// `POST /admin/slack-rules/{id}`: the form's settings; an empty URL keeps the stored one.
pub async fn update(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, f.value("csrf"))?;
    let id = rule_id(&id, viewer.lang)?;
    let changed = match filters_of(&f) {
        Ok(filters) => {
            let change = RuleChange {
                name: Some(f.value("name").to_string()),
                webhook_url: f.given("webhook_url"),
                enabled: Some(f.ticked("enabled")),
                include_summary: Some(f.ticked("include_summary")),
                filters: Some(filters),
            };
            service::update(&app, viewer.user.company_id, id, change).await
        }
        Err(e) => Err(e),
    };
    let shown = Shown::after_change(changed, || Draft::of_fields(&f), viewer.lang)?;
    Ok((shown.status(), detail_page(&app, &viewer, id, shown).await?).into_response())
}

pub async fn replay(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(form): Form<ReplayForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let id = rule_id(&id, viewer.lang)?;
    let what = form.replay(viewer.lang)?;
    let count = replay::slack(&app, viewer.user.company_id, id, what)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    detail_page(&app, &viewer, id, Shown::replayed(count)).await
}

pub async fn delete(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let id = rule_id(&id, viewer.lang)?;
    service::delete(&app, viewer.user.company_id, id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    Ok(Redirect::to("/admin/slack-rules").into_response())
}
