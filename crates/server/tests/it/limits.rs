//! Hostile and unlucky clients against a real `kiku serve` process (issue 17): stalled
//! bodies hold bounded memory, one upload per call, idle and half-sent connections are
//! closed, the connection cap holds and is logged, and SIGTERM does not wait on stragglers.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::{files_under, KikuProcess};
use crate::support::call;

/// A company with a webhook URL, made with the CLI; `(company_id, webhook URL)`.
fn tenant(kiku: &KikuProcess) -> (String, String) {
    let company = kiku.cli(&[
        "company",
        "create",
        "--name",
        "Acme",
        "--admin-email",
        "admin@acme.example",
        "--admin-password",
        "correct horse",
    ]);
    let id = company["company_id"].as_str().expect("id").to_string();
    let url = kiku.cli(&["webhook-url", "create", "--company", &id]);
    (id, url["url"].as_str().expect("url").to_string())
}

/// Posts `n` calls; their upload URLs' paths (with query).
async fn upload_paths(kiku: &KikuProcess, webhook: &str, prefix: &str, n: usize) -> Vec<String> {
    let calls: Vec<Value> = (0..n)
        .map(|i| {
            call(
                &format!("{prefix}{i}"),
                "AUTOMATIC_RECORD",
                false,
                None,
                None,
            )
        })
        .collect();
    let body: Value = reqwest::Client::new()
        .post(webhook)
        .json(&json!({ "call_data": calls }))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    body["audio_upload_urls"]
        .as_array()
        .expect("urls")
        .iter()
        .map(|entry| {
            let url = entry
                .as_object()
                .expect("entry")
                .values()
                .next()
                .expect("one")["url"]
                .as_str()
                .expect("url")
                .to_string();
            url.strip_prefix(&kiku.base).expect("own URL").to_string()
        })
        .collect()
}

/// Opens a connection and sends `head` then `body_bytes` zero bytes of body, then stalls;
/// sending errors (the server closed early) are fine.
async fn stalled(addr: &str, head: String, body_bytes: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    if stream.write_all(head.as_bytes()).await.is_ok() {
        let block = vec![b'0'; 64 * 1024];
        let mut left = body_bytes;
        while left > 0 {
            let n = left.min(block.len());
            let sent = tokio::time::timeout(Duration::from_secs(2), stream.write_all(&block[..n]));
            if !matches!(sent.await, Ok(Ok(()))) {
                break;
            }
            left -= n;
        }
    }
    stream
}

/// The status code of the response waiting on `stream`, if one comes within `limit`.
async fn status_of(stream: &mut TcpStream, limit: Duration) -> Option<u16> {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(limit, stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// True when the server closes `stream` within `limit` (reads EOF or a reset).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a response (e.g. 408) before the close
        }
    }
}

