//! Errors on pages: a person reads a page in their language with the request id, never a
//! stack trace; not signed in means the sign-in page. Statuses come from the one mapping in
//! `http/error.rs`.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::i18n::{Lang, Text};
use crate::app::AppError;
use crate::http::status_and_code;

#[derive(Debug)]
pub enum UiError {
    /// Not signed in: to the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
    App {
        error: AppError,
        lang: Lang,
    },
}

impl UiError {
    pub fn new(error: AppError, lang: Lang) -> Self {
        UiError::App { error, lang }
    }
}

/// What the error page shows; rendered by [`with_request_id`] once the request id is known.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub lang: Lang,
    pub message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    t: &'static Text,
    lang: Lang,
    message: &'a str,
    request_id: &'a str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn { next } => {
                let next = super::percent(&next);
                Redirect::to(&format!("/sign-in?next={next}")).into_response()
            }
            UiError::App { error, lang } => {
                let (status, _) = status_and_code(&error);
                let t = lang.text();
                let message = match status {
                    StatusCode::NOT_FOUND => t.error_not_found.to_string(),
                    StatusCode::FORBIDDEN => match &error {
                        AppError::Forbidden(why) => format!("{} ({why})", t.error_forbidden),
                        _ => t.error_forbidden.to_string(),
                    },
                    s if s.is_server_error() => {
                        tracing::error!(error = %error, "page failed");
                        t.error_server.to_string()
                    }
                    _ => format!("{} {error}", t.error_bad_request),
                };
                let mut response = status.into_response();
                response
                    .extensions_mut()
                    .insert(ErrorPage { lang, message });
                response
            }
        }
    }
}

/// Renders an [`ErrorPage`] left by a handler, with the request's id.
pub fn render(page: &ErrorPage, request_id: &str, status: StatusCode) -> Response {
    let html = ErrorTemplate {
        t: page.lang.text(),
        lang: page.lang,
        message: &page.message,
        request_id,
    }
    .render()
    .unwrap_or_else(|_| page.message.clone());
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}
