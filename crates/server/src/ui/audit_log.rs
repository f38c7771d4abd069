//! The admin page of the audit log: the company's entries, newest first, filtered by time
//! range, actor and action as `GET /api/v1/audit-log` filters them, a page at a time
//! (*Older* follows the same cursor). Read-only.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::admin::AdminViewer;
use super::calls::ViewerView;
use super::error::UiError;
use super::i18n::{Lang, Text};
use super::{html, query_string};
use crate::app::audit::{self, CLI_ACTOR};
use crate::app::{accounts, AppError};
use crate::http::AppState;

/// The page's query: the API's filters, as typed (a refused one is shown back).
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct Filters {
    since: String,
    until: String,
    actor: String,
    action: String,
    before: String,
    limit: String,
}

impl Filters {
    /// The filters as a query string, without the cursor.
    fn query(&self) -> Vec<(String, String)> {
        [
            ("since", &self.since),
            ("until", &self.until),
            ("actor", &self.actor),
            ("action", &self.action),
            ("limit", &self.limit),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
    }

    /// The service's query; a date alone is the whole day (UTC).
    fn service_query(&self) -> Result<audit::Query, AppError> {
        let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        let limit = text(&self.limit)
            .map(|l| {
                l.parse::<u32>()
                    .map_err(|_| AppError::InvalidRequest(format!("limit {l:?} is not a number")))
            })
            .transpose()?;
        Ok(audit::Query {
            since: text(&self.since).map(|v| day_start(&v, false)),
            until: text(&self.until).map(|v| day_start(&v, true)),
            actor: text(&self.actor),
            action: text(&self.action),
            before: text(&self.before),
            limit,
        })
    }
}

/// `2026-01-05` → that day's (or, for an end, the next day's) midnight UTC; anything
/// else is left for the service to read as a time.
fn day_start(value: &str, end: bool) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(value, format) {
        Ok(day) => {
            let day = if end {
                day.next_day().unwrap_or(day)
            } else {
                day
            };
            format!("{day}T00:00:00Z")
        }
        Err(_) => value.to_string(),
    }
}

struct EntryRow {
    at: String,
    actor: String,
    action: String,
    target: String,
    /// (field, value) pairs.
    details: Vec<(String, String)>,
    client: String,
    via: &'static str,
}

#[derive(Template)]
#[template(path = "admin_audit_log.html")]
struct AuditLogPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    entries: Vec<EntryRow>,
    filters: Filters,
    /// The actor filter's choices: (id, name, chosen).
    actors: Vec<(String, String, bool)>,
    /// The action filter's choices: (name, chosen).
    actions: Vec<(&'static str, bool)>,
    problem: Option<String>,
    /// The query of the first page, when this is a later one.
    newest: Option<String>,
    /// The query of the next (older) page, when there is one.
    older: Option<String>,
}

fn row(t: &Text, entry: &kiku_storage::AuditEntry) -> EntryRow {
    let e = &entry.entry;
    // One line per field: a JSON object in one cell runs far past the page's width.
    let details = match serde_json::from_str::<serde_json::Value>(&e.details) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(text) => (k, text),
                other => (k, other.to_string()),
            })
            .collect(),
        _ => vec![(String::new(), e.details.clone())],
    };
    EntryRow {
        at: kiku_domain::datetime::format(e.at),
        actor: e.actor_name.clone(),
        action: e.action.clone(),
        target: e.target.clone().unwrap_or_default(),
        details,
        client: e.client.clone().unwrap_or_default(),
        via: t.audit.via(&e.via),
    }
}

/// `GET /admin/audit-log`: a filter that does not read is shown next to the form, which
/// keeps it.
pub async fn page(
    State(app): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, UiError> {
    let (t, lang) = (viewer.text(), viewer.lang);
    let company = viewer.user.company_id;
    let (filters, listed) = match query {
        Ok(Query(filters)) => {
            let listed = match filters.service_query() {
                Ok(q) => audit::list(&app, company, &q).await,
                Err(e) => Err(e),
            };
            (filters, listed)
        }
        Err(e) => (
            Filters::default(),
            Err(AppError::InvalidRequest(e.body_text())),
        ),
    };
    let (entries, next, problem) = match listed {
        Ok((entries, next)) => (entries, next, None),
        Err(e @ AppError::InvalidRequest(_)) => (Vec::new(), None, Some(e.to_string())),
        Err(e) => return Err(UiError::new(e, lang)),
    };
    let query = filters.query();
    let mut actors: Vec<(String, String, bool)> = accounts::users(&app, company)
        .await
        .map_err(|e| UiError::new(e, lang))?
        .into_iter()
        .map(|u| {
            let id = u.id.to_string();
            let chosen = filters.actor.trim() == id;
            (id, u.email, chosen)
        })
        .collect();
    actors.push((
        CLI_ACTOR.to_string(),
        t.audit.operator.to_string(),
        filters.actor.trim() == CLI_ACTOR,
    ));
    let actions = audit::actions()
        .into_iter()
        .map(|a| (a, filters.action.trim() == a))
        .collect();
    let older = next.map(|cursor| {
        let mut pairs = query.clone();
        pairs.push(("before".into(), cursor));
        query_string(&pairs)
    });
    let newest = (!filters.before.trim().is_empty()).then(|| query_string(&query));
    let shown = html(AuditLogPage {
        t,
        lang,
        viewer: ViewerView::of(&viewer),
        entries: entries.iter().map(|e| row(t, e)).collect(),
        filters,
        actors,
        actions,
        newest,
        older,
        problem: problem.clone(),
    })?;
    Ok(match problem {
        Some(_) => (StatusCode::UNPROCESSABLE_ENTITY, shown).into_response(),
        None => shown,
    })
}
