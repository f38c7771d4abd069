//! `GET /api/v1/calls/{id}/recording`: a call's stored recording, for the web UI's player
//! and API users. Range requests get 206 (a browser seeks only then); whole files are
//! streamed in parts, so memory stays flat whatever the size. A G.711 (μ-law, A-law) WAV,
//! which browsers cannot play, is served as 16-bit PCM WAV, expanded range by range.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use kiku_blobs::{BlobError, Blobs};
use kiku_domain::audio::G711Wav;
use kiku_domain::{AudioFileType, CallId};
use std::sync::Arc;

use super::auth::CurrentUser;
use super::{ApiError, AppState};
use crate::app::AppError;

/// The most one response or one read of a streamed file holds.
const PART_BYTES: u64 = 1024 * 1024;
/// The start of a WAV read to find its format and samples.
const HEAD_BYTES: u64 = 4096;
/// A range answer is cut to this much; players ask again from where it ends.
const MAX_RANGE_BYTES: u64 = 4 * PART_BYTES;

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// No usable range: the whole file (several ranges are answered so too).
    Whole,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// Outside the file: 416.
    Unsatisfiable,
}

/// Reads a `bytes=` range (RFC 9110 §14.1.2).
pub fn wanted(range: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = |t: &str| t.parse::<u64>().ok();
    let (start, end) = match (first.is_empty(), last.is_empty()) {
        // The last `n` bytes.
        (true, false) => match parsed(last) {
            Some(0) => return Wanted::Unsatisfiable,
            Some(n) => (size.saturating_sub(n), size.saturating_sub(1)),
            None => return Wanted::Whole,
        },
        (false, true) => match parsed(first) {
            Some(start) => (start, size.saturating_sub(1)),
            None => return Wanted::Whole,
        },
        (false, false) => match (parsed(first), parsed(last)) {
            (Some(start), Some(end)) if start <= end => (start, end.min(size.saturating_sub(1))),
            _ => return Wanted::Whole,
        },
        (true, true) => return Wanted::Whole,
    };
    if size == 0 || start >= size {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part { start, end }
}

fn content_type(kind: AudioFileType) -> &'static str {
    match kind {
        AudioFileType::Wav => "audio/wav",
        AudioFileType::Mp3 => "audio/mpeg",
        AudioFileType::M4a => "audio/mp4",
    }
}

/// What is served: the stored file, or its PCM view.
#[derive(Clone)]
struct Served {
    blobs: Arc<dyn Blobs>,
    key: String,
    g711: Option<G711Wav>,
    len: u64,
}

impl Served {
    /// Bytes `start..end` of what is served.
    async fn read(&self, start: u64, end: u64) -> Result<Bytes, BlobError> {
        let Some(wav) = &self.g711 else {
            return self.blobs.get_range(&self.key, start..end).await;
        };
        let source = wav.source_range(start, end);
        let stored = if source.is_empty() {
            Bytes::new()
        } else {
            self.blobs.get_range(&self.key, source).await?
        };
        Ok(wav.pcm_bytes(start, end, &stored).into())
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/calls/{call_id}/recording",
    operation_id = "getRecording",
    tag = "CallHistories",
    summary = r#"The call's stored recording"#,
    description = r#"The file as uploaded (`audio/wav`, `audio/mpeg` or `audio/mp4` by the call's `audio_file_type`), or, when the company redacts personal data in recordings, the redacted copy (`audio/wav`, 16-bit PCM). Answers a single `Range: bytes=` request with 206 and `Content-Range` (at most 4 MiB per answer; ask again from where it ends), an unsatisfiable one with 416; without `Range` the whole file is streamed. Signed in by bearer token or the session cookie."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("call_id" = String, Path, format = "uuid"),
        ("Range" = Option<String>, Header, example = json!("bytes=0-1023")),
    ),
    responses(
        (status = 200, description = r#"The whole recording."#, headers(("Accept-Ranges" = String)), content((super::schemas::Binary = "audio/wav"), (super::schemas::Binary = "audio/mpeg"), (super::schemas::Binary = "audio/mp4"))),
        (status = 206, description = r#"The bytes asked for."#, headers(("Content-Range" = String)), content((super::schemas::Binary = "audio/wav"))),
        (status = 404, description = r#"No such call in the company, or no recording uploaded yet."#),
        (status = 416, description = r#"The range is outside the file."#, headers(("Content-Range" = String))),
    ),
)]
pub async fn recording(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
    Path(call_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || AppError::NotFound("no such call in this company".into());
    let id: CallId = call_id.parse().map_err(|_| not_found())?;
    let call = app
        .store
        .call(me.company_id, id)
        .await?
        .ok_or_else(not_found)?;
    let audio = call
        .audio
        .ok_or_else(|| AppError::NotFound("the call's recording has not been uploaded".into()))?;
    // A redacted copy, when the company has one made, is what is served: a PCM WAV.
    let kind = match audio.redacted_at {
        Some(_) => AudioFileType::Wav,
        None => call.data.audio_file_type,
    };
    let g711 = if kind == AudioFileType::Wav && audio.bytes > 0 {
        let head = app
            .blobs
            .get_range(&audio.key, 0..audio.bytes.min(HEAD_BYTES))
            .await
            .map_err(AppError::internal)?;
        G711Wav::parse(&head, audio.bytes)
    } else {
        None
    };
    let served = Served {
        blobs: app.blobs.clone(),
        key: audio.key,
        len: g711.map_or(audio.bytes, |w| w.pcm_len()),
        g711,
    };
    let size = served.len;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let mut response = match wanted(range, size) {
        Wanted::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            set(&mut r, header::CONTENT_RANGE, &format!("bytes */{size}"));
            return Ok(r);
        }
        Wanted::Part { start, end } => {
            let end = end.min(start + MAX_RANGE_BYTES - 1);
            let bytes = served
                .read(start, end + 1)
                .await
                .map_err(AppError::internal)?;
            let mut r = (StatusCode::PARTIAL_CONTENT, bytes).into_response();
            set(
                &mut r,
                header::CONTENT_RANGE,
                &format!("bytes {start}-{end}/{size}"),
            );
            r
        }
        Wanted::Whole => {
            let parts = stream::unfold(0u64, move |at| {
                let served = served.clone();
                async move {
                    if at >= served.len {
                        return None;
                    }
                    let end = (at + PART_BYTES).min(served.len);
                    let part = served.read(at, end).await.map_err(std::io::Error::other);
                    Some((part, end))
                }
            });
            let mut r = Body::from_stream(parts).into_response();
            set(&mut r, header::CONTENT_LENGTH, &size.to_string());
            r
        }
    };
    set(&mut response, header::CONTENT_TYPE, content_type(kind));
    set(&mut response, header::ACCEPT_RANGES, "bytes");
    set(&mut response, header::CACHE_CONTROL, "private, no-store");
    Ok(response)
}

fn set(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        let part = |start, end| Wanted::Part { start, end };
        assert_eq!(wanted(None, 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(wanted(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(wanted(Some("bytes=-10"), 100), part(90, 99));
        assert_eq!(wanted(Some("bytes=-1000"), 100), part(0, 99));
        assert_eq!(wanted(Some("bytes=50-1000"), 100), part(50, 99));
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=9-3"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("items=0-3"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=x-3"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-"), 0), Wanted::Unsatisfiable);
    }
}
