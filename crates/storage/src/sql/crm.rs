//! CRM connections and the record each call became in each of them, in SQL (both
//! dialects). Records are written by `finish_notification` (`sql/notifications.rs`), in the
//! transaction of the attempt that wrote them.

use async_trait::async_trait;
use kiku_domain::{CallId, CompanyId, CrmConnectionId, JobId};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::{from_ms, is_foreign_key_violation, ms, parsed, SqlStore};
use crate::secrets::Slot;
use crate::{
    CrmClaim, CrmConnection, CrmConnectionInput, CrmRecord, CrmRecordWrite, CrmStore, Result,
    SecretKeys, StorageError,
};

const CREDENTIALS: &str = "crm_connections.credentials";

const RECORD_COLUMNS: &str = "connection_id, call_id, record_id, version, event_id, updated_at_ms";

const COLUMNS: &str = "id, company_id, kind, name, base_url, settings, credentials, content, \
    enabled, created_at_ms, updated_at_ms";

fn json_column(row: &AnyRow, column: &str) -> Result<Value> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .map_err(|_| StorageError::corrupt(format!("crm connection {column} does not read")))
}

fn connection(row: &AnyRow, keys: &SecretKeys) -> Result<CrmConnection> {
    let id: CrmConnectionId = parsed(row, "id")?;
    let company_id: CompanyId = parsed(row, "company_id")?;
    let sealed: String = row.try_get("credentials")?;
    let slot = Slot {
        column: CREDENTIALS,
        company: company_id,
        row: &id.to_string(),
    };
    let credentials = serde_json::from_str(&keys.open(&sealed, slot)?)
        .map_err(|_| StorageError::corrupt("crm connection credentials do not read"))?;
    Ok(CrmConnection {
        id,
        company_id,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        base_url: row.try_get("base_url")?,
        settings: json_column(row, "settings")?,
        credentials,
        content: row.try_get("content")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: from_ms(row.try_get("created_at_ms")?)?,
        updated_at: from_ms(row.try_get("updated_at_ms")?)?,
    })
}

fn record(row: &AnyRow) -> Result<CrmRecord> {
    Ok(CrmRecord {
        connection_id: parsed(row, "connection_id")?,
        call_id: parsed(row, "call_id")?,
        record_id: row.try_get("record_id")?,
        version: u32::try_from(row.try_get::<i64, _>("version")?)
            .map_err(|_| StorageError::corrupt("crm record version"))?,
        event_id: row.try_get("event_id")?,
        updated_at: from_ms(row.try_get("updated_at_ms")?)?,
    })
}

