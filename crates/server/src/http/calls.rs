//! Call histories of the signed-in user's company: a filtered, paged list and the detail.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use kiku_domain::analysis::CallDetail;
use kiku_domain::search::{CallSearch, Snippet};
use kiku_domain::{datetime, CallId, CallStatus, EventType, Participant};
use kiku_storage::{CallRecord, DeliveryFilter, Total};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tracing::Instrument;
use utoipa::ToSchema;

use super::auth::{Admin, CurrentUser};
use super::{ApiError, AppState};
use crate::app::analysis::{self, CallAnalysis};
use crate::app::outgoing_webhooks::view::{self, DeliveryView};
use crate::app::{self, export, AppError};

/// A call as stored by Kiku (normalised from the webhook's `CallData`).
#[derive(Serialize, ToSchema)]
#[schema(as = CallHistory)]
pub struct CallHistoryOut {
    call_id: CallId,
    /// The PBX's own call id.
    call_data_id: String,
    #[schema(value_type = super::schemas::CallStatus)]
    status: CallStatus,
    /// `awaiting_upload`: *Analytics engine is not started because the audio file has not
    /// been uploaded or is uploading.* `queued`: *The recording is stored; analysis is
    /// waiting for a worker.* `analysing`: *The recording is being analysed.* `completed`:
    /// *Analysis completed.* `failed`: *Failed to analyze data because the call duration is
    /// too short to analyze or there is a problem in the recording: <cause>* (causes in
    /// docs/analysis.md).
    status_message: String,
    event_type: EventType,
    audio_file_type: kiku_domain::AudioFileType,
    audio_channel_type: kiku_domain::ChannelType,
    /// From `groupname`/`group_name`; empty strings become `null`.
    #[schema(required)]
    group_name: Option<String>,
    #[schema(required)]
    queue_name: Option<String>,
    #[schema(required)]
    circuit_number: Option<String>,
    #[schema(format = DateTime)]
    call_starts_at: String,
    #[schema(required, format = DateTime)]
    call_answered_at: Option<String>,
    #[schema(format = DateTime)]
    call_ends_at: String,
    participants: Vec<Participant>,
    /// The PBX's tag values.
    tags: Vec<String>,
    /// Tags the company's auto-tag rules gave the call (also in `analysis.tags` with
    /// `creator_type: SYSTEM`).
    auto_tags: Vec<String>,
    /// Notes for the operator: `stereo_channels_ambiguous` (a STEREO call whose
    /// participants both said `left`); `roles_need_review` (the analysis is unsure which
    /// voice is the user: `role_confidence` below 0.75); `recording_truncated` (only the
    /// start of the recording, up to the decode cap, was analysed).
    #[schema(value_type = Vec<super::schemas::Flag>)]
    flags: Vec<&'static str>,
    /// The uploaded recording, `null` until one is in.
    #[schema(required)]
    audio: Option<AudioInfo>,
    /// While `analysing`: the share of recognition done, updated with the worker's
    /// heartbeat (0–99 until completed). `null` in every other status.
    #[schema(required, maximum = 100)]
    progress_percent: Option<u8>,
    /// Once `completed`: the analysis as MiiTel's call detail (`call_analysis_completed` →
    /// `call.details[]` entry) with Kiku's additions. `null` before and on failure.
    /// Re-scored when the company's analysis settings change.
    #[schema(required, value_type = Option<CallDetail>)]
    analysis: Option<Value>,
    #[schema(format = DateTime)]
    created_at: String,
}

/// The uploaded recording. Fields in the order the answer has always had (alphabetical).
#[derive(Serialize, ToSchema)]
pub struct AudioInfo {
    bytes: u64,
    #[schema(format = DateTime)]
    uploaded_at: String,
}

/// One call of a page: the call history and, for a text search, where it hit.
#[derive(Serialize, ToSchema)]
pub struct CallListItem {
    #[serde(flatten)]
    history: CallHistoryOut,
    /// Only for a text search: up to 5 phrases where it hit, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    snippets: Option<Vec<Snippet>>,
}

