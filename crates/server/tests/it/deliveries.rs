//! Results leaving Kiku: events delivered to outgoing webhooks over real HTTP to real local
//! receivers, on both backends — at least once with one event id across retries, signed,
//! in the vendor's schema, 410 disabling, a hanging receiver not holding up the others, a
//! swap announced as a new event with the new version, the log and replays.

#[path = "../../../domain/tests/support/miitel_schema.rs"]
pub(crate) mod miitel_schema;

use std::time::{Duration, Instant};

use kiku::jobs::{self, DeliverySettings, RunnerOptions, WorkerCounts};
use kiku_domain::outgoing_webhook::DeliveryPolicy;
use kiku_notify::WebhookSecret;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::receiver;
use crate::support::{servers, Tenant, TestServer};
use crate::swap::completed_call;

/// The job workers and the delivery runner, retrying at once (the schedule's timing is the
/// domain rule's unit tests' business).
pub(crate) fn start_runner(s: &TestServer) -> tokio::sync::watch::Sender<bool> {
    let counts = WorkerCounts {
        analysis: 0,
        jobs: 1,
        deliveries: 4,
        notifications: 0,
    };
    start_workers(s, vec![Duration::ZERO; 3], counts)
}

/// `counts` workers, retrying deliveries and notifications on `schedule`.
pub(crate) fn start_workers(
    s: &TestServer,
    schedule: Vec<Duration>,
    counts: WorkerCounts,
) -> tokio::sync::watch::Sender<bool> {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let options = RunnerOptions {
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(50),
        analysis_timeout: Duration::from_secs(60),
        delivery: DeliverySettings {
            policy: DeliveryPolicy {
                schedule,
                ..DeliveryPolicy::default()
            },
            per_endpoint: 2,
            slots: Default::default(),
        },
    };
    jobs::start(s.app.clone(), None, counts, options, shutdown);
    stop
}

/// Creates an endpoint (the receiver answers the challenge); its id and secret.
async fn endpoint(s: &TestServer, t: &Tenant, url: &str, extra: Value) -> (String, String) {
    let mut body = json!({"name": url, "url": url});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let req = s
        .http
        .post(s.url("/api/v1/outgoing-webhooks"))
        .bearer_auth(&t.admin_token)
        .json(&body);
    let (status, created) = s.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["id"].as_str().expect("id").into(),
        created["secret"].as_str().expect("secret").into(),
    )
}

