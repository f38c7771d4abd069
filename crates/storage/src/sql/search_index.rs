//! The search index: facts of each call (columns of `calls`, rows of `call_terms`) and the
//! words of its current result (`call_texts`, one row per speaker), written in the
//! transaction that stores the call or the result, so a search never sees half of either.
//!
//! The text index is the one part that differs by database, so it is made here at start
//! rather than in a (portable) migration. SQLite: two contentless FTS5 tables with the
//! trigram tokenizer, rowid the `call_texts` row's: `call_text_trigrams` over the body (a
//! term of 3+ characters is a phrase query there) and `call_text_pairs` over its runs of
//! Japanese/Chinese characters with a mark between every two
//! (`kiku_domain::search::text::wide_pairs`), where a two-character term is one trigram.
//! PostgreSQL: a pg_trgm GIN index on `call_texts.body` and `call_texts.pairs` (the same
//! pairs), which serves `LIKE '%term%'` on either.

use kiku_domain::analysis::Report;
use kiku_domain::search::text::wide_pairs;
use kiku_domain::search::{AnalysisFacts, CallFacts};
use kiku_domain::{CallData, CallId, CompanyId};
use sqlx::{AnyConnection, Executor, Row};
use time::OffsetDateTime;

use super::tag_rules::write_auto_tags;
use super::{placeholders, Dialect, SqlStore};
use crate::{Result, StorageError};

/// Rows per multi-row insert of terms: 4 parameters each, well under every limit.
const TERMS_PER_INSERT: usize = 200;
/// Calls indexed per transaction when catching up at start.
const BACKFILL_PAGE: i64 = 200;

const SQLITE_TEXT_INDEX: &str = "
CREATE TABLE IF NOT EXISTS call_texts (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls(id),
    role TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS call_texts_by_call ON call_texts (call_id);
CREATE VIRTUAL TABLE IF NOT EXISTS call_text_trigrams USING fts5(
    body, content='', contentless_delete=1, tokenize='trigram'
);
CREATE VIRTUAL TABLE IF NOT EXISTS call_text_pairs USING fts5(
    body, content='', contentless_delete=1, tokenize='trigram'
);
";

const POSTGRES_TEXT_TABLE: &str = "
CREATE TABLE IF NOT EXISTS call_texts (
    id BIGSERIAL PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls(id),
    role TEXT NOT NULL,
    body TEXT NOT NULL,
    pairs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS call_texts_by_call ON call_texts (call_id);
";

/// Any fixed number: the advisory lock that keeps servers starting together from racing
/// to create the same objects.
const SCHEMA_LOCK: i64 = 0x6b69_6b75_5345;

impl SqlStore {
    /// Makes the text index if missing, then indexes calls stored before it existed.
    pub(super) async fn prepare_search(&self) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        match self.dialect {
            Dialect::Sqlite => {
                conn.execute(SQLITE_TEXT_INDEX).await?;
            }
            Dialect::Postgres => {
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(SCHEMA_LOCK)
                    .execute(&mut *conn)
                    .await?;
                let made = postgres_text_index(&mut conn).await;
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(SCHEMA_LOCK)
                    .execute(&mut *conn)
                    .await?;
                made?;
            }
        }
        drop(conn);
        self.backfill_search().await
    }

    /// Indexes the calls (and their results) stored before the search index existed.
    async fn backfill_search(&self) -> Result<()> {
        let mut done = 0u64;
        loop {
            let mut tx = self.write.begin().await?;
            let rows = sqlx::query(&format!(
                "SELECT c.id, c.company_id, c.call_data, a.report FROM calls c LEFT JOIN analyses a ON a.call_id = c.id \
                 WHERE c.search_indexed = 0 LIMIT {BACKFILL_PAGE}"
            ))
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let id: CallId = super::parsed(row, "id")?;
                let data: String = row.try_get("call_data")?;
                let call: CallData = serde_json::from_str(&data).map_err(StorageError::corrupt)?;
                write_call_facts(&mut tx, id, &CallFacts::of(&call)).await?;
                if let Some(report) = row.try_get::<Option<String>, _>("report")? {
                    let company: CompanyId = super::parsed(row, "company_id")?;
                    let now = OffsetDateTime::now_utc();
                    write_analysis_index(&mut tx, self.dialect, company, id, &report, now).await?;
                }
            }
            tx.commit().await?;
            done += rows.len() as u64;
        }
        if done > 0 {
            tracing::info!(calls = done, "indexed stored calls for search");
            // Fresh statistics, so the planner knows the new tables' sizes before
            // autovacuum comes round (SQLite's queries do without).
            if self.dialect == Dialect::Postgres {
                sqlx::query("ANALYZE calls, call_terms, call_texts")
                    .execute(&self.write)
                    .await?;
            }
        }
        Ok(())
    }
}

/// pg_trgm may be missing (no contrib package) or not allowed: search then still gives
/// the same answers, by scanning.
async fn postgres_text_index(conn: &mut AnyConnection) -> Result<()> {
    conn.execute(POSTGRES_TEXT_TABLE).await?;
    match conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm").await {
        Ok(_) => {
            conn.execute(
                "CREATE INDEX IF NOT EXISTS call_texts_trgm ON call_texts USING gin (body gin_trgm_ops, pairs gin_trgm_ops)",
            )
            .await?;
        }
        Err(e) => tracing::warn!(error = %e, "pg_trgm unavailable: text search scans call_texts"),
    }
    Ok(())
}

