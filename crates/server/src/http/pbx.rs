//! The PBX-facing endpoints (OpenAPI tag `CallWebhookPbx`): posting call data to the
//! secret webhook URL, and uploading recordings to signed URLs.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use kiku_domain::datetime;
use serde_json::{json, Map, Value};

use super::body::with_progress_timeout;
use super::client::ClientAddr;
use super::json::json_body;
use super::{ApiError, AppState};
use crate::app::upload::{self, UploadRequest};
use crate::app::{ingest, webhook_url};

pub async fn post_call_data(
    State(app): State<AppState>,
    Path((company_id, secret)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    // The URL is checked before the body is read, so strangers cannot make us parse.
    let company = webhook_url::authorise(&app, &company_id, &secret).await?;
    let body = json_body(&app, &headers, body, app.limits.max_request_bytes).await?;
    let grants = ingest::ingest(&app, company, &body.bytes).await?;
    drop(body);
    tracing::info!(company_id = %company, calls = grants.len(), "call data stored");
    let urls: Vec<Value> = grants
        .into_iter()
        .map(|g| {
            let mut entry = Map::new();
            entry.insert("call_id".into(), json!(g.call_id));
            entry.insert("status".into(), json!(g.status));
            match g.url {
                Some((url, expires_at)) => {
                    entry.insert("url".into(), json!(url));
                    entry.insert("expires_at".into(), json!(datetime::format(expires_at)));
                }
                None => {
                    entry.insert("url".into(), Value::Null);
                    entry.insert(
                        "message".into(),
                        json!("the recording is in and analysis has started"),
                    );
                }
            }
            json!({ g.call_data_id: entry })
        })
        .collect();
    Ok(Json(json!({ "audio_upload_urls": urls })))
}

pub async fn put_recording(
    State(app): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(call_id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        json!({"call_id": done.call_id, "bytes": done.bytes, "status": done.status}),
    ))
}
