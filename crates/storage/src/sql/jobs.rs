//! Durable jobs of every kind: leased claims, heartbeats, retries and the dead state. A
//! change of an analysis job moves its call's status in the same transaction.

use async_trait::async_trait;
use kiku_domain::{CallId, CallStatus, EventKind, JobId, JobKind};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::events::{insert_event, NewEvent};
use super::{from_ms, ms, parsed, placeholders, Dialect, SqlStore};
use crate::{Job, JobChange, JobCount, JobState, JobStore, NewJob, Result, StorageError};

/// The failure reason of a job whose worker stopped renewing its lease on the last attempt.
const WORKER_VANISHED: &str = "the worker stopped during the last attempt";

/// Jobs one claim takes at most.
const MAX_CLAIM: usize = 256;

const JOB_COLUMNS: &str = "id, kind, company_id, call_id, payload, state, attempts, max_attempts, run_at_ms, lease_owner, last_error";

fn kind_of(text: &str) -> Result<JobKind> {
    JobKind::parse(text).ok_or_else(|| StorageError::corrupt(format!("job kind {text:?}")))
}

fn state_of(text: &str) -> Result<JobState> {
    JobState::parse(text).ok_or_else(|| StorageError::corrupt(format!("job state {text:?}")))
}

fn job_from_row(row: &AnyRow) -> Result<Job> {
    let state: String = row.try_get("state")?;
    let kind: String = row.try_get("kind")?;
    let call: Option<String> = row.try_get("call_id")?;
    let count = |c: &str| -> Result<u32> {
        Ok(u32::try_from(row.try_get::<i64, _>(c)?).unwrap_or(u32::MAX))
    };
    Ok(Job {
        id: parsed(row, "id")?,
        kind: kind_of(&kind)?,
        company_id: parsed(row, "company_id")?,
        call_id: call
            .map(|c| {
                c.parse()
                    .map_err(|_| StorageError::corrupt(format!("call_id = {c:?}")))
            })
            .transpose()?,
        payload: row.try_get("payload")?,
        state: state_of(&state)?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
        run_at: from_ms(row.try_get("run_at_ms")?)?,
        lease_owner: row.try_get("lease_owner")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Inserts `job` unless one with its id exists.
pub(super) async fn insert_job(
    conn: &mut AnyConnection,
    job: &NewJob,
    now: OffsetDateTime,
) -> Result<()> {
    // Its place in the claim order: after the company's last queued job of the kind, and
    // right after the head of the queue (or at `run_at`, when that is sooner), so each
    // company waiting gets its turn however many jobs another one has queued.
    sqlx::query(
        "INSERT INTO jobs (id, kind, company_id, call_id, payload, state, attempts, max_attempts, run_at_ms, created_at_ms, updated_at_ms, fair_ms) \
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $8, ( \
           SELECT MAX(f) FROM ( \
             SELECT MAX(fair_ms) + 1 AS f FROM jobs WHERE company_id = $3 AND kind = $2 AND state = 'queued' \
             UNION ALL \
             SELECT CASE WHEN MIN(fair_ms) + 1 < $7 THEN MIN(fair_ms) + 1 ELSE $7 END AS f \
             FROM jobs WHERE state = 'queued' AND kind = $2 \
           ) places)) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(job.id.to_string())
    .bind(job.kind.as_str())
    .bind(job.company_id.to_string())
    .bind(job.call_id.map(|c| c.to_string()))
    .bind(&job.payload)
    .bind(i64::from(job.max_attempts))
    .bind(ms(job.run_at))
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a held job was, once a change to it went through.
pub(super) struct HeldJob {
    pub kind: JobKind,
    pub company: String,
    pub call: Option<String>,
}

impl HeldJob {
    /// From a row with `kind`, `company_id` and `call_id`.
    pub fn from_row(row: &AnyRow) -> Result<Self> {
        let kind: String = row.try_get("kind")?;
        Ok(Self {
            kind: kind_of(&kind)?,
            company: row.try_get("company_id")?,
            call: row.try_get("call_id")?,
        })
    }
}

/// Applies `set` (the `SET` list of an UPDATE, its own parameters from `$3` on, bound by
/// `bind`) to job `id` only while `worker` still runs it: the one guard every change of a
/// running job goes through. `None` (nothing written) when the worker lost the job.
pub(super) async fn update_held_job(
    conn: &mut AnyConnection,
    id: JobId,
    worker: &str,
    set: &str,
    bind: impl for<'q> FnOnce(
        sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<Option<HeldJob>> {
    let sql = format!(
        "UPDATE jobs SET {set} WHERE id = $1 AND lease_owner = $2 AND state = 'running' \
         RETURNING kind, company_id, call_id"
    );
    let query = bind(sqlx::query(&sql).bind(id.to_string()).bind(worker));
    query
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(HeldJob::from_row)
        .transpose()
}

/// Marks a job `worker` still runs as done.
pub(super) async fn complete_held_job(
    conn: &mut AnyConnection,
    id: JobId,
    worker: &str,
    now: OffsetDateTime,
) -> Result<Option<HeldJob>> {
    update_held_job(
        conn,
        id,
        worker,
        "state = 'done', lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $3",
        |q| q.bind(ms(now)),
    )
    .await
}

#[async_trait]
impl JobStore for SqlStore {
    async fn enqueue_job(&self, job: NewJob, now: OffsetDateTime) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_job(&mut tx, &job, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_jobs(
        &self,
        kinds: &[JobKind],
        worker: &str,
        limit: usize,
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<Job>> {
        let limit = limit.clamp(1, MAX_CLAIM);
        let mut tx = self.write.begin().await?;
        // A job whose holder vanished after its last attempt will not run again, and its
        // call shows why. Job rows before call rows, as in every job change, so PostgreSQL
        // transactions cannot deadlock on them.
        let swept = sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_owner = NULL, last_error = $1, updated_at_ms = $2 \
             WHERE state = 'running' AND lease_until_ms < $2 AND attempts >= max_attempts \
             RETURNING kind, company_id, call_id",
        )
        .bind(WORKER_VANISHED)
        .bind(ms(now))
        .fetch_all(&mut *tx)
        .await?;
        for row in &swept {
            let held = HeldJob::from_row(row)?;
            follow_failure(&mut tx, &held, WORKER_VANISHED, true, now).await?;
        }
        // SQLite serialises writers, so plain lookups are safe there; PostgreSQL needs SKIP
        // LOCKED. Each lookup walks an index in order and stops after `limit` rows (one
        // lookup per kind, one for expired leases): with a backlog, sorting every ready job
        // on each claim made claiming O(n log n).
        let lock = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let take = i64::try_from(limit).unwrap_or(1);
        let mut candidates: Vec<(i64, String)> = Vec::new();
        let ready = format!(
            "SELECT id, fair_ms FROM jobs WHERE state = 'queued' AND kind = $1 AND run_at_ms <= $2 \
             ORDER BY fair_ms LIMIT $3 {lock}"
        );
        for kind in kinds {
            let rows = sqlx::query(&ready)
                .bind(kind.as_str())
                .bind(ms(now))
                .bind(take)
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                candidates.push((row.try_get("fair_ms")?, row.try_get("id")?));
            }
        }
        let expired = format!(
            "SELECT id, fair_ms FROM jobs WHERE state = 'running' AND lease_until_ms < $1 AND kind IN ({}) \
             ORDER BY lease_until_ms LIMIT ${} {lock}",
            placeholders(2, kinds.len()),
            kinds.len() + 2
        );
        let mut query = sqlx::query(&expired).bind(ms(now));
        for kind in kinds {
            query = query.bind(kind.as_str());
        }
        for row in &query.bind(take).fetch_all(&mut *tx).await? {
            candidates.push((row.try_get("fair_ms")?, row.try_get("id")?));
        }
        // In claim order, whatever their kind.
        candidates.sort();
        candidates.truncate(limit);
        if candidates.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let sql = self.dialect.in_order(format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_until_ms = $2, updated_at_ms = $3 \
             WHERE id IN ({}) RETURNING {JOB_COLUMNS}",
            placeholders(4, candidates.len())
        ));
        let mut query = sqlx::query(&sql)
            .bind(worker)
            .bind(ms(lease_until))
            .bind(ms(now));
        for (_, id) in &candidates {
            query = query.bind(id.as_str());
        }
        let mut jobs = query
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>>>()?;
        for job in &jobs {
            if let (true, Some(call)) = (job.kind.moves_call_status(), job.call_id) {
                let call = call.to_string();
                set_call_status(&mut tx, &call, CallStatus::Analysing, None, now).await?;
            }
        }
        tx.commit().await?;
        jobs.sort_by_key(|j| j.run_at);
        Ok(jobs)
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
        let held = update_held_job(
            &mut tx,
            id,
            worker,
            "lease_until_ms = $3, updated_at_ms = $4",
            |q| q.bind(ms(lease_until)).bind(ms(now)),
        )
        .await?;
        let Some(held) = held else {
            return Ok(false);
        };
        // Only an analysis shows progress on its call (a notification job has a call too).
        if let (Some(percent), Some(call), true) =
            (progress_percent, held.call, held.kind.moves_call_status())
        {
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

    async fn renew_leases(
        &self,
        worker: &str,
        jobs: &[JobId],
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let jobs = &jobs[..jobs.len().min(MAX_CLAIM)];
        if jobs.is_empty() {
            return Ok(0);
        }
        let sql = self.dialect.in_order(format!(
            "UPDATE jobs SET lease_until_ms = $1, updated_at_ms = $2 \
             WHERE lease_owner = $3 AND state = 'running' AND id IN ({})",
            placeholders(4, jobs.len())
        ));
        let mut query = sqlx::query(&sql)
            .bind(ms(lease_until))
            .bind(ms(now))
            .bind(worker);
        for id in jobs {
            query = query.bind(id.to_string());
        }
        let mut tx = self.write.begin().await?;
        let renewed = query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(renewed.rows_affected())
    }

    async fn complete_job(&self, id: JobId, worker: &str, now: OffsetDateTime) -> Result<bool> {
        self.settle_job(id, worker, &JobChange::Done, now).await
    }

    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let change = JobChange::Failed {
            error: error.to_owned(),
            retry_at,
        };
        self.settle_job(id, worker, &change, now).await
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

    async fn job_counts(&self, now: OffsetDateTime) -> Result<Vec<JobCount>> {
        // Counted through the (state, kind, run_at_ms) index: done jobs pile up, the
        // others stay few.
        let rows = sqlx::query(
            "SELECT kind, state, COUNT(*) AS n, \
             MIN(CASE WHEN state = 'queued' AND run_at_ms <= $1 THEN run_at_ms END) AS oldest_ms \
             FROM jobs WHERE state IN ('queued', 'running', 'dead') GROUP BY kind, state",
        )
        .bind(ms(now))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(JobCount {
                    kind: kind_of(&row.try_get::<String, _>("kind")?)?,
                    state: state_of(&row.try_get::<String, _>("state")?)?,
                    count: u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0),
                    oldest_ready: row
                        .try_get::<Option<i64>, _>("oldest_ms")?
                        .map(from_ms)
                        .transpose()?,
                })
            })
            .collect()
    }
}

impl SqlStore {
    async fn settle_job(
        &self,
        id: JobId,
        worker: &str,
        change: &JobChange,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let held = settle_held_job(&mut tx, id, worker, change, now).await?;
        tx.commit().await?;
        Ok(held)
    }
}

/// Applies what became of a job `worker` still runs (see [`JobChange`]); an analysis job's
/// call follows. `false`, nothing written, when the worker lost the job.
pub(super) async fn settle_held_job(
    conn: &mut AnyConnection,
    id: JobId,
    worker: &str,
    change: &JobChange,
    now: OffsetDateTime,
) -> Result<bool> {
    let held = match change {
        JobChange::Done => complete_held_job(conn, id, worker, now).await?,
        JobChange::Failed { error, retry_at } => {
            let (state, run_at) = match retry_at {
                Some(at) => (JobState::Queued, ms(*at)),
                None => (JobState::Dead, ms(now)),
            };
            update_held_job(
                conn,
                id,
                worker,
                "state = $3, run_at_ms = $4, fair_ms = $4, last_error = $5, lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $6",
                |q| {
                    q.bind(state.as_str())
                        .bind(run_at)
                        .bind(error.clone())
                        .bind(ms(now))
                },
            )
            .await?
        }
        JobChange::Postponed { run_at } => {
            update_held_job(
                conn,
                id,
                worker,
                "state = 'queued', attempts = attempts - 1, run_at_ms = $3, fair_ms = $3, lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $4",
                |q| q.bind(ms(*run_at)).bind(ms(now)),
            )
            .await?
        }
    };
    let Some(held) = held else {
        return Ok(false);
    };
    match change {
        JobChange::Done => {
            if let (true, Some(call)) = (held.kind.moves_call_status(), &held.call) {
                set_call_status(conn, call, CallStatus::Completed, None, now).await?;
            }
        }
        JobChange::Failed { error, retry_at } => {
            follow_failure(conn, &held, error, retry_at.is_none(), now).await?;
        }
        JobChange::Postponed { .. } => {}
    }
    Ok(true)
}

/// An analysis job's call follows its failure: queued again, or failed with the cause
/// and a `call_analysis_failed` event when the job is dead.
async fn follow_failure(
    conn: &mut AnyConnection,
    held: &HeldJob,
    cause: &str,
    dead: bool,
    now: OffsetDateTime,
) -> Result<()> {
    let (true, Some(call)) = (held.kind.moves_call_status(), &held.call) else {
        return Ok(());
    };
    if !dead {
        return set_call_status(conn, call, CallStatus::Queued, None, now).await;
    }
    set_call_status(conn, call, CallStatus::Failed, Some(cause), now).await?;
    let event = NewEvent {
        company: held
            .company
            .parse()
            .map_err(|_| StorageError::corrupt("job company_id"))?,
        call: Some(
            call.parse()
                .map_err(|_| StorageError::corrupt("job call_id"))?,
        ),
        kind: EventKind::CallAnalysisFailed,
        version: None,
        previous_version: None,
        detail: Some(cause),
    };
    insert_event(conn, &event, now).await?;
    Ok(())
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