/// One row of `call_terms`.
pub(super) struct Term {
    call: CallId,
    kind: &'static str,
    value: String,
    count: i64,
}

/// The call data's terms of one call.
pub(super) fn call_terms(call: CallId, facts: &CallFacts) -> Vec<Term> {
    let term = |kind, value: String| Term {
        call,
        kind,
        value,
        count: 1,
    };
    let mut out: Vec<Term> = Vec::new();
    out.extend(facts.users.iter().map(|u| term("user", u.to_string())));
    out.extend(facts.numbers.iter().map(|n| term("number", n.clone())));
    out.extend(facts.tags.iter().map(|t| term("tag", t.clone())));
    out.extend(
        facts
            .flags
            .iter()
            .map(|f| term("call_flag", f.as_str().into())),
    );
    out
}

pub(super) async fn insert_terms(conn: &mut AnyConnection, terms: &[Term]) -> Result<()> {
    for chunk in terms.chunks(TERMS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(i * 4 + 1, 4)))
            .collect();
        let sql = format!(
            "INSERT INTO call_terms (call_id, kind, value, count) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for t in chunk {
            query = query
                .bind(t.call.to_string())
                .bind(t.kind)
                .bind(t.value.as_str())
                .bind(t.count);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The call data's facts of one stored call (replacing any).
async fn write_call_facts(conn: &mut AnyConnection, call: CallId, facts: &CallFacts) -> Result<()> {
    let id = call.to_string();
    sqlx::query(
        "UPDATE calls SET answered = $1, talk_ms = $2, group_name = $3, queue_name = $4, \
         search_indexed = 1 WHERE id = $5",
    )
    .bind(i64::from(facts.answered))
    .bind(facts.talk_ms)
    .bind(facts.group_name.as_deref())
    .bind(facts.queue_name.as_deref())
    .bind(&id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM call_terms WHERE call_id = $1 AND kind IN ('user', 'number', 'tag', 'call_flag')")
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    insert_terms(conn, &call_terms(call, facts)).await
}

/// Replaces what the index holds of the call's result with `report` (the current version's
/// JSON), the company's enabled auto-tag rules' tags included; a report that does not read
/// leaves the call with no result facts.
pub(super) async fn write_analysis_index(
    conn: &mut AnyConnection,
    dialect: Dialect,
    company: CompanyId,
    call: CallId,
    report: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let report = serde_json::from_str::<Report>(report).ok();
    write_auto_tags(conn, dialect, company, call, report.as_ref(), now).await?;
    let facts = report.as_ref().map(AnalysisFacts::of);
    let id = call.to_string();
    sqlx::query("UPDATE calls SET score = $1 WHERE id = $2")
        .bind(facts.as_ref().map(|f| f.score).filter(|s| s.is_finite()))
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM call_terms WHERE call_id = $1 AND kind IN ('keyword', 'flag')")
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    if dialect == Dialect::Sqlite {
        for table in ["call_text_trigrams", "call_text_pairs"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE rowid IN (SELECT id FROM call_texts WHERE call_id = $1)"
            ))
            .bind(&id)
            .execute(&mut *conn)
            .await?;
        }
    }
    sqlx::query("DELETE FROM call_texts WHERE call_id = $1")
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    let Some(facts) = facts else {
        return Ok(());
    };
    let mut terms: Vec<Term> = facts
        .keywords
        .iter()
        .map(|(k, n)| Term {
            call,
            kind: "keyword",
            value: k.clone(),
            count: i64::from(*n),
        })
        .collect();
    terms.extend(facts.flags.iter().map(|f| Term {
        call,
        kind: "flag",
        value: f.as_str().into(),
        count: 1,
    }));
    insert_terms(conn, &terms).await?;
    for (role, body) in [
        ("user", &facts.user_text),
        ("customer", &facts.customer_text),
    ] {
        if body.is_empty() {
            continue;
        }
        let pairs = wide_pairs(body);
        match dialect {
            Dialect::Sqlite => {
                let row = sqlx::query(
                    "INSERT INTO call_texts (call_id, role, body) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(&id)
                .bind(role)
                .bind(body.as_str())
                .fetch_one(&mut *conn)
                .await?;
                let rowid: i64 = row.try_get("id")?;
                for (table, text) in [
                    ("call_text_trigrams", body.as_str()),
                    ("call_text_pairs", &pairs),
                ] {
                    sqlx::query(&format!(
                        "INSERT INTO {table} (rowid, body) VALUES ($1, $2)"
                    ))
                    .bind(rowid)
                    .bind(text)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            Dialect::Postgres => {
                sqlx::query(
                    "INSERT INTO call_texts (call_id, role, body, pairs) VALUES ($1, $2, $3, $4)",
                )
                .bind(&id)
                .bind(role)
                .bind(body.as_str())
                .bind(&pairs)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}
