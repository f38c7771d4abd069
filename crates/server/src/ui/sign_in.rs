//! Signing in and out in the browser, and the language switch.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::error::UiError;
use super::html;
use super::i18n::{Lang, Text, LANG_COOKIE};
use super::session::Viewer;
use crate::app::{accounts, AppError};
use crate::http::{cleared_session_cookie, session_cookie, AppState, ClientAddr};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    t: &'static Text,
    lang: Lang,
    next: &'a str,
    email: &'a str,
    problem: Option<String>,
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path of this site: never an open redirect.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/calls",
    }
}

pub async fn form(headers: HeaderMap, Query(q): Query<Next>) -> Result<Response, UiError> {
    let lang = Lang::of(&headers);
    html(SignInPage {
        t: lang.text(),
        lang,
        next: safe_next(q.next.as_deref()),
        email: "",
        problem: None,
    })
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(app): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(input): Form<SignInForm>,
) -> Result<Response, UiError> {
    let lang = Lang::of(&headers);
    let next = safe_next(input.next.as_deref());
    match accounts::sign_in(&app, &input.email, &input.password, client).await {
        Ok(session) => {
            let mut response = Redirect::to(next).into_response();
            if let Ok(cookie) = HeaderValue::from_str(&session_cookie(&app, &session)) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            Ok(response)
        }
        Err(e @ (AppError::WrongCredentials | AppError::RateLimited { .. })) => {
            let t = lang.text();
            let (status, problem) = match e {
                AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
                _ => (StatusCode::UNAUTHORIZED, t.sign_in_failed.to_string()),
            };
            let page = SignInPage {
                t,
                lang,
                next,
                email: &input.email,
                problem: Some(problem),
            };
            Ok((status, html(page)?).into_response())
        }
        Err(e) => Err(UiError::new(e, lang)),
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    csrf: String,
}

pub async fn sign_out(
    State(app): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    if let Some(token) = crate::http::cookie_token(&headers) {
        accounts::sign_out(&app, &token)
            .await
            .map_err(|e| UiError::new(e, viewer.lang))?;
    }
    let mut response = Redirect::to("/sign-in").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cleared_session_cookie(&app)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `GET /lang/{ja|en}?next=`: remembers the choice in a cookie (a preference, no session).
pub async fn switch_language(Path(code): Path<String>, Query(q): Query<Next>) -> Response {
    let next = safe_next(q.next.as_deref()).to_string();
    let mut response = Redirect::to(&next).into_response();
    if let Some(lang) = Lang::parse(&code) {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed() {
        assert_eq!(safe_next(Some("/calls/1")), "/calls/1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "calls"] {
            assert_eq!(safe_next(Some(bad)), "/calls", "{bad}");
        }
        assert_eq!(safe_next(None), "/calls");
    }
}
