//! Notification fan-out benchmark. One run, one machine, every target local:
//!
//! `--calls` analysed calls are stored into a fresh Kiku database through Kiku's own
//! storage (each result written with its event and, in the same transaction, the jobs of
//! everyone who hears of it) before `kiku serve` starts: one outgoing webhook, one Slack
//! rule, one company-wide e-mail recipient and three CRM connections — six deliveries per
//! call. The run measures how long Kiku takes to deliver them all to:
//!
//! - a webhook receiver and a Slack incoming-webhook fake (HTTP servers here),
//! - a real SMTP server process (PyPI `aiosmtpd`, storing into a Maildir),
//! - the tests' fakes of Salesforce, HubSpot and kintone (`crm_fakes.rs`),
//!
//! with Kiku's RSS sampled and its peak (VmHWM) read at the end. Then it checks that every
//! target got every call exactly once (a repeat would have to carry the same event id),
//! and reads Kiku's attempt log and jobs for the same.
//!
//! Prints one JSON object.

#[path = "../../common/kiku.rs"]
mod common;
#[path = "../../../crates/server/tests/it/crm_fakes.rs"]
mod crm_fakes;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use clap::Parser;
use crm_fakes::{Fake, Vendor};
use kiku_domain::call_data::parse_batch;
use kiku_domain::{CompanyId, JobKind};
use kiku_storage::{AnalysisStore, CallStore, JobStore, NewAudio, SqlStore};
use serde_json::{json, Value};
use sqlx::Row;

#[derive(Parser)]
#[command(
    name = "fanout",
    about = "Kiku's notification fan-out to six local targets"
)]
struct Args {
    /// The `kiku` binary (release build).
    #[arg(long)]
    kiku: PathBuf,
    /// A fresh folder for Kiku's data and the Maildir.
    #[arg(long)]
    dir: PathBuf,
    /// Analysed calls.
    #[arg(long, default_value_t = 1_000)]
    calls: usize,
    /// Where PyPI aiosmtpd can be imported from (PYTHONPATH).
    #[arg(long)]
    python: String,
    /// Kiku's notification workers (Slack, e-mail, CRM); Kiku's default.
    #[arg(long, default_value_t = 4)]
    notification_workers: usize,
    /// Seconds to wait for everything to arrive.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

/// What an HTTP receiver saw: every request's key (the event id, or the call), in order.
#[derive(Default)]
struct Seen {
    keys: Vec<String>,
    last: Option<Instant>,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(seen: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(|p| p.into_inner())
}

/// The call a message is about: the id after `/calls/` in its link.
fn call_in(text: &str) -> Option<String> {
    let at = text.find("/calls/")? + "/calls/".len();
    text.get(at..at + 36).map(str::to_owned)
}

/// The outgoing webhook receiver: answers the URL check's challenge, keys deliveries by
/// `webhook-id` (the event id).
async fn webhook(State(seen): State<Shared>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let challenge = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["challenge"].as_str().map(str::to_owned));
    if let Some(challenge) = challenge {
        return ([("content-type", "text/plain")], challenge).into_response();
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut seen = lock(&seen);
    seen.keys.push(id);
    seen.last = Some(Instant::now());
    axum::http::StatusCode::NO_CONTENT.into_response()
}

/// Slack's incoming webhook: `200 ok`; keyed by the call its button links to.
async fn slack(State(seen): State<Shared>, body: Bytes) -> impl IntoResponse {
    let text = String::from_utf8_lossy(&body);
    let mut seen = lock(&seen);
    seen.keys.push(call_in(&text).unwrap_or_default());
    seen.last = Some(Instant::now());
    "ok"
}

async fn receiver(seen: Shared) -> String {
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(webhook))
        .route("/slack", axum::routing::post(slack))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
    base
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// `python3 -m aiosmtpd` storing every message into `maildir`.
async fn smtp_server(python: &str, port: u16, maildir: &Path) -> Child {
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .env("PYTHONPATH", python)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

/// The stored messages' `Message-ID`s (made of the event id and the recipient).
fn message_ids(maildir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let id = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("message-id")
                        .then(|| value.trim().to_string())
                })
                .unwrap_or_default();
            out.push(id);
        }
    }
    out
}

fn mail_count(maildir: &Path) -> usize {
    std::fs::read_dir(maildir.join("new")).map_or(0, |d| d.count())
}

