//! The one place where application errors become HTTP responses:
//! `{"code", "message", "problems"?}` with an opaque 500 whose cause is logged.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kiku_domain::Problem;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppError;

/// An [`AppError`] on its way out as a response.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(err)
    }
}

impl From<kiku_storage::StorageError> for ApiError {
    fn from(err: kiku_storage::StorageError) -> Self {
        ApiError(err.into())
    }
}

/// Every `code` an error response carries: the document's `Error.code` (a test checks
/// each variant's code is here).
pub(crate) const ERROR_CODES: &[&str] = &[
    "malformed_json",
    "invalid_query",
    "unauthenticated",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "call_data_conflict",
    "upload_closed",
    "upload_in_progress",
    "request_timeout",
    "payload_too_large",
    "unsupported_media_type",
    "invalid_call_data",
    "invalid_request",
    "unsafe_url",
    "challenge_failed",
    "too_many_requests",
    "internal",
    "unavailable",
    "insufficient_storage",
];

/// Every error has this shape. `problems` is present only for call-data validation (422 `invalid_call_data`) and idempotency conflicts (409 `call_data_conflict`).
///
/// | status | code | when |
/// |---|---|---|
/// | 400 | `malformed_json` | body is not JSON / not the expected shape (for analysis settings: unknown fields, a bad `language`, an incomplete `score_rule`) |
/// | 400 | `invalid_query` | a query parameter of the call list or export is unknown or unusable; `parameter` and `reason` say which and why |
/// | 401 | `unauthenticated` | no or bad session token |
/// | 403 | `forbidden` | signed in but not an admin; upload URL forged, tampered or expired |
/// | 404 | `not_found` | unknown or revoked webhook URL; unknown call in this company |
/// | 409 | `conflict` / `call_data_conflict` / `upload_closed` | webhook URL already exists; a user with this e-mail already exists in the company; taking the admin right from the company's last admin; same `call_data_id` with different content; upload after analysis started |
/// | 413 | `payload_too_large` | request body or upload over the configured limit |
/// | 415 | `unsupported_media_type` | explicit non-JSON `Content-Type` on a JSON endpoint |
/// | 422 | `invalid_call_data` / `invalid_request` | call data breaks a rule; other request fields invalid (e.g. analysis settings that cannot be applied) |
/// | 429 | `too_many_requests` | too many failed sign-ins for the account or from the address; `Retry-After` says when to try again |
/// | 500 | `internal` | opaque; the cause is logged with a request id |
///
/// Fields in the order the answer has always had (alphabetical).
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    #[schema(value_type = super::schemas::ErrorCode, inline)]
    code: &'static str,
    /// Human-readable explanation.
    message: String,
    /// For `invalid_query`: the query parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    parameter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    problems: Option<Vec<Problem>>,
    /// For `invalid_query`: why it cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reason: Option<String>,
}

impl ErrorBody {
    fn new(code: &'static str, message: String) -> Self {
        Self {
            code,
            message,
            parameter: None,
            problems: None,
            reason: None,
        }
    }
}

