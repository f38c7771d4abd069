//! Storage errors: the few outcomes callers act on, and everything else as `Database`.

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule was broken (e.g. the e-mail is taken, a URL already exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The thing the operation needs does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database URL names no supported backend.
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    /// `call_data_id`s stored earlier with different content: `(index in batch, id)`.
    #[error("call data conflicts with stored calls")]
    CallDataConflict(Vec<(usize, String)>),
    /// A stored value could not be read back; the database holds something we never wrote.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StorageError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StorageError::Corrupt(what.to_string())
    }
}
