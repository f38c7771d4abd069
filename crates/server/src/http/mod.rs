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
pub(crate) mod schemas;
mod settings;
mod slack_rules;
mod tag_rules;
mod users;
#[cfg(test)]
mod vendor_schema;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::app::App;

pub(crate) use auth::{cleared_session_cookie, cookie_token, session_cookie};
pub(crate) use client::ClientAddr;
pub use connections::{connection_cap, serve, RequestId, ServeOptions};
pub(crate) use error::status_and_code;
pub use error::ApiError;
pub use openapi::document as openapi_document;

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

/// Every route of the API, each with its OpenAPI operation (the `#[utoipa::path]` on its
/// handler): the one list the router, `/openapi.json` and the route tests are built from.
pub fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pbx::post_call_data))
        .routes(routes!(pbx::put_recording).layer(DefaultBodyLimit::disable()))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(notifications::show_mine, notifications::set_mine))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update))
        .routes(routes!(settings::show, settings::create, settings::delete))
        .routes(routes!(analysis_settings::show, analysis_settings::replace))
        .routes(routes!(outgoing_webhooks::list, outgoing_webhooks::create))
        .routes(routes!(
            outgoing_webhooks::show,
            outgoing_webhooks::update,
            outgoing_webhooks::delete
        ))
        .routes(routes!(outgoing_webhooks::deliveries))
        .routes(routes!(outgoing_webhooks::rotate_secret))
        .routes(routes!(outgoing_webhooks::replay))
        .routes(routes!(slack_rules::list, slack_rules::create))
        .routes(routes!(
            slack_rules::show,
            slack_rules::update,
            slack_rules::delete
        ))
        .routes(routes!(slack_rules::deliveries))
        .routes(routes!(slack_rules::replay))
        .routes(routes!(crm_connections::list, crm_connections::create))
        .routes(routes!(
            crm_connections::show,
            crm_connections::update,
            crm_connections::delete
        ))
        .routes(routes!(crm_connections::deliveries))
        .routes(routes!(crm_connections::replay))
        .routes(routes!(notifications::show_email, notifications::set_email))
        .routes(routes!(notifications::email_deliveries))
        .routes(routes!(notifications::replay_email))
        .routes(routes!(tag_rules::list, tag_rules::create))
        .routes(routes!(
            tag_rules::show,
            tag_rules::update,
            tag_rules::delete
        ))
        .routes(routes!(tag_rules::apply))
        .routes(routes!(audit_log::list))
        .routes(routes!(calls::list))
        .routes(routes!(calls::export_csv))
        .routes(routes!(calls::detail))
        .routes(routes!(calls::swap))
        .routes(routes!(recordings::recording))
        .routes(routes!(calls::deliveries))
        .routes(routes!(notifications::of_call))
        .routes(routes!(calls::versions))
        .routes(routes!(calls::version))
        .routes(routes!(calls::minutes))
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(openapi::index_html))
}

pub fn router(app: AppState) -> Router {
    let (api, _) = documented_routes().split_for_parts();
    api.merge(openapi::router())
        .merge(crate::ui::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(from_fn_with_state(app.clone(), audit_log::record))
        .layer(from_fn_with_state(app.clone(), metrics::track))
        .with_state(app)
}
