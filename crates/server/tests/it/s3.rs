//! Recordings in a real S3-compatible server (the SeaweedFS `scripts/test` starts), through
//! a real `kiku serve` configured as an operator would (`KIKU_AUDIO_STORE=s3://…` and the
//! standard AWS variables): a call posted to the Incoming Webhook, its recording uploaded
//! in parts to the bucket, analysed by the real model from the bucket, played back with
//! Range; `/ready` following the bucket; and the memory of analysing a large recording.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use kiku_analysis::testing::{stereo_call, test_model_dir, SUPPORT_CALL, SUPPORT_VOICES};
use kiku_blobs::test_support::{test_s3, TestS3};
use kiku_storage::test_support::{test_databases, TestDatabase};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::analysis::call_data;
use crate::process::{files_under, KikuProcess};

const PASSWORD: &str = "long enough";

/// A TCP relay in front of the S3 server that the test can cut (all its connections
/// closed, new ones dropped) and restore: an S3 outage as `kiku` sees it.
struct Relay {
    endpoint: String,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(target: &str) -> Self {
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let (up, _) = watch::channel(true);
        let relay_up = up.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut up = relay_up.subscribe();
                if !*up.borrow() {
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = up.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { endpoint, up, task }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `kiku serve` process (one analysis worker) with one company, an agent allowed on the
/// Incoming Webhook, and a webhook URL, all made with the CLI on the same settings.
struct Kiku {
    process: KikuProcess,
    http: reqwest::Client,
    token: String,
    webhook: String,
    agent: String,
}

impl Kiku {
    async fn start(
        db: &TestDatabase,
        model: &std::path::Path,
        s3: Vec<(&'static str, String)>,
    ) -> Self {
        let mut env = vec![
            ("KIKU_DATABASE_URL", db.url.clone()),
            ("KIKU_MODEL_DIR", model.display().to_string()),
            ("KIKU_ANALYSIS_WORKERS", "1".into()),
            ("KIKU_ANALYSIS_THREADS", "2".into()),
            ("KIKU_BEAM_SIZE", "1".into()),
        ];
        env.extend(s3);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let process = KikuProcess::start(&env).await;
        let company = process.company(PASSWORD);
        let agent = process.cli(&[
            "user",
            "create",
            "--company",
            &company,
            "--name",
            "Dan",
            "--email",
            "dan@acme.example",
            "--use-incoming-webhook",
        ]);
        let webhook = process.cli(&["webhook-url", "create", "--company", &company]);
        Self {
            token: process.sign_in(PASSWORD).await,
            http: reqwest::Client::new(),
            webhook: webhook["url"].as_str().expect("url").to_string(),
            agent: agent["user_id"].as_str().expect("user").to_string(),
            process,
        }
    }

    fn log(&self) -> String {
        self.process.log()
    }

    /// Posts the call `id` lasting `seconds` and uploads `body` (`len` bytes) to its
    /// signed URL; the call's id.
    async fn call_with_recording(
        &self,
        id: &str,
        seconds: f64,
        body: reqwest::Body,
        len: u64,
    ) -> String {
        let data = call_data(id, "wav", seconds, &self.agent);
        let posted: Value = self
            .http
            .post(&self.webhook)
            .json(&json!({"call_data": [data]}))
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        let entry = &posted["audio_upload_urls"][0][id];
        let put = self
            .http
            .put(entry["url"].as_str().expect("upload url"))
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body)
            .send()
            .await
            .expect("upload");
        let status = put.status();
        let text = put.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::OK, "{text}\n{}", self.log());
        entry["call_id"].as_str().expect("call id").to_string()
    }

    async fn call(&self, call_id: &str) -> Value {
        self.http
            .get(self.process.url(&format!("/api/v1/calls/{call_id}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    async fn analysed(&self, call_id: &str) -> Value {
        for _ in 0..1200 {
            let call = self.call(call_id).await;
            if matches!(call["status"].as_str(), Some("completed" | "failed")) {
                return call;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("the analysis of {call_id} did not end:\n{}", self.log());
    }

    async fn recording(&self, call_id: &str, range: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .get(
                self.process
                    .url(&format!("/api/v1/calls/{call_id}/recording")),
            )
            .bearer_auth(&self.token);
        if let Some(range) = range {
            request = request.header(reqwest::header::RANGE, range);
        }
        request.send().await.expect("recording")
    }

    async fn ready(&self) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.process.url("/ready"))
            .send()
            .await
            .expect("ready");
        (r.status(), r.json().await.expect("json"))
    }
}

/// The support call (espeak-ng voices, 22.05 kHz stereo 16-bit WAV) and its length.
fn support_call() -> (Vec<u8>, f64) {
    let dir = tempfile::tempdir().expect("dir");
    let call = stereo_call(dir.path(), SUPPORT_VOICES, SUPPORT_CALL, 1.0).expect("generated call");
    (call.wav, call.seconds)
}

/// `wav` (a canonical 44-byte-header WAV) followed by silence up to `len` bytes in all, as
/// a body generated while it is sent; with its SHA-256.
fn padded_wav(wav: &[u8], len: u64) -> (reqwest::Body, [u8; 32]) {
    const CHUNK: u64 = 256 * 1024;
    let data_len = u32::try_from(len - 44).expect("a WAV under 4 GiB");
    let mut head = wav.to_vec();
    head[4..8].copy_from_slice(&(data_len + 36).to_le_bytes());
    head[40..44].copy_from_slice(&data_len.to_le_bytes());
    let head = Bytes::from(head);
    let zeros = Bytes::from(vec![0u8; CHUNK as usize]);
    let mut hash = Sha256::new();
    hash.update(&head);
    let mut left = len - head.len() as u64;
    while left > 0 {
        let n = left.min(CHUNK);
        hash.update(&zeros[..n as usize]);
        left -= n;
    }
    let rest = len - head.len() as u64;
    let tail = futures_util::stream::unfold(rest, move |left| {
        let zeros = zeros.clone();
        async move {
            (left > 0).then(|| {
                let n = left.min(CHUNK);
                (Ok::<_, std::io::Error>(zeros.slice(..n as usize)), left - n)
            })
        }
    });
    let body = futures_util::stream::once(async move { Ok(head) }).chain(tail);
    (reqwest::Body::wrap_stream(body), hash.finalize().into())
}

/// The recordings stored under `prefix` of the test bucket: key and size.
async fn stored(s3: &TestS3, prefix: &str) -> Vec<(String, u64)> {
    use object_store::ObjectStore;
    let settings = s3.settings(prefix);
    let store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&settings.bucket)
        .with_endpoint(&s3.endpoint)
        .with_region("us-east-1")
        .with_access_key_id(&s3.access_key_id)
        .with_secret_access_key(&s3.secret_access_key)
        .with_allow_http(true)
        .build()
        .expect("s3");
    let prefix = object_store::path::Path::from(prefix);
    let mut out: Vec<(String, u64)> = store
        .list(Some(&prefix))
        .map(|m| {
            let m = m.expect("list");
            (m.location.to_string(), m.size)
        })
        .collect()
        .await;
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_stored_in_s3_is_analysed_and_played_back_with_range() {
    let (Some(s3), Some(model)) = (test_s3(), test_model_dir()) else {
        return;
    };
    let (wav, seconds) = support_call();
    // The call and a minute of silence after it: over one 8 MiB part, so the upload goes
    // up to the bucket in parts.
    let len = 10 * 1024 * 1024;
    for db in test_databases().await {
        let relay = Relay::start(&s3.endpoint).await;
        let prefix = s3.fresh_prefix("e2e");
        let mut env = s3.kiku_env(&prefix);
        for (name, value) in env.iter_mut() {
            if *name == "AWS_ENDPOINT" {
                *value = relay.endpoint.clone();
            }
        }
        let kiku = Kiku::start(&db, &model, env).await;
        let (status, ready) = kiku.ready().await;
        assert_eq!(status, StatusCode::OK, "{}: {ready}", db.backend);

        let (body, sha) = padded_wav(&wav, len);
        let call_id = kiku
            .call_with_recording("s3-call", seconds, body, len)
            .await;
        let objects = stored(&s3, &prefix).await;
        assert_eq!(objects.len(), 1, "{}: {objects:?}", db.backend);
        assert_eq!(objects[0].1, len);
        assert!(
            objects[0].0.contains(&format!("/calls/{call_id}/")),
            "{objects:?}"
        );
        assert!(
            files_under(&kiku.process.audio_dir()).is_empty(),
            "nothing is stored locally"
        );

        let done = kiku.analysed(&call_id).await;
        assert_eq!(
            done["status"],
            "completed",
            "{}: {done:#}\n{}",
            db.backend,
            kiku.log()
        );
        assert_eq!(
            done["analysis"]["participants"][0]["role"], "user",
            "{done:#}"
        );
        let heard = done["analysis"]["speech_recognition"]["raw"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        assert!(heard.contains("internet"), "{}: {heard}", db.backend);
        assert!(
            files_under(&kiku.process.data_dir.join("tmp")).is_empty(),
            "the worker's copy is gone"
        );

        // Range: a player seeking; and the whole file, which matches what was uploaded.
        let part = kiku.recording(&call_id, Some("bytes=1000-1999")).await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            part.headers()[reqwest::header::CONTENT_RANGE],
            format!("bytes 1000-1999/{len}").as_str()
        );
        assert_eq!(part.bytes().await.expect("part"), &wav[1000..2000]);
        let tail = kiku.recording(&call_id, Some("bytes=-16")).await;
        assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(tail.bytes().await.expect("tail"), &[0u8; 16][..]);
        let whole = kiku.recording(&call_id, None).await;
        assert_eq!(whole.status(), StatusCode::OK);
        let mut hash = Sha256::new();
        let mut stream = whole.bytes_stream();
        while let Some(chunk) = stream.next().await {
            hash.update(chunk.expect("chunk"));
        }
        assert_eq!(<[u8; 32]>::from(hash.finalize()), sha, "{}", db.backend);

        // The bucket out of reach: not ready, saying why; back: ready again.
        relay.set_up(false);
        let (status, ready) = kiku.ready().await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
        assert_eq!(ready["checks"]["storage"]["ok"], false, "{ready}");
        assert_eq!(ready["checks"]["database"]["ok"], true, "{ready}");
        relay.set_up(true);
        let (status, ready) = kiku.ready().await;
        assert_eq!(status, StatusCode::OK, "{ready}");

        let log = kiku.log();
        for secret in [&s3.secret_access_key, &s3.access_key_id] {
            assert!(
                !log.contains(secret.as_str()),
                "a credential in the log:\n{log}"
            );
        }
        assert!(log.contains("recordings are stored in S3"), "{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysing_a_large_recording_from_s3_needs_no_more_memory_than_a_small_one() {
    let (Some(s3), Some(model)) = (test_s3(), test_model_dir()) else {
        return;
    };
    let (wav, seconds) = support_call();
    let db = kiku_storage::test_support::sqlite().await;
    let prefix = s3.fresh_prefix("memory");
    let kiku = Kiku::start(&db, &model, s3.kiku_env(&prefix)).await;
    // Both recordings are decoded as far as the call's length allows (its 1.25 times plus
    // 2 minutes): the same audio; only the files' sizes differ.
    let bytes_per_second = 22_050 * 2 * 2;
    let decoded = ((seconds * 1.25 + 120.0) * f64::from(bytes_per_second)) as u64;
    let small = decoded + 1024 * 1024;
    let large = 512 * 1024 * 1024;
    let mut peaks = Vec::new();
    for (id, len) in [("small", small), ("large", large)] {
        let started = std::time::Instant::now();
        let (body, _) = padded_wav(&wav, len);
        let call_id = kiku.call_with_recording(id, seconds, body, len).await;
        let uploaded = kiku.process.peak_rss_mib();
        let done = kiku.analysed(&call_id).await;
        assert_eq!(done["status"], "completed", "{done:#}\n{}", kiku.log());
        let peak = kiku.process.peak_rss_mib();
        eprintln!(
            "kiku serve, {id} recording of {} MiB from S3: peak RSS {uploaded} MiB after the upload, {peak} MiB after the analysis ({:.1} s)",
            len >> 20,
            started.elapsed().as_secs_f64()
        );
        peaks.push(peak);
    }
    // Reading the file whole (as before) raised the peak by about the file's size (a
    // 1 GiB recording: +947 MiB); each analysis may add a few tens of MiB whatever the
    // size (the allocator's arenas).
    let grown = peaks[1].saturating_sub(peaks[0]);
    assert!(
        grown < ((large - small) >> 20) / 4,
        "peak RSS grew from {} to {} MiB for a file {} MiB larger",
        peaks[0],
        peaks[1],
        (large - small) >> 20
    );
}
