//! The audit log in SQL: INSERT and SELECT only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use kiku_domain::{AuditEntryId, CompanyId};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use super::{cursor_binds, from_ms, ms, parsed, SqlStore};
use crate::{AuditEntry, AuditFilter, AuditLogStore, NewAuditEntry, Result};

#[async_trait]
impl AuditLogStore for SqlStore {
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntryId> {
        let id = ordered_id();
        sqlx::query(
            "INSERT INTO audit_log (id, company_id, at_ms, actor_id, actor_name, action, target, \
             details, client, via) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.to_string())
        .bind(entry.company_id.to_string())
        .bind(ms(entry.at))
        .bind(&entry.actor_id)
        .bind(&entry.actor_name)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.details)
        .bind(&entry.client)
        .bind(&entry.via)
        .execute(&self.write)
        .await?;
        Ok(id)
    }

    async fn audit_entries(
        &self,
        company: CompanyId,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>> {
        let (before_ms, before_id) = cursor_binds(filter.before);
        sqlx::query(
            "SELECT id, company_id, at_ms, actor_id, actor_name, action, target, details, client, \
             via FROM audit_log WHERE company_id = $1 \
             AND ($2 IS NULL OR at_ms >= $2) AND ($3 IS NULL OR at_ms < $3) \
             AND ($4 IS NULL OR actor_id = $4) AND ($5 IS NULL OR action = $5) \
             AND ($6 IS NULL OR at_ms < $6 OR (at_ms = $6 AND id < $7)) \
             ORDER BY at_ms DESC, id DESC LIMIT $8",
        )
        .bind(company.to_string())
        .bind(filter.since.map(ms))
        .bind(filter.until.map(ms))
        .bind(&filter.actor_id)
        .bind(&filter.action)
        .bind(before_ms)
        .bind(before_id)
        .bind(i64::from(filter.limit))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(entry)
        .collect()
    }
}

/// A new entry's id: ids grow with the system time and, within a process, strictly, so
/// entries of one millisecond list in the order they were written (the log is ordered by
/// time, then id). The low 64 bits are random.
fn ordered_id() -> AuditEntryId {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    let high = now.max(previous.saturating_add(1));
    let low = Uuid::new_v4().as_u128() & u128::from(u64::MAX);
    AuditEntryId::from(Uuid::from_u128((u128::from(high) << 64) | low))
}

fn entry(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: parsed(row, "id")?,
        entry: NewAuditEntry {
            company_id: parsed(row, "company_id")?,
            at: from_ms(row.try_get("at_ms")?)?,
            actor_id: row.try_get("actor_id")?,
            actor_name: row.try_get("actor_name")?,
            action: row.try_get("action")?,
            target: row.try_get("target")?,
            details: row.try_get("details")?,
            client: row.try_get("client")?,
            via: row.try_get("via")?,
        },
    })
}
