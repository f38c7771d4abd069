//! Call histories: atomic idempotent ingest, reads scoped by company, audio attachment.

use async_trait::async_trait;
use kiku_domain::job_retry::RetryPolicy;
use kiku_domain::search::CallSearch;
use kiku_domain::{CallData, CallId, CallStatus, CompanyId, JobId, JobKind};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::ingest::{ingest_batches, Batch};
use super::jobs::insert_job;
use super::{from_ms, is_unique_violation, ms, parsed, SqlStore};
use crate::{
    AttachOutcome, AudioInfo, CallRecord, CallStore, IngestedCall, NewAudio, NewJob, Result,
    SearchPage, StorageError, UploadTarget,
};

pub(super) const CALL_COLUMNS: &str =
    "id, company_id, call_data, status, status_reason, audio_key, audio_bytes, audio_uploaded_at_ms, audio_redacted_at_ms, original_audio_key, progress_percent, created_at_ms";

pub(super) fn status_of(row: &AnyRow) -> Result<CallStatus> {
    let text: String = row.try_get("status")?;
    CallStatus::parse(&text).ok_or_else(|| StorageError::corrupt(format!("call status {text:?}")))
}

pub(super) fn call_from_row(row: &AnyRow) -> Result<CallRecord> {
    let data: String = row.try_get("call_data")?;
    let audio = match row.try_get::<Option<String>, _>("audio_key")? {
        Some(key) => Some(AudioInfo {
            key,
            bytes: u64::try_from(
                row.try_get::<Option<i64>, _>("audio_bytes")?
                    .unwrap_or_default(),
            )
            .unwrap_or_default(),
            uploaded_at: from_ms(
                row.try_get::<Option<i64>, _>("audio_uploaded_at_ms")?
                    .unwrap_or_default(),
            )?,
            redacted_at: row
                .try_get::<Option<i64>, _>("audio_redacted_at_ms")?
                .map(from_ms)
                .transpose()?,
            original_key: row.try_get("original_audio_key")?,
        }),
        None => None,
    };
    let progress_percent = match row.try_get::<Option<i64>, _>("progress_percent")? {
        Some(p) => Some(
            u8::try_from(p)
                .map_err(|_| StorageError::corrupt(format!("progress_percent = {p}")))?,
        ),
        None => None,
    };
    Ok(CallRecord {
        id: parsed(row, "id")?,
        company_id: parsed(row, "company_id")?,
        data: serde_json::from_str::<CallData>(&data).map_err(StorageError::corrupt)?,
        status: status_of(row)?,
        status_reason: row.try_get("status_reason")?,
        audio,
        progress_percent,
        created_at: from_ms(row.try_get("created_at_ms")?)?,
    })
}

#[async_trait]
impl CallStore for SqlStore {
    async fn ingest_calls(
        &self,
        company: CompanyId,
        calls: &[CallData],
        now: OffsetDateTime,
    ) -> Result<Vec<IngestedCall>> {
        if let Some(group) = &self.group_commit {
            return group.ingest(company, calls.to_vec(), now).await;
        }
        // Two requests racing to insert the same new call: the loser's unique violation is
        // retried, and then finds the winner's row like any other retry would.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = self.write.begin().await?;
            let batch = Batch {
                company,
                calls,
                now,
            };
            let outcome = ingest_batches(&mut tx, std::slice::from_ref(&batch))
                .await
                .map(|mut o| o.pop());
            match outcome {
                Ok(None) => return Err(StorageError::corrupt("ingest returned no outcome")),
                Ok(Some(Ok(out))) => {
                    tx.commit().await?;
                    return Ok(out);
                }
                Ok(Some(Err(conflicts))) => {
                    tx.rollback().await?;
                    return Err(StorageError::CallDataConflict(conflicts));
                }
                Err(StorageError::Database(e)) if attempt < 3 && is_unique_violation(&e) => {
                    tx.rollback().await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn call(&self, company: CompanyId, id: CallId) -> Result<Option<CallRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE company_id = $1 AND id = $2"
        ))
        .bind(company.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(call_from_row).transpose()
    }

    async fn search_calls(
        &self,
        company: CompanyId,
        search: &CallSearch,
        with_total: bool,
    ) -> Result<SearchPage> {
        self.search(company, search, with_total).await
    }

    async fn upload_target(&self, id: CallId) -> Result<Option<UploadTarget>> {
        let row = sqlx::query("SELECT id, company_id, status FROM calls WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| {
            Ok(UploadTarget {
                id: parsed(&row, "id")?,
                company_id: parsed(&row, "company_id")?,
                status: status_of(&row)?,
            })
        })
        .transpose()
    }

    async fn attach_audio(
        &self,
        id: CallId,
        audio: NewAudio,
        now: OffsetDateTime,
    ) -> Result<AttachOutcome> {
        let mut tx = self.write.begin().await?;
        let Some(row) = sqlx::query(&format!(
            "SELECT company_id, status, audio_key FROM calls WHERE id = $1 {}",
            self.dialect.lock_row()
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(AttachOutcome::NotFound);
        };
        let status = status_of(&row)?;
        if !status.accepts_upload() {
            return Ok(AttachOutcome::Closed(status));
        }
        let company: String = row.try_get("company_id")?;
        let replaced: Option<String> = row.try_get("audio_key")?;
        sqlx::query(
            "UPDATE calls SET audio_key = $1, audio_bytes = $2, audio_uploaded_at_ms = $3, audio_redacted_at_ms = NULL, original_audio_key = NULL, status = $4, updated_at_ms = $3 WHERE id = $5",
        )
        .bind(&audio.key)
        .bind(i64::try_from(audio.bytes).unwrap_or(i64::MAX))
        .bind(ms(now))
        .bind(CallStatus::Queued.as_str())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let queued =
            sqlx::query("SELECT 1 FROM jobs WHERE call_id = $1 AND kind = $2 AND state = 'queued'")
                .bind(id.to_string())
                .bind(JobKind::AnalyseCall.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if queued.is_none() {
            let job = NewJob {
                id: JobId::new(),
                kind: JobKind::AnalyseCall,
                company_id: company
                    .parse()
                    .map_err(|_| StorageError::corrupt("calls.company_id"))?,
                call_id: Some(id),
                payload: "{}".into(),
                max_attempts: RetryPolicy::default().max_attempts,
                run_at: now,
            };
            insert_job(&mut tx, &job, now).await?;
        }
        tx.commit().await?;
        Ok(AttachOutcome::Attached { replaced })
    }

    async fn use_redacted_audio(
        &self,
        id: CallId,
        original_key: &str,
        copy: NewAudio,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE calls SET original_audio_key = audio_key, audio_key = $1, audio_bytes = $2, audio_redacted_at_ms = $3, updated_at_ms = $3 \
             WHERE id = $4 AND audio_key = $5 AND audio_redacted_at_ms IS NULL",
        )
        .bind(&copy.key)
        .bind(i64::try_from(copy.bytes).unwrap_or(i64::MAX))
        .bind(ms(now))
        .bind(id.to_string())
        .bind(original_key)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn forget_original_audio(&self, id: CallId, original_key: &str) -> Result<()> {
        sqlx::query(
            "UPDATE calls SET original_audio_key = NULL WHERE id = $1 AND original_audio_key = $2",
        )
        .bind(id.to_string())
        .bind(original_key)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
