//! Reading JSON request bodies by our rules: no `Content-Type` means JSON, an explicit
//! non-JSON type is 415, the size is capped (413), and parse errors are 400 JSON.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};
use crate::app::AppError;

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

/// The body's bytes once the content type and size pass.
pub async fn json_bytes(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, AppError> {
    if !is_json(headers) {
        return Err(AppError::UnsupportedMediaType);
    }
    // Length-limited reads fail the same way whether the client declared the size or not.
    to_bytes(body, limit)
        .await
        .map_err(|_| AppError::PayloadTooLarge(limit as u64))
}

/// A typed JSON body read by the rules above.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = json_bytes(&parts.headers, body, state.max_request_bytes).await?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError(AppError::MalformedJson(e.to_string())))
    }
}
