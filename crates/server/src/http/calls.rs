//! Call histories of the signed-in user's company: a filtered, paged list and the detail.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use kiku_domain::search::CallSearch;
use kiku_domain::{datetime, CallId, CallStatus, EventType, Participant};
use kiku_storage::{CallRecord, DeliveryFilter, Total};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::auth::{Admin, CurrentUser};
use super::{ApiError, AppState};
use crate::app::analysis::{self, CallAnalysis};
use crate::app::outgoing_webhooks::view;
use crate::app::{self, export, AppError};

/// A call history as the API shows it.
#[derive(Serialize)]
pub struct CallHistoryOut {
    call_id: CallId,
    call_data_id: String,
    status: CallStatus,
    status_message: String,
    event_type: EventType,
    audio_file_type: kiku_domain::AudioFileType,
    audio_channel_type: kiku_domain::ChannelType,
    group_name: Option<String>,
    queue_name: Option<String>,
    circuit_number: Option<String>,
    call_starts_at: String,
    call_answered_at: Option<String>,
    call_ends_at: String,
    participants: Vec<Participant>,
    tags: Vec<String>,
    /// Tags the company's auto-tag rules gave the call.
    auto_tags: Vec<String>,
    flags: Vec<&'static str>,
    audio: Option<Value>,
    /// 0–100 while analysing.
    progress_percent: Option<u8>,
    /// The analysis as MiiTel's `call_analysis_completed` call detail, once completed.
    analysis: Option<Value>,
    created_at: String,
}

impl CallHistoryOut {
    pub(super) fn new(c: CallRecord, analysis: Option<CallAnalysis>) -> Self {
        let d = c.data;
        let mut flags = Vec::new();
        if d.stereo_channels_ambiguous() {
            flags.push("stereo_channels_ambiguous");
        }
        if let Some(a) = &analysis {
            flags.extend_from_slice(&a.flags);
        }
        Self {
            call_id: c.id,
            status_message: c.status.message(c.status_reason.as_deref()),
            status: c.status,
            event_type: d.event_type,
            audio_file_type: d.audio_file_type,
            audio_channel_type: d.audio_channel_type,
            call_starts_at: datetime::format(d.call_starts_at),
            call_answered_at: d.call_answered_at.map(datetime::format),
            call_ends_at: datetime::format(d.call_ends_at),
            call_data_id: d.call_data_id,
            group_name: d.group_name,
            queue_name: d.queue_name,
            circuit_number: d.circuit_number,
            participants: d.participants,
            tags: d.tags,
            auto_tags: analysis
                .as_ref()
                .map(|a| a.auto_tags.clone())
                .unwrap_or_default(),
            flags,
            audio: c
                .audio
                .map(|a| json!({"bytes": a.bytes, "uploaded_at": datetime::format(a.uploaded_at)})),
            progress_percent: c.progress_percent,
            analysis: analysis.map(|a| a.detail),
            created_at: datetime::format(c.created_at),
        }
    }
}

/// Call histories with their analyses.
async fn histories(
    app: &AppState,
    company: kiku_domain::CompanyId,
    calls: Vec<CallRecord>,
) -> Result<Vec<CallHistoryOut>, AppError> {
    let mut details = analysis::details(app, company, &calls).await?;
    Ok(calls
        .into_iter()
        .map(|c| {
            let detail = details.remove(&c.id);
            CallHistoryOut::new(c, detail)
        })
        .collect())
}

/// The query string as pairs, repeats kept (`tag=a&tag=b`).
pub(super) type Pairs =
    Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

pub(super) fn search_of(query: Pairs, extra: &[&str]) -> Result<CallSearch, AppError> {
    let Query(pairs) = query.map_err(|e| AppError::InvalidRequest(e.body_text()))?;
    Ok(CallSearch::parse(&pairs, extra)?)
}

/// `GET /api/v1/calls`: a page of the company's calls matching every filter, with the
/// phrases where a text search hit.
pub async fn list(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    query: Pairs,
) -> Result<Json<Value>, ApiError> {
    let search = search_of(query, &[])?;
    let (found, page) = app::search::search(&app, me.company_id, &search).await?;
    let items: Vec<Value> = found
        .into_iter()
        .map(|f| {
            let mut item = json!(CallHistoryOut::new(f.call, f.analysis));
            if search.text.is_some() {
                item["snippets"] = json!(f.snippets);
            }
            item
        })
        .collect();
    let total = page.total.unwrap_or(Total {
        count: 0,
        is_lower_bound: true,
    });
    Ok(Json(json!({
        "items": items,
        "per_page": search.per_page,
        "total": total.count,
        "total_is_lower_bound": total.is_lower_bound,
        "next_cursor": page.next_cursor.map(|c| c.encode()),
    })))
}

