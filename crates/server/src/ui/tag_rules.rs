//! The admin page for auto-tag rules: the rules (enable, disable, apply to past calls,
//! delete) and a form to add one, over the same service as `/api/v1/tag-rules`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kiku_domain::tag_rule::KeywordMatch;
use kiku_domain::TagRuleId;
use serde::Deserialize;

use super::admin::AdminViewer;
use super::calls::ViewerView;
use super::error::UiError;
use super::html;
use super::i18n::{Lang, Text};
use super::session::{CsrfForm, Viewer};
use crate::app::tag_rules::{self as service, TagRuleRequest};
use crate::app::AppError;
use crate::http::AppState;

struct RuleRow {
    id: TagRuleId,
    name: String,
    keywords: String,
    /// "each keyword's count reaches 2", in the page's language.
    condition: String,
    speaker: &'static str,
    tag: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "admin_tag_rules.html")]
struct RulesPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    rules: Vec<RuleRow>,
    form: NewRuleForm,
    problem: Option<String>,
    /// After "apply to past calls": how many calls the job looks at.
    applying: Option<u64>,
}

fn row(t: &Text, rule: &kiku_storage::TagRule) -> RuleRow {
    let s = &rule.spec;
    let condition = match s.keyword_match {
        KeywordMatch::Any => t.match_any,
        KeywordMatch::All => t.match_all,
    };
    RuleRow {
        id: rule.id,
        name: s.name.clone(),
        keywords: s.keywords.join(", "),
        condition: format!("{condition} {} {}", s.min_count, t.times_or_more),
        speaker: match s.speaker {
            None => t.speaker_any,
            Some(kiku_domain::analysis::Role::User) => t.user,
            Some(kiku_domain::analysis::Role::Customer) => t.customer,
        },
        tag: s.tag.clone(),
        enabled: s.enabled,
    }
}

async fn page(
    app: &AppState,
    viewer: &Viewer,
    form: NewRuleForm,
    problem: Option<String>,
    applying: Option<u64>,
) -> Result<Response, UiError> {
    let t = viewer.text();
    let rules = service::list(app, viewer.user.company_id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    html(RulesPage {
        t,
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        rules: rules.iter().map(|r| row(t, r)).collect(),
        form,
        problem,
        applying,
    })
}

pub async fn list(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> Result<Response, UiError> {
    page(&app, &viewer, NewRuleForm::default(), None, None).await
}

/// The add form; a field left out takes the form's first value.
#[derive(Deserialize)]
#[serde(default)]
pub struct NewRuleForm {
    csrf: String,
    name: String,
    /// One per line.
    keywords: String,
    keyword_match: String,
    min_count: String,
    speaker: String,
    tag: String,
}

impl Default for NewRuleForm {
    fn default() -> Self {
        Self {
            csrf: String::new(),
            name: String::new(),
            keywords: String::new(),
            keyword_match: "any".into(),
            min_count: "1".into(),
            speaker: "any".into(),
            tag: String::new(),
        }
    }
}

impl NewRuleForm {
    fn request(&self) -> Result<TagRuleRequest, AppError> {
        let min_count = self.min_count.trim().parse().map_err(|_| {
            AppError::InvalidRequest(format!("min_count {:?} is not a number", self.min_count))
        })?;
        Ok(TagRuleRequest {
            name: Some(self.name.clone()),
            keywords: Some(
                self.keywords
                    .lines()
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            keyword_match: Some(self.keyword_match.clone()),
            min_count: Some(min_count),
            speaker: Some(self.speaker.clone()),
            tag: Some(self.tag.clone()),
            enabled: Some(true),
        })
    }
}

/// `POST /admin/tag-rules`: a refused rule shows the form again, filled in, with why.
pub async fn create(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<NewRuleForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let made = match form.request() {
        Ok(request) => service::create(&app, viewer.user.company_id, request).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(_) => Ok(Redirect::to("/admin/tag-rules").into_response()),
        Err(e @ AppError::InvalidRequest(_)) => {
            let shown = page(&app, &viewer, form, Some(e.to_string()), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, shown).into_response())
        }
        Err(e) => Err(UiError::new(e, viewer.lang)),
    }
}

fn rule_id(id: &str, lang: Lang) -> Result<TagRuleId, UiError> {
    service::id_of(id).map_err(|e| UiError::new(e, lang))
}

#[derive(Deserialize)]
pub struct EnabledForm {
    csrf: String,
    enabled: String,
}

pub async fn set_enabled(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(form): Form<EnabledForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let change = TagRuleRequest {
        enabled: Some(form.enabled == "true"),
        ..TagRuleRequest::default()
    };
    service::update(
        &app,
        viewer.user.company_id,
        rule_id(&id, viewer.lang)?,
        change,
    )
    .await
    .map_err(|e| UiError::new(e, viewer.lang))?;
    Ok(Redirect::to("/admin/tag-rules").into_response())
}

/// `POST /admin/tag-rules/{id}/apply`: tags past calls in the background.
pub async fn apply(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let calls = service::apply(&app, viewer.user.company_id, rule_id(&id, viewer.lang)?)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    page(&app, &viewer, NewRuleForm::default(), None, Some(calls)).await
}

pub async fn delete(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    service::delete(&app, viewer.user.company_id, rule_id(&id, viewer.lang)?)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    Ok(Redirect::to("/admin/tag-rules").into_response())
}
