//! Outgoing webhook delivery benchmark. One run, one machine, one local receiver:
//!
//! 1. **Backlog** — `--events` events are written into a fresh Kiku database (as storing
//!    results would have written them, each with its delivery job) before
//!    `kiku serve` starts; the run measures how fast Kiku drains them to the receiver,
//!    and samples its RSS every second (memory must stay flat).
//! 2. **The limit** — a bare HTTP client posts the same signed payload to the same
//!    receiver as fast as it can, with as many requests in flight as Kiku has delivery
//!    workers.
//! 3. **Latency** — events made through Kiku's API (swap user and customer, each a new
//!    event) at `--rate` per second; latency runs from sending the swap to the receiver
//!    getting the delivery, so the commit and the dispatch are inside it.
//!
//! Prints one JSON object.

#[path = "../../common/kiku.rs"]
mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use clap::Parser;
use kiku_domain::call_data::parse_batch;
use kiku_domain::outgoing_webhook::DeliveryJob;
use kiku_domain::{CompanyId, EventId, JobKind, OutgoingWebhookId};
use kiku_storage::{AnalysisStore, CallStore, JobStore, NewAudio, NewJob, SqlStore};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "deliveries",
    about = "Kiku's outgoing webhook deliveries against a bare HTTP client"
)]
struct Args {
    /// The `kiku` binary (release build).
    #[arg(long)]
    kiku: PathBuf,
    /// A fresh folder for Kiku's data.
    #[arg(long)]
    dir: PathBuf,
    /// Events in the backlog.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Requests the bare client sends.
    #[arg(long, default_value_t = 20_000)]
    peer_requests: usize,
    /// Kiku's delivery workers, and the bare client's requests in flight.
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Events per second in the latency run.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds of the latency run.
    #[arg(long, default_value_t = 20.0)]
    latency_seconds: f64,
}

/// What the receiver saw: when each `webhook-id` first arrived, and one body.
#[derive(Default)]
struct Seen {
    first: HashMap<String, Instant>,
    requests: u64,
    body: Option<Bytes>,
}

type Shared = Arc<Mutex<Seen>>;

async fn receive(State(seen): State<Shared>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let challenge = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["challenge"].as_str().map(str::to_owned));
    if let Some(challenge) = challenge {
        return ([("content-type", "text/plain")], challenge).into_response();
    }
    let now = Instant::now();
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    seen.requests += 1;
    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
        seen.first.entry(id.to_string()).or_insert(now);
    }
    if seen.body.is_none() {
        seen.body = Some(body);
    }
    axum::http::StatusCode::NO_CONTENT.into_response()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One completed call (its analysis the first event) and `events - 1` more events for it,
