//! The errors every service returns; HTTP and the CLI each map them in one place.

use kiku_domain::{CallStatus, Problem};
use kiku_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("sign in first")]
    Unauthenticated,
    #[error("wrong e-mail or password")]
    WrongCredentials,
    /// A limit on requests (sign-in throttling, a locked account, the webhook's rate, a
    /// company's caps): 429 with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_seconds: u64,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("call data conflicts with calls stored earlier under the same call_data_id")]
    CallDataConflict(Vec<Problem>),
    #[error("the call data is invalid")]
    InvalidCallData(Vec<Problem>),
    #[error("{0}")]
    InvalidRequest(String),
    /// A query parameter that cannot be used (the call list's filters).
    #[error("{0}")]
    InvalidQuery(#[from] kiku_domain::search::ParamError),
    /// An outgoing webhook URL that the SSRF rule refuses.
    #[error("{0}")]
    UnsafeUrl(String),
    /// An outgoing webhook endpoint that did not answer the challenge right.
    #[error("{0}")]
    ChallengeFailed(String),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the body is larger than the limit of {0} bytes")]
    PayloadTooLarge(u64),
    #[error("analysis of this call has started ({status}); the recording can no longer be replaced", status = .0.as_str())]
    UploadClosed(CallStatus),
    #[error("an upload to this call is already in progress; wait for it to finish")]
    UploadInProgress,
    #[error("the request body sent nothing for {0} seconds")]
    BodyTimeout(u64),
    /// Nothing was stored: the disk holding the database or recordings is full.
    #[error("the server's storage is full; nothing was stored, try again later ({0})")]
    StorageFull(String),
    /// Nothing was stored: the database is unreachable or the server is at a limit.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_seconds: u64,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    pub fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError::Internal(Box::new(err))
    }

    /// A 503 worth retrying in a few seconds.
    pub fn unavailable(message: impl Into<String>) -> Self {
        AppError::Unavailable {
            message: message.into(),
            retry_after_seconds: 5,
        }
    }
}

impl From<StorageError> for AppError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Conflict(what) => AppError::Conflict(what),
            StorageError::NotFound(what) => AppError::NotFound(what),
            StorageError::Full(why) => AppError::StorageFull(why),
            StorageError::Unavailable(why) => AppError::unavailable(format!(
                "the database is unavailable; nothing was stored, try again later ({why})"
            )),
            other => AppError::internal(other),
        }
    }
}