/// The status and code of an error, for the API and the web UI's pages alike.
pub(crate) fn status_and_code(err: &AppError) -> (StatusCode, &'static str) {
    match err {
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        AppError::Unauthenticated | AppError::WrongCredentials => {
            (StatusCode::UNAUTHORIZED, "unauthenticated")
        }
        AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
        AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        AppError::CallDataConflict(_) => (StatusCode::CONFLICT, "call_data_conflict"),
        AppError::UploadClosed(_) => (StatusCode::CONFLICT, "upload_closed"),
        AppError::InvalidCallData(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_call_data"),
        AppError::InvalidRequest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
        AppError::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
        AppError::UnsafeUrl(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unsafe_url"),
        AppError::ChallengeFailed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "challenge_failed"),
        AppError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
        AppError::UnsupportedMediaType => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        }
        AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        AppError::UploadInProgress => (StatusCode::CONFLICT, "upload_in_progress"),
        AppError::BodyTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
        AppError::StorageFull(_) => (StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage"),
        AppError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = status_and_code(&self.0);
        // Inside the request's span, so each line carries its request_id.
        match &self.0 {
            AppError::Internal(cause) => tracing::error!(error = %cause, "request failed"),
            AppError::StorageFull(_) | AppError::Unavailable { .. } => {
                tracing::warn!(error = %self.0, status = status.as_u16(), "request refused, nothing stored")
            }
            _ => {}
        }
        let mut body = ErrorBody::new(code, self.0.to_string());
        if let AppError::InvalidCallData(problems) | AppError::CallDataConflict(problems) = &self.0
        {
            body.problems = Some(problems.clone());
        }
        if let AppError::InvalidQuery(e) = &self.0 {
            body.parameter = Some(e.parameter.clone());
            body.reason = Some(e.reason.clone());
        }
        let mut response = (status, Json(body)).into_response();
        if let AppError::Unavailable {
            retry_after_seconds,
            ..
        }
        | AppError::RateLimited {
            retry_after_seconds,
            ..
        } = &self.0
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
        response
    }
}

pub async fn not_found() -> ApiError {
    ApiError(AppError::NotFound("not found".into()))
}

pub async fn method_not_allowed() -> Response {
    let body = ErrorBody::new(
        "method_not_allowed",
        "this method is not allowed here".into(),
    );
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_documented() {
        let problem = kiku_domain::search::ParamError {
            parameter: "p".into(),
            reason: "r".into(),
        };
        let every = [
            AppError::NotFound(String::new()),
            AppError::Unauthenticated,
            AppError::WrongCredentials,
            AppError::RateLimited {
                message: String::new(),
                retry_after_seconds: 1,
            },
            AppError::Forbidden(String::new()),
            AppError::Conflict(String::new()),
            AppError::CallDataConflict(Vec::new()),
            AppError::InvalidCallData(Vec::new()),
            AppError::InvalidRequest(String::new()),
            AppError::InvalidQuery(problem),
            AppError::UnsafeUrl(String::new()),
            AppError::ChallengeFailed(String::new()),
            AppError::MalformedJson(String::new()),
            AppError::UnsupportedMediaType,
            AppError::PayloadTooLarge(1),
            AppError::UploadClosed(kiku_domain::CallStatus::Queued),
            AppError::UploadInProgress,
            AppError::BodyTimeout(1),
            AppError::StorageFull(String::new()),
            AppError::unavailable("x"),
            AppError::Internal("x".into()),
        ];
        for err in &every {
            let (_, code) = status_and_code(err);
            assert!(
                ERROR_CODES.contains(&code),
                "{code} is missing from ERROR_CODES"
            );
        }
        assert!(ERROR_CODES.contains(&"method_not_allowed"));
    }

    /// A new variant stops this compiling until it is added to the list above.
    #[allow(dead_code)]
    fn listed(err: &AppError) {
        match err {
            AppError::NotFound(_)
            | AppError::Unauthenticated
            | AppError::WrongCredentials
            | AppError::RateLimited { .. }
            | AppError::Forbidden(_)
            | AppError::Conflict(_)
            | AppError::CallDataConflict(_)
            | AppError::InvalidCallData(_)
            | AppError::InvalidRequest(_)
            | AppError::InvalidQuery(_)
            | AppError::UnsafeUrl(_)
            | AppError::ChallengeFailed(_)
            | AppError::MalformedJson(_)
            | AppError::UnsupportedMediaType
            | AppError::PayloadTooLarge(_)
            | AppError::UploadClosed(_)
            | AppError::UploadInProgress
            | AppError::BodyTimeout(_)
            | AppError::StorageFull(_)
            | AppError::Unavailable { .. }
            | AppError::Internal(_) => {}
        }
    }
}
