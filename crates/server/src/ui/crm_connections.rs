//! Admin pages for CRM connections: the connections, a form per kind to add one
//! (Salesforce, HubSpot, kintone with its field map), and each connection's page (change
//! it, its attempt log with replays, delete), over the same services as
//! `/api/v1/crm-connections`. Credentials are write-only: a form shows that one is set,
//! never its value, and leaving it empty keeps it.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kiku_domain::crm::{CrmFields, CrmKind, KikuField};
use kiku_domain::CrmConnectionId;
use kiku_storage::CrmConnection;
use serde::Deserialize;
use serde_json::Value;

use super::admin::AdminViewer;
use super::attempt_log::{AttemptLog, ReplayForm};
use super::calls::ViewerView;
use super::edit_page::{refused, Shown};
use super::error::UiError;
use super::form::Fields;
use super::html;
use super::i18n::{Lang, NotifyText, Text};
use super::session::{CsrfForm, Viewer};
use crate::app::notifications::attempts::{self, PageRequest};
use crate::app::notifications::crm_connections::{
    self as service, base_url, ConnectionChange, ConnectionRequest,
};
use crate::app::notifications::replay;
use crate::app::AppError;
use crate::http::AppState;

#[derive(Clone, Copy, PartialEq)]
enum Input {
    Secret,
    Text,
    Number,
}

/// The settings a kind's form asks for, besides the kintone field map.
fn inputs(kind: CrmKind) -> &'static [(&'static str, Input)] {
    match kind {
        CrmKind::Salesforce => &[
            ("client_id", Input::Secret),
            ("client_secret", Input::Secret),
            ("refresh_token", Input::Secret),
            ("api_version", Input::Text),
        ],
        CrmKind::Hubspot => &[("access_token", Input::Secret)],
        CrmKind::Kintone => &[
            ("app", Input::Number),
            ("api_token", Input::Secret),
            ("guest_space_id", Input::Number),
        ],
    }
}

fn label(n: &NotifyText, setting: &str) -> &'static str {
    match setting {
        "client_id" => n.client_id,
        "client_secret" => n.client_secret,
        "refresh_token" => n.refresh_token,
        "api_version" => n.api_version,
        "access_token" => n.access_token,
        "app" => n.kintone_app,
        "api_token" => n.api_token,
        _ => n.guest_space_id,
    }
}

/// The vendor's own spelling.
fn kind_name(kind: CrmKind) -> &'static str {
    match kind {
        CrmKind::Salesforce => "Salesforce",
        CrmKind::Hubspot => "HubSpot",
        CrmKind::Kintone => "kintone",
    }
}

/// The map a form's `map.<kiku field>` inputs give (empty ones left out).
fn field_map_of(f: &Fields) -> BTreeMap<String, String> {
    KikuField::ALL
        .iter()
        .filter_map(|k| {
            let code = f.given(&format!("map.{}", k.as_str()))?;
            Some((k.as_str().to_string(), code))
        })
        .collect()
}

/// The settings a form gives (empty: not given, so a change keeps the stored value).
fn fields_of(kind: CrmKind, f: &Fields) -> Result<CrmFields, AppError> {
    Ok(CrmFields {
        client_id: f.given("client_id"),
        client_secret: f.given("client_secret"),
        refresh_token: f.given("refresh_token"),
        api_version: f.given("api_version"),
        access_token: f.given("access_token"),
        app: f.number("app")?,
        api_token: f.given("api_token"),
        field_map: (kind == CrmKind::Kintone).then(|| field_map_of(f)),
        guest_space_id: f.number("guest_space_id")?,
    })
}

/// What the form holds: a stored connection's settings (never its credentials), or what
/// was typed (without the credentials typed).
struct Draft {
    name: String,
    base_url: String,
    content: String,
    enabled: bool,
    /// The settings that are not credentials, as text.
    values: BTreeMap<String, String>,
    field_map: BTreeMap<String, String>,
    /// The credentials stored (editing).
    set: Vec<String>,
}

impl Draft {
    fn new(kind: CrmKind) -> Self {
        let mut values = BTreeMap::new();
        if kind == CrmKind::Salesforce {
            values.insert(
                "api_version".into(),
                kiku_domain::crm::DEFAULT_SALESFORCE_API_VERSION.into(),
            );
        }
        Draft {
            name: kind_name(kind).into(),
            base_url: String::new(),
            content: "transcript".into(),
            enabled: true,
            values,
            field_map: BTreeMap::new(),
            set: Vec::new(),
        }
    }

    fn of_connection(c: &CrmConnection) -> Self {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let settings = c.settings.as_object();
        let values = settings
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
            .collect();
        let field_map = settings
            .and_then(|s| s.get("field_map"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
            .collect();
        let set = c
            .credentials
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, _)| k.clone())
            .collect();
        Draft {
            name: c.name.clone(),
            base_url: c.base_url.clone().unwrap_or_default(),
            content: c.content.clone(),
            enabled: c.enabled,
            values,
            field_map,
            set,
        }
    }

