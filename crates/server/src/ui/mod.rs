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

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::http::{AppState, RequestId};

pub use i18n::Lang;

/// Forms are a few fields.
const MAX_FORM_BYTES: usize = 16 * 1024;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/calls") }))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/lang/{code}", get(sign_in::switch_language))
        .route("/calls", get(calls::list))
        .route("/calls/{call_id}", get(calls::detail))
        .route("/calls/{call_id}/versions/{version}", get(calls::version))
        .route("/calls/{call_id}/swap", post(calls::swap))
        .route("/admin", get(|| async { Redirect::to("/admin/users") }))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{user_id}", post(admin::update_user))
        .route(
            "/admin/webhook",
            get(admin::webhook).post(admin::create_webhook),
        )
        .route("/admin/webhook/delete", post(admin::delete_webhook))
        .route(
            "/admin/settings",
            get(admin::settings).post(admin::save_settings),
        )
        .route(
            "/admin/outgoing-webhooks",
            get(outgoing_webhooks::list).post(outgoing_webhooks::create),
        )
        .route(
            "/admin/outgoing-webhooks/{id}",
            get(outgoing_webhooks::detail),
        )
        .route(
            "/admin/outgoing-webhooks/{id}/enabled",
            post(outgoing_webhooks::set_enabled),
        )
        .route(
            "/admin/outgoing-webhooks/{id}/replay",
            post(outgoing_webhooks::replay),
        )
        .route(
            "/admin/outgoing-webhooks/{id}/delete",
            post(outgoing_webhooks::delete),
        )
        .route(
            "/admin/tag-rules",
            get(tag_rules::list).post(tag_rules::create),
        )
        .route(
            "/admin/tag-rules/{id}/enabled",
            post(tag_rules::set_enabled),
        )
        .route("/admin/tag-rules/{id}/apply", post(tag_rules::apply))
        .route("/admin/tag-rules/{id}/delete", post(tag_rules::delete))
        .route(
            "/admin/slack-rules",
            get(slack_rules::list).post(slack_rules::create),
        )
        .route(
            "/admin/slack-rules/{id}",
            get(slack_rules::detail).post(slack_rules::update),
        )
        .route("/admin/slack-rules/{id}/replay", post(slack_rules::replay))
        .route("/admin/slack-rules/{id}/delete", post(slack_rules::delete))
        .route(
            "/admin/crm-connections",
            get(crm_connections::list).post(crm_connections::create),
        )
        .route("/admin/crm-connections/new", get(crm_connections::new))
        .route(
            "/admin/crm-connections/{id}",
            get(crm_connections::detail).post(crm_connections::update),
        )
        .route(
            "/admin/crm-connections/{id}/replay",
            post(crm_connections::replay),
        )
        .route(
            "/admin/crm-connections/{id}/delete",
            post(crm_connections::delete),
        )
        .route(
            "/admin/email",
            get(email_notifications::admin).post(email_notifications::set_recipients),
        )
        .route("/admin/email/replay", post(email_notifications::replay))
        .route(
            "/me/notifications",
            get(email_notifications::mine).post(email_notifications::set_mine),
        )
        .route("/static/{file}", get(assets::serve))
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
