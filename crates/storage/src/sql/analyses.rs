//! Analysis results (stored with the job that produced them) and analysis settings.

use async_trait::async_trait;
use kiku_domain::job_retry::RetryPolicy;
use kiku_domain::outbox::VersionReason;
use kiku_domain::{CallId, CallStatus, CompanyId, EventKind, JobId, JobKind};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::events::{insert_event, NewEvent};
use super::jobs::{complete_held_job, insert_job, set_call_status};
use super::search_index::write_analysis_index;
use super::{from_ms, is_foreign_key_violation, ms, parsed, placeholders, SqlStore};
use crate::{
    AnalysisRecord, AnalysisStore, FinishOutcome, Minutes, NewAnalysis, NewJob, NewMinutes, Result,
    Revision, StorageError,
};

const ANALYSIS_COLUMNS: &str =
    "call_id, company_id, version, engine, transcript, roles, report, reason, created_at_ms, updated_at_ms";
/// The same columns from `analysis_versions`, where each row is made once.
pub(super) const VERSION_COLUMNS: &str =
    "call_id, company_id, version, engine, transcript, roles, report, reason, created_at_ms, created_at_ms AS updated_at_ms";

/// Bound ids per `IN (…)`, well under every backend's parameter limit.
const IDS_PER_LOOKUP: usize = 500;

pub(super) fn analysis_from_row(row: &AnyRow) -> Result<AnalysisRecord> {
    let version: i64 = row.try_get("version")?;
    Ok(AnalysisRecord {
        call_id: parsed(row, "call_id")?,
        company_id: parsed(row, "company_id")?,
        version: u32::try_from(version)
            .map_err(|_| StorageError::corrupt(format!("analysis version {version}")))?,
        engine: row.try_get("engine")?,
        transcript: row.try_get("transcript")?,
        roles: row.try_get("roles")?,
        report: row.try_get("report")?,
        reason: {
            let reason: String = row.try_get("reason")?;
            VersionReason::parse(&reason)
                .ok_or_else(|| StorageError::corrupt(format!("version reason {reason:?}")))?
        },
        created_at: from_ms(row.try_get("created_at_ms")?)?,
        updated_at: from_ms(row.try_get("updated_at_ms")?)?,
    })
}

#[async_trait]
impl AnalysisStore for SqlStore {
    async fn finish_analysis(
        &self,
        job: JobId,
        worker: &str,
        analysis: &NewAnalysis,
        settings_used: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<FinishOutcome> {
        let mut tx = self.write.begin().await?;
        // The job row first, as everywhere, so PostgreSQL lock order stays jobs → calls.
        let Some(held) = complete_held_job(&mut tx, job, worker, now).await? else {
            return Ok(FinishOutcome::NotHeld);
        };
        let company: CompanyId = held
            .company
            .parse()
            .map_err(|_| StorageError::corrupt("job company_id"))?;
        let call: CallId = held
            .call
            .as_deref()
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| StorageError::corrupt("an analysis job without its call"))?;
        // A settings change committed since the report was made: its re-score may already
        // have passed this call, so the report must be made again with the new settings.
        let current: Option<String> = sqlx::query(&format!(
            "SELECT settings FROM analysis_settings WHERE company_id = $1 {}",
            self.dialect.lock_row()
        ))
        .bind(company.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("settings"))
        .transpose()?;
        if current.as_deref() != settings_used {
            return Ok(FinishOutcome::SettingsChanged);
        }
        let call_text = call.to_string();
        set_call_status(&mut tx, &call_text, CallStatus::Completed, None, now).await?;
        let previous: Option<i64> = sqlx::query(&format!(
            "SELECT version FROM analyses WHERE call_id = $1 {}",
            self.dialect.lock_row()
        ))
        .bind(&call_text)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("version"))
        .transpose()?;
        let version = previous.map_or(1, |v| v + 1);
        sqlx::query(
            "INSERT INTO analyses (call_id, company_id, version, engine, transcript, roles, report, reason, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'analysis', $8, $8) \
             ON CONFLICT (call_id) DO UPDATE SET version = excluded.version, engine = excluded.engine, \
             transcript = excluded.transcript, roles = excluded.roles, report = excluded.report, \
             reason = excluded.reason, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&call_text)
        .bind(company.to_string())
        .bind(version)
        .bind(&analysis.engine)
        .bind(&analysis.transcript)
        .bind(&analysis.roles)
        .bind(&analysis.report)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        write_analysis_index(&mut tx, self.dialect, company, call, &analysis.report, now).await?;
        let version = u32::try_from(version).map_err(|_| StorageError::corrupt("version"))?;
        let previous = previous.and_then(|v| u32::try_from(v).ok());
        record_version(
            &mut tx,
            company,
            call,
            version,
            previous,
            VersionReason::Analysis,
            now,
        )
        .await?;
        if analysis.write_minutes {
            insert_job(&mut tx, &NewJob::minutes(company, call, version, now), now).await?;
        }
        tx.commit().await?;
        Ok(FinishOutcome::Stored { version })
    }

