//! Recording delivery attempts, one or a batch, in as few statements as the batch allows:
//! one update per endpoint (the attempts' effects folded in order), multi-row inserts for
//! the log, and one update for all the jobs that are done. Per-statement cost, not the
//! commit, is what bounds deliveries per second on SQLite.

use std::collections::{HashMap, HashSet};

use kiku_domain::{CallStatus, JobId, OutgoingDeliveryId, OutgoingWebhookId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::jobs::{set_call_status, settle_held_job, HeldJob};
use super::{ms, placeholders, Dialect};
use crate::{DeliveryEffect, FinishedDelivery, JobChange, NewOutgoingDelivery, Result};

/// Log rows per insert statement (12 parameters each).
const ROWS_PER_INSERT: usize = 64;
/// Jobs per update statement.
const JOBS_PER_UPDATE: usize = 256;

/// What a run of attempts does to one endpoint, applied in order: a success sets
/// `last_success` and clears `failing_since`; a failure sets `failing_since` unless set;
/// a disabling failure also disables it (the last reason wins).
#[derive(Debug, Default, PartialEq)]
pub(super) struct EndpointChange {
    /// The time of the last success, if any.
    pub last_success_ms: Option<i64>,
    /// The first failure after the last success (or of all, without a success).
    pub first_failure_ms: Option<i64>,
    pub disable: Option<String>,
}

impl EndpointChange {
    pub fn apply(&mut self, at_ms: i64, effect: &DeliveryEffect) {
        match effect {
            DeliveryEffect::Delivered => {
                self.last_success_ms = Some(at_ms);
                self.first_failure_ms = None;
            }
            DeliveryEffect::Failed => {
                self.first_failure_ms.get_or_insert(at_ms);
            }
            DeliveryEffect::Disable(reason) => {
                self.first_failure_ms.get_or_insert(at_ms);
                self.disable = Some(reason.clone());
            }
        }
    }
}

/// Logs `attempts` and applies their effects on their endpoints; per attempt, whether it
/// was recorded (not when its endpoint was deleted meanwhile).
pub(super) async fn record_attempts(
    conn: &mut AnyConnection,
    dialect: Dialect,
    attempts: &[(&NewOutgoingDelivery, &DeliveryEffect)],
) -> Result<Vec<bool>> {
    let mut changes: Vec<(OutgoingWebhookId, String, EndpointChange)> = Vec::new();
    for (a, effect) in attempts {
        let at = ms(a.attempted_at);
        match changes.iter_mut().find(|(id, _, _)| *id == a.endpoint_id) {
            Some((_, _, change)) => change.apply(at, effect),
            None => {
                let mut change = EndpointChange::default();
                change.apply(at, effect);
                changes.push((a.endpoint_id, a.company_id.to_string(), change));
            }
        }
    }
    let mut gone = HashSet::new();
    for (endpoint, company, change) in &changes {
        // Without a success in the run, an earlier failure streak keeps its start.
        let done = sqlx::query(
            "UPDATE outgoing_webhooks SET \
             last_success_ms = COALESCE($3, last_success_ms), \
             failing_since_ms = CASE WHEN $3 IS NULL THEN COALESCE(failing_since_ms, $4) ELSE $4 END, \
             enabled = CASE WHEN $5 IS NULL THEN enabled ELSE 0 END, \
             disabled_reason = COALESCE($5, disabled_reason) \
             WHERE company_id = $1 AND id = $2",
        )
        .bind(company.as_str())
        .bind(endpoint.to_string())
        .bind(change.last_success_ms)
        .bind(change.first_failure_ms)
        .bind(change.disable.clone())
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            gone.insert(*endpoint);
        }
    }
    let kept: Vec<&NewOutgoingDelivery> = attempts
        .iter()
        .map(|(a, _)| *a)
        .filter(|a| !gone.contains(&a.endpoint_id))
        .collect();
    for rows in kept.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..rows.len())
            .map(|r| format!("({})", placeholders(1 + r * 12, 12)))
            .collect();
        let sql = dialect.in_order(format!(
            "INSERT INTO outgoing_webhook_deliveries (id, endpoint_id, company_id, event_id, call_id, \
             attempt, attempted_at_ms, status, latency_ms, response_head, error, replay) VALUES {}",
            values.join(", ")
        ));
        let mut query = sqlx::query(&sql);
        for a in rows {
            query = query
                // Time-ordered: the log's primary key index grows at its end, where a
                // random id would dirty one page of it per attempt.
                .bind(OutgoingDeliveryId::from(uuid::Uuid::now_v7()).to_string())
                .bind(a.endpoint_id.to_string())
                .bind(a.company_id.to_string())
                .bind(a.event_id.clone())
                .bind(a.call_id.map(|c| c.to_string()))
                .bind(i64::from(a.attempt))
                .bind(ms(a.attempted_at))
                .bind(a.status.map(i64::from))
                .bind(i64::try_from(a.latency_ms).unwrap_or(i64::MAX))
                .bind(a.response_head.clone())
                .bind(a.error.clone())
                .bind(i64::from(a.replay));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(attempts
        .iter()
        .map(|(a, _)| !gone.contains(&a.endpoint_id))
        .collect())
}