/// One page of call histories.
#[derive(Serialize, ToSchema)]
pub struct CallHistoryPage {
    #[serde(serialize_with = "super::json::sorted_keys")]
    items: Vec<CallListItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required)]
    next_cursor: Option<String>,
    #[schema(minimum = 1, maximum = 200)]
    per_page: u32,
    /// Matching calls over all pages, counted up to 10,000.
    #[schema(maximum = 10000)]
    total: u64,
    /// True when more than 10,000 calls match: `total` is then 10,000 and means "10,000+".
    total_is_lower_bound: bool,
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
            audio: c.audio.map(|a| AudioInfo {
                bytes: a.bytes,
                uploaded_at: datetime::format(a.uploaded_at),
            }),
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
#[utoipa::path(
    get,
    path = "/api/v1/calls",
    operation_id = "listCalls",
    tag = "CallHistories",
    summary = r#"List and search call histories"#,
    description = r#"Any signed-in user; always scoped to the user's company. Every filter is combinable: AND between filters, OR between the values of one. Text search matches the transcript of each call's current result; each item then carries `snippets`. An unknown parameter, a bad value, a malformed cursor or a query over 200 characters is a 400 `invalid_query` naming the `parameter`."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("q" = Option<String>, Query, description = r#"Free text over the current result's transcript (at most 200 characters, at most 8 words or phrases, all must occur). Japanese/Chinese: any substring of 2+ characters (`解約` finds `解約したい`); other scripts: whole words, case-insensitively; `"…"` for a phrase."#, max_length = 200),
        ("speaker" = Option<super::schemas::SearchSpeaker>, Query, description = r#"Whose words `q` must be in (needs `q`). Default: `any`."#),
        ("user_id" = Option<Vec<String>>, Query, description = r#"The company user on the call; repeat or comma-separate for several (OR)."#, explode, format = "uuid"),
        ("event_type" = Option<Vec<EventType>>, Query, description = r#"Repeat or comma-separate for several (OR)."#, explode),
        ("status" = Option<Vec<super::schemas::CallStatus>>, Query, description = r#"Repeat or comma-separate for several (OR)."#, explode),
        ("tag" = Option<Vec<String>>, Query, description = r#"A tag of the call; repeat for several (OR). Tags may contain commas."#, explode),
        ("number" = Option<String>, Query, description = r#"The FROM or TO number, or its last 4+ digits (non-digits `+-() ` ignored)."#),
        ("group_name" = Option<String>, Query, description = r#"Exactly this group name."#),
        ("queue_name" = Option<String>, Query, description = r#"Exactly this queue name."#),
        ("from" = Option<String>, Query, description = r#"RFC 3339; calls with `call_starts_at` ≥ this (inclusive)."#, format = "date-time"),
        ("to" = Option<String>, Query, description = r#"RFC 3339; calls with `call_starts_at` < this (exclusive)."#, format = "date-time"),
        ("answered" = Option<bool>, Query, description = r#"Whether the call was answered (`call_answered_at` set)."#),
        ("min_duration" = Option<i64>, Query, description = r#"Talk time (answer to end) of at least this many whole seconds."#, minimum = 0),
        ("max_duration" = Option<i64>, Query, description = r#"Talk time of at most this many whole seconds."#, minimum = 0),
        ("min_score" = Option<f64>, Query, description = r#"Score of the current result ≥ this (calls without a result never match)."#),
        ("max_score" = Option<f64>, Query, description = r#"Score of the current result ≤ this."#),
        ("keyword" = Option<Vec<String>>, Query, description = r#"A registered keyword said in the call (any case); repeat for several (OR)."#, explode),
        ("flag" = Option<Vec<super::schemas::Flag>>, Query, description = r#"A flag of the call; repeat or comma-separate for several (OR)."#, explode),
        ("sort" = Option<super::schemas::SortKey>, Query, description = r#"Highest/newest first, ties by call id. Default: `starts_at`."#),
        ("cursor" = Option<String>, Query, description = r#"`next_cursor` of the previous page (same `sort`); pages stay correct while new calls arrive."#),
        ("per_page" = Option<i64>, Query, description = r#"Calls per page. Default: `50`."#, minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = r#"One page of call histories."#, content((CallHistoryPage = "application/json", examples(("ok" = (value = json!({"items": [{"call_id": "0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11", "call_data_id": "calldatatest0003", "status": "awaiting_upload", "status_message": "Analytics engine is not started because the audio file has not been uploaded or is uploading.", "event_type": "OUTGOING_CALL", "audio_file_type": "mp3", "audio_channel_type": "MONAURAL", "group_name": null, "queue_name": null, "circuit_number": "05011112222", "call_starts_at": "2023-11-27T15:22:33+09:00", "call_answered_at": "2023-11-27T15:22:40+09:00", "call_ends_at": "2023-11-27T15:36:33+09:00", "participants": [{"type": "FROM", "stereo_lr": "left", "miitel_user_id": "00000000-0000-0000-0000-000000000000", "number": "05011112222", "name": "User199"}, {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "05022223333", "name": "いろは株式会社"}], "tags": ["応対メモテスト"], "flags": [], "audio": null, "progress_percent": null, "analysis": null, "created_at": "2023-11-27T06:36:40Z"}], "per_page": 50, "total": 1, "total_is_lower_bound": false, "next_cursor": null}))))))),
        (status = 400, description = r#"`invalid_query`: a query parameter is unknown or its value cannot be used; `parameter` names it, `reason` says why."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (value = json!({"code": "invalid_query", "message": "status: \"done\" is not a known value", "parameter": "status", "reason": "\"done\" is not a known value"}))))))),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    query: Pairs,
) -> Result<Json<CallHistoryPage>, ApiError> {
    let search = search_of(query, &[])?;
    let (found, page) = app::search::search(&app, me.company_id, &search).await?;
    let items = found
        .into_iter()
        .map(|f| CallListItem {
            history: CallHistoryOut::new(f.call, f.analysis),
            snippets: search.text.is_some().then_some(f.snippets),
        })
        .collect();
    let total = page.total.unwrap_or(Total {
        count: 0,
        is_lower_bound: true,
    });
    Ok(Json(CallHistoryPage {
        items,
        next_cursor: page.next_cursor.map(|c| c.encode()),
        per_page: search.per_page,
        total: total.count,
        total_is_lower_bound: total.is_lower_bound,
    }))
}

/// `GET /api/v1/calls/export.csv`: every call matching the same filters as the list, one
/// row each, streamed as the pages are read. An error midway aborts the response, so a
/// truncated file never looks complete.
#[utoipa::path(
    get,
    path = "/api/v1/calls/export.csv",
    operation_id = "exportCallsCsv",
    tag = "CallHistories",
    summary = r#"Export call histories as CSV"#,
    description = r#"The calls the list would show for the same filters (`per_page` aside), one row each in the list's order, streamed as they are read (flat memory; an error midway aborts the response). Columns: `call_type` (with ` (no answer)` for unanswered calls), `call_id`, `call_data_id`, `user_name`, `from_number`, `to_number`, `dial_begin`, `call_begin` (blank if unanswered), `call_end`, `ringing_seconds`, `call_duration_seconds`, `status`, `score`, `talk_listen_ratio`, `silences_per_minute`, `overlaps_per_minute`, `rallies_per_minute`, `speech_rate_difference`, `tags`, then `keyword:<keyword>` per registered keyword (its count). RFC 4180; a text cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("encoding" = Option<super::schemas::ExportEncoding>, Query, description = r#"`utf-8` (with a byte order mark) or `shift_jis` (characters it lacks written as `&#NNNN;`). Default: `utf-8`."#),
    ),
    responses(
        (status = 200, description = r#"The CSV file."#, headers(("Content-Disposition" = String, description = r#"`attachment; filename="calls.csv"`"#)), content((super::schemas::MetricsText = "text/csv", example = json!("﻿call_type,call_id,call_data_id,user_name,from_number,to_number,dial_begin,call_begin,call_end,ringing_seconds,call_duration_seconds,status,score,talk_listen_ratio,silences_per_minute,overlaps_per_minute,rallies_per_minute,speech_rate_difference,tags,keyword:解約\r\nincoming (no answer),0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11,calldatatest0003,,'+81322223333,0311112222,2026-01-07T10:00:00+09:00,,2026-01-07T10:00:30+09:00,30,0,awaiting_upload,,,,,,,,\r\n")))),
        (status = 400, description = r#"`invalid_query`: a query parameter is unknown or its value cannot be used; `parameter` names it, `reason` says why."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (value = json!({"code": "invalid_query", "message": "status: \"done\" is not a known value", "parameter": "status", "reason": "\"done\" is not a known value"}))))))),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/calls/{call_id}",
    operation_id = "getCall",
    tag = "CallHistories",
    summary = r#"One call history"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("call_id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The call history."#, content((CallHistoryOut = "application/json", examples(("ok" = (summary = r#"Awaiting the recording"#, value = json!({"call_id": "0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11", "call_data_id": "calldatatest0003", "status": "awaiting_upload", "status_message": "Analytics engine is not started because the audio file has not been uploaded or is uploading.", "event_type": "OUTGOING_CALL", "audio_file_type": "mp3", "audio_channel_type": "MONAURAL", "group_name": null, "queue_name": null, "circuit_number": "05011112222", "call_starts_at": "2023-11-27T15:22:33+09:00", "call_answered_at": "2023-11-27T15:22:40+09:00", "call_ends_at": "2023-11-27T15:36:33+09:00", "participants": [{"type": "FROM", "stereo_lr": "left", "miitel_user_id": "00000000-0000-0000-0000-000000000000", "number": "05011112222", "name": "User199"}, {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "05022223333", "name": "いろは株式会社"}], "tags": ["応対メモテスト"], "flags": [], "audio": null, "progress_percent": null, "analysis": null, "created_at": "2023-11-27T06:36:40Z"}))), ("completed" = (summary = r#"Analysed"#, value = json!({"call_id": "7c1e5f0a-3b2d-4e8f-9a61-52d4c3b2a1f0", "call_data_id": "calldatatest0004", "status": "completed", "status_message": "Analysis completed.", "event_type": "OUTGOING_CALL", "audio_file_type": "mp3", "audio_channel_type": "STEREO", "group_name": null, "queue_name": null, "circuit_number": "05011112222", "call_starts_at": "2023-11-27T15:40:00+09:00", "call_answered_at": "2023-11-27T15:40:00+09:00", "call_ends_at": "2023-11-27T15:40:12+09:00", "participants": [{"type": "FROM", "stereo_lr": "left", "miitel_user_id": "00000000-0000-0000-0000-000000000000", "number": "05011112222", "name": "User199"}, {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "05022223333", "name": "いろは株式会社"}], "tags": ["応対メモテスト"], "flags": [], "audio": {"bytes": 1310764, "uploaded_at": "2023-11-27T06:36:52Z"}, "progress_percent": null, "analysis": {"id": "7c1e5f0a-3b2d-4e8f-9a61-52d4c3b2a1f0", "dial_starts_at": "2023-11-27T15:40:00+09:00", "dial_answered_at": "2023-11-27T15:40:00+09:00", "dial_ends_at": "2023-11-27T15:40:12+09:00", "queueing_starts_at": null, "queueing_answered_at": null, "queueing_ends_at": null, "call_type": "OUTGOING_CALL", "circuit_number": "05011112222", "circuit_name": "05011112222", "from_number": "05011112222", "to_number": "05022223333", "previous_id": null, "dtmf": null, "analysis": {"score": 32.8856, "tlr": 0.5711, "rally_count": 1, "overlap_count": 0, "silence_count": 0, "silence_positions": [], "overlap_positions": [], "duration_seconds": 12.1264, "silences_per_minute": 0.0, "silence_total_seconds": 0.0, "overlaps_per_minute": 0.0, "overlaps_estimated": false, "recording_truncated": false, "rallies_per_minute": 4.9479, "speech_rate_unit": "words_per_minute", "speech_rate_difference": -3.2741, "language": "en", "role_confidence": 1.0, "role_needs_review": false, "role_basis": "the participant with a miitel_user_id"}, "participants": [{"id": "d7bcdd38-b7be-5a93-a49e-2c6e2014766f", "from_to": "FROM", "name": "User199", "company_name": null, "login_id": "user199@example.com", "role": "user", "analysis": {"f0": 101.8586, "speechrate": 177.7003, "variance": 9.6373, "filler_count": 0, "positive_score": 0, "negative_score": 0, "speech_rate_unit": "words_per_minute", "talk_seconds": 5.74, "longest_monologue_seconds": 5.74, "keyword_count": 2, "speech_segments": [[0.52, 3.1], [9.4, 12.56]]}}, {"id": "d11a2979-921b-5b45-9125-add47a2ed262", "from_to": "TO", "name": "いろは株式会社", "company_name": null, "login_id": null, "role": "customer", "analysis": {"f0": 101.2767, "speechrate": 180.9745, "variance": 9.5056, "filler_count": 0, "positive_score": 0, "negative_score": 0, "speech_rate_unit": "words_per_minute", "talk_seconds": 4.31, "longest_monologue_seconds": 4.31, "keyword_count": 1, "speech_segments": [[3.7, 8.01]]}}], "tags": [{"created_by": "Incoming Webhook", "creator_type": "SYSTEM", "value": "応対メモテスト"}], "comments": [], "keywords": [{"starts_at": 3, "participant_id": "d7bcdd38-b7be-5a93-a49e-2c6e2014766f", "value": "router"}, {"starts_at": 4, "participant_id": "d7bcdd38-b7be-5a93-a49e-2c6e2014766f", "value": "delivery"}, {"starts_at": 8, "participant_id": "d11a2979-921b-5b45-9125-add47a2ed262", "value": "router"}], "phrases": [{"participant_id": "d7bcdd38-b7be-5a93-a49e-2c6e2014766f", "raw": [{"order": 0, "phrase": "Hello, this is Daniel from Acme support, I am calling about your router order and the delivery schedule.", "phrase_nofiller": "Hello, this is Daniel from Acme support, I am calling about your router order and the delivery schedule.", "start_at": 0.0, "end_at": 5.66, "filler_num": 0}], "summary": [{"order": 0, "phrase": "Hello, this is Daniel from Acme support, I am calling about your router order and the delivery schedule.", "phrase_nofiller": "Hello, this is Daniel from Acme support, I am calling about your router order and the delivery schedule.", "start_at": 0.0, "end_at": 5.66, "filler_num": null}]}, {"participant_id": "d11a2979-921b-5b45-9125-add47a2ed262", "raw": [{"order": 1, "phrase": "Oh, hi. Yes, I ordered a router last week. When will it arrive?", "phrase_nofiller": "Oh, hi. Yes, I ordered a router last week. When will it arrive?", "start_at": 6.71, "end_at": 10.99, "filler_num": 0}], "summary": [{"order": 1, "phrase": "Oh, hi. Yes, I ordered a router last week. When will it arrive?", "phrase_nofiller": "Oh, hi. Yes, I ordered a router last week. When will it arrive?", "start_at": 6.71, "end_at": 10.99, "filler_num": null}]}], "speech_recognition": {"raw": "0:00 (User) Hello, this is Daniel from Acme support, I am calling about your router order and the delivery schedule.\n0:06 (Customer) Oh, hi. Yes, I ordered a router last week. When will it arrive?", "summary": "0:00 (User) Hello, this is Daniel from Acme support, I am calling about your router order and the delivery schedule.\n0:06 (Customer) Oh, hi. Yes, I ordered a router last week. When will it arrive?"}, "call_notes": [{"kind": "question", "participant_id": "d11a2979-921b-5b45-9125-add47a2ed262", "order": 1, "start_at": 6.71, "phrase": "Oh, hi. Yes, I ordered a router last week. When will it arrive?", "dates": [], "times": [], "amounts": [], "answered": false}]}, "created_at": "2023-11-27T06:40:13Z"}))), ("analysing" = (summary = r#"Being analysed"#, value = json!({"call_id": "0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11", "call_data_id": "calldatatest0003", "status": "analysing", "status_message": "The recording is being analysed.", "event_type": "OUTGOING_CALL", "audio_file_type": "mp3", "audio_channel_type": "STEREO", "group_name": null, "queue_name": null, "circuit_number": "05011112222", "call_starts_at": "2023-11-27T15:22:33+09:00", "call_answered_at": "2023-11-27T15:22:40+09:00", "call_ends_at": "2023-11-27T15:36:33+09:00", "participants": [{"type": "FROM", "stereo_lr": "left", "miitel_user_id": "00000000-0000-0000-0000-000000000000", "number": "05011112222", "name": "User199"}, {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "05022223333", "name": "いろは株式会社"}], "tags": ["応対メモテスト"], "flags": [], "audio": {"bytes": 1310764, "uploaded_at": "2023-11-27T06:36:52Z"}, "progress_percent": 42, "analysis": null, "created_at": "2023-11-27T06:36:40Z"}))), ("failed" = (summary = r#"Failed, with the cause"#, value = json!({"call_id": "0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11", "call_data_id": "calldatatest0003", "status": "failed", "status_message": "Failed to analyze data because the call duration is too short to analyze or there is a problem in the recording: the file is wav, not the declared mp3", "event_type": "OUTGOING_CALL", "audio_file_type": "mp3", "audio_channel_type": "STEREO", "group_name": null, "queue_name": null, "circuit_number": "05011112222", "call_starts_at": "2023-11-27T15:22:33+09:00", "call_answered_at": "2023-11-27T15:22:40+09:00", "call_ends_at": "2023-11-27T15:36:33+09:00", "participants": [{"type": "FROM", "stereo_lr": "left", "miitel_user_id": "00000000-0000-0000-0000-000000000000", "number": "05011112222", "name": "User199"}, {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "05022223333", "name": "いろは株式会社"}], "tags": ["応対メモテスト"], "flags": [], "audio": {"bytes": 1310764, "uploaded_at": "2023-11-27T06:36:52Z"}, "progress_percent": null, "analysis": null, "created_at": "2023-11-27T06:36:40Z"}))))))),
        (status = 404, description = r#"`not_found`: no such call in this company."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Unknown call"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/v1/calls/{call_id}/swap",
    operation_id = "swapUserAndCustomer",
    tag = "CallHistories",
    summary = r#"Swap user and customer"#,
    description = r#"Flips user and customer and recomputes everything that depends on the roles from the stored transcript (no recognition): talk:listen ratio, score, per-party metrics, phrases' participant, the (User)/(Customer) prefixes and the summary. The result becomes a new version (reason `swap`); `roles_need_review` is cleared. Any signed-in user of the company."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("call_id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The call history showing the new version."#, content((CallHistoryOut = "application/json"))),
        (status = 409, description = r#"`conflict`: the call is not completed (or its result changed meanwhile)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_completed" = (value = json!({"code": "conflict", "message": "only a completed call's user and customer can be swapped; this call is queued"}))))))),
        (status = 404, description = r#"`not_found`: no such call in this company."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Unknown call"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/calls/{call_id}/versions",
    operation_id = "listResultVersions",
    tag = "CallHistories",
    summary = r#"Every version of a call's result"#,
    description = r#"Oldest first. Versions are never changed: analysis, re-scoring after a settings change and swaps each add one."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("call_id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The versions."#, content((CallVersionList = "application/json", examples(("swapped" = (value = json!({"call_id": "0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11", "items": [{"version": 1, "reason": "analysis", "created_at": "2026-11-30T10:00:00Z", "score": 62.5}, {"version": 2, "reason": "swap", "created_at": "2026-11-30T10:05:00Z", "score": 48.0}]}))))))),
        (status = 404, description = r#"`not_found`: no such call in this company."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Unknown call"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
pub async fn versions(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(call_id): Path<String>,
) -> Result<Json<CallVersionList>, ApiError> {
    let call = call_of(&app, me.company_id, &call_id).await?;
    let records = app.store.analysis_versions(me.company_id, call.id).await?;
    let items = records
        .iter()
        .map(|r| {
            let score = serde_json::from_str::<Value>(&r.report)
                .ok()
                .and_then(|report| report.get("score").cloned());
            CallVersion {
                created_at: datetime::format(r.created_at),
                reason: r.reason.as_str(),
                score,
                version: r.version,
            }
        })
        .collect();
    Ok(Json(CallVersionList {
        call_id: call.id,
        items,
    }))
}

/// Every version of a call's result, oldest first.
#[derive(Serialize, ToSchema)]
pub struct CallVersionList {
    call_id: CallId,
    items: Vec<CallVersion>,
}

/// One version of a call's result. Fields in the order the answer has always had
/// (alphabetical).
#[derive(Serialize, ToSchema)]
pub struct CallVersion {
    #[schema(format = DateTime)]
    created_at: String,
    /// Why it was made.
    #[schema(value_type = super::schemas::VersionReason)]
    reason: &'static str,
    /// The version's score, as its report has it.
    #[schema(required, value_type = Option<f64>)]
    score: Option<Value>,
    #[schema(minimum = 1)]
    version: u32,
}

/// `GET /api/v1/calls/{id}/versions/{n}`: the call history as version `n` of its result
/// showed it.
#[utoipa::path(
    get,
    path = "/api/v1/calls/{call_id}/versions/{version}",
    operation_id = "getResultVersion",
    tag = "CallHistories",
    summary = r#"A call history as one version of its result showed it"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("call_id" = String, Path, format = "uuid"),
        ("version" = i64, Path, minimum = 1),
    ),
    responses(
        (status = 200, description = r#"The call history with `analysis` as that version made it."#, content((CallHistoryOut = "application/json"))),
        (status = 404, description = r#"`not_found`: no such call in this company."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Unknown call"#, value = json!({"code": "not_found", "message": "not found"}))))))),
    ),
)]
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

/// `GET /api/v1/calls/{id}/minutes`: the call's latest minutes.
#[utoipa::path(
    get,
    path = "/api/v1/calls/{call_id}/minutes",
    operation_id = "getCallMinutes",
    tag = "CallHistories",
    summary = r#"The call's minutes, written by the operator's language model"#,
    description = r#"Written after the analysis (and again after a swap) when the company's `write_minutes` setting is on and the server has a language model (`minutes_url`); also sent as `call_summarization_completed`. See docs/analysis.md, *Minutes*."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("call_id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"The latest minutes."#, content((CallMinutes = "application/json", examples(("written" = (value = json!({"call_id": "0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11", "text": "Topic:\nA broken router.\n\nKey points:\n- The router stopped working yesterday.\n\nNext steps:\n- The agent sends a new router tomorrow morning.", "version": 1, "model": "SmolLM2-135M-Instruct", "written_at": "2026-11-30T10:00:05Z"}))))))),
        (status = 404, description = r#"`not_found`: no such call in this company, or no minutes written for it (yet)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"No minutes"#, value = json!({"code": "not_found", "message": "no minutes have been written for this call"}))))))),
    ),
)]
pub async fn minutes(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(call_id): Path<String>,
) -> Result<Json<CallMinutes>, ApiError> {
    let call = call_of(&app, me.company_id, &call_id).await?;
    let minutes = app
        .store
        .minutes(me.company_id, call.id)
        .await?
        .ok_or_else(|| AppError::NotFound("no minutes have been written for this call".into()))?;
    Ok(Json(CallMinutes {
        call_id: call.id,
        text: minutes.text,
        version: minutes.version,
        model: minutes.model,
        written_at: datetime::format(minutes.created_at),
    }))
}

/// A call's latest minutes.
#[derive(Serialize, ToSchema)]
pub struct CallMinutes {
    call_id: CallId,
    /// As the model wrote them (trimmed; at most 4,000 characters).
    text: String,
    /// The version of the call's result they were written from.
    #[schema(minimum = 1)]
    version: u32,
    /// The model named in the request (`minutes_model`).
    model: String,
    #[schema(format = DateTime)]
    written_at: String,
}

/// `GET /api/v1/calls/{id}/deliveries` (admins): every attempt to deliver the call's events
/// to outgoing webhooks, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/calls/{call_id}/deliveries",
    operation_id = "listCallDeliveries",
    tag = "CallHistories",
    summary = r#"Every attempt to deliver the call's events (admins)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("call_id" = String, Path, format = "uuid"),
    ),
    responses(
        (status = 200, description = r#"Attempts, newest first."#, content((CallDeliveryList = "application/json"))),
        (status = 404, description = r#"`not_found`: no such call in this company."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Unknown call"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn deliveries(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(call_id): Path<String>,
) -> Result<Json<CallDeliveryList>, ApiError> {
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
    let items = items.iter().map(view::delivery).collect();
    Ok(Json(CallDeliveryList {
        call_id: call.id,
        items,
    }))
}

/// Every attempt to deliver the call's events to outgoing webhooks, newest first.
#[derive(Serialize, ToSchema)]
pub struct CallDeliveryList {
    call_id: CallId,
    items: Vec<DeliveryView>,
}
