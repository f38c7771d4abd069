//! Recordings in an object store: an S3-compatible bucket (`s3://bucket/prefix`) in a
//! cluster, or any other `object_store` backend. An upload goes up in parts while it
//! arrives (memory per upload stays near `PART_BYTES × (IN_FLIGHT + 1)` whatever its size)
//! and is visible only once complete; a failed or abandoned one is aborted, its parts
//! discarded. Small recordings (under one part) take a single PUT.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ClientConfigKey, MultipartUpload, ObjectStore, PutPayloadMut};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::task::JoinSet;

use crate::{BlobError, Blobs};

/// Part size of multipart uploads (S3 wants ≥ 5 MiB but the last; 10,000 parts at most,
/// so up to 80 GB per recording).
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one upload sent at once; more wait (backpressure on the client's body).
const IN_FLIGHT: usize = 2;
/// Allocation unit while a part fills.
const BLOCK_BYTES: usize = 256 * 1024;
/// How long a failed upload's parts in flight may take to land before it is aborted.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `/ready` waits for the bucket (the store retries for minutes on its own).
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// A name listed by the readiness check: no object is stored under it, so the answer is
/// empty and cheap.
const READY_PROBE: &str = "kiku-ready-probe";

/// How to reach an S3-compatible bucket. Each field left `None` comes from the standard
/// `AWS_*` environment variables that `object_store` reads (`AWS_ENDPOINT`,
/// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_ALLOW_HTTP`, `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`…), then `object_store`'s
/// defaults (AWS itself, `us-east-1`, HTTPS, path-style requests, credentials from the
/// instance or container when none are given).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Folder inside the bucket, without slashes at its ends; empty for the bucket's root.
    pub prefix: String,
    /// The service's URL, `https://s3.example.com` (path-style: `…/bucket/key`). With
    /// virtual-hosted-style requests the bucket is put in front of the host name
    /// (`https://bucket.s3.example.com`) unless it is there already.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    /// Never logged nor shown.
    pub secret_access_key: Option<String>,
    /// Plain `http://` endpoints are refused unless this is true.
    pub allow_http: Option<bool>,
    /// `bucket.host/key` instead of `host/bucket/key`.
    pub virtual_hosted_style_request: Option<bool>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .field(
                "virtual_hosted_style_request",
                &self.virtual_hosted_style_request,
            )
            .finish()
    }
}

impl S3Settings {
    /// `s3://bucket` or `s3://bucket/prefix` (the other fields unset); `None` when `url`
    /// is not an `s3://` URL at all.
    pub fn from_url(url: &str) -> Option<Result<Self, String>> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        Some(Self::checked(bucket, prefix).map(|(bucket, prefix)| Self {
            bucket,
            prefix,
            ..Self::default()
        }))
    }

    fn checked(bucket: &str, prefix: &str) -> Result<(String, String), String> {
        let alnum =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && alnum(bucket.chars().next())
            && alnum(bucket.chars().last())
            && !bucket.contains("..");
        if !valid {
            return Err(format!(
                "{bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)"
            ));
        }
        let parsed = Some(prefix)
            .filter(|p| !p.starts_with('/'))
            .and_then(|p| Path::parse(p).ok());
        let prefix = parsed.ok_or_else(|| {
            format!("{prefix:?} is not a folder in a bucket (no empty, \".\" or \"..\" segments)")
        })?;
        Ok((bucket.to_string(), prefix.to_string()))
    }

    /// `s3://bucket/prefix`, for logs and messages.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// The `object_store` builder: the `AWS_*` variables, then these settings over them.
    fn builder(&self) -> Result<AmazonS3Builder, String> {
        let (bucket, _) = Self::checked(&self.bucket, &self.prefix)?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket.clone());
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &self.region {
            builder = builder.with_region(region);
        }
        if let Some(key_id) = &self.access_key_id {
            builder = builder.with_access_key_id(key_id);
        }
        if let Some(secret) = &self.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        if let Some(allow) = self.allow_http {
            builder = builder.with_allow_http(allow);
        }
        if let Some(virtual_hosted) = self.virtual_hosted_style_request {
            builder = builder.with_virtual_hosted_style_request(virtual_hosted);
        }
        let flag = |key: AmazonS3ConfigKey| {
            builder.get_config_value(&key).is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "on" | "yes" | "y"
                )
            })
        };
        let virtual_hosted = flag(AmazonS3ConfigKey::VirtualHostedStyleRequest);
        let allow_http = flag(AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp));
        let Some(endpoint) = builder.get_config_value(&AmazonS3ConfigKey::Endpoint) else {
            return Ok(builder);
        };
        let mut url = url::Url::parse(endpoint.trim()).map_err(|_| {
            format!("the S3 endpoint {endpoint:?} is not a URL (e.g. https://s3.example.com)")
        })?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => {
                return Err(format!(
                    "the S3 endpoint {} is plain HTTP: set AWS_ALLOW_HTTP=true (or s3_allow_http) to allow it",
                    redacted(&url)
                ))
            }
            _ => {
                return Err(format!(
                    "the S3 endpoint {} must be an http(s) URL",
                    redacted(&url)
                ))
            }
        }
        if virtual_hosted {
            let host = match url.host() {
                Some(url::Host::Domain(host)) => host.to_string(),
                _ => {
                    return Err(format!(
                        "virtual-hosted-style requests need a host name in the S3 endpoint, not {}",
                        redacted(&url)
                    ))
                }
            };
            // object_store takes a virtual-hosted endpoint as the bucket's own URL.
            if !host.starts_with(&format!("{bucket}.")) {
                url.set_host(Some(&format!("{bucket}.{host}")))
                    .map_err(|e| format!("the S3 endpoint with the bucket in front: {e}"))?;
            }
            builder = builder.with_endpoint(url.as_str().trim_end_matches('/'));
        }
        Ok(builder)
    }

    /// The endpoint requests go to (without user or password), for logs.
    pub fn endpoint_for_logs(&self) -> String {
        let builder = match self.builder() {
            Ok(builder) => builder,
            Err(_) => return "(invalid)".into(),
        };
        match builder.get_config_value(&AmazonS3ConfigKey::Endpoint) {
            Some(endpoint) => url::Url::parse(&endpoint)
                .map(|u| redacted(&u))
                .unwrap_or_else(|_| "(invalid)".into()),
            None => "AWS S3".into(),
        }
    }
}

