//! A cluster on one machine, as `docs/deploy.md` lays it out: PostgreSQL, the S3 server,
//! two `kiku serve --api-only` processes and three `kiku worker`s sharing them and one
//! signing key. 200 calls are posted alternately to both APIs, each recording uploaded
//! through the other API's hand (any API accepts any API's upload URL); one worker is
//! killed with SIGKILL while it analyses, and one API process while a recording streams
//! into it. Afterwards: every acknowledged upload is intact in the bucket, every call is
//! analysed once (one call row, one version), no job is left, and every call's completion
//! reached the outgoing webhook (repeats only with the same event id).
//!
//! `scripts/test` runs the 200 calls (analysing them is most of the time: about
//! 20 CPU minutes, so ~10 minutes on 2 idle cores); `KIKU_TEST_CLUSTER_CALLS=N` (at least 10) runs fewer or more.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kiku_analysis::testing::{stereo_call, test_model_dir, Line, SUPPORT_VOICES};
use kiku_blobs::test_support::test_s3;
use kiku_storage::test_support::test_databases;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::process::KikuProcess;
use crate::receiver;

/// Calls posted, unless `KIKU_TEST_CLUSTER_CALLS` says otherwise.
const DEFAULT_CALLS: usize = 200;

/// A short call: one line each, so that 200 analyses fit the test's time.
const SHORT_CALL: &[Line] = &[
    Line {
        speaker: 0,
        gap: 0.0,
        text: "Good morning, how can I help?",
    },
    Line {
        speaker: 1,
        gap: 0.4,
        text: "My router is broken.",
    },
];

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_loses_nothing_when_a_worker_and_an_api_process_are_killed() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let Some(s3) = test_s3() else {
        eprintln!("skipped: no S3 server (scripts/test starts one)");
        return;
    };
    let Some(db) = test_databases()
        .await
        .into_iter()
        .find(|db| db.backend == "postgres")
    else {
        eprintln!("skipped: no PostgreSQL (scripts/test starts one)");
        return;
    };
    let calls: usize = std::env::var("KIKU_TEST_CLUSTER_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 10)
        .unwrap_or(DEFAULT_CALLS);
    let receiver = receiver::start().await;
    let prefix = s3.fresh_prefix("cluster");
    let mut env: Vec<(&str, String)> = s3.kiku_env(&prefix);
    env.extend([
        ("KIKU_DATABASE_URL", db.url.clone()),
        // One key for every process: an upload URL from one API is good at the other.
        ("KIKU_SIGNING_KEY", hex::encode([7u8; 32])),
        ("KIKU_OUTGOING_ALLOW_NETWORKS", "127.0.0.0/8".into()),
        ("KIKU_OUTGOING_RETRY_SCHEDULE_SECONDS", "0,1,1,1".into()),
        // A killed worker's job goes to another within seconds.
        ("KIKU_ANALYSIS_LEASE_SECONDS", "3".into()),
        ("KIKU_MODEL_DIR", model.display().to_string()),
        ("KIKU_BEAM_SIZE", "1".into()),
        ("KIKU_ANALYSIS_THREADS", "1".into()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut apis = [
        KikuProcess::api_only(&env).await,
        KikuProcess::api_only(&env).await,
    ];
    let worker_env: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .chain([("KIKU_ANALYSIS_WORKERS", "1")])
        .collect();
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(apis[0].worker(&worker_env).await);
    }

    let company = apis[0].company("correct horse");
    let webhook = apis[0].cli(&["webhook-url", "create", "--company", &company]);
    let webhook = webhook["url"].as_str().expect("url").to_string();
    let path = webhook
        .split_once("/webhooks/")
        .map(|(_, p)| format!("/webhooks/{p}"))
        .expect("webhook path");
    let hook = apis[0].cli(&[
        "outgoing-webhook",
        "create",
        "--company",
        &company,
        "--name",
        "crm",
        "--url",
        &receiver.url("/d/ok"),
    ]);
    assert!(hook["id"].is_string(), "{hook}");

    let work = tempfile::tempdir().expect("dir");
    let call = stereo_call(work.path(), SUPPORT_VOICES, SHORT_CALL, 0.3).expect("espeak-ng");
    let seconds = call.seconds;
    let http = reqwest::Client::new();
    let mut acknowledged: HashMap<String, [u8; 32]> = HashMap::new();
    let mut killed_worker = false;
    let mut killed_api = false;
    for i in 0..calls {
        let (post_to, upload_to) = (i % 2, (i + 1) % 2);
        let id = format!("c{i}");
        let data = crate::crash::answered_call(&id, seconds);
        let posted: Value = http
            .post(apis[post_to].url(&path))
            .json(&json!({"call_data": [data]}))
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        let entry = &posted["audio_upload_urls"][0][&id];
        let call_id = entry["call_id"].as_str().expect("call id").to_string();
        let signed = entry["url"].as_str().expect("url");
        // The same path and signature, on the other API process.
        let query = signed.split_once("/uploads/").expect("upload url").1;
        let upload = apis[upload_to].url(&format!("/uploads/{query}"));
        // Each recording differs (its last sample), so a mix-up would show in the checksums.
        let mut wav = call.wav.clone();
        let n = wav.len();
        wav[n - 2..].copy_from_slice(&(i as u16).to_le_bytes());

        if i == calls / 2 && !killed_api {
            // Half the recording sent, then the API process dies under it.
            killed_api = true;
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
            let half = Bytes::copy_from_slice(&wav[..n / 2]);
            tx.send(Ok(half)).await.expect("send");
            let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
            let pending = tokio::spawn(
                http.put(&upload)
                    .header(reqwest::header::CONTENT_LENGTH, n as u64)
                    .body(body)
                    .send(),
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            apis[upload_to].kill_and_restart().await;
            drop(tx);
            let cut = pending.await.expect("join");
            assert!(
                cut.as_ref().map_or(true, |r| r.status() != StatusCode::OK),
                "an upload cut by a kill was acknowledged"
            );
            // Not acknowledged: the PBX sends it again, to the restarted process.
        }
        let put = http
            .put(&upload)
            .body(wav.clone())
            .send()
            .await
            .expect("put");
        let status = put.status();
        let answer = put.text().await.unwrap_or_default();
        if status != StatusCode::OK {
            let log = apis[upload_to].log();
            let tail: Vec<&str> = log.lines().rev().take(12).collect();
            panic!("call {i}: upload answered {status} {answer}; the API's log ends:\n{tail:#?}");
        }
        acknowledged.insert(call_id, sha256(&wav));

        if i == calls / 3 && !killed_worker {
            // By now each worker has a call in hand: kill one mid-analysis.
            killed_worker = true;
            workers[0].kill();
        }
    }

    // Everything analysed, by the two workers left.
    let token = apis[0].sign_in("correct horse").await;
    crate::crash::wait_until_analysed(&http, &apis[1], &token, calls).await;
    let all = crate::crash::get(&http, &apis[0], &token, "/api/v1/calls?per_page=1").await;
    assert_eq!(
        all["total"].as_u64(),
        Some(calls as u64),
        "one row per call"
    );
    for (call_id, digest) in &acknowledged {
        crate::crash::assert_analysed_once(&http, &apis[0], &token, call_id).await;
        let recording = http
            .get(apis[1].url(&format!("/api/v1/calls/{call_id}/recording")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("recording")
            .bytes()
            .await
            .expect("bytes");
        assert_eq!(
            &sha256(&recording),
            digest,
            "{call_id}: the recording intact"
        );
    }

    // Every completion delivered; repeats carry the same event id.
    let deadline = Instant::now() + Duration::from_secs(60);
    let events = loop {
        let ids: HashSet<String> = receiver
            .received()
            .iter()
            .filter(|r| r.path == "/d/ok")
            .filter_map(|r| {
                r.headers
                    .get("webhook-id")?
                    .to_str()
                    .ok()
                    .map(str::to_owned)
            })
            .collect();
        if ids.len() >= calls || Instant::now() > deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        events.len(),
        calls,
        "one completion event per call delivered"
    );

    // No job stuck: the shared queue as any process reports it.
    crate::crash::assert_no_jobs_left(&http, &apis[0]).await;
    assert!(
        s3.pending_uploads(&prefix).await.len() <= 1,
        "at most the cut upload's parts"
    );
    eprintln!(
        "{calls} calls through the cluster; the killed API's cut upload was not acknowledged"
    );
}

fn tokio_stream_of(
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}
