//! Admin pages for outgoing webhooks: the endpoints (add, with the challenge and SSRF rule
//! of the API; enable, disable, delete) and each one's delivery log with replays.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kiku_domain::outgoing_webhook::EventKind;
use kiku_domain::{datetime, OutgoingWebhookId};
use serde::Deserialize;

use super::admin::AdminViewer;
use super::attempt_log::{AttemptLog, AttemptRow, ReplayForm};
use super::calls::ViewerView;
use super::error::UiError;
use super::html;
use super::i18n::{Lang, Text};
use super::session::{CsrfForm, Viewer};
use crate::app::outgoing_webhooks::replay;
use crate::app::outgoing_webhooks::{self as service, EndpointChange, EndpointRequest};
use crate::app::AppError;
use crate::http::AppState;

struct EndpointRow {
    id: OutgoingWebhookId,
    name: String,
    url: String,
    events: String,
    enabled: bool,
    disabled_reason: String,
}

#[derive(Template)]
#[template(path = "admin_outgoing_webhooks.html")]
struct ListPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    endpoints: Vec<EndpointRow>,
    kinds: Vec<(&'static str, bool)>,
    name: String,
    url: String,
    problem: Option<String>,
    secret: Option<String>,
}

fn row(e: &kiku_storage::OutgoingWebhook) -> EndpointRow {
    EndpointRow {
        id: e.id,
        name: e.name.clone(),
        url: e.url.clone(),
        events: e.events.join(", "),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.clone().unwrap_or_default(),
    }
}

async fn list_page(
    app: &AppState,
    viewer: &Viewer,
    form: Option<&NewEndpointForm>,
    problem: Option<String>,
    secret: Option<String>,
) -> Result<Response, UiError> {
    let endpoints = service::list(app, viewer.user.company_id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    let chosen = |kind: EventKind| {
        form.map_or(kind == EventKind::CallAnalysisCompleted, |f| {
            f.events().iter().any(|e| e == kind.as_str())
        })
    };
    html(ListPage {
        t: viewer.text(),
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        endpoints: endpoints.iter().map(row).collect(),
        kinds: EventKind::ALL
            .iter()
            .map(|k| (k.as_str(), chosen(*k)))
            .collect(),
        name: form.map(|f| f.name.clone()).unwrap_or_default(),
        url: form.map(|f| f.url.clone()).unwrap_or_default(),
        problem,
        secret,
    })
}

pub async fn list(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> Result<Response, UiError> {
    list_page(&app, &viewer, None, None, None).await
}

#[derive(Deserialize)]
pub struct NewEndpointForm {
    csrf: String,
    name: String,
    url: String,
    #[serde(default)]
    call_analysis_completed: Option<String>,
    #[serde(default)]
    call_analysis_failed: Option<String>,
    #[serde(default)]
    call_analysis_rescored: Option<String>,
}

impl NewEndpointForm {
    fn events(&self) -> Vec<String> {
        [
            (
                &self.call_analysis_completed,
                EventKind::CallAnalysisCompleted,
            ),
            (&self.call_analysis_failed, EventKind::CallAnalysisFailed),
            (
                &self.call_analysis_rescored,
                EventKind::CallAnalysisRescored,
            ),
        ]
        .into_iter()
        .filter(|(on, _)| on.is_some())
        .map(|(_, kind)| kind.as_str().to_string())
        .collect()
    }
}

/// `POST /admin/outgoing-webhooks`: saved only when the URL passes the SSRF rule and the
/// receiver answers the challenge; the signing secret is shown once.
pub async fn create(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<NewEndpointForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let request = EndpointRequest {
        name: form.name.clone(),
        url: form.url.clone(),
        events: Some(form.events()),
        ..EndpointRequest::default()
    };
    match service::create(&app, viewer.user.company_id, request).await {
        Ok(endpoint) => list_page(&app, &viewer, None, None, Some(endpoint.secret)).await,
        Err(
            e @ (AppError::InvalidRequest(_)
            | AppError::UnsafeUrl(_)
            | AppError::ChallengeFailed(_)
            | AppError::Conflict(_)),
        ) => {
            let page = list_page(&app, &viewer, Some(&form), Some(e.to_string()), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(UiError::new(e, viewer.lang)),
    }
}

#[derive(Template)]
#[template(path = "admin_outgoing_webhook.html")]
struct DetailPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    endpoint: EndpointRow,
    failing_since: String,
    last_success: String,
    log: AttemptLog,
}

async fn detail_page(
    app: &AppState,
    viewer: &Viewer,
    id: &str,
    replaying: Option<u64>,
) -> Result<Response, UiError> {
    let lang = viewer.lang;
    let failed = |e| UiError::new(e, lang);
    let id = endpoint_id(id, lang)?;
    let company = viewer.user.company_id;
    let endpoint = service::show(app, company, id).await.map_err(failed)?;
    let (deliveries, _) = service::deliveries(app, company, id, None, Some(50))
        .await
        .map_err(failed)?;
    let time = |t: Option<time::OffsetDateTime>| t.map(datetime::format).unwrap_or_default();
    let rows = deliveries.iter().map(AttemptRow::of_delivery).collect();
    let action = format!("/admin/outgoing-webhooks/{id}/replay");
    let log = AttemptLog::new(app, rows, action, replaying);
    html(DetailPage {
        t: viewer.text(),
        lang,
        viewer: ViewerView::of(viewer),
        failing_since: time(endpoint.failing_since),
        last_success: time(endpoint.last_success),
        endpoint: row(&endpoint),
        log,
    })
}

fn endpoint_id(id: &str, lang: Lang) -> Result<OutgoingWebhookId, UiError> {
    id.parse().map_err(|_| {
        UiError::new(
            AppError::NotFound("no such outgoing webhook in this company".into()),
            lang,
        )
    })
}

pub async fn detail(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    detail_page(&app, &viewer, &id, None).await
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
    let endpoint = endpoint_id(&id, viewer.lang)?;
    let change = EndpointChange {
        enabled: Some(form.enabled == "true"),
        ..EndpointChange::default()
    };
    service::update(&app, viewer.user.company_id, endpoint, change)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    Ok(Redirect::to(&format!("/admin/outgoing-webhooks/{endpoint}")).into_response())
}

pub async fn delete(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let endpoint = endpoint_id(&id, viewer.lang)?;
    service::delete(&app, viewer.user.company_id, endpoint)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    Ok(Redirect::to("/admin/outgoing-webhooks").into_response())
}

/// `POST /admin/outgoing-webhooks/{id}/replay`: one event again (`event_id`), or every
/// failed one since a time (`since`).
pub async fn replay(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(form): Form<ReplayForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let lang = viewer.lang;
    let endpoint = endpoint_id(&id, lang)?;
    let what = form.replay(lang)?;
    let replaying = replay::replay(&app, viewer.user.company_id, endpoint, what)
        .await
        .map_err(|e| UiError::new(e, lang))?;
    detail_page(&app, &viewer, &id, Some(replaying)).await
}
