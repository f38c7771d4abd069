//! Audio storage behind one small interface: streamed in with a size cap, durable before
//! success is reported. A local folder by default ([`LocalBlobs`]); any `object_store`
//! backend by config ([`ObjectBlobs`]).

mod local;

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};

pub use local::LocalBlobs;

/// Part size for streamed writes; memory per upload stays near `PART_BYTES × IN_FLIGHT`.
const PART_BYTES: usize = 8 * 1024 * 1024;
const IN_FLIGHT: usize = 2;

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
}

impl BlobError {
    /// The disk (or the bucket's quota) is full: nothing was kept, a retry later may work.
    pub fn is_full(&self) -> bool {
        matches!(self, BlobError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull || e.kind() == std::io::ErrorKind::QuotaExceeded)
    }
}

/// Where recordings live.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Streams `body` to `key`, failing with [`BlobError::TooLarge`] past `limit` bytes
    /// (nothing is left behind then). Returns the size once the data is durable.
    async fn put_stream(
        &self,
        key: &str,
        body: BoxStream<'static, Result<Bytes, std::io::Error>>,
        limit: u64,
    ) -> Result<u64, BlobError>;
    async fn get(&self, key: &str) -> Result<Bytes, BlobError>;
    /// Bytes `range` of `key` (for HTTP Range requests: a player seeking in a recording).
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError>;
    /// Removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// For `/ready`: fails when a new recording could not be written now (less than
    /// `min_free` bytes free, a read-only or failing disk).
    async fn check_writable(&self, min_free: u64) -> Result<(), BlobError>;
}

/// [`Blobs`] on an `object_store` backend (e.g. S3), whose completed writes are durable.
/// Memory per upload stays near `PART_BYTES × IN_FLIGHT`.
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
}

impl ObjectBlobs {
    pub fn remote(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    fn path(key: &str) -> Result<Path, BlobError> {
        Path::parse(key).map_err(|e| BlobError::Key(e.to_string()))
    }
}

#[async_trait]
impl Blobs for ObjectBlobs {
    async fn put_stream(
        &self,
        key: &str,
        mut body: BoxStream<'static, Result<Bytes, std::io::Error>>,
        limit: u64,
    ) -> Result<u64, BlobError> {
        let path = Self::path(key)?;
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut total: u64 = 0;
        while let Some(chunk) = body.next().await {
            let failure = match chunk {
                Ok(bytes) => {
                    total += bytes.len() as u64;
                    if total > limit {
                        Some(BlobError::TooLarge { limit })
                    } else {
                        writer.write(&bytes);
                        match writer.wait_for_capacity(IN_FLIGHT).await {
                            Ok(()) => None,
                            Err(e) => Some(e.into()),
                        }
                    }
                }
                Err(e) => Some(BlobError::Source(e)),
            };
            if let Some(err) = failure {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "aborting a failed upload left parts behind");
                }
                return Err(err);
            }
        }
        writer.finish().await?;
        Ok(total)
    }

    async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        Ok(self.store.get(&Self::path(key)?).await?.bytes().await?)
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError> {
        Ok(self.store.get_range(&Self::path(key)?, range).await?)
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Completed writes are the object store's business; its errors show on use.
    async fn check_writable(&self, _min_free: u64) -> Result<(), BlobError> {
        Ok(())
    }
}

/// The behaviour every [`Blobs`] backend shares, checked on each of them.
#[cfg(test)]
pub(crate) mod contract {
    use super::*;
    use futures_util::stream;

    pub fn body(parts: Vec<&'static [u8]>) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
        stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p)))).boxed()
    }

    /// Stores `key`, reads it back, deletes it twice (the second is no error).
    pub async fn stores_and_deletes(blobs: &dyn Blobs, key: &str) {
        let put = blobs.put_stream(key, body(vec![b"ab", b"cd"]), 10);
        assert_eq!(put.await.expect("put"), 4);
        assert_eq!(blobs.get(key).await.expect("get"), &b"abcd"[..]);
        assert_eq!(blobs.get_range(key, 1..3).await.expect("range"), &b"bc"[..]);
        blobs.delete(key).await.expect("delete");
        blobs.delete(key).await.expect("delete missing");
        assert!(blobs.get(key).await.is_err());
    }

    /// Over the limit and a failing body: an error, and nothing stored under `key`.
    pub async fn failures_leave_nothing(blobs: &dyn Blobs, key: &str) {
        let err = blobs.put_stream(key, body(vec![b"abc", b"def"]), 5).await;
        assert!(matches!(err, Err(BlobError::TooLarge { limit: 5 })));
        let failing = stream::iter(vec![
            Ok(Bytes::from_static(b"x")),
            Err(std::io::Error::other("client went away")),
        ])
        .boxed();
        let err = blobs.put_stream(key, failing, 100).await;
        assert!(matches!(err, Err(BlobError::Source(_))));
        assert!(blobs.get(key).await.is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn object_store_backend_keeps_the_contract() {
        let blobs = ObjectBlobs::remote(Arc::new(object_store::memory::InMemory::new()));
        contract::stores_and_deletes(&blobs, "c/a.wav").await;
        contract::failures_leave_nothing(&blobs, "c/b.wav").await;
    }
}
