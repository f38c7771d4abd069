//! Storing webhook batches with two statements per company: one lookup of every
//! `call_data_id`, then one multi-row insert of the new calls. Conflicts are decided
//! before anything is written, so a refused batch leaves no trace even when it shares a
//! transaction (group commit) with others.

use std::collections::HashMap;

use kiku_domain::call_data::fingerprint_of;
use kiku_domain::search::CallFacts;
use kiku_domain::{CallData, CallId, CallStatus, CompanyId};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::calls::status_of;
use super::search_index::{call_terms, insert_terms, Term};
use super::{ms, parsed, placeholders};
use crate::{IngestedCall, Result};

/// Rows per INSERT, keeping bound parameters well under every backend's limit.
const ROWS_PER_INSERT: usize = 100;
const IDS_PER_LOOKUP: usize = 500;

/// One webhook request's batch.
pub(super) struct Batch<'a> {
    pub company: CompanyId,
    pub calls: &'a [CallData],
    pub now: OffsetDateTime,
}

/// The stored calls, or the conflicting `(index, call_data_id)`s.
pub(super) type Outcome = std::result::Result<Vec<IngestedCall>, Vec<(usize, String)>>;

#[derive(Clone)]
struct Known {
    id: CallId,
    fingerprint: String,
    status: CallStatus,
}

struct NewRow<'a> {
    id: CallId,
    call: &'a CallData,
    fingerprint: String,
    json: String,
    now: OffsetDateTime,
}

/// Stores the batches in order on `conn`, inside the caller's transaction, as if each ran
/// alone: a later batch sees the calls an earlier one added.
pub(super) async fn ingest_batches(
    conn: &mut AnyConnection,
    batches: &[Batch<'_>],
) -> Result<Vec<Outcome>> {
    let mut known: HashMap<CompanyId, HashMap<String, Known>> = HashMap::new();
    for batch in batches {
        if known.contains_key(&batch.company) {
            continue;
        }
        let ids: Vec<&str> = batches
            .iter()
            .filter(|b| b.company == batch.company)
            .flat_map(|b| b.calls.iter().map(|c| c.call_data_id.as_str()))
            .collect();
        known.insert(batch.company, lookup(conn, batch.company, &ids).await?);
    }
    let mut outcomes = Vec::with_capacity(batches.len());
    let mut rows: HashMap<CompanyId, Vec<NewRow<'_>>> = HashMap::new();
    for batch in batches {
        let seen = known.entry(batch.company).or_default();
        let (outcome, new_rows) = plan(seen, batch);
        if outcome.is_ok() {
            for row in &new_rows {
                let k = Known {
                    id: row.id,
                    fingerprint: row.fingerprint.clone(),
                    status: CallStatus::AwaitingUpload,
                };
                seen.insert(row.call.call_data_id.clone(), k);
            }
            rows.entry(batch.company).or_default().extend(new_rows);
        }
        outcomes.push(outcome);
    }
    for (company, rows) in &rows {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            insert(conn, *company, chunk).await?;
        }
    }
    Ok(outcomes)
}

/// Decides each call of one batch against what is stored, writing nothing.
fn plan<'a>(known: &HashMap<String, Known>, batch: &Batch<'a>) -> (Outcome, Vec<NewRow<'a>>) {
    let mut out: Vec<IngestedCall> = Vec::with_capacity(batch.calls.len());
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut conflicts = Vec::new();
    let mut rows = Vec::new();
    for (i, call) in batch.calls.iter().enumerate() {
        // Validation made repeats inside a batch equal; the first occurrence stands for all.
        if let Some(&f) = first.get(call.call_data_id.as_str()) {
            let again = out[f].clone();
            out.push(IngestedCall {
                created: false,
                ..again
            });
            continue;
        }
        first.insert(&call.call_data_id, i);
        let json = call.canonical_json();
        let fingerprint = fingerprint_of(&json);
        match known.get(&call.call_data_id) {
            Some(k) if k.fingerprint == fingerprint => out.push(IngestedCall {
                id: k.id,
                created: false,
                status: k.status,
            }),
            Some(k) => {
                conflicts.push((i, call.call_data_id.clone()));
                out.push(IngestedCall {
                    id: k.id,
                    created: false,
                    status: k.status,
                });
            }
            None => {
                let id = CallId::new();
                out.push(IngestedCall {
                    id,
                    created: true,
                    status: CallStatus::AwaitingUpload,
                });
                rows.push(NewRow {
                    id,
                    call,
                    fingerprint,
                    json,
                    now: batch.now,
                });
            }
        }
    }
    if conflicts.is_empty() {
        (Ok(out), rows)
    } else {
        (Err(conflicts), Vec::new())
    }
}

async fn lookup(
    conn: &mut AnyConnection,
    company: CompanyId,
    ids: &[&str],
) -> Result<HashMap<String, Known>> {
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
            let k = Known {
                id: parsed(&row, "id")?,
                fingerprint: row.try_get("fingerprint")?,
                status: status_of(&row)?,
            };
            found.insert(row.try_get("call_data_id")?, k);
        }
    }
    Ok(found)
}

async fn insert(conn: &mut AnyConnection, company: CompanyId, rows: &[NewRow<'_>]) -> Result<()> {
    const COLUMNS: usize = 13;
    let values: Vec<String> = (0..rows.len())
        // The last parameter (now) fills both created_at_ms and updated_at_ms.
        .map(|r| {
            format!(
                "({}, ${}, 1)",
                placeholders(r * COLUMNS + 1, COLUMNS),
                (r + 1) * COLUMNS
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO calls (id, company_id, call_data_id, fingerprint, call_data, event_type, starts_at_ms, status, \
         answered, talk_ms, group_name, queue_name, created_at_ms, updated_at_ms, search_indexed) VALUES {}",
        values.join(", ")
    );
    let facts: Vec<CallFacts> = rows.iter().map(|r| CallFacts::of(r.call)).collect();
    let mut query = sqlx::query(&sql);
    for (row, facts) in rows.iter().zip(&facts) {
        query = query
            .bind(row.id.to_string())
            .bind(company.to_string())
            .bind(row.call.call_data_id.as_str())
            .bind(row.fingerprint.as_str())
            .bind(row.json.as_str())
            .bind(row.call.event_type.as_str())
            .bind(ms(row.call.call_starts_at))
            .bind(CallStatus::AwaitingUpload.as_str())
            .bind(i64::from(facts.answered))
            .bind(facts.talk_ms)
            .bind(facts.group_name.as_deref())
            .bind(facts.queue_name.as_deref())
            .bind(ms(row.now));
    }
    query.execute(&mut *conn).await?;
    let terms: Vec<Term> = rows
        .iter()
        .zip(&facts)
        .flat_map(|(row, facts)| call_terms(row.id, facts))
        .collect();
    insert_terms(conn, &terms).await
}
