//! The migrations: the portable files of `migrations/` (one SQL for SQLite and PostgreSQL,
//! embedded by `sqlx::migrate!`) and the few that cannot be portable, written once per
//! dialect in `migrations/by-dialect/` (triggers). Each database only ever runs its own
//! dialect's text, so sqlx's checksums stay stable.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;

use super::Dialect;
use crate::Result;

static PORTABLE: Migrator = sqlx::migrate!("./migrations");

/// `(version, description, SQLite's SQL, PostgreSQL's SQL)`.
const BY_DIALECT: &[(i64, &str, &str, &str)] = &[(
    17,
    "audit log append only",
    include_str!("../../migrations/by-dialect/0017_audit_log_append_only.sqlite.sql"),
    include_str!("../../migrations/by-dialect/0017_audit_log_append_only.postgres.sql"),
)];

#[derive(Debug)]
struct Migrations(Dialect);

impl MigrationSource<'static> for Migrations {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<Migration>, BoxDynError>> + Send>>
    {
        Box::pin(async move {
            let mut all: Vec<Migration> = PORTABLE.iter().cloned().collect();
            all.extend(
                BY_DIALECT
                    .iter()
                    .map(|&(version, description, sqlite, postgres)| {
                        let sql = match self.0 {
                            Dialect::Sqlite => sqlite,
                            Dialect::Postgres => postgres,
                        };
                        Migration::new(
                            version,
                            Cow::Borrowed(description),
                            MigrationType::Simple,
                            Cow::Borrowed(sql),
                            false,
                        )
                    }),
            );
            all.sort_by_key(|m| m.version);
            Ok(all)
        })
    }
}

/// Applies the pending migrations (sqlx locks the database against other processes
/// migrating at the same time).
pub(super) async fn run(pool: &AnyPool, dialect: Dialect) -> Result<()> {
    Migrator::new(Migrations(dialect)).await?.run(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn versions_are_unique_and_in_order_for_both_dialects() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let all = Migrations(dialect).resolve().await.expect("resolve");
            let versions: Vec<i64> = all.iter().map(|m| m.version).collect();
            let expected: Vec<i64> = (1..=versions.len() as i64).collect();
            assert_eq!(versions, expected, "{dialect:?}");
        }
    }
}