/// Ends `job`'s claim on the record it was writing, in the transaction of its attempt
/// (the record it kept is visible to whoever claims next).
pub(super) async fn release_claim(conn: &mut AnyConnection, job: JobId) -> Result<()> {
    sqlx::query("DELETE FROM crm_record_claims WHERE job_id = $1")
        .bind(job.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Keeps the record a delivered attempt wrote, unless the row already holds a newer
/// version of the result (a slow retry of the first event must not take the swap's place).
pub(super) async fn keep_record(
    conn: &mut AnyConnection,
    r: &CrmRecordWrite,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO crm_records (connection_id, call_id, company_id, record_id, version, \
         event_id, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (connection_id, call_id) DO UPDATE SET record_id = excluded.record_id, \
         version = excluded.version, event_id = excluded.event_id, \
         updated_at_ms = excluded.updated_at_ms WHERE crm_records.version <= excluded.version",
    )
    .bind(r.connection_id.to_string())
    .bind(r.call_id.to_string())
    .bind(r.company_id.to_string())
    .bind(r.record_id.clone())
    .bind(i64::from(r.version))
    .bind(r.event_id.clone())
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqlStore {
    /// A connection's credentials as stored: encrypted for its row.
    fn sealed_credentials(
        &self,
        company: CompanyId,
        id: CrmConnectionId,
        input: &CrmConnectionInput,
    ) -> String {
        let row = id.to_string();
        let slot = Slot {
            column: CREDENTIALS,
            company,
            row: &row,
        };
        self.secrets.seal(&input.credentials.to_string(), slot)
    }
}

#[async_trait]
impl CrmStore for SqlStore {
    async fn create_crm_connection(
        &self,
        company: CompanyId,
        input: &CrmConnectionInput,
        now: OffsetDateTime,
    ) -> Result<CrmConnection> {
        let id = CrmConnectionId::new();
        sqlx::query(&format!(
            "INSERT INTO crm_connections ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
        ))
        .bind(id.to_string())
        .bind(company.to_string())
        .bind(&input.kind)
        .bind(&input.name)
        .bind(input.base_url.clone())
        .bind(input.settings.to_string())
        .bind(self.sealed_credentials(company, id, input))
        .bind(&input.content)
        .bind(i64::from(input.enabled))
        .bind(ms(now))
        .execute(&self.write)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                StorageError::NotFound(format!("company {company}"))
            } else {
                e.into()
            }
        })?;
        self.crm_connection(company, id)
            .await?
            .ok_or_else(|| StorageError::corrupt("crm connection vanished after insert"))
    }

    async fn crm_connections(&self, company: CompanyId) -> Result<Vec<CrmConnection>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM crm_connections WHERE company_id = $1 \
             ORDER BY created_at_ms, id"
        ))
        .bind(company.to_string())
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| connection(row, &self.secrets))
        .collect()
    }

    async fn crm_connection(
        &self,
        company: CompanyId,
        id: CrmConnectionId,
    ) -> Result<Option<CrmConnection>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM crm_connections WHERE company_id = $1 AND id = $2"
        ))
        .bind(company.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .as_ref()
        .map(|row| connection(row, &self.secrets))
        .transpose()
    }

    async fn replace_crm_connection(
        &self,
        company: CompanyId,
        id: CrmConnectionId,
        input: &CrmConnectionInput,
        now: OffsetDateTime,
    ) -> Result<Option<CrmConnection>> {
        let done = sqlx::query(
            "UPDATE crm_connections SET name = $3, base_url = $4, settings = $5, \
             credentials = $6, content = $7, enabled = $8, updated_at_ms = $9 \
             WHERE company_id = $1 AND id = $2",
        )
        .bind(company.to_string())
        .bind(id.to_string())
        .bind(&input.name)
        .bind(input.base_url.clone())
        .bind(input.settings.to_string())
        .bind(self.sealed_credentials(company, id, input))
        .bind(&input.content)
        .bind(i64::from(input.enabled))
        .bind(ms(now))
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.crm_connection(company, id).await
    }

    async fn delete_crm_connection(&self, company: CompanyId, id: CrmConnectionId) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM crm_connections WHERE company_id = $1 AND id = $2")
            .bind(company.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM crm_records WHERE company_id = $1 AND connection_id = $2")
            .bind(company.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() > 0 {
            sqlx::query("DELETE FROM crm_record_claims WHERE connection_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn crm_record(
        &self,
        company: CompanyId,
        connection: CrmConnectionId,
        call: CallId,
    ) -> Result<Option<CrmRecord>> {
        sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM crm_records \
             WHERE company_id = $1 AND connection_id = $2 AND call_id = $3"
        ))
        .bind(company.to_string())
        .bind(connection.to_string())
        .bind(call.to_string())
        .fetch_optional(&self.read)
        .await?
        .as_ref()
        .map(record)
        .transpose()
    }

    async fn claim_crm_record(
        &self,
        company: CompanyId,
        connection: CrmConnectionId,
        call: CallId,
        job: JobId,
        now: OffsetDateTime,
    ) -> Result<CrmClaim> {
        let mut tx = self.write.begin().await?;
        // The unique key makes a second claimer wait for the first one's insert; the row
        // is then taken over only from a job that no longer runs with a live lease (or
        // by the same job, run again).
        let claimed = sqlx::query(
            "INSERT INTO crm_record_claims (connection_id, call_id, job_id, claimed_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (connection_id, call_id) DO UPDATE \
             SET job_id = excluded.job_id, claimed_at_ms = excluded.claimed_at_ms \
             WHERE crm_record_claims.job_id = excluded.job_id OR NOT EXISTS (\
             SELECT 1 FROM jobs j WHERE j.id = crm_record_claims.job_id \
             AND j.state = 'running' AND j.lease_until_ms >= $4)",
        )
        .bind(connection.to_string())
        .bind(call.to_string())
        .bind(job.to_string())
        .bind(ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            tx.rollback().await?;
            return Ok(CrmClaim::Busy);
        }
        let found = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM crm_records \
             WHERE company_id = $1 AND connection_id = $2 AND call_id = $3"
        ))
        .bind(company.to_string())
        .bind(connection.to_string())
        .bind(call.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(record)
        .transpose()?;
        tx.commit().await?;
        Ok(CrmClaim::Held(found))
    }
}
