//! The counts behind the abuse limits: sign-in failures per account, and each company's
//! calls awaiting their recording and bytes uploaded lately.

use async_trait::async_trait;
use kiku_domain::CompanyId;
use sqlx::Row;
use time::OffsetDateTime;

use super::{from_ms, ms, SqlStore};
use crate::{AbuseStore, Result};

#[async_trait]
impl AbuseStore for SqlStore {
    async fn sign_in_locked_until(
        &self,
        account: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>> {
        let until: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT locked_until_ms FROM sign_in_lockouts WHERE account = $1 AND locked_until_ms > $2",
        )
        .bind(account)
        .bind(ms(now))
        .fetch_optional(&self.read)
        .await?;
        until.flatten().map(from_ms).transpose()
    }

    async fn record_sign_in_failure(
        &self,
        account: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
        max_failures: u32,
        lock_until: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>> {
        // One statement, so concurrent failures on any process each count once.
        let row = sqlx::query(
            "INSERT INTO sign_in_lockouts (account, failures, window_started_at_ms, locked_until_ms) \
             VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $5 ELSE NULL END) \
             ON CONFLICT (account) DO UPDATE SET \
             failures = CASE WHEN sign_in_lockouts.window_started_at_ms <= $3 THEN 1 \
                        ELSE sign_in_lockouts.failures + 1 END, \
             window_started_at_ms = CASE WHEN sign_in_lockouts.window_started_at_ms <= $3 THEN $2 \
                        ELSE sign_in_lockouts.window_started_at_ms END, \
             locked_until_ms = CASE WHEN (CASE WHEN sign_in_lockouts.window_started_at_ms <= $3 THEN 1 \
                        ELSE sign_in_lockouts.failures + 1 END) >= $4 THEN $5 \
                        ELSE sign_in_lockouts.locked_until_ms END \
             RETURNING locked_until_ms",
        )
        .bind(account)
        .bind(ms(now))
        .bind(ms(window_start))
        .bind(i64::from(max_failures))
        .bind(ms(lock_until))
        .fetch_one(&self.write)
        .await?;
        row.try_get::<Option<i64>, _>("locked_until_ms")?
            .map(from_ms)
            .transpose()
    }

    async fn clear_sign_in_failures(&self, account: &str) -> Result<()> {
        sqlx::query("DELETE FROM sign_in_lockouts WHERE account = $1")
            .bind(account)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn calls_awaiting_upload(&self, company: CompanyId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM calls WHERE company_id = $1 AND status = 'awaiting_upload'",
        )
        .bind(company.to_string())
        .fetch_one(&self.read)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn uploaded_bytes_since(
        &self,
        company: CompanyId,
        since: OffsetDateTime,
    ) -> Result<(u64, Option<OffsetDateTime>)> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(audio_bytes), 0) AS BIGINT) AS used, MIN(audio_uploaded_at_ms) AS oldest \
             FROM calls WHERE company_id = $1 AND audio_uploaded_at_ms > $2",
        )
        .bind(company.to_string())
        .bind(ms(since))
        .fetch_one(&self.read)
        .await?;
        let used: i64 = row.try_get("used")?;
        let oldest = row
            .try_get::<Option<i64>, _>("oldest")?
            .map(from_ms)
            .transpose()?;
        Ok((u64::try_from(used).unwrap_or(0), oldest))
    }
}
