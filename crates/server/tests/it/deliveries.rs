//! Results leaving Kiku: events delivered to outgoing webhooks over real HTTP to real local
//! receivers, on both backends — at least once with one event id across retries, signed,
//! in the vendor's schema, 410 disabling, a hanging receiver not holding up the others, a
//! swap announced as a new event with the new version, the log and replays.

#[path = "../../../domain/tests/support/miitel_schema.rs"]
mod miitel_schema;

use std::time::{Duration, Instant};

use kiku::jobs::{self, DeliverySettings, RunnerOptions, WorkerCounts};
use kiku_domain::outgoing_webhook::DeliveryPolicy;
use kiku_notify::WebhookSecret;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::outgoing_webhooks::receiver;
use crate::support::{servers, Tenant, TestServer};
use crate::swap::completed_call;

/// Job workers for dispatch and delivery, retrying at once (the schedule's timing is the
/// domain rule's unit tests' business).
fn start_runner(s: &TestServer) -> tokio::sync::watch::Sender<bool> {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let options = RunnerOptions {
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(50),
        analysis_timeout: Duration::from_secs(60),
        delivery: DeliverySettings {
            policy: DeliveryPolicy {
                schedule: vec![Duration::ZERO; 3],
                ..DeliveryPolicy::default()
            },
            per_endpoint: 2,
            slots: Default::default(),
        },
    };
    let counts = WorkerCounts {
        analysis: 0,
        jobs: 1,
        deliveries: 4,
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
        let (_, _) = endpoint(&s, &t, &r.url("/d/hang"), json!({})).await;
        let extra = json!({"payload": {"source": "kiku"}, "exclude_phrases": true});
        endpoint(&s, &t, &r.url("/d/ok"), extra).await;

        let started = Instant::now();
        let call = completed_call(&s, &t, "c1").await;
        // A hanging receiver holds one delivery of its own; the others go through.
        let ok = wait_for(&r, "/d/ok", 1).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{}: {:?}",
            s.backend,
            started.elapsed()
        );
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
        let (status, per_call) = s
            .get(&format!("/api/v1/calls/{call}/deliveries"), &t.admin_token)
            .await;
        assert_eq!(status, StatusCode::OK);
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