async fn rss_settled(kiku: &KikuProcess) -> f64 {
    tokio::time::sleep(Duration::from_millis(700)).await;
    kiku.rss_mib()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_sign_ins_and_batches_hold_bounded_memory() {
    let kiku = KikuProcess::start(&[("KIKU_MAX_BUFFERED_BYTES", "16777216")]).await;
    let (_, webhook) = tenant(&kiku);
    let webhook_path = webhook
        .strip_prefix(&kiku.base)
        .expect("own URL")
        .to_string();
    let before = rss_settled(&kiku).await;

    let mut held = Vec::new();
    // 100 sign-ins declaring 10 MB and sending half: refused before anything is read.
    let login = "POST /api/v1/auth/login HTTP/1.1\r\nHost: k\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n";
    let tasks: Vec<_> = (0..100)
        .map(|_| tokio::spawn(stalled_owned(kiku.addr.clone(), login.to_string(), 5 << 20)))
        .collect();
    for task in tasks {
        let mut stream = task.await.expect("task");
        assert_eq!(
            status_of(&mut stream, Duration::from_secs(5)).await,
            Some(413)
        );
        held.push(stream);
    }
    // 100 call-data batches within the 10 MiB limit, sending 2 MB each and stalling: only
    // the 16 MiB budget is ever buffered; the rest are told to come back.
    let batch = format!(
        "POST {webhook_path} HTTP/1.1\r\nHost: k\r\nContent-Type: application/json\r\nContent-Length: 9000000\r\n\r\n"
    );
    let tasks: Vec<_> = (0..100)
        .map(|_| tokio::spawn(stalled_owned(kiku.addr.clone(), batch.clone(), 2 << 20)))
        .collect();
    let mut busy = 0;
    for task in tasks {
        let mut stream = task.await.expect("task");
        if status_of(&mut stream, Duration::from_millis(50)).await == Some(503) {
            busy += 1;
        }
        held.push(stream);
    }
    let during = rss_settled(&kiku).await;
    drop(held);
    let after = rss_settled(&kiku).await;
    eprintln!(
        "RSS MiB: before {before:.1}, during {during:.1}, after {after:.1}; {busy} batches got 503"
    );
    assert!(
        busy >= 80,
        "the buffer budget turned away only {busy} of 100"
    );
    // Before the fix: +920 MiB for the sign-ins alone, kept after the clients left.
    assert!(
        during - before < 80.0,
        "RSS grew {:.1} MiB",
        during - before
    );
    assert!(
        after - before < 80.0,
        "RSS stayed {:.1} MiB up",
        after - before
    );

    // The server still answers.
    let ok = reqwest::get(kiku.url("/health")).await.expect("health");
    assert!(ok.status().is_success());
}

async fn stalled_owned(addr: String, head: String, body_bytes: usize) -> TcpStream {
    stalled(&addr, head, body_bytes).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_upload_per_call_and_stalled_uploads_hold_bounded_memory() {
    let kiku = KikuProcess::start(&[("KIKU_BODY_TIMEOUT_SECONDS", "30")]).await;
    let (_, webhook) = tenant(&kiku);
    let paths = upload_paths(&kiku, &webhook, "u", 101).await;
    let before = rss_settled(&kiku).await;

    let put =
        |path: &str| format!("PUT {path} HTTP/1.1\r\nHost: k\r\nContent-Length: 8000000\r\n\r\n");
    // 100 stalled PUTs to one URL: one is received, the others get 409 at once. Which one
    // wins is up to the server's scheduling (a PUT sent first may be parsed last).
    let tasks: Vec<_> = (0..100)
        .map(|_| tokio::spawn(stalled_owned(kiku.addr.clone(), put(&paths[0]), 64 << 10)))
        .collect();
    let mut held = Vec::new();
    for task in tasks {
        held.push(task.await.expect("task"));
    }
    let mut statuses = Vec::new();
    for stream in &mut held {
        statuses.push(status_of(stream, Duration::from_secs(5)).await);
    }
    let conflicts = statuses.iter().filter(|s| **s == Some(409)).count();
    let receiving = statuses.iter().filter(|s| s.is_none()).count();
    assert!(
        conflicts == 99 && receiving == 1,
        "one concurrent PUT to a call is received and every other gets 409: {statuses:?}"
    );
    // 100 stalled PUTs to 100 calls, 2 MB sent each: streamed to disk, not held in memory.
    let tasks: Vec<_> = paths[1..]
        .iter()
        .map(|p| tokio::spawn(stalled_owned(kiku.addr.clone(), put(p), 2 << 20)))
        .collect();
    for task in tasks {
        held.push(task.await.expect("task"));
    }
    let during = rss_settled(&kiku).await;
    drop(held);
    let after = rss_settled(&kiku).await;
    eprintln!("RSS MiB: before {before:.1}, during {during:.1}, after {after:.1}");
    // Before the fix: 100 stalled 8 MB PUTs took RSS from 29 MiB to 872 MiB.
    assert!(
        during - before < 60.0,
        "RSS grew {:.1} MiB",
        during - before
    );
    assert!(
        after - before < 60.0,
        "RSS stayed {:.1} MiB up",
        after - before
    );
    // The clients left: nothing partial is kept.
    let mut left = files_under(&kiku.audio_dir());
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = files_under(&kiku.audio_dir());
    }
    assert!(left.is_empty(), "partial uploads kept: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_half_sent_and_stalled_connections_are_closed() {
    let kiku = KikuProcess::start(&[
        ("KIKU_HEADER_TIMEOUT_SECONDS", "1"),
        ("KIKU_BODY_TIMEOUT_SECONDS", "1"),
    ])
    .await;
    let (_, webhook) = tenant(&kiku);
    let paths = upload_paths(&kiku, &webhook, "t", 1).await;
    let limit = Duration::from_secs(4);

    let mut idle = TcpStream::connect(&kiku.addr).await.expect("connect");
    assert!(closed_within(&mut idle, limit).await, "an idle connection");

    let mut half = TcpStream::connect(&kiku.addr).await.expect("connect");
    half.write_all(b"GET /health HTTP/1.1\r\nHost: k\r\nX-Slow")
        .await
        .expect("write");
    assert!(closed_within(&mut half, limit).await, "a half-sent head");

    let mut kept_alive = TcpStream::connect(&kiku.addr).await.expect("connect");
    kept_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: k\r\n\r\n")
        .await
        .expect("write");
    assert_eq!(status_of(&mut kept_alive, limit).await, Some(200));
    assert!(
        closed_within(&mut kept_alive, limit).await,
        "an idle keep-alive"
    );

    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: k\r\nContent-Length: 100000\r\n\r\n",
        paths[0]
    );
    let mut upload = stalled(&kiku.addr, head, 10_000).await;
    assert_eq!(
        status_of(&mut upload, limit).await,
        Some(408),
        "a stalled upload"
    );
    let webhook_path = webhook.strip_prefix(&kiku.base).expect("own URL");
    let head = format!(
        "POST {webhook_path} HTTP/1.1\r\nHost: k\r\nContent-Length: 1000\r\n\r\n{{\"call_data\": ["
    );
    let mut batch = stalled(&kiku.addr, head, 0).await;
    assert_eq!(
        status_of(&mut batch, limit).await,
        Some(408),
        "a stalled batch"
    );

    assert!(
        files_under(&kiku.audio_dir()).is_empty(),
        "nothing partial is kept"
    );
    let call_id = paths[0]
        .strip_prefix("/uploads/")
        .and_then(|p| p.split_once('?'))
        .expect("upload path")
        .0;
    let http = reqwest::Client::new();
    let login: Value = http
        .post(kiku.url("/api/v1/auth/login"))
        .json(&json!({"email": "admin@acme.example", "password": "correct horse"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let detail: Value = http
        .get(kiku.url(&format!("/api/v1/calls/{call_id}")))
        .bearer_auth(login["token"].as_str().expect("token"))
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(detail["status"], "awaiting_upload", "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_and_is_logged() {
    let kiku = KikuProcess::start(&[
        ("KIKU_MAX_CONNECTIONS", "8"),
        ("KIKU_HEADER_TIMEOUT_SECONDS", "2"),
    ])
    .await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(&kiku.addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The ninth waits in the backlog until the idle ones time out, then gets its answer.
    let started = Instant::now();
    let health = reqwest::Client::new()
        .get(kiku.url("/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("health answered once idle connections were closed");
    assert!(health.status().is_success());
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "it did not wait for a free slot: {:?}",
        started.elapsed()
    );
    assert!(
        kiku.log().contains("connection limit reached"),
        "{}",
        kiku.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_idle_and_half_sent_connections_at_once() {
    let mut kiku = KikuProcess::start(&[
        ("KIKU_HEADER_TIMEOUT_SECONDS", "60"),
        ("KIKU_SHUTDOWN_GRACE_SECONDS", "3"),
    ])
    .await;
    let _idle = TcpStream::connect(&kiku.addr).await.expect("connect");
    let mut half = TcpStream::connect(&kiku.addr).await.expect("connect");
    half.write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: k\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let took = kiku
        .terminate(Duration::from_secs(10))
        .expect("kiku exited after SIGTERM");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_gives_a_stalled_upload_the_grace_period_only() {
    let mut kiku = KikuProcess::start(&[
        ("KIKU_BODY_TIMEOUT_SECONDS", "60"),
        ("KIKU_SHUTDOWN_GRACE_SECONDS", "2"),
    ])
    .await;
    let (_, webhook) = tenant(&kiku);
    let paths = upload_paths(&kiku, &webhook, "g", 1).await;
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: k\r\nContent-Length: 100000\r\n\r\n",
        paths[0]
    );
    let _upload = stalled(&kiku.addr, head, 1000).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let took = kiku
        .terminate(Duration::from_secs(20))
        .expect("kiku exited after SIGTERM");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    assert!(
        kiku.log().contains("shutdown grace period"),
        "{}",
        kiku.log()
    );
}