    async fn analysis(&self, company: CompanyId, call: CallId) -> Result<Option<AnalysisRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE company_id = $1 AND call_id = $2"
        ))
        .bind(company.to_string())
        .bind(call.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(analysis_from_row).transpose()
    }

    async fn analyses_of(
        &self,
        company: CompanyId,
        calls: &[CallId],
    ) -> Result<Vec<AnalysisRecord>> {
        let mut ids: Vec<String> = calls.iter().map(CallId::to_string).collect();
        // Repeats would otherwise come back once per chunk they fall in.
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let sql = format!(
                "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE company_id = $1 AND call_id IN ({}) ORDER BY call_id",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(company.to_string());
            for id in chunk {
                query = query.bind(id.as_str());
            }
            for row in query.fetch_all(&self.read).await? {
                out.push(analysis_from_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn analyses_page(
        &self,
        company: CompanyId,
        after: Option<CallId>,
        limit: u32,
    ) -> Result<Vec<AnalysisRecord>> {
        let limit = i64::from(limit);
        let rows = match after {
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE company_id = $1 AND call_id > $2 ORDER BY call_id LIMIT {limit}"
                ))
                .bind(company.to_string())
                .bind(after.to_string())
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE company_id = $1 ORDER BY call_id LIMIT {limit}"
                ))
                .bind(company.to_string())
                .fetch_all(&self.read)
                .await?
            }
        };
        rows.iter().map(analysis_from_row).collect()
    }

    async fn update_analysis(
        &self,
        company: CompanyId,
        call: CallId,
        expected_version: u32,
        revision: Revision<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<u32>> {
        let Revision {
            roles,
            report,
            reason,
            write_minutes,
        } = revision;
        let mut tx = self.write.begin().await?;
        // The version check and the bump are one statement, so concurrent updates serialise on the row.
        let done = sqlx::query(
            "UPDATE analyses SET roles = $1, report = $2, version = version + 1, reason = $3, updated_at_ms = $4 \
             WHERE company_id = $5 AND call_id = $6 AND version = $7",
        )
        .bind(roles)
        .bind(report)
        .bind(reason.as_str())
        .bind(ms(now))
        .bind(company.to_string())
        .bind(call.to_string())
        .bind(i64::from(expected_version))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        write_analysis_index(&mut tx, self.dialect, company, call, report, now).await?;
        let version = expected_version + 1;
        record_version(
            &mut tx,
            company,
            call,
            version,
            Some(expected_version),
            reason,
            now,
        )
        .await?;
        if write_minutes {
            insert_job(&mut tx, &NewJob::minutes(company, call, version, now), now).await?;
        }
        tx.commit().await?;
        Ok(Some(version))
    }

    async fn analysis_versions(
        &self,
        company: CompanyId,
        call: CallId,
    ) -> Result<Vec<AnalysisRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM analysis_versions WHERE company_id = $1 AND call_id = $2 ORDER BY version"
        ))
        .bind(company.to_string())
        .bind(call.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(analysis_from_row).collect()
    }

    async fn analysis_version(
        &self,
        company: CompanyId,
        call: CallId,
        version: u32,
    ) -> Result<Option<AnalysisRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM analysis_versions WHERE company_id = $1 AND call_id = $2 AND version = $3"
        ))
        .bind(company.to_string())
        .bind(call.to_string())
        .bind(i64::from(version))
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(analysis_from_row).transpose()
    }

    async fn finish_minutes(
        &self,
        job: JobId,
        worker: &str,
        minutes: &NewMinutes<'_>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let Some(held) = complete_held_job(&mut tx, job, worker, now).await? else {
            return Ok(false);
        };
        let company: CompanyId = held
            .company
            .parse()
            .map_err(|_| StorageError::corrupt("job company_id"))?;
        // Minutes of an earlier version finishing late never replace later ones.
        let stored = sqlx::query(
            "INSERT INTO call_minutes (call_id, company_id, version, text, model, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (call_id) DO UPDATE SET version = excluded.version, text = excluded.text, \
             model = excluded.model, created_at_ms = excluded.created_at_ms \
             WHERE call_minutes.version <= excluded.version",
        )
        .bind(minutes.call.to_string())
        .bind(company.to_string())
        .bind(i64::from(minutes.version))
        .bind(minutes.text)
        .bind(minutes.model)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        if stored.rows_affected() == 1 {
            let event = NewEvent {
                company,
                call: Some(minutes.call),
                kind: EventKind::CallSummarizationCompleted,
                version: Some(minutes.version),
                previous_version: None,
                detail: Some(minutes.text),
            };
            insert_event(&mut tx, &event, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn minutes(&self, company: CompanyId, call: CallId) -> Result<Option<Minutes>> {
        let row = sqlx::query(
            "SELECT version, text, model, created_at_ms FROM call_minutes \
             WHERE company_id = $1 AND call_id = $2",
        )
        .bind(company.to_string())
        .bind(call.to_string())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let version: i64 = row.try_get("version")?;
        Ok(Some(Minutes {
            version: u32::try_from(version)
                .map_err(|_| StorageError::corrupt(format!("minutes version {version}")))?,
            text: row.try_get("text")?,
            model: row.try_get("model")?,
            created_at: from_ms(row.try_get("created_at_ms")?)?,
        }))
    }

    async fn count_analyses(&self, company: CompanyId) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM analyses WHERE company_id = $1")
            .bind(company.to_string())
            .fetch_one(&self.read)
            .await?;
        Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
    }

    async fn analysis_settings(&self, company: CompanyId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT settings FROM analysis_settings WHERE company_id = $1")
            .bind(company.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| r.try_get("settings"))
            .transpose()
            .map_err(Into::into)
    }

    async fn set_analysis_settings(
        &self,
        company: CompanyId,
        settings: &str,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO analysis_settings (company_id, settings, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (company_id) DO UPDATE SET settings = excluded.settings, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(company.to_string())
        .bind(settings)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                StorageError::NotFound("no such company".into())
            } else {
                StorageError::from(e)
            }
        })?;
        let calls =
            queue_over_analyses(&mut tx, company, JobKind::RescoreCompany, "{}", now).await?;
        tx.commit().await?;
        Ok(calls)
    }
}

