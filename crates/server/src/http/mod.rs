//! The HTTP API: every route in one list; each resource's handlers in their own module.

mod analysis_settings;
mod audit_log;
mod auth;
mod body;
mod calls;
mod client;
mod connections;
mod crm_connections;
mod error;
mod health;
mod json;
mod metrics;
mod notifications;
mod openapi;
mod outgoing_webhooks;
mod pbx;
mod recordings;
mod settings;
mod slack_rules;
mod tag_rules;
mod users;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, patch, post, put};
use axum::Router;

use crate::app::App;

pub(crate) use auth::{cleared_session_cookie, cookie_token, session_cookie};
pub(crate) use client::ClientAddr;
pub use connections::{connection_cap, serve, RequestId, ServeOptions};
pub(crate) use error::status_and_code;
pub use error::ApiError;

pub type AppState = Arc<App>;

/// A worker process's only routes: `/health`, `/ready` and `/metrics`.
pub fn health_router(app: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .fallback(error::not_found)
        .layer(from_fn_with_state(app.clone(), metrics::track))
        .with_state(app)
}

pub fn router(app: AppState) -> Router {
    Router::new()
        .route(
            "/webhooks/incoming/{company_id}/{secret}",
            post(pbx::post_call_data),
        )
        .route(
            "/uploads/{call_id}",
            put(pbx::put_recording).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
        .route(
            "/api/v1/me/notifications",
            get(notifications::show_mine).put(notifications::set_mine),
        )
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{user_id}", patch(users::update))
        .route(
            "/api/v1/incoming-webhook",
            get(settings::show)
                .post(settings::create)
                .delete(settings::delete),
        )
        .route(
            "/api/v1/settings/analysis",
            get(analysis_settings::show).put(analysis_settings::replace),
        )
        .route(
            "/api/v1/outgoing-webhooks",
            get(outgoing_webhooks::list).post(outgoing_webhooks::create),
        )
        .route(
            "/api/v1/outgoing-webhooks/{id}",
            get(outgoing_webhooks::show)
                .patch(outgoing_webhooks::update)
                .delete(outgoing_webhooks::delete),
        )
        .route(
            "/api/v1/outgoing-webhooks/{id}/deliveries",
            get(outgoing_webhooks::deliveries),
        )
        .route(
            "/api/v1/outgoing-webhooks/{id}/secret",
            post(outgoing_webhooks::rotate_secret),
        )
        .route(
            "/api/v1/outgoing-webhooks/{id}/replay",
            post(outgoing_webhooks::replay),
        )
        .route(
            "/api/v1/slack-rules",
            get(slack_rules::list).post(slack_rules::create),
        )
        .route(
            "/api/v1/slack-rules/{id}",
            get(slack_rules::show)
                .patch(slack_rules::update)
                .delete(slack_rules::delete),
        )
        .route(
            "/api/v1/slack-rules/{id}/deliveries",
            get(slack_rules::deliveries),
        )
        .route("/api/v1/slack-rules/{id}/replay", post(slack_rules::replay))
        .route(
            "/api/v1/crm-connections",
            get(crm_connections::list).post(crm_connections::create),
        )
        .route(
            "/api/v1/crm-connections/{id}",
            get(crm_connections::show)
                .patch(crm_connections::update)
                .delete(crm_connections::delete),
        )
        .route(
            "/api/v1/crm-connections/{id}/deliveries",
            get(crm_connections::deliveries),
        )
        .route(
            "/api/v1/crm-connections/{id}/replay",
            post(crm_connections::replay),
        )
        .route(
            "/api/v1/email-notifications",
            get(notifications::show_email).put(notifications::set_email),
        )
        .route(
            "/api/v1/email-notifications/deliveries",
            get(notifications::email_deliveries),
        )
        .route(
            "/api/v1/email-notifications/replay",
            post(notifications::replay_email),
        )
        .route(
            "/api/v1/tag-rules",
            get(tag_rules::list).post(tag_rules::create),
        )
        .route(
            "/api/v1/tag-rules/{id}",
            get(tag_rules::show)
                .patch(tag_rules::update)
                .delete(tag_rules::delete),
        )
        .route("/api/v1/tag-rules/{id}/apply", post(tag_rules::apply))
        .route("/api/v1/audit-log", get(audit_log::list))
        .route("/api/v1/calls", get(calls::list))
        .route("/api/v1/calls/export.csv", get(calls::export_csv))
        .route("/api/v1/calls/{call_id}", get(calls::detail))
        .route("/api/v1/calls/{call_id}/swap", post(calls::swap))
        .route(
            "/api/v1/calls/{call_id}/recording",
            get(recordings::recording),
        )
        .route("/api/v1/calls/{call_id}/deliveries", get(calls::deliveries))
        .route(
            "/api/v1/calls/{call_id}/notifications",
            get(notifications::of_call),
        )
        .route("/api/v1/calls/{call_id}/versions", get(calls::versions))
        .route(
            "/api/v1/calls/{call_id}/versions/{version}",
            get(calls::version),
        )
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .merge(openapi::router())
        .merge(crate::ui::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(from_fn_with_state(app.clone(), audit_log::record))
        .layer(from_fn_with_state(app.clone(), metrics::track))
        .with_state(app)
}
