//! Who hears of a `call_analysis_completed` event, decided in the event's transaction (so
//! nothing committed goes unannounced): one `deliver_notification` job per enabled Slack
//! rule of the company (its filters are applied against the event's version when the
//! message is made), one per e-mail address — the company-wide recipients and each
//! user on the call who asked for e-mail, each address once — and one per enabled CRM
//! connection (which creates the call's record, or updates it after a swap).
//!
//! A `call_analysis_rescored` event changes the score a CRM record shows, so it updates
//! the record of each enabled connection the call already went to (a record kept, or a
//! delivery still on its way); Slack and e-mail announce completions and swaps only, and a
//! settings change never copies old calls into a CRM connected after them.

use std::collections::HashSet;

use kiku_domain::notification::{NotificationJob, Target};
use kiku_domain::{CallData, CallId, CompanyId, CrmConnectionId, EventId, JobKind};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::jobs::insert_job;
use super::parsed;
use crate::{NewJob, Result, StorageError};

pub(super) async fn queue_notifications(
    conn: &mut AnyConnection,
    company: CompanyId,
    call: CallId,
    event: EventId,
    now: OffsetDateTime,
) -> Result<()> {
    let company_text = company.to_string();
    let rules = sqlx::query(
        "SELECT id FROM slack_rules WHERE company_id = $1 AND enabled = 1 ORDER BY created_at_ms, id",
    )
    .bind(&company_text)
    .fetch_all(&mut *conn)
    .await?;
    let mut targets = Vec::new();
    for row in &rules {
        targets.push(Target::Slack {
            rule_id: parsed(row, "id")?,
        });
    }
    let mut addresses: Vec<String> =
        sqlx::query("SELECT address FROM email_recipients WHERE company_id = $1 ORDER BY position")
            .bind(&company_text)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("address"))
            .collect::<std::result::Result<_, _>>()?;
    let opted = sqlx::query(
        "SELECT u.id, u.email FROM email_opt_ins o JOIN users u ON u.id = o.user_id \
         WHERE o.company_id = $1 ORDER BY u.created_at_ms, u.id",
    )
    .bind(&company_text)
    .fetch_all(&mut *conn)
    .await?;
    if !opted.is_empty() {
        let data: String = sqlx::query("SELECT call_data FROM calls WHERE id = $1")
            .bind(call.to_string())
            .fetch_one(&mut *conn)
            .await?
            .try_get("call_data")?;
        let data: CallData = serde_json::from_str(&data)
            .map_err(|_| StorageError::corrupt(format!("call_data of call {call}")))?;
        let on_call: Vec<String> = data
            .referenced_users()
            .map(|(_, u)| u.to_string())
            .collect();
        for row in &opted {
            let id: String = row.try_get("id")?;
            if on_call.contains(&id) {
                addresses.push(row.try_get::<String, _>("email")?.to_lowercase());
            }
        }
    }
    let mut seen = HashSet::new();
    addresses.retain(|a| seen.insert(a.clone()));
    targets.extend(addresses.into_iter().map(|to| Target::Email { to }));
    targets.extend(
        enabled_crm_connections(conn, company)
            .await?
            .into_iter()
            .map(|connection_id| Target::Crm { connection_id }),
    );
    insert_jobs(conn, company, call, event, targets, now).await
}

/// The jobs of a `call_analysis_rescored` event: one per enabled CRM connection that holds
/// a record of the call or has a delivery of it queued or running.
pub(super) async fn queue_crm_updates(
    conn: &mut AnyConnection,
    company: CompanyId,
    call: CallId,
    event: EventId,
    now: OffsetDateTime,
) -> Result<()> {
    let mut went_to: HashSet<CrmConnectionId> = HashSet::new();
    let records = sqlx::query("SELECT connection_id FROM crm_records WHERE call_id = $1")
        .bind(call.to_string())
        .fetch_all(&mut *conn)
        .await?;
    for row in &records {
        went_to.insert(parsed(row, "connection_id")?);
    }
    let on_the_way = sqlx::query(
        "SELECT payload FROM jobs WHERE call_id = $1 AND kind = $2 \
         AND state IN ('queued', 'running')",
    )
    .bind(call.to_string())
    .bind(JobKind::DeliverNotification.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for row in &on_the_way {
        let payload: String = row.try_get("payload")?;
        if let Ok(NotificationJob {
            target: Target::Crm { connection_id },
            ..
        }) = serde_json::from_str(&payload)
        {
            went_to.insert(connection_id);
        }
    }
    let targets = enabled_crm_connections(conn, company)
        .await?
        .into_iter()
        .filter(|c| went_to.contains(c))
        .map(|connection_id| Target::Crm { connection_id })
        .collect();
    insert_jobs(conn, company, call, event, targets, now).await
}

async fn enabled_crm_connections(
    conn: &mut AnyConnection,
    company: CompanyId,
) -> Result<Vec<CrmConnectionId>> {
    sqlx::query(
        "SELECT id FROM crm_connections WHERE company_id = $1 AND enabled = 1 \
         ORDER BY created_at_ms, id",
    )
    .bind(company.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| parsed(row, "id"))
    .collect()
}

async fn insert_jobs(
    conn: &mut AnyConnection,
    company: CompanyId,
    call: CallId,
    event: EventId,
    targets: Vec<Target>,
    now: OffsetDateTime,
) -> Result<()> {
    for target in targets {
        let job = NotificationJob {
            event_id: event,
            target,
            replay: false,
        };
        insert_job(
            conn,
            &NewJob::notification(company, Some(call), &job, now),
            now,
        )
        .await?;
    }
    Ok(())
}
