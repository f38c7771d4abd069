//! Recordings in a local folder: each upload streams into a private temporary file under
//! `.incoming/`, is fsynced and renamed into place, so memory per upload is one chunk, a
//! reader never sees half a file, and what a crash leaves behind is swept at the next start.

use std::ops::Range;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::{BlobError, Blobs};

/// Unfinished uploads; nothing in it is referenced by the database.
const INCOMING: &str = ".incoming";

/// Memory an upload holds between its socket and its file.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// [`Blobs`] in a folder readable by its owner only (0700 folders, 0600 files).
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// Opens `root` (created if missing), makes it private, and deletes what unfinished
    /// uploads of an earlier run left in `.incoming/`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        private_dirs(&root)?;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700))?;
        let root = root.canonicalize()?;
        let incoming = root.join(INCOMING);
        private_dirs(&incoming)?;
        let mut swept = 0;
        for entry in std::fs::read_dir(&incoming)? {
            let path = entry?.path();
            if path.is_file() && std::fs::remove_file(&path).is_ok() {
                swept += 1;
            }
        }
        if swept > 0 {
            tracing::info!(
                files = swept,
                "deleted the partial uploads an earlier run left behind"
            );
        }
        Ok(Self { root })
    }

    /// The file for `key`: relative, plain names only, never into `.incoming`.
    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        let relative = Path::new(key);
        let plain = relative.components().all(|c| match c {
            Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
            _ => false,
        });
        if key.is_empty() || !plain {
            return Err(BlobError::Key(key.to_string()));
        }
        Ok(self.root.join(relative))
    }

    async fn write_incoming(
        file: &mut tokio::fs::File,
        body: &mut BoxStream<'static, Result<Bytes, std::io::Error>>,
        limit: u64,
    ) -> Result<u64, BlobError> {
        let mut total: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(BlobError::Source)?;
            total += chunk.len() as u64;
            if total > limit {
                return Err(BlobError::TooLarge { limit });
            }
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok(total)
    }
}

/// Creates `dir` and its missing parents as 0700, whatever the umask.
pub(crate) fn private_dirs(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl Blobs for LocalBlobs {
    async fn put_stream(
        &self,
        key: &str,
        mut body: BoxStream<'static, Result<Bytes, std::io::Error>>,
        limit: u64,
    ) -> Result<u64, BlobError> {
        let target = self.path(key)?;
        let temp = self
            .root
            .join(INCOMING)
            .join(uuid::Uuid::new_v4().simple().to_string());
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .await?;
        // tokio buffers up to 2 MiB per file by default; stalled uploads would each keep it.
        file.set_max_buf_size(WRITE_BUFFER_BYTES);
        let written = Self::write_incoming(&mut file, &mut body, limit).await;
        drop(file);
        let total = match written {
            Ok(total) => total,
            Err(e) => {
                if let Err(rm) = tokio::fs::remove_file(&temp).await {
                    tracing::warn!(error = %rm, "could not delete a partial upload");
                }
                return Err(e);
            }
        };
        let placed = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let dir = target.parent().ok_or(std::io::ErrorKind::InvalidInput)?;
            private_dirs(dir)?;
            std::fs::rename(&temp, &target).inspect_err(|_| {
                let _ = std::fs::remove_file(&temp);
            })?;
            // The rename is durable once the folder holding the new name is.
            sync_dir(dir)
        })
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))?;
        placed?;
        Ok(total)
    }

    /// The stored file itself: nothing is copied, and a recording replaced or deleted
    /// meanwhile stays readable through it until it is closed.
    async fn get_file(&self, key: &str) -> Result<std::fs::File, BlobError> {
        Ok(tokio::fs::File::open(self.path(key)?)
            .await?
            .into_std()
            .await)
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(self.path(key)?).await?;
        file.seek(std::io::SeekFrom::Start(range.start)).await?;
        let len = range.end.saturating_sub(range.start);
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(len).read_to_end(&mut bytes).await?;
        Ok(bytes.into())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn check_writable(&self, min_free: u64) -> Result<(), BlobError> {
        let root = self.root.clone();
        let checked = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let fs = rustix::fs::statvfs(&root).map_err(std::io::Error::from)?;
            let free = fs.f_bavail.saturating_mul(fs.f_frsize);
            if free < min_free {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    format!("{free} bytes free, fewer than the {min_free} required"),
                ));
            }
            // Free space says nothing of a read-only or failing disk: write and sync a byte.
            let probe = root.join(INCOMING).join("ready-probe");
            std::fs::write(&probe, b"k")?;
            std::fs::File::open(&probe)?.sync_all()?;
            std::fs::remove_file(&probe)
        })
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))?;
        Ok(checked?)
    }

    fn describe(&self) -> String {
        format!("the folder {}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract;
    use std::os::unix::fs::MetadataExt;

    #[tokio::test]
    async fn stores_privately_replaces_and_deletes() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = LocalBlobs::open(dir.path().join("audio")).expect("open");
        let put = blobs.put_stream("c/calls/a.wav", contract::body(vec![b"ab"]), 10);
        assert_eq!(put.await.expect("put"), 2);
        let mode = |p: PathBuf| std::fs::metadata(p).expect("stat").mode() & 0o777;
        assert_eq!(mode(dir.path().join("audio")), 0o700);
        assert_eq!(mode(dir.path().join("audio/c/calls")), 0o700);
        assert_eq!(mode(dir.path().join("audio/c/calls/a.wav")), 0o600);
        contract::stores_and_deletes(&blobs, "c/calls/a.wav").await;
    }

    #[tokio::test]
    async fn a_large_upload_streams_through_and_an_aborted_one_leaves_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = LocalBlobs::open(dir.path()).expect("open");
        contract::large_upload_and_an_aborted_one(&blobs, "c/big.wav", contract::LARGE).await;
        let incoming = std::fs::read_dir(dir.path().join(INCOMING)).expect("incoming");
        assert_eq!(incoming.count(), 0, "no partial file is kept");
    }

    #[tokio::test]
    async fn failures_leave_nothing_and_keys_stay_inside() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = LocalBlobs::open(dir.path()).expect("open");
        contract::failures_leave_nothing(&blobs, "c/b.wav").await;
        let incoming = std::fs::read_dir(dir.path().join(INCOMING)).expect("incoming");
        assert_eq!(incoming.count(), 0, "no partial file is kept");
        for key in ["../x", "/etc/passwd", ".incoming/x", "a/../../x", ""] {
            assert!(
                matches!(blobs.get_file(key).await, Err(BlobError::Key(_))),
                "{key}"
            );
        }
    }

    #[tokio::test]
    async fn a_crash_mid_upload_is_swept_at_the_next_start() {
        let dir = tempfile::tempdir().expect("dir");
        drop(LocalBlobs::open(dir.path()).expect("open"));
        let partial = dir.path().join(INCOMING).join("left-by-a-crash");
        std::fs::write(&partial, b"half a recording").expect("write");
        let blobs = LocalBlobs::open(dir.path()).expect("reopen");
        assert!(!partial.exists());
        blobs.check_writable(0).await.expect("room for a recording");
        let err = blobs
            .check_writable(u64::MAX)
            .await
            .expect_err("no disk is that big");
        assert!(err.is_full(), "{err}");
    }
}
