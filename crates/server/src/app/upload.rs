//! `PUT <upload URL>`: check the signature and expiry, stream the recording to blob
//! storage within the size limit, then attach it and enqueue analysis atomically.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use kiku_blobs::BlobError;
use kiku_domain::upload_signature::{SignatureError, UPLOAD_URL_LIFETIME};
use kiku_domain::{CallId, CallStatus};
use kiku_storage::{AttachOutcome, NewAudio};
use time::OffsetDateTime;

use super::{abuse, App, AppError};

/// A signed upload URL for `call`, valid for three hours from `now`, and its expiry.
pub fn signed_url(app: &App, call: CallId, now: OffsetDateTime) -> (String, OffsetDateTime) {
    let expires_at = now + UPLOAD_URL_LIFETIME;
    let expires = expires_at.unix_timestamp();
    let signature = app.signing_key.sign(call, expires);
    (
        format!(
            "{}/uploads/{call}?expires={expires}&signature={signature}",
            app.public_url
        ),
        expires_at,
    )
}

/// The URL's parts as received; any may be missing or garbage.
pub struct UploadRequest<'a> {
    pub call_id: &'a str,
    pub expires: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub content_length: Option<u64>,
    /// The client's address, for the log line of a refused URL.
    pub client: Option<IpAddr>,
}

pub struct Uploaded {
    pub call_id: CallId,
    pub bytes: u64,
    pub status: CallStatus,
}

/// Verifies the URL; every failure is the same 403 apart from the expiry message.
fn verify(app: &App, req: &UploadRequest<'_>) -> Result<CallId, AppError> {
    checked_url(app, req).inspect_err(|reason| {
        // An operator sees forged or stale URLs; never the signature or the URL itself.
        let call_id: String = req.call_id.chars().take(64).collect();
        let client = req
            .client
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        tracing::warn!(call_id = ?call_id, client = %client, reason = reason.as_str(), "upload URL refused");
    })
    .map_err(|reason| match reason {
        Refused::Expired => AppError::Forbidden(
            "this upload URL has expired (3 hours); post the call data again for a new one".into(),
        ),
        Refused::Malformed | Refused::BadSignature => {
            AppError::Forbidden("this upload URL is not valid".into())
        }
    })
}

/// Why an upload URL was refused, as logged.
#[derive(Clone, Copy)]
enum Refused {
    Malformed,
    BadSignature,
    Expired,
}

impl Refused {
    fn as_str(self) -> &'static str {
        match self {
            Refused::Malformed => "malformed",
            Refused::BadSignature => "bad_signature",
            Refused::Expired => "expired",
        }
    }
}

fn checked_url(app: &App, req: &UploadRequest<'_>) -> Result<CallId, Refused> {
    let call: CallId = req.call_id.parse().map_err(|_| Refused::Malformed)?;
    let expires: i64 = req
        .expires
        .and_then(|e| e.parse().ok())
        .ok_or(Refused::Malformed)?;
    let signature = req.signature.ok_or(Refused::Malformed)?;
    app.signing_key
        .verify(call, expires, signature, app.clock.now())
        .map_err(|e| match e {
            SignatureError::Expired => Refused::Expired,
            SignatureError::BadSignature => Refused::BadSignature,
        })?;
    Ok(call)
}

/// Calls with an upload being received by this process. One at a time per call: a second
/// concurrent PUT would only double the memory and disk a client can hold.
#[derive(Default)]
pub struct UploadsInFlight(Mutex<HashSet<CallId>>);

/// The call's place in [`UploadsInFlight`], given up on drop (also when the client leaves).
struct InFlight<'a> {
    set: &'a UploadsInFlight,
    call: CallId,
}

impl UploadsInFlight {
    fn calls(&self) -> std::sync::MutexGuard<'_, HashSet<CallId>> {
        // A panic elsewhere while holding the lock leaves the set itself intact.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn begin(&self, call: CallId) -> Result<InFlight<'_>, AppError> {
        if !self.calls().insert(call) {
            return Err(AppError::UploadInProgress);
        }
        Ok(InFlight { set: self, call })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set.calls().remove(&self.call);
    }
}

pub async fn receive(
    app: &App,
    req: UploadRequest<'_>,
    body: BoxStream<'static, Result<Bytes, std::io::Error>>,
) -> Result<Uploaded, AppError> {
    let received = store_recording(app, req, body).await;
    app.metrics
        .upload(received.as_ref().ok().map(|uploaded| uploaded.bytes));
    received
}

async fn store_recording(
    app: &App,
    req: UploadRequest<'_>,
    body: BoxStream<'static, Result<Bytes, std::io::Error>>,
) -> Result<Uploaded, AppError> {
    let call = verify(app, &req)?;
    let _in_flight = app.uploads_in_flight.begin(call)?;
    let target = app
        .store
        .upload_target(call)
        .await?
        .ok_or_else(|| AppError::NotFound("no such call".into()))?;
    if !target.status.accepts_upload() {
        return Err(AppError::UploadClosed(target.status));
    }
    let limit = app.limits.max_upload_bytes;
    if req.content_length.is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge(limit));
    }
    let allowance = abuse::upload_allowance(app, target.company_id, req.content_length).await?;
    // A new key per upload: the previous recording stays intact until the swap commits.
    let key = format!(
        "{}/calls/{call}/{}",
        target.company_id,
        uuid::Uuid::new_v4().simple()
    );
    let bytes = app
        .blobs
        .put_stream(&key, body, limit.min(allowance))
        .await
        .map_err(|e| match e {
            // Past what the company may still upload today: the 429 the check gives.
            BlobError::TooLarge { .. } if allowance < limit => AppError::RateLimited {
                message: "this upload would take the company past its bytes of recordings per day"
                    .into(),
                retry_after_seconds: 3600,
            },
            BlobError::TooLarge { limit } => AppError::PayloadTooLarge(limit),
            BlobError::Source(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                AppError::BodyTimeout(app.limits.body_timeout.as_secs())
            }
            BlobError::Source(reason) => {
                AppError::InvalidRequest(format!("the upload was interrupted: {reason}"))
            }
            full if full.is_full() => AppError::StorageFull(full.to_string()),
            other => AppError::internal(other),
        })?;
    let outcome = app
        .store
        .attach_audio(
            call,
            NewAudio {
                key: key.clone(),
                bytes,
            },
            app.clock.now(),
        )
        .await;
    let discard = |key: String| async move {
        if let Err(e) = app.blobs.delete(&key).await {
            tracing::warn!(error = %e, "could not delete an unreferenced recording");
        }
    };
    match outcome {
        Ok(AttachOutcome::Attached { replaced }) => {
            if let Some(old) = replaced {
                discard(old).await;
            }
            tracing::info!(call_id = %call, size_bytes = bytes, "recording stored");
            Ok(Uploaded {
                call_id: call,
                bytes,
                status: CallStatus::Queued,
            })
        }
        Ok(AttachOutcome::Closed(status)) => {
            discard(key).await;
            Err(AppError::UploadClosed(status))
        }
        Ok(AttachOutcome::NotFound) => {
            discard(key).await;
            Err(AppError::NotFound("no such call".into()))
        }
        Err(e) => {
            discard(key).await;
            Err(e.into())
        }
    }
}