/// Records finished delivery jobs: their attempts, then the jobs (the done ones in one
/// statement per worker); per job, whether its worker still held it.
pub(super) async fn finish(
    conn: &mut AnyConnection,
    dialect: Dialect,
    finished: &[FinishedDelivery],
    now: OffsetDateTime,
) -> Result<Vec<bool>> {
    let attempts: Vec<_> = finished
        .iter()
        .filter_map(|f| f.attempt.as_ref().map(|(a, e)| (a, e)))
        .collect();
    record_attempts(conn, dialect, &attempts).await?;
    let mut held: HashMap<usize, bool> = HashMap::new();
    let mut done: HashMap<&str, Vec<(usize, JobId)>> = HashMap::new();
    for (i, f) in finished.iter().enumerate() {
        if f.change == JobChange::Done {
            done.entry(f.worker.as_str()).or_default().push((i, f.job));
        } else {
            held.insert(
                i,
                settle_held_job(conn, f.job, &f.worker, &f.change, now).await?,
            );
        }
    }
    for (worker, jobs) in done {
        for chunk in jobs.chunks(JOBS_PER_UPDATE) {
            let completed = match dialect {
                Dialect::Sqlite => complete_held_deliveries(conn, worker, chunk, now).await?,
                Dialect::Postgres => complete_held_jobs(conn, worker, chunk, now).await?,
            };
            for (i, id) in chunk {
                held.insert(*i, completed.contains(id));
            }
        }
    }
    Ok((0..finished.len())
        .map(|i| held.get(&i).copied().unwrap_or(false))
        .collect())
}

/// [`complete_held_jobs`] for delivery jobs (no call status to move) on SQLite, where each
/// row read crosses a thread: the jobs `worker` still runs are counted (and only listed
/// when it lost some), then marked done without a row coming back. Exact: the
/// transaction already writes (the attempts), so no other writer runs in between.
async fn complete_held_deliveries(
    conn: &mut AnyConnection,
    worker: &str,
    jobs: &[(usize, JobId)],
    now: OffsetDateTime,
) -> Result<HashSet<JobId>> {
    let held = |what: &str| {
        Dialect::Sqlite.in_order(format!(
            "SELECT {what} FROM jobs WHERE lease_owner = $1 AND state = 'running' AND id IN ({})",
            placeholders(2, jobs.len())
        ))
    };
    let (count, list) = (held("COUNT(*) AS n"), held("id"));
    let ask = |sql| {
        let mut query = sqlx::query(sql).bind(worker);
        for (_, id) in jobs {
            query = query.bind(id.to_string());
        }
        query
    };
    let n: i64 = ask(&count).fetch_one(&mut *conn).await?.try_get("n")?;
    let still: HashSet<JobId> = if usize::try_from(n).ok() == Some(jobs.len()) {
        jobs.iter().map(|(_, id)| *id).collect()
    } else {
        let mut still = HashSet::new();
        for row in ask(&list).fetch_all(&mut *conn).await? {
            still.insert(super::parsed(&row, "id")?);
        }
        still
    };
    let sql = Dialect::Sqlite.in_order(format!(
        "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $1 \
         WHERE lease_owner = $2 AND state = 'running' AND id IN ({})",
        placeholders(3, jobs.len())
    ));
    let mut query = sqlx::query(&sql).bind(ms(now)).bind(worker);
    for (_, id) in jobs {
        query = query.bind(id.to_string());
    }
    query.execute(&mut *conn).await?;
    Ok(still)
}

/// Marks the jobs `worker` still runs among `jobs` done; which those were.
async fn complete_held_jobs(
    conn: &mut AnyConnection,
    worker: &str,
    jobs: &[(usize, JobId)],
    now: OffsetDateTime,
) -> Result<HashSet<JobId>> {
    let sql = format!(
        "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL, updated_at_ms = $1 \
         WHERE lease_owner = $2 AND state = 'running' AND id IN ({}) \
         RETURNING id, kind, company_id, call_id",
        placeholders(3, jobs.len())
    );
    let mut query = sqlx::query(&sql).bind(ms(now)).bind(worker);
    for (_, id) in jobs {
        query = query.bind(id.to_string());
    }
    let mut completed = HashSet::new();
    for row in query.fetch_all(&mut *conn).await? {
        let held = HeldJob::from_row(&row)?;
        if let (true, Some(call)) = (held.kind.moves_call_status(), &held.call) {
            set_call_status(conn, call, CallStatus::Completed, None, now).await?;
        }
        completed.insert(super::parsed(&row, "id")?);
    }
    Ok(completed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(effects: &[(i64, DeliveryEffect)]) -> EndpointChange {
        let mut change = EndpointChange::default();
        for (at, effect) in effects {
            change.apply(*at, effect);
        }
        change
    }

    #[test]
    fn effects_fold_as_if_applied_one_by_one() {
        use DeliveryEffect::{Delivered, Disable, Failed};
        assert_eq!(
            fold(&[(1, Failed), (2, Failed)]),
            EndpointChange {
                first_failure_ms: Some(1),
                ..Default::default()
            }
        );
        assert_eq!(
            fold(&[(1, Failed), (2, Delivered), (3, Failed), (4, Failed)]),
            EndpointChange {
                last_success_ms: Some(2),
                first_failure_ms: Some(3),
                disable: None
            }
        );
        assert_eq!(
            fold(&[(1, Disable("410".into())), (2, Delivered)]),
            EndpointChange {
                last_success_ms: Some(2),
                first_failure_ms: None,
                disable: Some("410".into())
            }
        );
    }
}
