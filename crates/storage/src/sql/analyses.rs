//! Analysis results (stored with the job that produced them) and analysis settings.

use async_trait::async_trait;
use kiku_domain::{CallId, CallStatus, CompanyId, JobId};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::jobs::{complete_held_job, set_call_status};
use super::{from_ms, is_foreign_key_violation, ms, parsed, placeholders, SqlStore};
use crate::{AnalysisRecord, AnalysisStore, NewAnalysis, Result, StorageError};

const ANALYSIS_COLUMNS: &str =
    "call_id, company_id, version, engine, transcript, roles, report, created_at_ms, updated_at_ms";

/// Bound ids per `IN (…)`, well under every backend's parameter limit.
const IDS_PER_LOOKUP: usize = 500;

fn analysis_from_row(row: &AnyRow) -> Result<AnalysisRecord> {
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
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        // The job row first, as everywhere, so PostgreSQL lock order stays jobs → calls.
        let Some(held) = complete_held_job(&mut tx, job, worker, now).await? else {
            return Ok(false);
        };
        set_call_status(&mut tx, &held.call, CallStatus::Completed, None, now).await?;
        sqlx::query(
            "INSERT INTO analyses (call_id, company_id, version, engine, transcript, roles, report, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (call_id) DO UPDATE SET version = analyses.version + 1, engine = excluded.engine, \
             transcript = excluded.transcript, roles = excluded.roles, report = excluded.report, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&held.call)
        .bind(&held.company)
        .bind(&analysis.engine)
        .bind(&analysis.transcript)
        .bind(&analysis.roles)
        .bind(&analysis.report)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
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
        roles: &str,
        report: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        // The version check and the bump are one statement, so concurrent updates serialise on the row.
        let done = sqlx::query(
            "UPDATE analyses SET roles = $1, report = $2, version = version + 1, updated_at_ms = $3 \
             WHERE company_id = $4 AND call_id = $5 AND version = $6",
        )
        .bind(roles)
        .bind(report)
        .bind(ms(now))
        .bind(company.to_string())
        .bind(call.to_string())
        .bind(i64::from(expected_version))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
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
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO analysis_settings (company_id, settings, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (company_id) DO UPDATE SET settings = excluded.settings, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(company.to_string())
        .bind(settings)
        .bind(ms(now))
        .execute(&self.write)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                StorageError::NotFound("no such company".into())
            } else {
                e.into()
            }
        })?;
        Ok(())
    }
}