/// each with its delivery job to `endpoint`, in transactions of 5,000.
async fn seed(url: &str, company: CompanyId, endpoint: OutgoingWebhookId, events: usize) -> String {
    let store = SqlStore::connect(url, kiku_storage::test_support::secret_keys())
        .await
        .expect("database");
    let call = json!({"call_data": [{
        "call_data_id": "bench", "audio_file_type": "wav", "event_type": "AUTOMATIC_RECORD",
        "call_starts_at": "2026-01-05T10:00:00+09:00", "call_answered_at": null,
        "call_ends_at": "2026-01-05T10:04:00+09:00",
        "participants": [
            {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": "0311112222", "name": "Emma"},
            {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322223333", "name": null}
        ]
    }]});
    let data = parse_batch(&call).expect("call data");
    let now = time::OffsetDateTime::now_utc();
    let id = store
        .ingest_calls(company, &data, now)
        .await
        .expect("ingest")[0]
        .id;
    let audio = NewAudio {
        key: "bench".into(),
        bytes: 1,
    };
    store.attach_audio(id, audio, now).await.expect("attach");
    let job = store
        .claim_job(
            &[JobKind::AnalyseCall],
            "bench",
            now + time::Duration::minutes(5),
            now,
        )
        .await
        .expect("claim")
        .expect("job");
    let new = common::analysed(
        "en",
        "A sentence of a realistic length, about the router and the refund.",
    );
    store
        .finish_analysis(job.id, "bench", &new, None, now)
        .await
        .expect("finish");
    store.close().await;
    // The rest straight in SQL, as `finish_analysis` writes them (event + delivery job).
    let pool = sqlx::AnyPool::connect(url).await.expect("raw");
    let ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    let mut left = events.saturating_sub(1);
    while left > 0 {
        let n = left.min(5_000);
        let mut tx = pool.begin().await.expect("begin");
        for _ in 0..n {
            let delivery = DeliveryJob {
                event_id: EventId::new(),
                endpoint_id: endpoint,
                replay: false,
            };
            let job = NewJob::delivery(company, &delivery, now);
            sqlx::query("INSERT INTO events (id, company_id, call_id, kind, version, previous_version, detail, created_at_ms) VALUES ($1, $2, $3, 'call_analysis_completed', 1, NULL, NULL, $4)")
                .bind(delivery.event_id.to_string()).bind(company.to_string()).bind(id.to_string()).bind(ms)
                .execute(&mut *tx).await.expect("event");
            sqlx::query("INSERT INTO jobs (id, kind, company_id, call_id, payload, state, attempts, max_attempts, run_at_ms, created_at_ms, updated_at_ms, fair_ms) VALUES ($1, $2, $3, NULL, $4, 'queued', 0, $5, $6, $6, $6, $6)")
                .bind(job.id.to_string()).bind(job.kind.as_str()).bind(company.to_string())
                .bind(&job.payload).bind(i64::from(job.max_attempts)).bind(ms)
                .execute(&mut *tx).await.expect("job");
        }
        tx.commit().await.expect("commit");
        left -= n;
    }
    pool.close().await;
    id.to_string()
}

fn serve(args: &Args, env: &[(&str, String)]) -> Child {
    Command::new(&args.kiku)
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kiku serve")
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir).expect("dir");
    let seen: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let env: Vec<(&str, String)> = vec![
        ("KIKU_DATA_DIR", args.dir.display().to_string()),
        ("KIKU_LISTEN", format!("127.0.0.1:{port}")),
        (
            "KIKU_SECRETS_KEY",
            kiku_storage::test_support::TEST_SECRETS_KEY.into(),
        ),
        ("KIKU_PUBLIC_URL", base.clone()),
        ("KIKU_ANALYSIS_WORKERS", "0".into()),
        ("KIKU_DELIVERY_WORKERS", args.workers.to_string()),
        (
            "KIKU_OUTGOING_DELIVERIES_PER_ENDPOINT",
            args.workers.to_string(),
        ),
        ("KIKU_OUTGOING_ALLOW_NETWORKS", "127.0.0.0/8".into()),
        ("RUST_LOG", "warn".into()),
    ];
    let company = common::kiku_cli(
        &args.kiku,
        &env,
        &[
            "company",
            "create",
            "--name",
            "Bench",
            "--admin-email",
            "bench@bench.example",
            "--admin-password",
            "bench password",
        ],
    );
    let company_id: CompanyId = company["company_id"]
        .as_str()
        .expect("company")
        .parse()
        .expect("id");
    let endpoint = common::kiku_cli(
        &args.kiku,
        &env,
        &[
            "outgoing-webhook",
            "create",
            "--company",
            &company_id.to_string(),
            "--name",
            "bench",
            "--url",
            &hook,
        ],
    );
    let secret = endpoint["secret"].as_str().expect("secret").to_string();
    let endpoint_id: OutgoingWebhookId = endpoint["id"]
        .as_str()
        .expect("endpoint id")
        .parse()
        .expect("id");
    let db = format!("sqlite://{}?mode=rwc", args.dir.join("kiku.db").display());
    let seeding = Instant::now();
    let call = seed(&db, company_id, endpoint_id, args.events).await;
    let seed_s = seeding.elapsed().as_secs_f64();

    // 1. The backlog.
    let mut kiku = serve(&args, &env);
    let pid = kiku.id();
    let started = Instant::now();
    let mut samples = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let delivered = seen.lock().unwrap_or_else(|p| p.into_inner()).first.len();
        samples.push((
            started.elapsed().as_secs_f64(),
            delivered,
            common::proc_kib(pid, "VmRSS:") / 1024.0,
        ));
        if delivered >= args.events || started.elapsed() > Duration::from_secs(1800) {
            break;
        }
    }
    let drained_s = {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.first
            .values()
            .max()
            .map_or(f64::NAN, |t| t.duration_since(started).as_secs_f64())
    };
    let delivered = samples.last().map_or(0, |s| s.1);
    // Steady rate: between 10 % and 90 % of the backlog (leaves out start-up and the tail).
    let at = |share: f64| {
        samples
            .iter()
            .find(|s| s.1 as f64 >= share * args.events as f64)
            .map(|s| (s.0, s.1))
    };
    let steady = match (at(0.1), at(0.9)) {
        (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => (n1 - n0) as f64 / (t1 - t0),
        _ => delivered as f64 / drained_s,
    };
    let rss: Vec<f64> = samples.iter().map(|s| s.2).collect();
    let requests = seen.lock().unwrap_or_else(|p| p.into_inner()).requests;

    // 2. The limit: the same signed payload, posted by a bare client.
    let body = seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .body
        .clone()
        .expect("a delivered body");
    let secret = kiku_notify::WebhookSecret::parse(&secret).expect("secret");
    let client = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let peer_start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.workers {
        let (client, body, next, hook, secret) = (
            client.clone(),
            body.clone(),
            next.clone(),
            hook.clone(),
            secret.clone(),
        );
        let total = args.peer_requests;
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let id = uuid::Uuid::new_v4().to_string();
                let ts = time::OffsetDateTime::now_utc().unix_timestamp();
                let signature = secret.sign(&id, ts, &body);
                client
                    .post(&hook)
                    .header("content-type", "application/json; charset=utf-8")
                    .header("webhook-id", id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", signature)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("peer request");
            }
        }));
    }
    for task in tasks {
        task.await.expect("peer");
    }
    let peer_rate = args.peer_requests as f64 / peer_start.elapsed().as_secs_f64();

    // 3. Latency at a fixed rate: swaps through the API, each a new event.
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "bench@bench.example", "password": "bench password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_string();
    let count = (args.rate * args.latency_seconds) as usize;
    let mut sent: Vec<(Instant, String)> = Vec::with_capacity(count);
    let begin = Instant::now();
    for i in 0..count {
        let at = begin + Duration::from_secs_f64(i as f64 / args.rate);
        tokio::time::sleep_until(at.into()).await;
        let swapped: Value = http
            .post(format!("{base}/api/v1/calls/{call}/swap"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("swap")
            .json()
            .await
            .expect("json");
        let version = swapped["analysis"]["version"].as_u64().unwrap_or(0);
        sent.push((at, version.to_string()));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The swap events are the newest; match them by arrival order of their versions.
    let mut latencies: Vec<f64> = Vec::new();
    {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        let mut arrivals: Vec<Instant> = seen
            .first
            .values()
            .copied()
            .filter(|t| *t >= begin)
            .collect();
        arrivals.sort();
        for ((at, _), arrived) in sent.iter().zip(arrivals.iter()) {
            latencies.push(arrived.saturating_duration_since(*at).as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let _ = kiku.kill();
    let _ = kiku.wait();

    let out = json!({
        "events": args.events,
        "seed_seconds": seed_s,
        "delivered": delivered,
        "requests": requests,
        "drain_seconds": drained_s,
        "kiku_per_second": steady,
        "kiku_per_second_overall": delivered as f64 / drained_s,
        "peer_per_second": peer_rate,
        "ratio": steady / peer_rate,
        "rss_mib": {"first": rss.first(), "max": rss.iter().copied().fold(0.0, f64::max), "last": rss.last(),
                     "at_10pct": at(0.1).and_then(|(t, _)| samples.iter().find(|s| s.0 >= t)).map(|s| s.2),
                     "at_90pct": at(0.9).and_then(|(t, _)| samples.iter().find(|s| s.0 >= t)).map(|s| s.2)},
        "latency": {"rate": args.rate, "events": count, "measured": latencies.len(),
                    "p50_ms": percentile(&latencies, 0.5), "p90_ms": percentile(&latencies, 0.9),
                    "p99_ms": percentile(&latencies, 0.99), "max_ms": latencies.last()},
        "workers": args.workers,
    });
    println!("{out}");
}