/// `Code: Message` of an S3 error answer (`NoSuchBucket: The specified bucket does not
/// exist`), in place of the whole request and XML.
fn s3_error_code(err: &object_store::Error) -> Option<String> {
    let text = err.to_string();
    let tag = |name: &str| -> Option<String> {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].to_string())
    };
    let code = tag("Code")?;
    Some(match tag("Message") {
        Some(message) => format!("{code}: {message}"),
        None => code,
    })
}

/// `url` without user, password, query or fragment.
fn redacted(url: &url::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string().trim_end_matches('/').to_string()
}

/// [`Blobs`] on an `object_store` backend (e.g. S3), whose completed writes are durable.
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    /// Where [`Blobs::get_file`] puts its temporary copies.
    scratch: PathBuf,
    name: String,
}

impl ObjectBlobs {
    /// Recordings in `store` (named `name` in messages); temporary copies for the workers
    /// in `scratch`, created private (0700) if missing.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        name: impl Into<String>,
        scratch: impl Into<PathBuf>,
    ) -> Result<Self, BlobError> {
        let scratch = scratch.into();
        crate::local::private_dirs(&scratch)?;
        Ok(Self {
            store,
            scratch,
            name: name.into(),
        })
    }

    /// Recordings under `settings.prefix` in an S3-compatible bucket. Nothing is sent yet:
    /// [`Blobs::check_writable`] says whether the bucket answers.
    pub fn s3(settings: &S3Settings, scratch: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let s3 = settings
            .builder()
            .map_err(BlobError::Config)?
            .build()
            .map_err(|e| BlobError::Config(format!("the S3 settings: {e}")))?;
        let store: Arc<dyn ObjectStore> = if settings.prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, settings.prefix.as_str()))
        };
        Self::new(store, settings.url(), scratch)
    }

    fn path(key: &str) -> Result<Path, BlobError> {
        Path::parse(key).map_err(|e| BlobError::Key(e.to_string()))
    }
}

/// A multipart upload under way: its parts in flight, aborted if dropped unfinished (a
/// client gone, a request cancelled) so that no part is left behind.
struct Multipart {
    upload: Option<Box<dyn MultipartUpload>>,
    parts: JoinSet<object_store::Result<()>>,
}

impl Multipart {
    fn send(&mut self, part: PutPayloadMut) {
        if let Some(upload) = self.upload.as_mut() {
            self.parts.spawn(upload.put_part(part.freeze()));
        }
    }