/// Waits until `count` deliveries (challenges left out) reached `path`.
async fn wait_for(r: &receiver::Receiver, path: &str, count: usize) -> Vec<receiver::Received> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got: Vec<_> = r
            .received()
            .into_iter()
            .filter(|d| d.path == path && d.headers.contains_key("webhook-id"))
            .collect();
        if got.len() >= count || Instant::now() > deadline {
            assert!(
                got.len() >= count,
                "{path}: {} of {count} deliveries",
                got.len()
            );
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn header<'a>(d: &'a receiver::Received, name: &str) -> &'a str {
    d.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn json_of(d: &receiver::Received) -> Value {
    serde_json::from_slice(&d.body).expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_every_endpoint_at_least_once_signed_and_in_the_vendor_schema() {
    for s in servers().await {
        let _runner = start_runner(&s);
        let r = receiver::start().await;
        let t = s.tenant("acme").await;
        let (flaky, flaky_secret) = endpoint(&s, &t, &r.url("/d/flaky"), json!({})).await;
        let (gone, _) = endpoint(&s, &t, &r.url("/d/gone"), json!({})).await;
        let (hang, _) = endpoint(&s, &t, &r.url("/d/hang"), json!({})).await;
        let extra = json!({"payload": {"source": "kiku"}, "exclude_phrases": true});
        endpoint(&s, &t, &r.url("/d/ok"), extra).await;

        let call = completed_call(&s, &t, "c1").await;
        // A hanging receiver holds one delivery of its own; the others go through: the
        // good endpoint has its delivery while the hanging one's first attempt is still
        // waiting for its (2 s) timeout, so nothing of it is logged yet.
        wait_for(&r, "/d/hang", 1).await;
        let ok = wait_for(&r, "/d/ok", 1).await;
        let hang_log = s
            .get(
                &format!("/api/v1/outgoing-webhooks/{hang}/deliveries"),
                &t.admin_token,
            )
            .await
            .1;
        assert_eq!(hang_log["items"], json!([]), "{}: {hang_log}", s.backend);
        let body = json_of(&ok[0]);
        assert_eq!(body["call"]["id"], call.as_str());
        assert_eq!(body["call"]["tenant_code"], t.company_id.as_str());
        assert_eq!(
            (
                body["event_type"].clone(),
                body["version"].clone(),
                body["previous_version"].clone()
            ),
            (json!("call_analysis_completed"), json!(1), Value::Null)
        );
        assert_eq!(body["source"], "kiku", "the additional payload");
        assert_eq!(
            body["call"]["details"][0]["phrases"],
            json!([]),
            "phrases left out"
        );
        let problems = miitel_schema::problems(&body, "Welcome");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            header(&ok[0], "content-type"),
            "application/json; charset=utf-8"
        );
        assert!(header(&ok[0], "user-agent").starts_with("Kiku-Webhook/1"));

        // Failed twice, then delivered: three attempts, one event id, each signed.
        let flaky_got = wait_for(&r, "/d/flaky", 3).await;
        let ids: Vec<&str> = flaky_got.iter().map(|d| header(d, "webhook-id")).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!(
            ids[0],
            header(&ok[0], "webhook-id"),
            "one event, one id everywhere"
        );
        let secret = WebhookSecret::parse(&flaky_secret).expect("secret");
        for d in &flaky_got {
            let timestamp: i64 = header(d, "webhook-timestamp").parse().expect("timestamp");
            let expected = secret.sign(header(d, "webhook-id"), timestamp, &d.body);
            assert!(header(d, "webhook-signature")
                .split(' ')
                .any(|sig| sig == expected));
        }
        // Each attempt is logged once its answer is in.
        let mut statuses = Vec::new();
        for _ in 0..100 {
            let path = format!("/api/v1/outgoing-webhooks/{flaky}/deliveries");
            let log = s.get(&path, &t.admin_token).await.1;
            statuses = log["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|d| (d["attempt"].as_u64(), d["status"].as_u64()))
                .collect();
            // The test clock stands still: attempts share a time, so order by number.
            statuses.sort();
            if statuses.len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            statuses,
            vec![
                (Some(1), Some(500)),
                (Some(2), Some(500)),
                (Some(3), Some(204))
            ]
        );

        // 410 Gone disables the endpoint, with the reason shown to admins.
        wait_for(&r, "/d/gone", 1).await;
        let mut shown = Value::Null;
        for _ in 0..100 {
            shown = s
                .get(&format!("/api/v1/outgoing-webhooks/{gone}"), &t.admin_token)
                .await
                .1;
            if shown["enabled"] == false {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(shown["enabled"], false, "{shown}");
        assert!(shown["disabled_reason"]
            .as_str()
            .expect("reason")
            .contains("410"));

        // A swap is a new event with a new id, carrying version 2 and the flipped roles.
        let req = s
            .http
            .post(s.url(&format!("/api/v1/calls/{call}/swap")))
            .bearer_auth(&t.admin_token);
        assert_eq!(s.send(req).await.0, StatusCode::OK);
        let ok = wait_for(&r, "/d/ok", 2).await;
        let swapped = json_of(&ok[1]);
        assert_ne!(header(&ok[1], "webhook-id"), header(&ok[0], "webhook-id"));
        assert_eq!(
            (
                swapped["version"].clone(),
                swapped["previous_version"].clone()
            ),
            (json!(2), json!(1))
        );
        let raw = swapped["call"]["details"][0]["speech_recognition"]["raw"]
            .as_str()
            .expect("raw");
        assert!(raw.starts_with("0:00 (User) Hello, this is Emma"), "{raw}");
        let gone_after = r.received().iter().filter(|d| d.path == "/d/gone").count();
        assert_eq!(
            gone_after, 2,
            "a disabled endpoint gets nothing more (challenge + one)"
        );

        // Per call, admins see every attempt; a replay sends the same event id again.
        // (An attempt is logged just after its answer arrives.)
        let mut per_call = Value::Null;
        for _ in 0..100 {
            let (status, got) = s
                .get(&format!("/api/v1/calls/{call}/deliveries"), &t.admin_token)
                .await;
            assert_eq!(status, StatusCode::OK);
            per_call = got;
            if per_call["items"].as_array().expect("items").len() >= 6 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            per_call["items"].as_array().expect("items").len() >= 6,
            "{per_call}"
        );
        let replay = s
            .http
            .post(s.url(&format!("/api/v1/outgoing-webhooks/{flaky}/replay")))
            .bearer_auth(&t.admin_token)
            .json(&json!({ "event_id": ids[0] }));
        let (status, body) = s.send(replay).await;
        assert_eq!(
            (status, body),
            (StatusCode::ACCEPTED, json!({"replaying": 1}))
        );
        let again = wait_for(&r, "/d/flaky", 5).await;
        let replayed: Vec<&str> = again.iter().map(|d| header(d, "webhook-id")).collect();
        assert!(replayed.contains(&ids[0]));
        let bad = s
            .http
            .post(s.url(&format!("/api/v1/outgoing-webhooks/{flaky}/replay")))
            .bearer_auth(&t.admin_token)
            .json(&json!({}));
        assert_eq!(s.send(bad).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// Completes `n` calls in the database of a running `kiku serve` (as its analysis workers
/// would have), each announcing a `call_analysis_completed` event; the event ids.
pub(crate) async fn completed_calls_in(
    data_dir: &std::path::Path,
    company: &str,
    n: usize,
) -> Vec<String> {
    use kiku::app::analysis::new_analysis;
    use kiku_domain::analysis::AnalysisSettings;
    use kiku_domain::call_data::parse_batch;
    use kiku_domain::JobKind;
    use kiku_storage::{AnalysisStore, CallStore, EventStore, JobStore, NewAudio, SqlStore};

    let url = format!("sqlite://{}?mode=rwc", data_dir.join("kiku.db").display());
    let store = SqlStore::connect(&url, kiku_storage::test_support::secret_keys())
        .await
        .expect("database");
    let company = company.parse().expect("company");
    let calls: Vec<Value> = (0..n)
        .map(|i| crate::support::call(&format!("k{i}"), "AUTOMATIC_RECORD", false, None, None))
        .collect();
    let data = parse_batch(&json!({ "call_data": calls })).expect("call data");
    let now = time::OffsetDateTime::now_utc();
    let heard = crate::swap::transcript();
    let roles = crate::swap::unsure_roles();
    let made = kiku::app::analysis::scored_report(
        &heard,
        &roles,
        &AnalysisSettings::default(),
        &crate::support::test_sentiment(),
    );
    let new = new_analysis("test engine", &heard, &roles, &made, false).expect("analysis");
    let mut events = Vec::new();
    for stored in store
        .ingest_calls(company, &data, now)
        .await
        .expect("ingest")
    {
        let audio = NewAudio {
            key: "k".into(),
            bytes: 1,
        };
        store
            .attach_audio(stored.id, audio, now)
            .await
            .expect("attach");
        let lease = now + time::Duration::minutes(5);
        let job = store
            .claim_job(&[JobKind::AnalyseCall], "test", lease, now)
            .await
            .expect("claim")
            .expect("job");
        store
            .finish_analysis(job.id, "test", &new, None, now)
            .await
            .expect("finish");
        for event in store
            .events_of_call(company, stored.id)
            .await
            .expect("events")
        {
            events.push(event.id.to_string());
        }
    }
    store.close().await;
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_lost_when_the_server_is_killed_while_delivering() {
    use crate::process::KikuProcess;
    let r = receiver::start().await;
    let mut kiku = KikuProcess::start(&[
        ("KIKU_OUTGOING_ALLOW_NETWORKS", "127.0.0.0/8"),
        ("KIKU_OUTGOING_RETRY_SCHEDULE_SECONDS", "0,0,0"),
        ("KIKU_DELIVERY_WORKERS", "2"),
        ("KIKU_OUTGOING_DELIVERIES_PER_ENDPOINT", "2"),
        ("KIKU_ANALYSIS_LEASE_SECONDS", "3"),
    ])
    .await;
    let company = kiku.company("correct horse");
    let created = kiku.cli(&[
        "outgoing-webhook",
        "create",
        "--company",
        &company,
        "--name",
        "slow",
        "--url",
        &r.url("/d/slow"),
    ]);
    assert!(created["id"].is_string(), "{created}");

    let events = completed_calls_in(&kiku.data_dir, &company, 30).await;
    assert_eq!(events.len(), 30);
    // Killed while deliveries are in flight and most are still queued (or claimed ahead,
    // back when their leases run out).
    let before = wait_for(&r, "/d/slow", 3).await.len();
    kiku.kill_and_restart().await;
    assert!(before < 30, "{before} were delivered before the kill");
    let mut expected = events.clone();
    expected.sort();
    // Duplicates may come first, so wait for the events, not for 30 requests.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (got, delivered) = loop {
        let got = wait_for(&r, "/d/slow", 1).await;
        let mut delivered: Vec<String> = got
            .iter()
            .map(|d| header(d, "webhook-id").to_string())
            .collect();
        delivered.sort();
        delivered.dedup();
        if delivered == expected || Instant::now() > deadline {
            break (got, delivered);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        delivered, expected,
        "every event delivered after the restart"
    );
    // Duplicates are allowed (at least once) and carry the same event id.
    eprintln!("{} requests for {} events", got.len(), events.len());
}