/// `GET /api/v1/calls/export.csv`: every call matching the same filters as the list, one
/// row each, streamed as the pages are read. An error midway aborts the response, so a
/// truncated file never looks complete.
pub async fn export_csv(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    query: Pairs,
) -> Result<Response, ApiError> {
    let Query(pairs) = query.map_err(|e| AppError::InvalidRequest(e.body_text()))?;
    let search = CallSearch::parse(&pairs, &["encoding"]).map_err(AppError::from)?;
    let encoding = export::encoding_of(&pairs)?;
    // Two chunks in flight at most: a slow client slows the reading, memory stays flat.
    let (tx, rx) = mpsc::channel::<Bytes>(2);
    let company = me.company_id;
    let task = tokio::spawn(
        async move { export::export(&app, company, search, encoding, tx).await }
            .instrument(tracing::Span::current()),
    );
    let body = futures_util::stream::unfold((rx, Some(task)), |(mut rx, task)| async move {
        if let Some(chunk) = rx.recv().await {
            return Some((Ok(chunk), (rx, task)));
        }
        let failure = match task?.await {
            Ok(Ok(rows)) => {
                tracing::info!(rows, "calls exported");
                return None;
            }
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::error!(error = %failure, "call export failed midway; response aborted");
        Some((Err(std::io::Error::other(failure)), (rx, None)))
    });
    let headers = [
        (
            header::CONTENT_TYPE,
            format!("text/csv; charset={}", encoding.charset()),
        ),
        (
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"calls.csv\"".to_string(),
        ),
    ];
    Ok((headers, Body::from_stream(body)).into_response())
}

fn not_found() -> AppError {
    AppError::NotFound("no such call in this company".into())
}

/// The company's call named in the path.
async fn call_of(
    app: &AppState,
    company: kiku_domain::CompanyId,
    call_id: &str,
) -> Result<CallRecord, AppError> {
    let id: CallId = call_id.parse().map_err(|_| not_found())?;
    app.store.call(company, id).await?.ok_or_else(not_found)
}

pub async fn detail(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(call_id): Path<String>,
) -> Result<Json<CallHistoryOut>, ApiError> {
    let call = call_of(&app, me.company_id, &call_id).await?;
    let mut out = histories(&app, me.company_id, vec![call]).await?;
    out.pop().map(Json).ok_or_else(|| not_found().into())
}

/// `POST /api/v1/calls/{id}/swap`: user and customer the other way round, as a new
/// version; answers with the call history showing it.
pub async fn swap(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(call_id): Path<String>,
) -> Result<Json<CallHistoryOut>, ApiError> {
    let call = call_of(&app, me.company_id, &call_id).await?;
    let version = analysis::swap(&app, me.company_id, call.id).await?;
    tracing::info!(call_id = %call.id, user_id = %me.id, version, "user and customer swapped");
    let call = call_of(&app, me.company_id, &call_id).await?;
    let mut out = histories(&app, me.company_id, vec![call]).await?;
    out.pop().map(Json).ok_or_else(|| not_found().into())
}

/// `GET /api/v1/calls/{id}/versions`: every version of the call's result, oldest first.
pub async fn versions(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(call_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let call = call_of(&app, me.company_id, &call_id).await?;
    let records = app.store.analysis_versions(me.company_id, call.id).await?;
    let items: Vec<Value> = records
        .iter()
        .map(|r| {
            let score = serde_json::from_str::<Value>(&r.report)
                .ok()
                .and_then(|report| report.get("score").cloned());
            json!({
                "version": r.version,
                "reason": r.reason.as_str(),
                "created_at": datetime::format(r.created_at),
                "score": score,
            })
        })
        .collect();
    Ok(Json(json!({ "call_id": call.id, "items": items })))
}

/// `GET /api/v1/calls/{id}/versions/{n}`: the call history as version `n` of its result
/// showed it.
pub async fn version(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path((call_id, version)): Path<(String, String)>,
) -> Result<Json<CallHistoryOut>, ApiError> {
    let call = call_of(&app, me.company_id, &call_id).await?;
    let no_version = || AppError::NotFound("no such version of this call's result".into());
    let number: u32 = version.parse().map_err(|_| no_version())?;
    let record = app
        .store
        .analysis_version(me.company_id, call.id, number)
        .await?
        .ok_or_else(no_version)?;
    let calls = vec![call];
    let mut details = analysis::details_of(&app, me.company_id, &calls, vec![record]).await?;
    let call = calls.into_iter().next().ok_or_else(not_found)?;
    let detail = details.remove(&call.id);
    Ok(Json(CallHistoryOut::new(call, detail)))
}

/// `GET /api/v1/calls/{id}/deliveries` (admins): every attempt to deliver the call's events
/// to outgoing webhooks, newest first.
pub async fn deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(call_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let call = call_of(&app, me.company_id, &call_id).await?;
    let filter = DeliveryFilter {
        endpoint: None,
        call: Some(call.id),
        before: None,
        limit: 500,
    };
    let items = app
        .store
        .outgoing_deliveries(me.company_id, &filter)
        .await?;
    let items: Vec<Value> = items.iter().map(view::delivery).collect();
    Ok(Json(json!({ "call_id": call.id, "items": items })))
}
