//! Audio storage behind one small interface: streamed in with a size cap, durable before
//! success is reported, streamed out to a file for the workers. A local folder by default
//! ([`LocalBlobs`]); an S3-compatible bucket or any other `object_store` backend by config
//! ([`ObjectBlobs`]).

mod local;
mod object;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;

pub use local::LocalBlobs;
pub use object::{ObjectBlobs, S3Settings};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The body stream failed (the client went away or stalled: `TimedOut`).
    #[error("reading the upload failed: {0}")]
    Source(std::io::Error),
    #[error("invalid blob key: {0}")]
    Key(String),
    #[error(transparent)]
    Store(#[from] object_store::Error),
    #[error("writing the recording failed: {0}")]
    Io(#[from] std::io::Error),
    /// The store answered but refused (no such bucket, credentials refused…).
    #[error("{0}")]
    Unavailable(String),
    /// The store's settings cannot work (a bad bucket name, an endpoint without a scheme…).
    #[error("{0}")]
    Config(String),
}

impl BlobError {
    /// The disk (or the bucket's quota) is full: nothing was kept, a retry later may work.
    pub fn is_full(&self) -> bool {
        matches!(self, BlobError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull || e.kind() == std::io::ErrorKind::QuotaExceeded)
    }

    /// No recording is stored under the key.
    pub fn is_not_found(&self) -> bool {
        match self {
            BlobError::Store(object_store::Error::NotFound { .. }) => true,
            BlobError::Io(e) => e.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

/// Where recordings live.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Streams `body` to `key`, failing with [`BlobError::TooLarge`] past `limit` bytes.
    /// Returns the size once the data is durable and readable; on any failure (too large,
    /// a failing body, the store's error, the future dropped) nothing is visible under
    /// `key` and what was sent so far is discarded.
    async fn put_stream(
        &self,
        key: &str,
        body: BoxStream<'static, Result<Bytes, std::io::Error>>,
        limit: u64,
    ) -> Result<u64, BlobError>;
    /// A file holding `key`'s bytes, read from its start, the recording never held in
    /// memory whole: the stored file itself for a local folder, a temporary copy streamed
    /// from the bucket (deleted when the file is closed) for an object store.
    async fn get_file(&self, key: &str) -> Result<std::fs::File, BlobError>;
    /// Bytes `range` of `key` (for HTTP Range requests: a player seeking in a recording).
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError>;
    /// Removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// For `/ready`: fails when a new recording could not be written now (a local disk
    /// with less than `min_free` bytes free, read-only or failing; a bucket that cannot
    /// be reached, is missing or refuses the credentials).
    async fn check_writable(&self, min_free: u64) -> Result<(), BlobError>;
    /// Where recordings go, for logs and messages (never with credentials).
    fn describe(&self) -> String;
}

/// The behaviour every [`Blobs`] backend shares, checked on each of them.
#[cfg(test)]
pub(crate) mod contract {
    use super::*;
    use futures_util::{stream, StreamExt};
    use sha2::{Digest, Sha256};
    use std::io::Read;

    /// The large upload every backend takes: 200 MiB, streamed (25 parts on S3).
    pub const LARGE: u64 = 200 * 1024 * 1024;

    pub fn body(parts: Vec<&'static [u8]>) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
        stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p)))).boxed()
    }

    /// All of `key` through [`Blobs::get_file`].
    pub async fn read_all(blobs: &dyn Blobs, key: &str) -> Result<Vec<u8>, BlobError> {
        let mut file = blobs.get_file(key).await?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Stores `key`, reads it back whole and in part, deletes it twice (the second is no
    /// error); an empty recording is stored too.
    pub async fn stores_and_deletes(blobs: &dyn Blobs, key: &str) {
        let put = blobs.put_stream(key, body(vec![b"ab", b"cd"]), 10);
        assert_eq!(put.await.expect("put"), 4);
        assert_eq!(read_all(blobs, key).await.expect("get"), b"abcd");
        assert_eq!(blobs.get_range(key, 1..3).await.expect("range"), &b"bc"[..]);
        // A second upload under the key replaces the first.
        let put = blobs.put_stream(key, body(vec![b"xyz"]), 10);
        assert_eq!(put.await.expect("replace"), 3);
        assert_eq!(read_all(blobs, key).await.expect("get"), b"xyz");
        blobs.delete(key).await.expect("delete");
        blobs.delete(key).await.expect("delete missing");
        let gone = read_all(blobs, key).await.expect_err("deleted");
        assert!(gone.is_not_found(), "{gone}");
        let empty = format!("{key}-empty");
        assert_eq!(
            blobs
                .put_stream(&empty, body(vec![]), 10)
                .await
                .expect("empty"),
            0
        );
        assert_eq!(read_all(blobs, &empty).await.expect("get empty"), b"");
        blobs.delete(&empty).await.expect("delete empty");
    }

    /// Over the limit and a failing body: an error, and nothing stored under `key`.
    pub async fn failures_leave_nothing(blobs: &dyn Blobs, key: &str) {
        let err = blobs.put_stream(key, body(vec![b"abc", b"def"]), 5).await;
        assert!(
            matches!(err, Err(BlobError::TooLarge { limit: 5 })),
            "{err:?}"
        );
        let failing = stream::iter(vec![
            Ok(Bytes::from_static(b"x")),
            Err(std::io::Error::other("client went away")),
        ])
        .boxed();
        let err = blobs.put_stream(key, failing, 100).await;
        assert!(matches!(err, Err(BlobError::Source(_))), "{err:?}");
        let gone = read_all(blobs, key).await.expect_err("nothing stored");
        assert!(gone.is_not_found(), "{gone}");
    }

    /// `len` bytes of a fixed pseudo-random sequence, generated chunk by chunk as the stream
    /// is read (never held whole), and failing with "client went away" after `fail_after`
    /// bytes if set; with the SHA-256 of what a complete stream yields.
    pub fn generated(
        len: u64,
        fail_after: Option<u64>,
    ) -> (BoxStream<'static, Result<Bytes, std::io::Error>>, [u8; 32]) {
        const CHUNK: u64 = 64 * 1024;
        let chunk_at = move |at: u64| -> Bytes {
            let n = CHUNK.min(len - at) as usize;
            // xorshift seeded by the offset: cheap, and no two chunks alike.
            let mut state = at.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut out = Vec::with_capacity(n);
            while out.len() < n {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                out.extend_from_slice(&state.to_le_bytes());
            }
            out.truncate(n);
            out.into()
        };
        let mut hash = Sha256::new();
        let mut at = 0;
        while at < len {
            let chunk = chunk_at(at);
            hash.update(&chunk);
            at += chunk.len() as u64;
        }
        let stream = stream::unfold(0u64, move |at| async move {
            if fail_after.is_some_and(|limit| at >= limit) {
                return Some((Err(std::io::Error::other("client went away")), len));
            }
            (at < len).then(|| {
                let chunk = chunk_at(at);
                let next = at + chunk.len() as u64;
                (Ok(chunk), next)
            })
        })
        .boxed();
        (stream, hash.finalize().into())
    }

    /// A `/proc/self/status` figure, in KiB.
    pub fn memory_kib(field: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// SHA-256 and length of `key` read through [`Blobs::get_file`] in 1 MiB reads.
    pub async fn file_digest(blobs: &dyn Blobs, key: &str) -> ([u8; 32], u64) {
        let mut file = blobs.get_file(key).await.expect("get_file");
        tokio::task::spawn_blocking(move || {
            let mut hash = Sha256::new();
            let mut buf = vec![0u8; 1024 * 1024];
            let mut total = 0;
            loop {
                let n = file.read(&mut buf).expect("read");
                if n == 0 {
                    break;
                }
                hash.update(&buf[..n]);
                total += n as u64;
            }
            (hash.finalize().into(), total)
        })
        .await
        .expect("digest")
    }

    /// A large upload streamed in and read back with the same checksum; one cut off by its
    /// client after `len / 2` bytes leaves nothing.
    pub async fn large_upload_and_an_aborted_one(blobs: &dyn Blobs, key: &str, len: u64) {
        let (body, sha) = generated(len, None);
        let before = memory_kib("VmRSS");
        // The peak from here on (other tests of this process may raise it too).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let started = std::time::Instant::now();
        let stored = blobs.put_stream(key, body, len).await.expect("large put");
        assert_eq!(stored, len);
        let put = started.elapsed().as_secs_f64();
        assert_eq!(file_digest(blobs, key).await, (sha, len));
        let read = started.elapsed().as_secs_f64() - put;
        let grown_mib = memory_kib("VmHWM").saturating_sub(before) / 1024;
        eprintln!(
            "{}: {} MiB stored in {put:.1} s, read back to a file and checked in {read:.1} s; peak memory {grown_mib} MiB over the start",
            blobs.describe(),
            len >> 20
        );
        assert!(
            grown_mib < 150,
            "memory grew by {grown_mib} MiB for a {} MiB recording",
            len >> 20
        );
        let tail = blobs.get_range(key, len - 10..len).await.expect("tail");
        assert_eq!(tail.len(), 10);
        blobs.delete(key).await.expect("delete");

        let aborted = format!("{key}-aborted");
        let (body, _) = generated(len, Some(len / 2));
        let err = blobs.put_stream(&aborted, body, len).await;
        assert!(matches!(err, Err(BlobError::Source(_))), "{err:?}");
        let gone = read_all(blobs, &aborted).await.expect_err("nothing stored");
        assert!(gone.is_not_found(), "{gone}");
    }
}
