//! Reading JSON request bodies by our rules: no `Content-Type` means JSON, an explicit
//! non-JSON type is 415, the size is capped (413, the API's bodies are small), and parse
//! errors are 400 JSON. Also [`sorted_keys`], for answers that must keep their key order.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use super::body::{read_capped, Buffered};
use super::{ApiError, AppState};
use crate::app::{App, AppError};

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// The body once the content type and size pass.
pub async fn json_body(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Buffered, AppError> {
    if !is_json(headers) {
        return Err(AppError::UnsupportedMediaType);
    }
    read_capped(app, headers, body, limit).await
}

/// A typed JSON body of the API, read by the rules above within `max_json_bytes`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = json_body(app, &parts.headers, body, app.limits.max_json_bytes).await?;
        serde_json::from_slice(&body.bytes)
            .map(ApiJson)
            .map_err(|e| ApiError(AppError::MalformedJson(e.to_string())))
    }
}

/// A typed query string of the API: one it cannot read (`limit=abc`) is a 422
/// `invalid_request` in the API's error shape, not axum's plain-text 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| ApiError(AppError::InvalidRequest(e.body_text())))
    }
}

/// Writes `value` through a JSON value, whose objects' keys are sorted: for a part of an
/// answer that has always been sent that way (it was built with `json!`), so that its bytes
/// stay the same now that it is a type with fields in another order.
pub fn sorted_keys<T: Serialize, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    serde_json::to_value(value)
        .map_err(serde::ser::Error::custom)?
        .serialize(s)
}
