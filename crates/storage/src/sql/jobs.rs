//! Durable jobs: leased claims, heartbeats, retries and the dead state.

use async_trait::async_trait;
use kiku_domain::{CallId, CallStatus, JobId};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::{from_ms, ms, parsed, Dialect, SqlStore};
use crate::{Job, JobState, JobStore, Result, StorageError};

const JOB_COLUMNS: &str = "id, kind, company_id, call_id, state, attempts, max_attempts, run_at_ms, lease_owner, last_error";

fn job_from_row(row: &AnyRow) -> Result<Job> {
    let state: String = row.try_get("state")?;
    let count = |c: &str| -> Result<u32> {
        Ok(u32::try_from(row.try_get::<i64, _>(c)?).unwrap_or(u32::MAX))
    };
    Ok(Job {
        id: parsed(row, "id")?,
        kind: row.try_get("kind")?,
        company_id: parsed(row, "company_id")?,
        call_id: parsed(row, "call_id")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StorageError::corrupt(format!("job state {state:?}")))?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
        run_at: from_ms(row.try_get("run_at_ms")?)?,
        lease_owner: row.try_get("lease_owner")?,
        last_error: row.try_get("last_error")?,
    })
}

#[async_trait]
impl JobStore for SqlStore {
    async fn claim_job(
        &self,
        worker: &str,
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<Job>> {
        let mut tx = self.write.begin().await?;
        // A job whose holder vanished after its last attempt will not run again.
        sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_owner = NULL, last_error = 'the worker stopped during the last attempt', updated_at_ms = $1 \
             WHERE state = 'running' AND lease_until_ms < $1 AND attempts >= max_attempts",
        )
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        // SQLite serialises writers, so the plain subquery is safe there; PostgreSQL needs SKIP LOCKED.
        let lock = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_until_ms = $2, updated_at_ms = $3 \
             WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' AND run_at_ms <= $3) OR (state = 'running' AND lease_until_ms < $3) \
                         ORDER BY run_at_ms, id LIMIT 1 {lock}) \
             RETURNING {JOB_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(worker)
            .bind(ms(lease_until))
            .bind(ms(now))
            .fetch_optional(&mut *tx)
            .await?;
        let job = row.as_ref().map(job_from_row).transpose()?;
        if let Some(job) = &job {
            sqlx::query("UPDATE calls SET status = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(CallStatus::Analysing.as_str())
                .bind(ms(now))
                .bind(job.call_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    async fn heartbeat_job(
        &self,
        id: JobId,
        worker: &str,
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until_ms = $1, updated_at_ms = $2 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(ms(lease_until))
        .bind(ms(now))
        .bind(id.to_string())
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete_job(&self, id: JobId, worker: &str, now: OffsetDateTime) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $1 \
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(ms(now))
        .bind(id.to_string())
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let (state, run_at) = match retry_at {
            Some(at) => (JobState::Queued, ms(at)),
            None => (JobState::Dead, ms(now)),
        };
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, run_at_ms = $2, last_error = $3, lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $4 \
             WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(run_at)
        .bind(error)
        .bind(ms(now))
        .bind(id.to_string())
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn jobs_for_call(&self, call: CallId) -> Result<Vec<Job>> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE call_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(call.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(job_from_row).collect()
    }
}
