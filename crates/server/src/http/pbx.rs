//! The PBX-facing endpoints (OpenAPI tag `CallWebhookPbx`): posting call data to the
//! secret webhook URL, and uploading recordings to signed URLs.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use kiku_domain::call_data::wire::IncomingWebhookRequest;
use kiku_domain::{datetime, CallId, CallStatus};
use serde::Serialize;
use utoipa::ToSchema;

use super::body::with_progress_timeout;
use super::client::ClientAddr;
use super::json::json_body;
use super::{ApiError, AppState};
use crate::app::upload::{self, UploadRequest};
use crate::app::{ingest, webhook_url};

#[utoipa::path(
    post,
    path = "/webhooks/incoming/{company_id}/{secret}",
    operation_id = "postIncomingWebhook",
    tag = "CallWebhookPbx",
    summary = r#"Create call histories (MiiTel Incoming Webhook)"#,
    description = r#"Called by the PBX at the company's secret Incoming Webhook URL. No session: the URL itself is the credential. The body is the MiiTel Incoming Webhook format (see `CallData` for Kiku's leniencies); a PBX that already speaks that format works unchanged.

All-or-nothing: any invalid call rejects the whole batch and nothing is stored. Retries are safe (idempotent on `call_data_id`).

On success, `PUT` each recording to the returned `url` within three hours."#,
    params(
        ("company_id" = String, Path, description = r#"Part of the minted URL."#, format = "uuid"),
        ("secret" = String, Path, description = r#"Part of the minted URL: a long random secret (≥128 bits), compared in constant time."#),
    ),
    request_body(description = r#"`Content-Type: application/json`; a request with no `Content-Type` is read as JSON."#, content((IncomingWebhookRequest = "application/json", examples(("sample1" = (summary = r#"Vendor sample 1 (STEREO, both participants `left`)"#, description = r#"MiiTel's `sample1.json`, verbatim. Accepted; the call history is flagged `stereo_channels_ambiguous`."#, value = json!({"call_data": [{"call_data_id": "test_id", "audio_file_type": "mp3", "event_type": "OUTGOING_CALL", "groupname": null, "queue_name": null, "call_starts_at": "2022-12-09T03:41:48+00:00", "call_answered_at": "2023-11-28T07:26:23+00:00", "call_ends_at": "2023-11-28T07:29:34+00:00", "circuit_number": "05011112222", "audio_channel_type": "STEREO", "participants": [{"type": "FROM", "stereo_lr": "left", "miitel_user_id": "9b1d82f5-9845-4158-9c7b-75e7c235d8e7", "number": "05011112222", "name": "RevComm太郎"}, {"type": "TO", "stereo_lr": "left", "miitel_user_id": null, "number": "05033334444", "name": null}]}]}))), ("sample2" = (summary = r#"Vendor sample 2 (MONAURAL, `group_name: ""`, `+0900` offsets, tags)"#, description = r#"MiiTel's `sample2.json`, verbatim."#, value = json!({"call_data": [{"call_data_id": "calldatatest0003", "audio_file_type": "mp3", "event_type": "OUTGOING_CALL", "group_name": "", "queue_name": "", "call_starts_at": "2023-11-27T15:22:33+0900", "call_answered_at": "2023-11-27T15:22:40+0900", "call_ends_at": "2023-11-27T15:36:33+0900", "circuit_number": "05011112222", "audio_channel_type": "MONAURAL", "participants": [{"type": "FROM", "stereo_lr": "left", "miitel_user_id": "00000000-0000-0000-0000-000000000000", "number": "05011112222", "name": "User199"}, {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "05022223333", "name": "いろは株式会社"}], "tags": [{"value": "応対メモテスト"}]}]}))))))),
    responses(
        (status = 200, description = r#"All calls accepted (or, on a retry, recognised). One upload URL per call, in request order."#, content((IncomingWebhookResponse = "application/json", examples(("sample2" = (summary = r#"Response to sample 2"#, value = json!({"audio_upload_urls": [{"calldatatest0003": {"url": "https://kiku.example.com/uploads/0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11?expires=1701077800&signature=3b5d0c1e8f2a47c6b9e0d1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6", "call_id": "0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11", "expires_at": "2023-11-27T09:36:40Z"}}]}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 404, description = r#"`not_found`: unknown or revoked webhook URL (no hint of which part was wrong)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Unknown URL"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 408, description = r#"`request_timeout`: the body sent nothing for `body_timeout_seconds`; nothing of it was kept."#, content((ref("#/components/schemas/Error") = "application/json", examples(("request_timeout" = (value = json!({"code": "request_timeout", "message": "the request body sent nothing for 30 seconds"}))))))),
        (status = 409, description = r#"`call_data_conflict`: a `call_data_id` was already posted with different content. `problems` names each one."#, content((ref("#/components/schemas/Error") = "application/json", examples(("conflict" = (summary = r#"Same call_data_id, different content"#, value = json!({"code": "call_data_conflict", "message": "call_data_id already used with different content", "problems": [{"index": 0, "call_data_id": "calldatatest0003", "path": "call_data[0]", "reason": "call_data_id already exists with different content"}]}))))))),
        (status = 413, description = r#"`payload_too_large`: the request body is over the configured limit."#, content((ref("#/components/schemas/Error") = "application/json", examples(("too_large" = (summary = r#"Too large"#, value = json!({"code": "payload_too_large", "message": "request body is over the limit"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_call_data`: at least one call breaks a rule; nothing was stored. `problems` lists every problem."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Missing miitel_user_id"#, value = json!({"code": "invalid_call_data", "message": "1 problem in call_data", "problems": [{"index": 3, "call_data_id": "abc", "path": "call_data[3].participants[0].miitel_user_id", "reason": "required for OUTGOING_CALL FROM"}]}))))))),
        (status = 503, description = r#"`unavailable`: nothing was stored; the database cannot be reached or the server is buffering as much as it may. Retry after `Retry-After` seconds."#, headers(("Retry-After" = i64, description = r#"Seconds to wait before retrying."#)), content((ref("#/components/schemas/Error") = "application/json", examples(("unavailable" = (value = json!({"code": "unavailable", "message": "the database is unavailable; nothing was stored, try again later"}))))))),
        (status = 507, description = r#"`insufficient_storage`: nothing was stored; the disk holding the database or the recordings is full."#, content((ref("#/components/schemas/Error") = "application/json", examples(("insufficient_storage" = (value = json!({"code": "insufficient_storage", "message": "the server's storage is full; nothing was stored, try again later"}))))))),
    ),
)]
pub async fn post_call_data(
    State(app): State<AppState>,
    Path((company_id, secret)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IncomingWebhookResponse>, ApiError> {
    // The URL is checked before the body is read, so strangers cannot make us parse.
    let company = webhook_url::authorise(&app, &company_id, &secret).await?;
    let body = json_body(&app, &headers, body, app.limits.max_request_bytes).await?;
    let grants = ingest::ingest(&app, company, &body.bytes).await?;
    drop(body);
    tracing::info!(company_id = %company, calls = grants.len(), "call data stored");
    let audio_upload_urls = grants
        .into_iter()
        .map(|g| {
            let (url, expires_at, message) = match g.url {
                Some((url, expires_at)) => (Some(url), Some(datetime::format(expires_at)), None),
                None => (None, None, Some(ANALYSIS_STARTED)),
            };
            let entry = AudioUploadUrl {
                call_id: g.call_id,
                expires_at,
                message,
                status: g.status,
                url,
            };
            BTreeMap::from([(g.call_data_id, entry)])
        })
        .collect();
    Ok(Json(IncomingWebhookResponse { audio_upload_urls }))
}

const ANALYSIS_STARTED: &str = "the recording is in and analysis has started";

/// The answer to a batch of call data.
#[derive(Serialize, ToSchema)]
pub struct IncomingWebhookResponse {
    /// One **single-key** object per call, in request order, keyed by the call's
    /// `call_data_id` (PBXs read `audio_upload_urls[0][call_data_id]["url"]`).
    audio_upload_urls: Vec<BTreeMap<String, AudioUploadUrl>>,
}

/// Where to upload one call's recording. Fields in the order the answer has always had
/// (alphabetical).
#[derive(Serialize, ToSchema)]
pub struct AudioUploadUrl {
    /// Id of the call history.
    call_id: CallId,
    /// When `url` stops working (three hours after issue); absent without a `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, nullable = false)]
    expires_at: Option<String>,
    /// Why there is no `url`: the recording is in and its analysis has started.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    message: Option<&'static str>,
    #[schema(value_type = super::schemas::CallStatus)]
    status: CallStatus,
    /// Pre-signed URL to `PUT` the recording to. Carries no session; valid for three
    /// hours. `null` once analysis has started (a retry of a call whose recording is in).
    #[schema(required, format = "uri")]
    url: Option<String>,
}

/// A stored recording. Fields in the order the answer has always had (alphabetical).
#[derive(Serialize, ToSchema)]
pub struct UploadResult {
    /// Size of the stored file.
    bytes: u64,
    call_id: CallId,
    /// `queued`: the call is queued for analysis.
    #[schema(value_type = super::schemas::CallStatus)]
    status: CallStatus,
}

#[utoipa::path(
    put,
    path = "/uploads/{call_id}",
    operation_id = "putCallAudio",
    tag = "CallWebhookPbx",
    summary = r#"Upload a call recording"#,
    description = r#"Called by the PBX with the pre-signed `url` from the webhook response. No session: the URL is self-authenticating (signed) and valid for three hours after issue.

The body is the raw file: M4A (AAC in MP4), MP3 or WAV (PCM, μ-law, A-law), stereo or mono; it must really be the declared `audio_file_type` (checked by content, not name). Any `Content-Type` is accepted. A second `PUT` before analysis starts replaces the first; once analysis has started it is refused (409 `upload_closed`). A second PUT to the same call while one is being received gets 409 `upload_in_progress`; a stalled body gets 408 and nothing is kept."#,
    params(
        ("call_id" = String, Path, format = "uuid"),
        ("expires" = i64, Query, description = r#"Expiry, Unix seconds (part of the signed URL)."#),
        ("signature" = String, Query, description = r#"Hex signature (part of the signed URL)."#, pattern = r#"^[0-9a-fA-F]+$"#),
    ),
    request_body(content((super::schemas::AudioFile = "application/octet-stream"), (super::schemas::AudioFile = "audio/mpeg"), (super::schemas::AudioFile = "audio/mp4"), (super::schemas::AudioFile = "audio/wav"))),
    responses(
        (status = 200, description = r#"The file is completely stored and fsynced; the call is queued for analysis."#, content((UploadResult = "application/json", examples(("ok" = (value = json!({"call_id": "0b6f2a4e-8a57-4f7e-9d54-3d1c0c8e5b11", "bytes": 1843200, "status": "queued"}))))))),
        (status = 403, description = r#"`forbidden`: the URL is forged, tampered with, or expired (more than three hours after issue)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Bad or expired signature"#, value = json!({"code": "forbidden", "message": "upload URL is invalid or expired"}))))))),
        (status = 408, description = r#"`request_timeout`: the body sent nothing for `body_timeout_seconds`; nothing of it was kept."#, content((ref("#/components/schemas/Error") = "application/json", examples(("request_timeout" = (value = json!({"code": "request_timeout", "message": "the request body sent nothing for 30 seconds"}))))))),
        (status = 409, description = r#"`upload_closed`: analysis of this call has already started."#, content((ref("#/components/schemas/Error") = "application/json", examples(("closed" = (summary = r#"Analysis started"#, value = json!({"code": "upload_closed", "message": "analysis has started; the recording can no longer be replaced"}))))))),
        (status = 413, description = r#"`payload_too_large`: the file is over `max_upload_bytes`."#, content((ref("#/components/schemas/Error") = "application/json", examples(("too_large" = (summary = r#"Over max_upload_bytes"#, value = json!({"code": "payload_too_large", "message": "upload is over the limit"}))))))),
        (status = 503, description = r#"`unavailable`: nothing was stored; the database cannot be reached or the server is buffering as much as it may. Retry after `Retry-After` seconds."#, headers(("Retry-After" = i64, description = r#"Seconds to wait before retrying."#)), content((ref("#/components/schemas/Error") = "application/json", examples(("unavailable" = (value = json!({"code": "unavailable", "message": "the database is unavailable; nothing was stored, try again later"}))))))),
        (status = 507, description = r#"`insufficient_storage`: nothing was stored; the disk holding the database or the recordings is full."#, content((ref("#/components/schemas/Error") = "application/json", examples(("insufficient_storage" = (value = json!({"code": "insufficient_storage", "message": "the server's storage is full; nothing was stored, try again later"}))))))),
    ),
)]
pub async fn put_recording(
    State(app): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(call_id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadResult>, ApiError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let request = UploadRequest {
        call_id: &call_id,
        expires: query.get("expires").map(String::as_str),
        signature: query.get("signature").map(String::as_str),
        content_length,
        client,
    };
    let stream = with_progress_timeout(body, app.limits.body_timeout);
    let done = upload::receive(&app, request, stream).await?;
    Ok(Json(UploadResult {
        bytes: done.bytes,
        call_id: done.call_id,
        status: done.status,
    }))
}
