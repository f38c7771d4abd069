//! Storing a webhook batch in two statements: one lookup of every `call_data_id`, then
//! one multi-row insert of the new calls. Conflicts are found before anything is written,
//! so a refused batch leaves no trace even inside a shared (group-commit) transaction.

use std::collections::HashMap;

use kiku_domain::{CallData, CallId, CallStatus, CompanyId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::calls::status_of;
use super::{ms, parsed, placeholders};
use crate::{IngestedCall, Result};

/// Rows per INSERT, keeping bound parameters well under every backend's limit.
const ROWS_PER_INSERT: usize = 100;
const IDS_PER_LOOKUP: usize = 500;

struct Stored {
    id: CallId,
    fingerprint: String,
    status: CallStatus,
}

/// Stores `calls` on `conn` inside the caller's transaction, or returns the conflicting
/// `(index, call_data_id)`s having written nothing.
pub(super) async fn ingest_on(
    conn: &mut AnyConnection,
    company: CompanyId,
    calls: &[CallData],
    now: OffsetDateTime,
) -> Result<Result<Vec<IngestedCall>, Vec<(usize, String)>>> {
    // Validation made repeats inside a batch equal; the first occurrence stands for all.
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        first.entry(call.call_data_id.as_str()).or_insert(i);
    }
    let unique: Vec<usize> = (0..calls.len())
        .filter(|&i| first[calls[i].call_data_id.as_str()] == i)
        .collect();
    let stored = lookup(
        conn,
        company,
        unique.iter().map(|&i| calls[i].call_data_id.as_str()),
    )
    .await?;

    let mut conflicts = Vec::new();
    let mut fresh = Vec::new();
    let mut result: HashMap<usize, IngestedCall> = HashMap::with_capacity(unique.len());
    for &i in &unique {
        let call = &calls[i];
        let json = call.canonical_json();
        let fingerprint = kiku_domain::call_data::fingerprint_of(&json);
        match stored.get(call.call_data_id.as_str()) {
            Some(s) if s.fingerprint == fingerprint => {
                result.insert(
                    i,
                    IngestedCall {
                        id: s.id,
                        created: false,
                        status: s.status,
                    },
                );
            }
            Some(_) => conflicts.push((i, call.call_data_id.clone())),
            None => fresh.push((i, CallId::new(), fingerprint, json)),
        }
    }
    if !conflicts.is_empty() {
        return Ok(Err(conflicts));
    }
    for chunk in fresh.chunks(ROWS_PER_INSERT) {
        insert(conn, company, calls, chunk, now).await?;
    }
    for (i, id, _, _) in fresh {
        result.insert(
            i,
            IngestedCall {
                id,
                created: true,
                status: CallStatus::AwaitingUpload,
            },
        );
    }
    let out = (0..calls.len())
        .map(|i| {
            let f = first[calls[i].call_data_id.as_str()];
            let stored = result[&f].clone();
            if f == i {
                stored
            } else {
                IngestedCall {
                    created: false,
                    ..stored
                }
            }
        })
        .collect();
    Ok(Ok(out))
}

async fn lookup<'a>(
    conn: &mut AnyConnection,
    company: CompanyId,
    ids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Stored>> {
    let ids: Vec<&str> = ids.collect();
    let mut found = HashMap::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let sql = format!(
            "SELECT id, call_data_id, fingerprint, status FROM calls WHERE company_id = $1 AND call_data_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(company.to_string());
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let stored = Stored {
                id: parsed(&row, "id")?,
                fingerprint: row.try_get("fingerprint")?,
                status: status_of(&row)?,
            };
            found.insert(row.try_get("call_data_id")?, stored);
        }
    }
    Ok(found)
}

async fn insert(
    conn: &mut AnyConnection,
    company: CompanyId,
    calls: &[CallData],
    rows: &[(usize, CallId, String, String)],
    now: OffsetDateTime,
) -> Result<()> {
    const COLUMNS: usize = 9;
    let values: Vec<String> = (0..rows.len())
        .map(|r| {
            let p: Vec<String> = (1..=COLUMNS)
                .map(|c| format!("${}", r * COLUMNS + c))
                .collect();
            format!("({}, {})", p.join(", "), p[COLUMNS - 1])
        })
        .collect();
    let sql = format!(
        "INSERT INTO calls (id, company_id, call_data_id, fingerprint, call_data, event_type, starts_at_ms, status, created_at_ms, updated_at_ms) VALUES {}",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (i, id, fingerprint, json) in rows {
        let call = &calls[*i];
        query = query
            .bind(id.to_string())
            .bind(company.to_string())
            .bind(call.call_data_id.as_str())
            .bind(fingerprint.as_str())
            .bind(json.as_str())
            .bind(call.event_type.as_str())
            .bind(ms(call.call_starts_at))
            .bind(CallStatus::AwaitingUpload.as_str())
            .bind(ms(now));
    }
    query.execute(&mut *conn).await?;
    Ok(())
}
