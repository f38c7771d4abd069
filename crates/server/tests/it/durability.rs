//! Never acknowledge what is not stored (issue 17): a full disk under SQLite and a
//! PostgreSQL server that goes away mid-batch or while calls are analysed (issue 15). Every 2xx must be in the database
//! afterwards; refusals are 507/503 with a reason, never 200 or an opaque 500; and writes
//! work again, without a restart, once the trouble is over.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiku_analysis::testing::{stereo_call, test_model_dir, SUPPORT_VOICES};
use kiku_domain::{CallId, CompanyId};
use kiku_storage::test_support::{test_databases, SmallDisk};
use kiku_storage::{CallStore, SqlStore};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::crash;
use crate::process::KikuProcess;
use crate::support::{call, start_on, Tenant, TestServer};

/// Posts `n` calls named `prefix-i`; the call ids when acknowledged.
async fn post_batch(
    server: &TestServer,
    tenant: &Tenant,
    prefix: &str,
    n: usize,
) -> Result<Vec<CallId>, (StatusCode, Value)> {
    let calls: Vec<Value> = (0..n)
        .map(|i| {
            call(
                &format!("{prefix}-{i}"),
                "AUTOMATIC_RECORD",
                false,
                None,
                None,
            )
        })
        .collect();
    let (status, body) = server
        .post_calls(&tenant.webhook, &json!({ "call_data": calls }))
        .await;
    if status != StatusCode::OK {
        return Err((status, body));
    }
    Ok(body["audio_upload_urls"]
        .as_array()
        .expect("urls")
        .iter()
        .map(|e| {
            let entry = e.as_object().expect("entry").values().next().expect("one");
            entry["call_id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("call id")
        })
        .collect())
}

async fn assert_all_stored(url: &str, company: &str, acknowledged: &[CallId]) {
    let store = SqlStore::connect(url, kiku_storage::test_support::secret_keys())
        .await
        .expect("reopen");
    let company: CompanyId = company.parse().expect("company");
    for id in acknowledged {
        let call = store.call(company, *id).await.expect("read");
        assert!(call.is_some(), "acknowledged call {id} is lost");
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_507_and_recovers_without_a_restart() {
    let disk = match SmallDisk::mount(8) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("SKIPPED a_full_disk_refuses_writes…: cannot mount a small disk: {why}");
            return;
        }
    };
    let url = format!(
        "sqlite://{}?mode=rwc",
        disk.path().join("kiku.db").display()
    );
    let dir = tempfile::tempdir().expect("dir");
    let server = start_on("sqlite", &url, disk.path().join("audio"), None, dir, None).await;
    let tenant = server.tenant("full").await;
    let (_, upload) = server.one_call(&tenant, "before").await;
    let mut acknowledged = Vec::new();

    let filler = disk.fill();
    let mut refused = 0;
    for round in 0..8 {
        match post_batch(&server, &tenant, &format!("full{round}"), 100).await {
            Ok(ids) => acknowledged.extend(ids),
            Err((status, body)) => {
                assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
                assert_eq!(body["code"], "insufficient_storage", "{body}");
                refused += 1;
            }
        }
    }
    assert!(
        refused >= 6,
        "only {refused} of 8 batches were refused on a full disk"
    );
    let (status, body) = server
        .send(server.http.put(&upload).body(vec![7u8; 4096]))
        .await;
    assert_eq!(
        status,
        StatusCode::INSUFFICIENT_STORAGE,
        "an upload: {body}"
    );
    // A sign-in is either refused or its session works: never a token that is not stored.
    let (status, body) = server
        .send(
            server
                .http
                .post(server.url("/api/v1/auth/login"))
                .json(&json!({"email": "admin@full.example", "password": "correct horse"})),
        )
        .await;
    if status == StatusCode::OK {
        let token = body["token"].as_str().expect("token");
        assert_eq!(server.get("/api/v1/me", token).await.0, StatusCode::OK);
    } else {
        assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    }
    let ready = server
        .http
        .get(server.url("/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.expect("json");
    assert_eq!(ready["checks"]["storage"]["ok"], false, "{ready}");

    std::fs::remove_file(filler).expect("free the space");
    let ids = post_batch(&server, &tenant, "after", 100)
        .await
        .expect("a batch once space is back, without a restart");
    acknowledged.extend(ids);
    let (status, body) = server
        .send(server.http.put(&upload).body(vec![7u8; 4096]))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an upload once space is back: {body}"
    );
    let ready = server
        .http
        .get(server.url("/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), StatusCode::OK);

    let company = tenant.company_id.clone();
    drop(server);
    assert_all_stored(&url, &company, &acknowledged).await;
}

/// A TCP proxy in front of PostgreSQL that can be cut (every connection reset, new ones
/// refused) and restored on the same port: the database going away as Kiku sees it,
/// without stopping the server the other tests share.
struct Proxy {
    addr: std::net::SocketAddr,
    upstream: String,
    links: Arc<Mutex<JoinSet<()>>>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut proxy = Self {
            addr: listener.local_addr().expect("addr"),
            upstream: upstream.to_string(),
            links: Arc::new(Mutex::new(JoinSet::new())),
            accept: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let (upstream, links) = (self.upstream.clone(), self.links.clone());
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let mut links = links.lock().expect("links");
                links.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        self.links.lock().expect("links").abort_all();
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind");
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_mid_batch_never_acknowledges_a_lost_write() {
    let Some(db) = test_databases()
        .await
        .into_iter()
        .find(|d| d.backend == "postgres")
    else {
        eprintln!("SKIPPED postgres_going_away…: no PostgreSQL (KIKU_TEST_POSTGRES_URL)");
        return;
    };
    // postgres://user@host:port/name → the proxy's host:port in its place.
    let (scheme_user, rest) = db.url.split_once('@').expect("user@host");
    let (host_port, name) = rest.split_once('/').expect("host/name");
    let mut proxy = Proxy::start(host_port).await;
    let url = format!("{scheme_user}@{}/{name}", proxy.addr);
    let dir = tempfile::tempdir().expect("dir");
    let audio = dir.path().join("audio");
    let server = Arc::new(start_on("postgres", &url, audio, None, dir, None).await);
    let tenant = Arc::new(server.tenant("pg").await);

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut posters = JoinSet::new();
    for worker in 0..4 {
        let (server, tenant) = (server.clone(), tenant.clone());
        let (acknowledged, refused, stop) = (acknowledged.clone(), refused.clone(), stop.clone());
        posters.spawn(async move {
            let mut round = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match post_batch(&server, &tenant, &format!("w{worker}r{round}"), 20).await {
                    Ok(ids) => acknowledged.lock().expect("ids").extend(ids),
                    Err((status, body)) => {
                        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
                        assert_eq!(body["code"], "unavailable", "{body}");
                        refused
                            .lock()
                            .expect("refused")
                            .insert(format!("w{worker}r{round}"));
                    }
                }
                round += 1;
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    while let Some(done) = posters.join_next().await {
        done.expect("a poster failed");
    }
    let refused = refused.lock().expect("refused").len();
    assert!(
        refused > 0,
        "no batch was refused while the database was away"
    );
    // Without a restart, writes go through again.
    let ids = post_batch(&server, &tenant, "after", 20)
        .await
        .expect("a batch once the database is back");
    let mut acknowledged = acknowledged.lock().expect("ids").clone();
    acknowledged.extend(ids);
    eprintln!(
        "{} calls acknowledged, {refused} batches refused",
        acknowledged.len()
    );
    assert_all_stored(&db.url, &tenant.company_id, &acknowledged).await;
}

/// PostgreSQL going away while calls are being analysed and delivered (issue 15): requests
/// meanwhile are refused cleanly (503 `unavailable`), and once it is back, without a
/// restart, every job finishes — none lost, none failed, none analysed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_going_away_under_analysis_loses_no_job() {
    const CALLS: usize = 6;
    let Some(model) = test_model_dir() else {
        return;
    };
    let Some(db) = test_databases()
        .await
        .into_iter()
        .find(|d| d.backend == "postgres")
    else {
        eprintln!("SKIPPED postgres_going_away_under_analysis…: no PostgreSQL");
        return;
    };
    let (scheme_user, rest) = db.url.split_once('@').expect("user@host");
    let (host_port, name) = rest.split_once('/').expect("host/name");
    let mut proxy = Proxy::start(host_port).await;
    let url = format!("{scheme_user}@{}/{name}", proxy.addr);
    let model = model.display().to_string();
    let kiku = KikuProcess::start(&[
        ("KIKU_DATABASE_URL", url.as_str()),
        ("KIKU_MODEL_DIR", model.as_str()),
        ("KIKU_ANALYSIS_WORKERS", "1"),
        ("KIKU_ANALYSIS_THREADS", "1"),
        ("KIKU_BEAM_SIZE", "1"),
        ("KIKU_ANALYSIS_LEASE_SECONDS", "3"),
    ])
    .await;
    let company = kiku.company("correct horse");
    let webhook = kiku.cli(&["webhook-url", "create", "--company", &company]);
    let hook = webhook["url"].as_str().expect("url");
    let hook = format!(
        "/webhooks/{}",
        hook.split_once("/webhooks/").expect("webhook path").1
    );
    let work = tempfile::tempdir().expect("dir");
    let generated = stereo_call(work.path(), SUPPORT_VOICES, crash::LINES, 0.3).expect("espeak");
    let http = reqwest::Client::new();
    let send = |i: usize| {
        let (http, base, hook) = (http.clone(), kiku.base.clone(), hook.clone());
        let mut recording = generated.wav.clone();
        let n = recording.len();
        recording[n - 2..].copy_from_slice(&(i as u16).to_le_bytes());
        let seconds = generated.seconds;
        async move {
            let (_, upload) = crash::post_until_accepted(&http, &base, &hook, i, seconds).await;
            crash::upload_until_stored(&http, &upload, &recording).await
        }
    };
    for i in 0..CALLS {
        assert!(send(i).await, "call {i} acknowledged");
    }

    // The worker is busy with the queue when the database goes.
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.cut();
    let refused = http
        .post(kiku.url(&hook))
        .json(&json!({"call_data": [call("while-away", "AUTOMATIC_RECORD", false, None, None)]}))
        .send()
        .await
        .expect("an answer while the database is away");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "unavailable", "{body}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.restore().await;
    assert!(send(CALLS).await, "a call after the database is back");

    let token = kiku.sign_in("correct horse").await;
    crash::wait_until_analysed(&http, &kiku, &token, CALLS + 1).await;
    let calls = crash::get(&http, &kiku, &token, "/api/v1/calls?per_page=50").await;
    for item in calls["items"].as_array().expect("items") {
        let id = item["call_id"].as_str().expect("id");
        crash::assert_analysed_once(&http, &kiku, &token, id).await;
    }
    crash::assert_no_jobs_left(&http, &kiku).await;
}
