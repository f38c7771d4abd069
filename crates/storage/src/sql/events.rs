//! The outbox: an event is inserted by the operation that changes a result, in its
//! transaction, together with the delivery job of every enabled subscriber, so nothing
//! committed goes unannounced and announcing costs no transaction of its own.

use std::sync::Arc;

use async_trait::async_trait;
use kiku_domain::outgoing_webhook::DeliveryJob;
use kiku_domain::{CallId, CompanyId, EventId, EventKind};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::analyses::{analysis_from_row, VERSION_COLUMNS};
use super::calls::{call_from_row, CALL_COLUMNS};
use super::jobs::insert_job;
use super::notification_fan_out::{queue_crm_updates, queue_notifications};
use super::outgoing_webhooks::subscribers;
use super::{from_ms, ms, parsed, placeholders, SqlStore};
use crate::{Announced, Event, EventStore, NewJob, Result, StorageError};

const EVENT_COLUMNS: &str =
    "id, company_id, call_id, kind, version, previous_version, detail, created_at_ms";

/// An event to write.
pub(super) struct NewEvent<'a> {
    pub company: CompanyId,
    pub call: Option<CallId>,
    pub kind: EventKind,
    pub version: Option<u32>,
    pub previous_version: Option<u32>,
    pub detail: Option<&'a str>,
}

/// Writes the event and a delivery job for each enabled outgoing webhook subscribed to
/// its kind, the jobs of its Slack messages, e-mails and CRM records for a completed
/// result, and of its CRM record updates for a re-scored one; its id.
pub(super) async fn insert_event(
    conn: &mut AnyConnection,
    event: &NewEvent<'_>,
    now: OffsetDateTime,
) -> Result<EventId> {
    let id = EventId::new();
    sqlx::query(
        "INSERT INTO events (id, company_id, call_id, kind, version, previous_version, detail, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(event.company.to_string())
    .bind(event.call.map(|c| c.to_string()))
    .bind(event.kind.as_str())
    .bind(event.version.map(i64::from))
    .bind(event.previous_version.map(i64::from))
    .bind(event.detail)
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    for endpoint_id in subscribers(conn, event.company, event.kind.as_str()).await? {
        let delivery = DeliveryJob {
            event_id: id,
            endpoint_id,
            replay: false,
        };
        insert_job(conn, &NewJob::delivery(event.company, &delivery, now), now).await?;
    }
    match (event.kind, event.call) {
        (EventKind::CallAnalysisCompleted, Some(call)) => {
            queue_notifications(conn, event.company, call, id, now).await?;
        }
        (EventKind::CallAnalysisRescored, Some(call)) => {
            queue_crm_updates(conn, event.company, call, id, now).await?;
        }
        _ => {}
    }
    Ok(id)
}

fn event_from_row(row: &AnyRow) -> Result<Event> {
    let kind: String = row.try_get("kind")?;
    let call: Option<String> = row.try_get("call_id")?;
    let version = |c: &str| -> Result<Option<u32>> {
        let v: Option<i64> = row.try_get(c)?;
        v.map(|v| u32::try_from(v).map_err(|_| StorageError::corrupt(format!("{c} = {v}"))))
            .transpose()
    };
    Ok(Event {
        id: parsed(row, "id")?,
        company_id: parsed(row, "company_id")?,
        call_id: call
            .map(|c| {
                c.parse()
                    .map_err(|_| StorageError::corrupt(format!("call_id = {c:?}")))
            })
            .transpose()?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StorageError::corrupt(format!("event kind {kind:?}")))?,
        version: version("version")?,
        previous_version: version("previous_version")?,
        detail: row.try_get("detail")?,
        created_at: from_ms(row.try_get("created_at_ms")?)?,
    })
}

#[async_trait]
impl EventStore for SqlStore {
    async fn event(&self, company: CompanyId, id: EventId) -> Result<Option<Event>> {
        let row = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE company_id = $1 AND id = $2"
        ))
        .bind(company.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn events_of_call(&self, company: CompanyId, call: CallId) -> Result<Vec<Event>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE company_id = $1 AND call_id = $2 ORDER BY created_at_ms, COALESCE(version, 0), id"
        ))
        .bind(company.to_string())
        .bind(call.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn announced(&self, company: CompanyId, ids: &[EventId]) -> Result<Vec<Announced>> {
        let ids = &ids[..ids.len().min(MAX_ANNOUNCED)];
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.read.acquire().await?;
        let sql = self.dialect.in_order(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE company_id = $1 AND id IN ({})",
            placeholders(2, ids.len())
        ));
        let mut query = sqlx::query(&sql).bind(company.to_string());
        for id in ids {
            query = query.bind(id.to_string());
        }
        let events = query
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>>>()?;
        let mut calls: Vec<CallId> = events.iter().filter_map(|e| e.call_id).collect();
        calls.sort();
        calls.dedup();
        let mut found_calls = Vec::new();
        let mut found_versions = Vec::new();
        if !calls.is_empty() {
            let sql = format!(
                "SELECT {CALL_COLUMNS} FROM calls WHERE company_id = $1 AND id IN ({})",
                placeholders(2, calls.len())
            );
            let mut query = sqlx::query(&sql).bind(company.to_string());
            for id in &calls {
                query = query.bind(id.to_string());
            }
            for row in query.fetch_all(&mut *conn).await? {
                found_calls.push(Arc::new(call_from_row(&row)?));
            }
        }
        // The versions the events name, as (call, version) pairs: one query for them all.
        let mut wanted: Vec<(CallId, u32)> = events
            .iter()
            .filter_map(|e| Some((e.call_id?, e.version?)))
            .collect();
        wanted.sort();
        wanted.dedup();
        if !wanted.is_empty() {
            let pairs: Vec<String> = (0..wanted.len())
                .map(|i| format!("(call_id = ${} AND version = ${})", 2 + 2 * i, 3 + 2 * i))
                .collect();
            let sql = format!(
                "SELECT {VERSION_COLUMNS} FROM analysis_versions WHERE company_id = $1 AND ({})",
                pairs.join(" OR ")
            );
            let mut query = sqlx::query(&sql).bind(company.to_string());
            for (call, version) in &wanted {
                query = query.bind(call.to_string()).bind(i64::from(*version));
            }
            for row in query.fetch_all(&mut *conn).await? {
                found_versions.push(Arc::new(analysis_from_row(&row)?));
            }
        }
        Ok(events
            .into_iter()
            .map(|event| Announced {
                call: event
                    .call_id
                    .and_then(|id| found_calls.iter().find(|c| c.id == id).cloned()),
                version: match (event.call_id, event.version) {
                    (Some(call), Some(version)) => found_versions
                        .iter()
                        .find(|v| v.call_id == call && v.version == version)
                        .cloned(),
                    _ => None,
                },
                event,
            })
            .collect())
    }
}

/// Events one [`EventStore::announced`] reads at most.
const MAX_ANNOUNCED: usize = 256;