    /// Waits until fewer than `max` parts are in flight (0: all done).
    async fn settle(&mut self, max: usize) -> Result<(), BlobError> {
        while !self.parts.is_empty() && self.parts.len() >= max.max(1) {
            match self.parts.join_next().await {
                Some(Ok(sent)) => sent?,
                Some(Err(join)) => return Err(BlobError::Io(std::io::Error::other(join))),
                None => break,
            }
        }
        if max == 0 {
            while let Some(sent) = self.parts.join_next().await {
                sent.map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
            }
        }
        Ok(())
    }

    async fn complete(mut self) -> Result<(), BlobError> {
        self.settle(0).await?;
        let mut upload = self
            .upload
            .take()
            .ok_or(BlobError::Config("no upload".into()))?;
        match upload.complete().await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.upload = Some(upload);
                Err(e.into())
            }
        }
    }

    async fn abort(mut self) {
        if let Some(upload) = self.upload.take() {
            discard(upload, std::mem::take(&mut self.parts)).await;
        }
    }
}

impl Drop for Multipart {
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        let parts = std::mem::take(&mut self.parts);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(discard(upload, parts))),
            // No runtime to abort on: the bucket's lifecycle rule is the backstop.
            Err(_) => tracing::warn!("an abandoned upload could not be aborted"),
        }
    }
}

