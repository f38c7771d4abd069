//! Sign-in for the REST API: a session token as the `kiku_session` cookie or a bearer
//! token, and the extractors that require a signed-in user or an admin. A request that
//! changes something and is signed in by the cookie alone (a browser) must also carry the
//! session's CSRF token in `X-CSRF-Token`, as the web UI's scripts do.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kiku_domain::{datetime, CompanyId, UserId};
use kiku_storage::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::client::ClientAddr;
use super::json::ApiJson;
use super::users::UserOut;
use super::{ApiError, AppState};
use crate::app::{accounts, AppError};

const COOKIE: &str = "kiku_session";
/// Where a browser's script puts the session's CSRF token.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 7235).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The session token of a request: the bearer token, else the session cookie.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    bearer_token(headers).or_else(|| cookie_token(headers))
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .map(str::to_string)
}

/// The session cookie's token (pages take no bearer tokens).
pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
        })
        .map(str::to_string)
}

/// A signed-in user of some company.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer_token(&parts.headers) {
            return Ok(CurrentUser(accounts::authenticate(app, &token).await?));
        }
        let token = cookie_token(&parts.headers).ok_or(AppError::Unauthenticated)?;
        let user = accounts::authenticate(app, &token).await?;
        if !parts.method.is_safe() {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !app.signing_key.verify_csrf(&token, given) {
                return Err(AppError::Forbidden(
                    "a request signed in by the session cookie needs its X-CSRF-Token".into(),
                )
                .into());
            }
        }
        Ok(CurrentUser(user))
    }
}

/// A signed-in admin: only admins change settings.
pub struct Admin(pub User);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, app).await?;
        if !user.admin {
            return Err(AppError::Forbidden("only admins can do this".into()).into());
        }
        Ok(Admin(user))
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = LoginRequest)]
pub struct LoginIn {
    #[schema(format = "email", examples("admin@example.com"))]
    email: String,
    #[schema(format = Password)]
    password: String,
}

/// A session. Fields in the order the answer has always had (alphabetical).
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    company_id: CompanyId,
    #[schema(format = DateTime)]
    expires_at: String,
    /// Session token; send as `Authorization: Bearer <token>` (the same value is set as the
    /// `kiku_session` cookie).
    token: String,
    user_id: UserId,
}

/// The cookie's attributes; `Secure` when Kiku is reached over https, so the browser
/// never sends the session in clear.
fn cookie_attributes(app: &AppState) -> &'static str {
    if app.public_url.starts_with("https://") {
        "Path=/; HttpOnly; SameSite=Lax; Secure"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    }
}

/// The `Set-Cookie` of a new session.
pub(crate) fn session_cookie(app: &AppState, session: &accounts::Session) -> String {
    let max_age = (session.expires_at - app.clock.now())
        .whole_seconds()
        .max(0);
    format!(
        "{COOKIE}={}; {}; Max-Age={max_age}",
        session.token,
        cookie_attributes(app)
    )
}

/// The `Set-Cookie` that removes the session.
pub(crate) fn cleared_session_cookie(app: &AppState) -> String {
    format!("{COOKIE}=; {}; Max-Age=0", cookie_attributes(app))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    tag = "Auth",
    summary = r#"Sign in"#,
    description = r#"Returns a session token and sets it as the `kiku_session` cookie. Unknown e-mails, accounts without a password and wrong passwords get the same 401 after the same Argon2 work. When several companies have a user with the e-mail, the oldest account whose password matches signs in. Too many failures for the e-mail or from the client address get 429 with `Retry-After`, even with the right password; a successful sign-in clears the e-mail's count."#,
    request_body(content((LoginIn = "application/json", examples(("login" = (value = json!({"email": "admin@example.com", "password": "correct horse battery staple"}))))))),
    responses(
        (status = 200, description = r#"Signed in."#, headers(("Set-Cookie" = String, description = r#"`kiku_session=<token>` (HttpOnly, SameSite=Lax; Secure when `public_url` is https)."#)), content((LoginResponse = "application/json", examples(("ok" = (value = json!({"token": "Vq3nX8rT2wZ5yB7dF9hK1mP4sU6xA0cE2gJ4lN6oQ8t", "user_id": "9b1d82f5-9845-4158-9c7b-75e7c235d8e7", "company_id": "5f0c3d1e-2b7a-4c55-9e0d-1a2b3c4d5e6f", "expires_at": "2026-11-24T12:00:00Z"}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 401, description = r#"`unauthenticated`: wrong e-mail or password."#, content((ref("#/components/schemas/Error") = "application/json", examples(("bad_credentials" = (summary = r#"Bad credentials"#, value = json!({"code": "unauthenticated", "message": "wrong e-mail or password"}))))))),
        (status = 413, description = r#"`payload_too_large`: the request body is over the configured limit."#, content((ref("#/components/schemas/Error") = "application/json", examples(("too_large" = (summary = r#"Too large"#, value = json!({"code": "payload_too_large", "message": "request body is over the limit"}))))))),
        (status = 429, description = r#"`too_many_requests`: too many failed sign-ins for this e-mail or from this address."#, headers(("Retry-After" = i64, description = r#"Seconds until another attempt is allowed."#)), content((ref("#/components/schemas/Error") = "application/json", examples(("throttled" = (summary = r#"Throttled"#, value = json!({"code": "too_many_requests", "message": "too many failed sign-ins; try again in 900 seconds"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
pub async fn login(
    State(app): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(input): ApiJson<LoginIn>,
) -> Result<Response, ApiError> {
    let session = accounts::sign_in(&app, &input.email, &input.password, client).await?;
    let cookie = session_cookie(&app, &session);
    let body = LoginResponse {
        company_id: session.user.company_id,
        expires_at: datetime::format(session.expires_at),
        token: session.token,
        user_id: session.user.id,
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "logout",
    tag = "Auth",
    summary = r#"Sign out"#,
    description = r#"Ends the session (the token stops working and the `kiku_session` cookie is cleared)."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 204, description = r#"Signed out."#),
    ),
)]
pub async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let token = session_token(&headers).ok_or(AppError::Unauthenticated)?;
    accounts::authenticate(&app, &token).await?;
    accounts::sign_out(&app, &token).await?;
    let clear = cleared_session_cookie(&app);
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "getMe",
    tag = "Auth",
    summary = r#"The signed-in user"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The signed-in user."#, content((UserOut = "application/json"))),
    ),
)]
pub async fn me(CurrentUser(user): CurrentUser) -> Json<UserOut> {
    Json(UserOut::from(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "BeArEr   abc ",
            "bearer\tabc",
        ] {
            assert_eq!(bearer(value), Some("abc"), "{value:?}");
        }
        for value in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "abc"] {
            assert_eq!(bearer(value), None, "{value:?}");
        }
    }
}
