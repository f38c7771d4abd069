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
    /// The database's disk is full; nothing of this write was stored.
    #[error("the database's disk is full: {0}")]
    Full(String),
    /// The database cannot be reached or cannot write (server down, I/O error); nothing of
    /// this write was stored and a retry may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(sqlx::Error),
    /// A database failure shared by several requesters (a group commit's).
    #[error("database error: {0}")]
    Other(String),
    /// A stored secret cannot be read with the configured keys.
    #[error(transparent)]
    Secret(#[from] crate::SecretError),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StorageError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StorageError::Corrupt(what.to_string())
    }

    /// The same outcome for another requester of a shared transaction.
    pub(crate) fn shared(&self) -> Self {
        match self {
            StorageError::Full(m) => StorageError::Full(m.clone()),
            StorageError::Unavailable(m) => StorageError::Unavailable(m.clone()),
            other => StorageError::Other(other.to_string()),
        }
    }
}

/// SQLite result codes (primary code = low byte of the extended one) and PostgreSQL
/// SQLSTATEs that mean "nothing was written, the database itself is in trouble".
fn classify(code: &str) -> Option<fn(String) -> StorageError> {
    // SQLSTATEs are five characters; SQLite's (extended) codes stay below 10000.
    let sqlstate = code.len() == 5;
    if let (false, Ok(sqlite)) = (sqlstate, code.parse::<u32>()) {
        return match sqlite & 0xff {
            13 => Some(StorageError::Full),                 // SQLITE_FULL
            8 | 10 | 14 => Some(StorageError::Unavailable), // READONLY, IOERR, CANTOPEN
            _ => None,
        };
    }
    match code {
        "53100" => Some(StorageError::Full), // disk_full
        c if c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") => {
            Some(StorageError::Unavailable) // connection, shutdown, resources
        }
        _ => None,
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) => match db.code().as_deref().and_then(classify) {
                Some(kind) => kind(db.message().to_string()),
                None => StorageError::Database(err),
            },
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => StorageError::Unavailable(err.to_string()),
            _ => StorageError::Database(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_unavailable_codes_are_told_apart() {
        let kind = |c: &str| classify(c).map(|k| k(String::new()));
        assert!(matches!(kind("13"), Some(StorageError::Full(_))));
        assert!(matches!(kind("53100"), Some(StorageError::Full(_))));
        assert!(matches!(kind("266"), Some(StorageError::Unavailable(_)))); // SQLITE_IOERR_READ
        assert!(matches!(kind("08006"), Some(StorageError::Unavailable(_))));
        assert!(matches!(kind("57P01"), Some(StorageError::Unavailable(_))));
        assert!(kind("2067").is_none()); // SQLITE_CONSTRAINT_UNIQUE
        assert!(kind("23505").is_none());
    }
}