/// `calls` analysed calls (user Emma, FROM; the customer +81322223333, whom the CRM fakes
/// know), each result stored by `finish_analysis` with its event and fan-out.
async fn seed(url: &str, company: CompanyId, calls: usize) {
    let store = SqlStore::connect(url, kiku_storage::test_support::secret_keys())
        .await
        .expect("database");
    let now = time::OffsetDateTime::now_utc();
    for first in (0..calls).step_by(100) {
        let batch: Vec<Value> = (first..calls.min(first + 100))
            .map(|i| {
                json!({
                    "call_data_id": format!("fanout-{i}"), "audio_file_type": "wav",
                    "event_type": "AUTOMATIC_RECORD",
                    "call_starts_at": "2026-01-05T10:00:00+09:00",
                    "call_answered_at": "2026-01-05T10:00:07+09:00",
                    "call_ends_at": "2026-01-05T10:04:00+09:00",
                    "participants": [
                        {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": "0311112222", "name": "Emma"},
                        {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "+81322223333", "name": null}
                    ]
                })
            })
            .collect();
        let data = parse_batch(&json!({ "call_data": batch })).expect("call data");
        for call in store
            .ingest_calls(company, &data, now)
            .await
            .expect("ingest")
        {
            let audio = NewAudio {
                key: format!("fanout/{}", call.id),
                bytes: 1,
            };
            store
                .attach_audio(call.id, audio, now)
                .await
                .expect("attach");
        }
    }
    let new = common::analysed("ja", "ルーターの返品について、担当者からご連絡いたします。");
    let lease = now + time::Duration::minutes(5);
    for _ in 0..calls {
        let job = store
            .claim_job(&[JobKind::AnalyseCall], "bench", lease, now)
            .await
            .expect("claim")
            .expect("an analysis job");
        store
            .finish_analysis(job.id, "bench", &new, None, now)
            .await
            .expect("finish");
    }
    store.close().await;
}

/// Deliveries to one target: how many arrived, how many distinct ones, and whether every
/// repeat carried a key already seen (the same event).
fn tally(keys: &[String]) -> Value {
    let distinct: HashSet<&String> = keys.iter().collect();
    json!({"received": keys.len(), "distinct": distinct.len(),
           "unkeyed": keys.iter().filter(|k| k.is_empty()).count()})
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir).expect("dir");
    let n = args.calls;

    let hooks: Shared = Arc::default();
    let slack_seen: Shared = Arc::default();
    let hook_base = receiver(hooks.clone()).await;
    let slack_base = receiver(slack_seen.clone()).await;
    let (sf, hs, kt) = (
        Fake::start(Vendor::Salesforce).await,
        Fake::start(Vendor::Hubspot).await,
        Fake::start(Vendor::Kintone).await,
    );
    let smtp_port = free_port();
    let maildir = args.dir.join("mail");
    let mut smtp = smtp_server(&args.python, smtp_port, &maildir).await;

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let data = args.dir.join("kiku");
    let env: Vec<(&str, String)> = vec![
        ("KIKU_DATA_DIR", data.display().to_string()),
        ("KIKU_LISTEN", format!("127.0.0.1:{port}")),
        (
            "KIKU_SECRETS_KEY",
            kiku_storage::test_support::TEST_SECRETS_KEY.into(),
        ),
        ("KIKU_PUBLIC_URL", base.clone()),
        ("KIKU_ANALYSIS_WORKERS", "0".into()),
        (
            "KIKU_NOTIFICATION_WORKERS",
            args.notification_workers.to_string(),
        ),
        ("KIKU_OUTGOING_ALLOW_NETWORKS", "127.0.0.0/8".into()),
        ("KIKU_SMTP_HOST", "127.0.0.1".into()),
        ("KIKU_SMTP_PORT", smtp_port.to_string()),
        ("KIKU_SMTP_SECURITY", "none".into()),
        ("KIKU_SMTP_FROM", "Kiku <kiku@bench.example>".into()),
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
    let company_text = company["company_id"].as_str().expect("company").to_string();
    let company_id: CompanyId = company_text.parse().expect("id");
    let c = company_text.as_str();
    let hook = format!("{hook_base}/hook");
    let slack_url = format!("{slack_base}/slack");
    common::kiku_cli(
        &args.kiku,
        &env,
        &[
            "outgoing-webhook",
            "create",
            "--company",
            c,
            "--name",
            "bench",
            "--url",
            &hook,
        ],
    );
    common::kiku_cli(
        &args.kiku,
        &env,
        &[
            "slack-rule",
            "create",
            "--company",
            c,
            "--name",
            "bench",
            "--webhook-url",
            &slack_url,
            "--include-summary",
            "true",
        ],
    );
    common::kiku_cli(
        &args.kiku,
        &env,
        &[
            "email-notifications",
            "set",
            "--company",
            c,
            "--recipient",
            "sales@bench.example",
        ],
    );
    let connections = [
        (
            "salesforce",
            &sf,
            json!({"client_id": crm_fakes::SF_CLIENT_ID, "client_secret": crm_fakes::SF_CLIENT_SECRET}),
        ),
        (
            "hubspot",
            &hs,
            json!({"access_token": crm_fakes::HUBSPOT_TOKEN}),
        ),
        (
            "kintone",
            &kt,
            json!({"app": crm_fakes::KINTONE_APP, "api_token": crm_fakes::KINTONE_TOKEN,
                   "field_map": {"call_id": "call_id", "link": "kiku_url", "body": "memo", "score": "score"}}),
        ),
    ];
    for (kind, fake, settings) in &connections {
        common::kiku_cli(
            &args.kiku,
            &env,
            &[
                "crm-connection",
                "create",
                "--company",
                c,
                "--kind",
                kind,
                "--name",
                kind,
                "--base-url",
                &fake.base,
                "--settings",
                &settings.to_string(),
            ],
        );
    }
    let db = format!("sqlite://{}?mode=rwc", data.join("kiku.db").display());
    let seeding = Instant::now();
    seed(&db, company_id, n).await;
    let seed_s = seeding.elapsed().as_secs_f64();

    // The fan-out: from `kiku serve` starting until the last delivery arrived.
    let sf_task = "/services/data/v62.0/sobjects/Task/";
    let mut kiku: Child = Command::new(&args.kiku)
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kiku serve");
    let pid = kiku.id();
    let started = Instant::now();
    let mut rss_max_kib: f64 = 0.0;
    let counts = || {
        [
            lock(&hooks).keys.len(),
            lock(&slack_seen).keys.len(),
            mail_count(&maildir),
            sf.requests("POST", sf_task, 201).len(),
            hs.requests("POST", "/crm/v3/objects/calls", 201).len(),
            kt.records().len(),
        ]
    };
    let mut last_change = started;
    let mut last_counts = [0; 6];
    // When each target had all its deliveries (to the 100 ms the counts are read at).
    let mut done_at: [Option<f64>; 6] = [None; 6];
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rss_max_kib = rss_max_kib.max(common::proc_kib(pid, "VmRSS:"));
        let now_counts = counts();
        if now_counts != last_counts {
            last_change = Instant::now();
            last_counts = now_counts;
        }
        for (at, count) in done_at.iter_mut().zip(now_counts) {
            if at.is_none() && count >= n {
                *at = Some(started.elapsed().as_secs_f64());
            }
        }
        if now_counts.iter().all(|c| *c >= n) {
            break;
        }
        if started.elapsed() > Duration::from_secs(args.timeout) {
            eprintln!("timed out: {now_counts:?} of {n} each");
            break;
        }
    }
    let all_s = last_change.duration_since(started).as_secs_f64();
    // Late repeats would arrive now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let peak_kib = common::proc_kib(pid, "VmHWM:");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = kiku.wait();
    let _ = smtp.kill();
    let _ = smtp.wait();

    // Every target, keyed by what identifies a delivery there.
    let by_call = |fake: &Fake, method: &str, path: &str| -> Vec<String> {
        fake.requests(method, path, 0)
            .iter()
            .map(|r| call_in(&String::from_utf8_lossy(&r.body)).unwrap_or_default())
            .collect()
    };
    let updates = sf.requests("PATCH", sf_task, 0).len()
        + hs.requests("PATCH", "/crm/v3/objects/calls/", 0).len()
        + kt.requests("PUT", "/k/v1/record.json", 0).len();
    let targets = json!({
        "webhook": tally(&lock(&hooks).keys),
        "slack": tally(&lock(&slack_seen).keys),
        "email": tally(&message_ids(&maildir)),
        "salesforce": tally(&by_call(&sf, "POST", sf_task)),
        "hubspot": tally(&by_call(&hs, "POST", "/crm/v3/objects/calls")),
        "kintone": tally(&by_call(&kt, "POST", "/k/v1/record.json")),
    });
    let exactly_once = targets
        .as_object()
        .into_iter()
        .flatten()
        .all(|(_, t)| t["received"] == n && t["distinct"] == n && t["unkeyed"] == 0)
        && updates == 0;

    // Kiku's own account: attempts by channel and outcome, jobs left unfinished.
    let pool = sqlx::AnyPool::connect(&db).await.expect("database");
    let mut attempts: HashMap<String, i64> = HashMap::new();
    for row in sqlx::query(
        "SELECT channel || '/' || outcome AS k, COUNT(*) AS n FROM notification_attempts GROUP BY channel, outcome",
    )
    .fetch_all(&pool)
    .await
    .expect("attempts")
    {
        attempts.insert(row.get("k"), row.get("n"));
    }
    for row in sqlx::query(
        "SELECT CASE WHEN status BETWEEN 200 AND 299 THEN 'webhook/delivered' \
         ELSE 'webhook/not delivered' END AS k, COUNT(*) AS n \
         FROM outgoing_webhook_deliveries GROUP BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("deliveries")
    {
        attempts.insert(row.get("k"), row.get("n"));
    }
    let unfinished: i64 = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE state <> 'done'")
        .fetch_one(&pool)
        .await
        .expect("jobs")
        .get("n");
    pool.close().await;

    let deliveries = 6 * n;
    let out = json!({
        "calls": n,
        "deliveries": deliveries,
        "seed_seconds": seed_s,
        "seconds": all_s,
        "per_second": deliveries as f64 / all_s,
        "kiku_peak_rss_mib": peak_kib / 1024.0,
        "kiku_max_sampled_rss_mib": rss_max_kib / 1024.0,
        "targets": targets,
        "done_at_seconds": {"webhook": done_at[0], "slack": done_at[1], "email": done_at[2],
                            "salesforce": done_at[3], "hubspot": done_at[4], "kintone": done_at[5]},
        "crm_updates": updates,
        "exactly_once": exactly_once,
        "kiku_attempts": attempts,
        "unfinished_jobs": unfinished,
        "notification_workers": args.notification_workers,
    });
    println!("{out}");
}