/// Enqueues a job of `kind` that goes over every analysed call of the company; how many
/// calls that is.
pub(super) async fn queue_over_analyses(
    conn: &mut AnyConnection,
    company: CompanyId,
    kind: JobKind,
    payload: &str,
    now: OffsetDateTime,
) -> Result<u64> {
    let job = NewJob {
        id: JobId::new(),
        kind,
        company_id: company,
        call_id: None,
        payload: payload.into(),
        max_attempts: RetryPolicy::default().max_attempts,
        run_at: now,
    };
    insert_job(conn, &job, now).await?;
    let row = sqlx::query("SELECT COUNT(*) AS n FROM analyses WHERE company_id = $1")
        .bind(company.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
}

/// Keeps `version` of the call's result for good and announces it: the row of
/// `analysis_versions` is a copy of the current `analyses` row, made in its transaction.
async fn record_version(
    conn: &mut AnyConnection,
    company: CompanyId,
    call: CallId,
    version: u32,
    previous_version: Option<u32>,
    reason: VersionReason,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO analysis_versions (call_id, version, company_id, engine, transcript, roles, report, reason, created_at_ms) \
         SELECT call_id, version, company_id, engine, transcript, roles, report, reason, $1 FROM analyses WHERE call_id = $2",
    )
    .bind(ms(now))
    .bind(call.to_string())
    .execute(&mut *conn)
    .await?;
    let event = NewEvent {
        company,
        call: Some(call),
        kind: reason.event(),
        version: Some(version),
        previous_version,
        detail: None,
    };
    insert_event(conn, &event, now).await?;
    Ok(())
}