/// Aborts `upload`. A part still in flight may land after an abort (S3 documents it), so
/// those in `parts` are let finish first (for a while), then the upload is aborted.
async fn discard(
    mut upload: Box<dyn MultipartUpload>,
    mut parts: JoinSet<object_store::Result<()>>,
) {
    let drained = async { while parts.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
    parts.abort_all();
    if let Err(e) = upload.abort().await {
        tracing::warn!(error = %e, "aborting a failed upload left parts behind");
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
        let new_part = || PutPayloadMut::new().with_block_size(BLOCK_BYTES);
        let mut part = new_part();
        let mut multipart: Option<Multipart> = None;
        let mut total: u64 = 0;
        let failure = loop {
            let chunk = match body.next().await {
                None => break None,
                Some(Err(e)) => break Some(BlobError::Source(e)),
                Some(Ok(chunk)) => chunk,
            };
            total += chunk.len() as u64;
            if total > limit {
                break Some(BlobError::TooLarge { limit });
            }
            let mut rest = &chunk[..];
            let mut sent = Ok(());
            while !rest.is_empty() {
                let take = rest.len().min(PART_BYTES - part.content_length());
                part.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if part.content_length() < PART_BYTES {
                    continue;
                }
                let upload = match multipart.as_mut() {
                    Some(upload) => upload,
                    None => match self.store.put_multipart(&path).await {
                        Ok(upload) => multipart.insert(Multipart {
                            upload: Some(upload),
                            parts: JoinSet::new(),
                        }),
                        Err(e) => {
                            sent = Err(e.into());
                            break;
                        }
                    },
                };
                upload.send(std::mem::replace(&mut part, new_part()));
                sent = upload.settle(IN_FLIGHT).await;
                if sent.is_err() {
                    break;
                }
            }
            if let Err(e) = sent {
                break Some(e);
            }
        };
        if let Some(err) = failure {
            if let Some(upload) = multipart {
                upload.abort().await;
            }
            return Err(err);
        }
        match multipart {
            // Under one part: a single PUT, atomic as a completed upload.
            None => {
                self.store.put(&path, part.freeze()).await?;
            }
            Some(mut upload) => {
                if part.content_length() > 0 {
                    upload.send(part);
                }
                // `complete` failing leaves `upload` to abort its parts when dropped.
                upload.complete().await?;
            }
        }
        Ok(total)
    }

    async fn get_file(&self, key: &str) -> Result<std::fs::File, BlobError> {
        let found = self.store.get(&Self::path(key)?).await?;
        let size = found.meta.size;
        let mut stream = found.into_stream();
        let scratch = self.scratch.clone();
        // Unnamed where the system allows (O_TMPFILE): gone with its last descriptor, even
        // after a crash.
        let file = tokio::task::spawn_blocking(move || tempfile::tempfile_in(scratch))
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
        let mut file = tokio::fs::File::from_std(file);
        let mut written: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        if written != size {
            return Err(BlobError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("the store sent {written} of the recording's {size} bytes"),
            )));
        }
        file.rewind().await?;
        Ok(file.into_std().await)
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

    /// One listing of a name that holds nothing: the bucket exists, answers and takes the
    /// credentials. Completed writes are the store's business.
    async fn check_writable(&self, _min_free: u64) -> Result<(), BlobError> {
        let probe = Path::from(READY_PROBE);
        match tokio::time::timeout(READY_TIMEOUT, self.store.list_with_delimiter(Some(&probe)))
            .await
        {
            Ok(listed) => listed.map(|_| ()).map_err(|e| match s3_error_code(&e) {
                Some(answer) => BlobError::Unavailable(format!("the bucket answered {answer}")),
                None => e.into(),
            }),
            Err(_) => Err(BlobError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "the bucket did not answer within {} s",
                    READY_TIMEOUT.as_secs()
                ),
            ))),
        }
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract;

    fn in_memory() -> (ObjectBlobs, tempfile::TempDir) {
        let scratch = tempfile::tempdir().expect("dir");
        let store = Arc::new(object_store::memory::InMemory::new());
        let blobs = ObjectBlobs::new(store, "memory", scratch.path()).expect("blobs");
        (blobs, scratch)
    }

    #[tokio::test]
    async fn object_store_backend_keeps_the_contract() {
        let (blobs, _scratch) = in_memory();
        contract::stores_and_deletes(&blobs, "c/a.wav").await;
        contract::failures_leave_nothing(&blobs, "c/b.wav").await;
        blobs.check_writable(0).await.expect("ready");
    }

    /// The bucket of the S3 server `scripts/test` started, under a fresh prefix.
    fn s3() -> Option<(
        ObjectBlobs,
        crate::test_support::TestS3,
        String,
        tempfile::TempDir,
    )> {
        let server = crate::test_support::test_s3()?;
        let prefix = server.fresh_prefix("blobs");
        let scratch = tempfile::tempdir().expect("dir");
        let blobs = ObjectBlobs::s3(&server.settings(&prefix), scratch.path()).expect("s3");
        Some((blobs, server, prefix, scratch))
    }

    #[tokio::test]
    async fn s3_keeps_the_contract() {
        let Some((blobs, server, prefix, _scratch)) = s3() else {
            return;
        };
        blobs.check_writable(0).await.expect("the bucket answers");
        contract::stores_and_deletes(&blobs, "c/calls/a.wav").await;
        contract::failures_leave_nothing(&blobs, "c/calls/b.wav").await;
        assert_eq!(server.pending_uploads(&prefix).await, Vec::<String>::new());
        // A body failing after several parts: the multipart upload is aborted.
        let (body, _) = contract::generated(40 * 1024 * 1024, Some(30 * 1024 * 1024));
        let err = blobs.put_stream("c/calls/c.wav", body, u64::MAX).await;
        assert!(matches!(err, Err(BlobError::Source(_))), "{err:?}");
        let err = blobs
            .put_stream(
                "c/calls/c.wav",
                contract::generated(20 << 20, None).0,
                10 << 20,
            )
            .await;
        assert!(matches!(err, Err(BlobError::TooLarge { .. })), "{err:?}");
        assert!(contract::read_all(&blobs, "c/calls/c.wav").await.is_err());
        assert_eq!(server.pending_uploads(&prefix).await, Vec::<String>::new());
    }

    #[tokio::test]
    async fn s3_upload_dropped_midway_is_aborted() {
        let Some((blobs, server, prefix, _scratch)) = s3() else {
            return;
        };
        // A body that sends three parts' worth, then never ends: the request is dropped
        // (as when its connection goes) while the upload waits for more.
        let (head, _) = contract::generated(3 * PART_BYTES as u64, None);
        let body = head.chain(futures_util::stream::pending()).boxed();
        let blobs = Arc::new(blobs);
        let uploading = blobs.clone();
        let put = tokio::spawn(async move {
            let _ = uploading
                .put_stream("c/calls/dropped.wav", body, u64::MAX)
                .await;
        });
        let key = format!("{prefix}/c/calls/dropped.wav");
        let mut pending = Vec::new();
        for _ in 0..100 {
            pending = server.pending_uploads(&prefix).await;
            if !pending.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(pending, vec![key], "the server lists the upload under way");
        put.abort();
        let _ = put.await;
        assert!(contract::read_all(&*blobs, "c/calls/dropped.wav")
            .await
            .is_err());
        // The abort runs in the background; on a loaded machine the S3 server can take
        // more than 5 s to answer it (seen with the whole suite beside a long crash run).
        for _ in 0..300 {
            if pending.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            pending = server.pending_uploads(&prefix).await;
        }
        assert_eq!(pending, Vec::<String>::new());
    }

    #[tokio::test]
    async fn s3_takes_200_mib_streamed_and_an_aborted_one_leaves_nothing() {
        let Some((blobs, server, prefix, _scratch)) = s3() else {
            return;
        };
        let started = std::time::Instant::now();
        contract::large_upload_and_an_aborted_one(&blobs, "c/calls/big.wav", contract::LARGE).await;
        eprintln!(
            "S3: 200 MiB put, read back to a file and checked, and 100 MiB aborted in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert_eq!(server.pending_uploads(&prefix).await, Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_missing_bucket_or_wrong_key_is_not_ready() {
        let Some(server) = crate::test_support::test_s3() else {
            return;
        };
        let scratch = tempfile::tempdir().expect("dir");
        let mut missing = server.settings("x");
        missing.bucket = "no-such-bucket-here".into();
        let blobs = ObjectBlobs::s3(&missing, scratch.path()).expect("settings");
        blobs.check_writable(0).await.expect_err("no bucket");
        let mut wrong = server.settings("x");
        wrong.secret_access_key = Some("not the secret".into());
        let blobs = ObjectBlobs::s3(&wrong, scratch.path()).expect("settings");
        let err = blobs.check_writable(0).await.expect_err("refused");
        assert!(!err.to_string().contains("not the secret"), "{err}");
        let mut closed = server.settings("x");
        closed.endpoint = Some("http://127.0.0.1:9".into());
        let blobs = ObjectBlobs::s3(&closed, scratch.path()).expect("settings");
        blobs.check_writable(0).await.expect_err("nothing listens");
    }

    #[test]
    fn s3_urls_and_settings_are_checked() {
        let parsed = |url: &str| S3Settings::from_url(url).map(|r| r.map(|s| (s.bucket, s.prefix)));
        assert_eq!(parsed("/var/audio"), None);
        assert_eq!(parsed("s3://kiku"), Some(Ok(("kiku".into(), "".into()))));
        assert_eq!(
            parsed("s3://kiku-audio/prod/rec/"),
            Some(Ok(("kiku-audio".into(), "prod/rec".into())))
        );
        for bad in [
            "s3://",
            "s3://ab",
            "s3://Kiku",
            "s3://kiku_audio",
            "s3://-kiku",
            "s3://kiku/a//b",
            "s3://kiku/../x",
        ] {
            assert!(matches!(S3Settings::from_url(bad), Some(Err(_))), "{bad}");
        }
        let settings = |endpoint: &str, allow_http: bool, virtual_hosted: bool| S3Settings {
            bucket: "kiku".into(),
            endpoint: Some(endpoint.into()),
            region: Some("auto".into()),
            access_key_id: Some("id".into()),
            secret_access_key: Some("hunter2".into()),
            allow_http: Some(allow_http),
            virtual_hosted_style_request: Some(virtual_hosted),
            ..S3Settings::default()
        };
        let endpoint = |s: S3Settings| {
            s.builder().map(|b| {
                b.get_config_value(&AmazonS3ConfigKey::Endpoint)
                    .unwrap_or_default()
            })
        };
        let err = endpoint(settings("http://127.0.0.1:9000", false, false)).expect_err("http");
        assert!(err.contains("AWS_ALLOW_HTTP"), "{err}");
        assert!(endpoint(settings("http://127.0.0.1:9000", true, false)).is_ok());
        assert!(endpoint(settings("s3.example.com", false, false)).is_err());
        assert_eq!(
            endpoint(settings("https://s3.example.com", false, true)).expect("vhost"),
            "https://kiku.s3.example.com"
        );
        assert_eq!(
            endpoint(settings("https://kiku.s3.example.com/", false, true)).expect("vhost"),
            "https://kiku.s3.example.com"
        );
        assert!(endpoint(settings("https://10.0.0.1", false, true)).is_err());
        let shown = format!("{:?}", settings("https://s3.example.com", false, false));
        assert!(!shown.contains("hunter2"), "{shown}");
        let with_user = settings("https://user:pw@s3.example.com/", false, false);
        assert_eq!(with_user.endpoint_for_logs(), "https://s3.example.com");
    }
}
