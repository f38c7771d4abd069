//! `POST <incoming webhook URL>`: validate a batch, check the users it names, store it
//! atomically and idempotently, and hand out one signed upload URL per call.

use kiku_domain::call_data::parse_batch;
use kiku_domain::{CallId, CallStatus, CompanyId, Problem, UserId};
use kiku_storage::StorageError;
use time::OffsetDateTime;

use super::{abuse, upload, App, AppError};

/// What the PBX gets back for one call.
pub struct UploadGrant {
    pub call_data_id: String,
    pub call_id: CallId,
    pub status: CallStatus,
    /// A fresh signed URL while the recording may still be (re)placed.
    pub url: Option<(String, OffsetDateTime)>,
}

pub async fn ingest(
    app: &App,
    company: CompanyId,
    body: &[u8],
) -> Result<Vec<UploadGrant>, AppError> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| AppError::MalformedJson(e.to_string()))?;
    let calls = parse_batch(&json).map_err(AppError::InvalidCallData)?;
    let mut named: Vec<UserId> = calls
        .iter()
        .flat_map(|c| c.referenced_users().map(|(_, id)| id))
        .collect();
    named.sort();
    named.dedup();
    let permitted = app.store.webhook_users(company, &named).await?;
    let problems: Vec<Problem> = calls
        .iter()
        .enumerate()
        .flat_map(|(index, call)| {
            call.referenced_users()
                .filter(|(_, id)| !permitted.contains(id))
                .map(move |(p, _)| Problem {
                    index: Some(index),
                    call_data_id: Some(call.call_data_id.clone()),
                    path: format!("call_data[{index}].participants[{p}].miitel_user_id"),
                    reason: "is not a user of this company with Use Incoming Webhook enabled"
                        .into(),
                })
        })
        .collect();
    if !problems.is_empty() {
        return Err(AppError::InvalidCallData(problems));
    }
    abuse::check_awaiting_upload(app, company, calls.len()).await?;
    let now = app.clock.now();
    let stored = app
        .store
        .ingest_calls(company, &calls, now)
        .await
        .map_err(|e| match e {
            StorageError::CallDataConflict(list) => AppError::CallDataConflict(
                list.into_iter()
                    .map(|(index, id)| Problem {
                        index: Some(index),
                        path: format!("call_data[{index}].call_data_id"),
                        call_data_id: Some(id),
                        reason: "was stored earlier with different content".into(),
                    })
                    .collect(),
            ),
            other => other.into(),
        })?;
    app.metrics.calls_ingested(calls.len());
    Ok(calls
        .into_iter()
        .zip(stored)
        .map(|(call, stored)| UploadGrant {
            call_data_id: call.call_data_id,
            call_id: stored.id,
            status: stored.status,
            url: stored
                .status
                .accepts_upload()
                .then(|| upload::signed_url(app, stored.id, now)),
        })
        .collect())
}
