//! Request bodies as the server accepts them: every chunk must arrive within the body
//! timeout, and bodies read into memory are capped and paid for from the shared budget.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use bytes::BytesMut;
use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;

use crate::app::limits::BufferShare;
use crate::app::{App, AppError};

/// The body as a stream that fails with `TimedOut` when nothing arrives for `timeout`
/// (a stalled client then holds nothing; what it sent is dropped by the reader).
pub fn with_progress_timeout(
    body: Body,
    timeout: Duration,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    let chunks = body.into_data_stream();
    stream::unfold(Some(chunks), move |state| async move {
        let mut chunks = state?;
        match tokio::time::timeout(timeout, chunks.next()).await {
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(chunks))),
            Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), None)),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no data for {} s", timeout.as_secs()),
                )),
                None,
            )),
        }
    })
    .boxed()
}

/// A body read into memory, holding its share of the buffer budget until dropped.
pub struct Buffered {
    pub bytes: Bytes,
    _share: BufferShare,
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads the whole body: 413 past `limit` (before reading, when the length is declared),
/// 408 when it stalls, 503 with `Retry-After` when the server's budget is spent.
pub async fn read_capped(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Buffered, AppError> {
    let too_large = || AppError::PayloadTooLarge(limit as u64);
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let budget = &app.limits.buffers;
    let busy = || {
        AppError::unavailable(
            "the server is receiving too much at once; try again in a few seconds",
        )
    };
    let mut share = BufferShare::default();
    let mut buffer = BytesMut::new();
    let mut chunks = with_progress_timeout(body, app.limits.body_timeout);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| match e.kind() {
            std::io::ErrorKind::TimedOut => {
                AppError::BodyTimeout(app.limits.body_timeout.as_secs())
            }
            _ => AppError::InvalidRequest(format!("the body could not be read: {e}")),
        })?;
        if buffer.len() + chunk.len() > limit {
            return Err(too_large());
        }
        if !budget.take(&mut share, chunk.len()) {
            return Err(busy());
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Buffered {
        bytes: buffer.freeze(),
        _share: share,
    })
}