    fn of_fields(kind: CrmKind, f: &Fields, set: Vec<String>) -> Self {
        let values = inputs(kind)
            .iter()
            .filter(|(_, input)| *input != Input::Secret)
            .map(|(name, _)| (name.to_string(), f.value(name).to_string()))
            .collect();
        Draft {
            name: f.value("name").to_string(),
            base_url: f.value("base_url").to_string(),
            content: f.value("content").to_string(),
            enabled: f.ticked("enabled"),
            values,
            field_map: field_map_of(f),
            set,
        }
    }
}

struct SettingInput {
    name: &'static str,
    label: &'static str,
    secret: bool,
    number: bool,
    value: String,
    set: bool,
}

/// The connection form as the template shows it.
struct ConnectionForm {
    action: String,
    kind: &'static str,
    kind_name: &'static str,
    draft: Draft,
    base_url_hint: &'static str,
    settings: Vec<SettingInput>,
    /// kintone: (Kiku field, field code) for every Kiku field.
    field_map: Option<Vec<(&'static str, String)>>,
    editing: bool,
}

fn connection_form(
    t: &Text,
    kind: CrmKind,
    action: String,
    draft: Draft,
    editing: bool,
) -> ConnectionForm {
    let settings = inputs(kind)
        .iter()
        .map(|(name, input)| SettingInput {
            name,
            label: label(t.notify, name),
            secret: *input == Input::Secret,
            number: *input == Input::Number,
            value: match input {
                Input::Secret => String::new(),
                _ => draft.values.get(*name).cloned().unwrap_or_default(),
            },
            set: draft.set.iter().any(|s| s == name),
        })
        .collect();
    let field_map = (kind == CrmKind::Kintone).then(|| {
        KikuField::ALL
            .iter()
            .map(|k| {
                let code = draft.field_map.get(k.as_str()).cloned().unwrap_or_default();
                (k.as_str(), code)
            })
            .collect()
    });
    ConnectionForm {
        action,
        kind: kind.as_str(),
        kind_name: kind_name(kind),
        base_url_hint: match kind.default_base_url() {
            Some(_) => t.notify.base_url_default,
            None => t.notify.base_url_kintone,
        },
        draft,
        settings,
        field_map,
        editing,
    }
}

struct ConnectionRow {
    id: CrmConnectionId,
    name: String,
    kind: &'static str,
    base_url: String,
    content: &'static str,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "admin_crm_connections.html")]
struct ListPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    connections: Vec<ConnectionRow>,
    kinds: Vec<(&'static str, &'static str)>,
}

fn content_name(n: &NotifyText, content: &str) -> &'static str {
    if content == "summary" {
        n.content_summary
    } else {
        n.content_transcript
    }
}

