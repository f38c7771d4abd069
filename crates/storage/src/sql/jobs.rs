//! Durable jobs: leased claims, heartbeats, retries and the dead state. Every change of a
//! job moves its call's status in the same transaction.

use async_trait::async_trait;
use kiku_domain::{CallId, CallStatus, JobId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::{from_ms, ms, parsed, Dialect, SqlStore};
use crate::{Job, JobState, JobStore, Result, StorageError};

/// The failure reason of a job whose worker stopped renewing its lease on the last attempt.
const WORKER_VANISHED: &str = "the worker stopped during the last attempt";

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
        // A job whose holder vanished after its last attempt will not run again, and its
        // call shows why. Job rows before call rows, as in every job change, so PostgreSQL
        // transactions cannot deadlock on them.
        let swept = sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_owner = NULL, last_error = $1, updated_at_ms = $2 \
             WHERE state = 'running' AND lease_until_ms < $2 AND attempts >= max_attempts \
             RETURNING call_id",
        )
        .bind(WORKER_VANISHED)
        .bind(ms(now))
        .fetch_all(&mut *tx)
        .await?;
        for row in &swept {
            let call: String = row.try_get("call_id")?;
            set_call_status(
                &mut tx,
                &call,
                CallStatus::Failed,
                Some(WORKER_VANISHED),
                now,
            )
            .await?;
        }
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
            let call = job.call_id.to_string();
            set_call_status(&mut tx, &call, CallStatus::Analysing, None, now).await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    async fn heartbeat_job(
        &self,
        id: JobId,
        worker: &str,
        lease_until: OffsetDateTime,
        progress_percent: Option<u8>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let held = sqlx::query(
            "UPDATE jobs SET lease_until_ms = $1, updated_at_ms = $2 WHERE id = $3 AND lease_owner = $4 AND state = 'running' \
             RETURNING call_id",
        )
        .bind(ms(lease_until))
        .bind(ms(now))
        .bind(id.to_string())
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(held) = held else {
            return Ok(false);
        };
        if let Some(percent) = progress_percent {
            let call: String = held.try_get("call_id")?;
            sqlx::query("UPDATE calls SET progress_percent = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(i64::from(percent.min(100)))
                .bind(ms(now))
                .bind(call)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn complete_job(&self, id: JobId, worker: &str, now: OffsetDateTime) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let Some(held) = complete_held_job(&mut tx, id, worker, now).await? else {
            return Ok(false);
        };
        set_call_status(&mut tx, &held.call, CallStatus::Completed, None, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let (state, run_at, call_status, reason) = match retry_at {
            Some(at) => (JobState::Queued, ms(at), CallStatus::Queued, None),
            None => (JobState::Dead, ms(now), CallStatus::Failed, Some(error)),
        };
        let mut tx = self.write.begin().await?;
        let held = sqlx::query(
            "UPDATE jobs SET state = $1, run_at_ms = $2, last_error = $3, lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $4 \
             WHERE id = $5 AND lease_owner = $6 AND state = 'running' \
             RETURNING call_id",
        )
        .bind(state.as_str())
        .bind(run_at)
        .bind(error)
        .bind(ms(now))
        .bind(id.to_string())
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(held) = held else {
            return Ok(false);
        };
        let call: String = held.try_get("call_id")?;
        set_call_status(&mut tx, &call, call_status, reason, now).await?;
        tx.commit().await?;
        Ok(true)
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

/// The call a job was for, as stored text.
pub(super) struct JobCall {
    pub call: String,
    pub company: String,
}

/// Marks a job `worker` still runs as done; its call, or `None` (nothing written) when the
/// worker lost it.
pub(super) async fn complete_held_job(
    conn: &mut AnyConnection,
    id: JobId,
    worker: &str,
    now: OffsetDateTime,
) -> Result<Option<JobCall>> {
    let row = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $1 \
         WHERE id = $2 AND lease_owner = $3 AND state = 'running' \
         RETURNING call_id, company_id",
    )
    .bind(ms(now))
    .bind(id.to_string())
    .bind(worker)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(JobCall {
        call: row.try_get("call_id")?,
        company: row.try_get("company_id")?,
    }))
}

/// Moves a call to follow its job: progress starts at 0 when analysis starts and is
/// cleared in every other status.
pub(super) async fn set_call_status(
    conn: &mut AnyConnection,
    call: &str,
    status: CallStatus,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    let progress = (status == CallStatus::Analysing).then_some(0_i64);
    sqlx::query(
        "UPDATE calls SET status = $1, status_reason = $2, progress_percent = $3, updated_at_ms = $4 WHERE id = $5",
    )
    .bind(status.as_str())
    .bind(reason)
    .bind(progress)
    .bind(ms(now))
    .bind(call)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
