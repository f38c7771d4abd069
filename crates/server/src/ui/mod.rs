//! The web UI, served by `kiku serve` at `/`: server-rendered pages from compile-time
//! checked templates (`crates/server/templates/`) over the same `app/` services as the API,
//! and small plain scripts (`crates/server/static/`) for the player, the timeline and live
//! status. No build step: the assets are embedded in the binary.
//!
//! Every page gets a Content-Security-Policy without inline scripts or styles, and
//! `nosniff`, `DENY` framing and a same-origin referrer.

mod admin;
mod assets;
mod attempt_log;
mod audit_log;
mod call_notifications;
mod calls;
mod crm_connections;
mod edit_page;
mod email_notifications;
mod error;
mod form;
mod i18n;
mod outgoing_webhooks;
mod session;
mod sign_in;
mod slack_rules;
mod tag_rules;
mod transcript;

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::http::{AppState, RequestId};

pub use i18n::Lang;

/// Forms are a few fields.
const MAX_FORM_BYTES: usize = 16 * 1024;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

/// One page (`GET`) or form (`POST`) of the UI.
struct UiRoute {
    method: &'static str,
    path: &'static str,
    handler: MethodRouter<AppState>,
}

fn page<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> UiRoute {
    UiRoute {
        method: "GET",
        path,
        handler: get(handler),
    }
}

fn form<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> UiRoute {
    UiRoute {
        method: "POST",
        path,
        handler: post(handler),
    }
}

/// Every route of the UI: the one list the router and the route tests (the tenant
/// isolation matrix) are built from.
fn ui_routes() -> Vec<UiRoute> {
    vec![
        page("/", || async { Redirect::to("/calls") }),
        page("/sign-in", sign_in::form),
        form("/sign-in", sign_in::submit),
        form("/sign-out", sign_in::sign_out),
        page("/lang/{code}", sign_in::switch_language),
        page("/calls", calls::list),
        page("/calls/{call_id}", calls::detail),
        page("/calls/{call_id}/versions/{version}", calls::version),
        form("/calls/{call_id}/swap", calls::swap),
        page("/admin", || async { Redirect::to("/admin/users") }),
        page("/admin/users", admin::users),
        form("/admin/users", admin::create_user),
        form("/admin/users/{user_id}", admin::update_user),
        page("/admin/webhook", admin::webhook),
        form("/admin/webhook", admin::create_webhook),
        form("/admin/webhook/delete", admin::delete_webhook),
        page("/admin/settings", admin::settings),
        form("/admin/settings", admin::save_settings),
        page("/admin/outgoing-webhooks", outgoing_webhooks::list),
        form("/admin/outgoing-webhooks", outgoing_webhooks::create),
        page("/admin/outgoing-webhooks/{id}", outgoing_webhooks::detail),
        form(
            "/admin/outgoing-webhooks/{id}/enabled",
            outgoing_webhooks::set_enabled,
        ),
        form(
            "/admin/outgoing-webhooks/{id}/replay",
            outgoing_webhooks::replay,
        ),
        form(
            "/admin/outgoing-webhooks/{id}/delete",
            outgoing_webhooks::delete,
        ),
        page("/admin/tag-rules", tag_rules::list),
        form("/admin/tag-rules", tag_rules::create),
        form("/admin/tag-rules/{id}/enabled", tag_rules::set_enabled),
        form("/admin/tag-rules/{id}/apply", tag_rules::apply),
        form("/admin/tag-rules/{id}/delete", tag_rules::delete),
        page("/admin/slack-rules", slack_rules::list),
        form("/admin/slack-rules", slack_rules::create),
        page("/admin/slack-rules/{id}", slack_rules::detail),
        form("/admin/slack-rules/{id}", slack_rules::update),
        form("/admin/slack-rules/{id}/replay", slack_rules::replay),
        form("/admin/slack-rules/{id}/delete", slack_rules::delete),
        page("/admin/crm-connections", crm_connections::list),
        form("/admin/crm-connections", crm_connections::create),
        page("/admin/crm-connections/new", crm_connections::new),
        page("/admin/crm-connections/{id}", crm_connections::detail),
        form("/admin/crm-connections/{id}", crm_connections::update),
        form(
            "/admin/crm-connections/{id}/replay",
            crm_connections::replay,
        ),
        form(
            "/admin/crm-connections/{id}/delete",
            crm_connections::delete,
        ),
        page("/admin/email", email_notifications::admin),
        form("/admin/email", email_notifications::set_recipients),
        form("/admin/email/replay", email_notifications::replay),
        page("/admin/audit-log", audit_log::page),
        page("/me/notifications", email_notifications::mine),
        form("/me/notifications", email_notifications::set_mine),
        page("/static/{file}", assets::serve),
    ]
}

/// `(method, path)` of every UI route, as the router serves them.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    ui_routes().iter().map(|r| (r.method, r.path)).collect()
}

pub fn router() -> Router<AppState> {
    ui_routes()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.handler))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn(page_headers))
}

/// Security headers on every page, and error pages rendered with the request's id.
async fn page_headers(request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map_or_else(String::new, |id| id.0.clone());
    let mut response = next.run(request).await;
    if let Some(page) = response.extensions_mut().remove::<error::ErrorPage>() {
        response = error::render(&page, &request_id, response.status());
    }
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// An HTML page's response.
fn html(page: impl askama::Template) -> Result<Response, error::UiError> {
    use axum::response::IntoResponse;
    let body = page
        .render()
        .map_err(|e| error::UiError::new(crate::app::AppError::internal(e), Lang::En))?;
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Percent-encodes a query value (RFC 3986's unreserved characters pass; `/` too, so a
/// path given as `next=` stays readable).
fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query string of the non-empty pairs.
fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}