pub async fn list(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> Result<Response, UiError> {
    let t = viewer.text();
    let connections = service::list(&app, viewer.user.company_id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    html(ListPage {
        t,
        lang: viewer.lang,
        viewer: ViewerView::of(&viewer),
        connections: connections
            .iter()
            .map(|c| {
                let kind = CrmKind::parse(&c.kind).ok();
                ConnectionRow {
                    id: c.id,
                    name: c.name.clone(),
                    kind: kind.map_or("?", kind_name),
                    base_url: kind.and_then(|k| base_url(k, c)).unwrap_or_default(),
                    content: content_name(t.notify, &c.content),
                    enabled: c.enabled,
                }
            })
            .collect(),
        kinds: CrmKind::ALL
            .iter()
            .map(|k| (k.as_str(), kind_name(*k)))
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "admin_crm_connection.html")]
struct ConnectionPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    /// `None`: a new connection.
    id: Option<CrmConnectionId>,
    title: String,
    form: ConnectionForm,
    problem: Option<String>,
    /// A refused new connection: its credentials were not kept.
    retype: bool,
    saved: bool,
    log: Option<AttemptLog>,
}

fn new_page(
    viewer: &Viewer,
    kind: CrmKind,
    draft: Draft,
    problem: Option<String>,
) -> Result<Response, UiError> {
    let t = viewer.text();
    let retype = problem.is_some();
    html(ConnectionPage {
        t,
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        id: None,
        title: format!("{} {}", t.notify.add_crm, kind_name(kind)),
        form: connection_form(t, kind, "/admin/crm-connections".into(), draft, false),
        problem,
        retype,
        saved: false,
        log: None,
    })
}

/// `kind` left out reads as empty, refused by [`kind_of`] on the error page.
#[derive(Deserialize)]
pub struct KindQuery {
    #[serde(default)]
    kind: String,
}

fn kind_of(text: &str, lang: Lang) -> Result<CrmKind, UiError> {
    CrmKind::parse(text).map_err(|e| UiError::new(AppError::InvalidRequest(e.to_string()), lang))
}

/// `GET /admin/crm-connections/new?kind=…`: the form for a new connection of that kind.
pub async fn new(
    AdminViewer(viewer): AdminViewer,
    Query(query): Query<KindQuery>,
) -> Result<Response, UiError> {
    let kind = kind_of(&query.kind, viewer.lang)?;
    new_page(&viewer, kind, Draft::new(kind), None)
}

/// `POST /admin/crm-connections`: a refused connection shows its form again with why,
/// without the credentials typed.
pub async fn create(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Form(f): Form<Fields>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, f.value("csrf"))?;
    let kind = kind_of(f.value("kind"), viewer.lang)?;
    let made = match fields_of(kind, &f) {
        Ok(fields) => {
            let request = ConnectionRequest {
                kind: kind.as_str().into(),
                name: f.value("name").to_string(),
                base_url: f.given("base_url"),
                content: Some(f.value("content").to_string()),
                enabled: Some(f.ticked("enabled")),
                fields,
            };
            service::create(&app, viewer.user.company_id, request).await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(c) => Ok(Redirect::to(&format!("/admin/crm-connections/{}", c.id)).into_response()),
        Err(e) => {
            let problem = refused(e, viewer.lang)?;
            let draft = Draft::of_fields(kind, &f, Vec::new());
            let page = new_page(&viewer, kind, draft, Some(problem))?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

async fn detail_page(
    app: &AppState,
    viewer: &Viewer,
    id: CrmConnectionId,
    shown: Shown<Draft>,
) -> Result<Response, UiError> {
    let failed = |e| UiError::new(e, viewer.lang);
    let company = viewer.user.company_id;
    let c = service::show(app, company, id).await.map_err(failed)?;
    let kind = CrmKind::parse(&c.kind).map_err(|e| {
        failed(AppError::Internal(
            format!("stored CRM connection: {e}").into(),
        ))
    })?;
    let page = attempts::of_crm_connection(app, company, id, PageRequest::default())
        .await
        .map_err(failed)?;
    let log = AttemptLog::of_attempts(
        app,
        &page.items,
        format!("/admin/crm-connections/{id}/replay"),
        shown.replaying,
    );
    let draft = shown.draft.unwrap_or_else(|| Draft::of_connection(&c));
    let t = viewer.text();
    html(ConnectionPage {
        t,
        lang: viewer.lang,
        viewer: ViewerView::of(viewer),
        id: Some(id),
        title: c.name,
        form: connection_form(t, kind, format!("/admin/crm-connections/{id}"), draft, true),
        problem: shown.problem,
        retype: false,
        saved: shown.saved,
        log: Some(log),
    })
}

fn connection_id(id: &str, lang: Lang) -> Result<CrmConnectionId, UiError> {
    id.parse()
        .map_err(|_| UiError::new(service::not_found(), lang))
}

pub async fn detail(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id = connection_id(&id, viewer.lang)?;
    detail_page(&app, &viewer, id, Shown::default()).await
}

/// `POST /admin/crm-connections/{id}`: the form's settings; an empty credential keeps the
/// stored one, an empty address means the vendor's public one.
pub async fn update(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, f.value("csrf"))?;
    let lang = viewer.lang;
    let id = connection_id(&id, lang)?;
    let company = viewer.user.company_id;
    let stored = service::show(&app, company, id)
        .await
        .map_err(|e| UiError::new(e, lang))?;
    let kind = kind_of(&stored.kind, lang)?;
    let changed = match fields_of(kind, &f) {
        Ok(fields) => {
            let change = ConnectionChange {
                name: Some(f.value("name").to_string()),
                base_url: Some(f.value("base_url").trim().to_string()),
                content: Some(f.value("content").to_string()),
                enabled: Some(f.ticked("enabled")),
                fields,
            };
            service::update(&app, company, id, change).await
        }
        Err(e) => Err(e),
    };
    let shown = Shown::after_change(
        changed,
        || Draft::of_fields(kind, &f, Draft::of_connection(&stored).set),
        lang,
    )?;
    Ok((shown.status(), detail_page(&app, &viewer, id, shown).await?).into_response())
}

pub async fn replay(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<String>,
    Form(form): Form<ReplayForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let id = connection_id(&id, viewer.lang)?;
    let what = form.replay(viewer.lang)?;
    let count = replay::crm(&app, viewer.user.company_id, id, what)
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
    let id = connection_id(&id, viewer.lang)?;
    service::delete(&app, viewer.user.company_id, id)
        .await
        .map_err(|e| UiError::new(e, viewer.lang))?;
    Ok(Redirect::to("/admin/crm-connections").into_response())
}
