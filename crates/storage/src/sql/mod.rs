//! The SQL implementation of the storage traits, shared by SQLite and PostgreSQL through
//! sqlx's `Any` driver. Only job claiming differs by dialect.

mod abuse;
mod accounts;
mod analyses;
mod audit_log;
mod calls;
mod crm;
mod delivery_log;
mod events;
mod group_commit;
mod ingest;
mod jobs;
mod migrations;
mod notification_fan_out;
mod notifications;
mod outgoing_webhooks;
mod search;
mod search_index;
mod secrets;
mod tag_rules;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};
use time::OffsetDateTime;

use crate::{PoolUse, Result, SecretCounts, SecretKeys, StorageError, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `sql`, whose parameters are `$1, $2, …` each once and in that order, with SQLite's
    /// anonymous `?` instead. Binding a statement looks every parameter's name up in a
    /// list as long as the statement's parameters (quadratic: a 768-parameter insert
    /// cost more than its rows); anonymous parameters have no name to look up.
    pub(crate) fn in_order(self, sql: String) -> String {
        if self == Dialect::Postgres {
            return sql;
        }
        let mut out = String::with_capacity(sql.len());
        let mut rest = sql.as_str();
        let mut expected = 1usize;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            debug_assert_eq!(
                rest[at + 1..at + 1 + digits].parse::<usize>().ok(),
                Some(expected),
                "parameters out of order in {sql}"
            );
            expected += 1;
            out.push('?');
            rest = &rest[at + 1 + digits..];
        }
        out.push_str(rest);
        out
    }

    /// Row lock for read-then-write transactions; SQLite's single writer needs none.
    pub(crate) fn lock_row(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE",
        }
    }

    /// Shared row lock: read rows that must not change or go before the commit.
    pub(crate) fn share_rows(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR SHARE",
        }
    }
}

/// One database, reached through a read pool and a write pool. On SQLite the write pool
/// has one connection, so writers queue in-process instead of failing with `SQLITE_BUSY`.
#[derive(Clone, Debug)]
pub struct SqlStore {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    /// SQLite only: webhook batches share commits (see `group_commit`).
    group_commit: Option<group_commit::GroupCommit>,
    /// Encrypts and decrypts the secrets stored in it (`secrets.rs`).
    secrets: SecretKeys,
}

impl SqlStore {
    /// Connects to `sqlite://path` or `postgres://…`, applies pending migrations and
    /// encrypts (or hashes) the secrets still stored in plain text; fails when a stored
    /// secret does not open with `secrets`.
    pub async fn connect(url: &str, secrets: SecretKeys) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StorageError::UnsupportedUrl(format!(
                "scheme {:?}; use sqlite:// or postgres://",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let store = match dialect {
            Dialect::Sqlite => {
                let options = || {
                    AnyPoolOptions::new()
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                // WAL lets readers run beside the writer; FULL makes every commit durable.
                                conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;").await?;
                                Ok(())
                            })
                        })
                };
                // Only the writer can be left inside a transaction; readers skip the check
                // (it would cost every read a round trip).
                let write = options()
                    .after_release(|conn, _| Box::pin(reusable(conn, Dialect::Sqlite)))
                    .max_connections(1)
                    .connect(url)
                    .await?;
                let read = options().max_connections(8).connect(url).await?;
                let group_commit = Some(group_commit::GroupCommit::start(write.clone()));
                Self {
                    read,
                    write,
                    dialect,
                    group_commit,
                    secrets,
                }
            }
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .after_release(|conn, _| Box::pin(reusable(conn, Dialect::Postgres)))
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Self {
                    read: pool.clone(),
                    write: pool,
                    dialect,
                    group_commit: None,
                    secrets,
                }
            }
        };
        migrations::run(&store.write, dialect).await?;
        store.prepare_search().await?;
        store.protect_stored_secrets().await?;
        Ok(store)
    }

    /// Closes both pools, waiting for connections in use.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Whether a connection coming back to its pool is safe to hand out again. After a failed
/// commit or rollback (a full disk, an I/O error) sqlx still counts a transaction that
/// SQLite may or may not have ended; reused, the next `begin` would nest a savepoint in it
/// and every later "commit" would only release that savepoint, acknowledged and never
/// written. Such a connection is closed instead; the pool opens a clean one.
async fn reusable(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> std::result::Result<bool, sqlx::Error> {
    if dialect == Dialect::Sqlite {
        // SQLite's own view (BEGIN fails inside a transaction), run after any rollback
        // that a dropped transaction queued, so sqlx's count below is settled too.
        if let Err(e) = conn.execute("BEGIN; ROLLBACK;").await {
            tracing::warn!(error = %e, "discarding a database connection SQLite holds in a transaction");
            return Ok(false);
        }
    }
    if conn.is_in_transaction() {
        tracing::warn!("discarding a database connection left inside a transaction");
        return Ok(false);
    }
    Ok(true)
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn check_writable(&self, now: OffsetDateTime) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO readiness_probe (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    fn pool_use(&self) -> Vec<PoolUse> {
        let of = |pool: &'static str, p: &AnyPool| PoolUse {
            pool,
            open: p.size(),
            idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
            max: p.options().get_max_connections(),
        };
        match self.dialect {
            Dialect::Postgres => vec![of("shared", &self.write)],
            Dialect::Sqlite => vec![of("read", &self.read), of("write", &self.write)],
        }
    }

    async fn reencrypt_secrets(&self) -> Result<SecretCounts> {
        self.reencrypt_all().await
    }
}

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A page cursor `(time, id)` as the two values its query binds (both NULL: the first page).
pub(crate) fn cursor_binds<I: std::fmt::Display>(
    before: Option<(OffsetDateTime, I)>,
) -> (Option<i64>, Option<String>) {
    match before {
        Some((at, id)) => (Some(ms(at)), Some(id.to_string())),
        None => (None, None),
    }
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StorageError::corrupt(format!("timestamp {ms}")))
}

/// Reads a text column and parses it into a typed value.
pub(crate) fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|_| StorageError::corrupt(format!("{column} = {text:?}")))
}

/// [`parsed`] for a column that may be NULL.
pub(crate) fn parsed_optional<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| {
            text.parse()
                .map_err(|_| StorageError::corrupt(format!("{column} = {text:?}")))
        })
        .transpose()
}

/// A logged answer's status (HTTP status or SMTP reply code); NULL when none came.
pub(crate) fn answer_status(row: &AnyRow) -> Result<Option<u16>> {
    row.try_get::<Option<i64>, _>("status")?
        .map(|s| u16::try_from(s).map_err(|_| StorageError::corrupt(format!("status = {s}"))))
        .transpose()
}

/// `$first, $first+1, …` for `count` bound values, e.g. inside `IN (…)`.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when a database error is a unique-constraint violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// True when a database error is a foreign-key violation (a referenced row is missing).
pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}
