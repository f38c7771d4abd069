//! Minutes (docs/analysis.md, *Minutes*): the company's setting, the `write_minutes` job
//! sending the stored transcript to an OpenAI-compatible endpoint, `GET …/minutes` and the
//! `call_summarization_completed` event in the vendor's schema. A local fake endpoint shows
//! what is sent, on both backends; a real small model (SmolLM2 served by llama.cpp,
//! `scripts/llm-server`) writes the minutes of a call analysed by the real speech model.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use kiku::app::analysis::{new_analysis, scored_report};
use kiku::clock::Clock;
use kiku::jobs::WorkerCounts;
use kiku_domain::analysis::AnalysisSettings;
use kiku_notify::{MinutesSettings, MinutesWriter};
use kiku_storage::FinishOutcome;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::deliveries::{miitel_schema, start_workers};
use crate::receiver;
use crate::support::{servers, servers_with_minutes, Tenant, TestServer};

/// What the fake model answers: the minutes, and the requests it was sent.
#[derive(Clone, Default)]
struct FakeModel {
    requests: Arc<Mutex<Vec<Value>>>,
}

/// An OpenAI-compatible endpoint on a free port whose minutes name the lines it was given;
/// its base URL (`…/v1`).
async fn fake_model() -> (String, FakeModel) {
    async fn complete(State(model): State<FakeModel>, Json(request): Json<Value>) -> Json<Value> {
        let lines = request["messages"][1]["content"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .count();
        model.requests.lock().expect("requests").push(request);
        Json(json!({
            "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant",
                "content": format!("```\nTopic:\nA call of {lines} lines.\n```\n")
            }}]
        }))
    }
    let model = FakeModel::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(complete))
        .with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, model)
}

fn writer(url: &str, model: &str) -> MinutesWriter {
    MinutesWriter::new(&MinutesSettings {
        url: url.into(),
        model: model.into(),
        api_key: Some("sk-test".into()),
        timeout: Duration::from_secs(120),
    })
    .expect("writer")
}

async fn put_settings(s: &TestServer, t: &Tenant, settings: Value) -> (StatusCode, Value) {
    let req = s
        .http
        .put(s.url("/api/v1/settings/analysis"))
        .bearer_auth(&t.admin_token)
        .json(&settings);
    s.send(req).await
}

/// An endpoint subscribed to the minutes' event only.
async fn minutes_endpoint(s: &TestServer, t: &Tenant, url: &str) {
    let req = s
        .http
        .post(s.url("/api/v1/outgoing-webhooks"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"name": "minutes", "url": url, "events": ["call_summarization_completed"]}));
    let (status, body) = s.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Waits for the call's minutes of `version` (up to `within`).
async fn wait_for_minutes(
    s: &TestServer,
    t: &Tenant,
    call: &str,
    version: u64,
    within: Duration,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = s
            .get(&format!("/api/v1/calls/{call}/minutes"), &t.admin_token)
            .await;
        if status == StatusCode::OK && body["version"] == version {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{}: no minutes of version {version}: {status} {body}",
            s.backend
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `call_summarization_completed` bodies `r` received at `path`, once there are `n`.
async fn minutes_events(r: &receiver::Receiver, path: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: Vec<Value> = r
            .received()
            .into_iter()
            .filter(|d| d.path == path && d.headers.contains_key("webhook-id"))
            .map(|d| serde_json::from_slice(&d.body).expect("json"))
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{path}: {} of {n} events",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Minutes for version 1 of `call`'s result, stored as a `write_minutes` job stores them.
pub(crate) async fn minutes_written(s: &TestServer, company: &str, call: &str, text: &str) {
    let (company, call) = (
        company.parse().expect("company"),
        call.parse().expect("call"),
    );
    let now = s.clock.now();
    let job = kiku_storage::NewJob::minutes(company, call, 1, now);
    s.app.store.enqueue_job(job, now).await.expect("enqueue");
    let lease = now + time::Duration::minutes(5);
    let job = s
        .app
        .store
        .claim_job(&[kiku_domain::JobKind::WriteMinutes], "test", lease, now)
        .await
        .expect("claim")
        .expect("job");
    let minutes = kiku_storage::NewMinutes {
        call,
        version: 1,
        text,
        model: "test model",
    };
    let stored = s.app.store.finish_minutes(job.id, "test", &minutes, now);
    assert!(stored.await.expect("finish"));
}

fn workers() -> WorkerCounts {
    WorkerCounts {
        analysis: 0,
        jobs: 1,
        deliveries: 2,
        notifications: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minutes_are_written_from_the_stored_transcript_announced_and_rewritten_after_a_swap() {
    let (url, model) = fake_model().await;
    for s in servers_with_minutes(writer(&url, "fake-model")).await {
        let _workers = start_workers(&s, vec![Duration::ZERO; 3], workers());
        let r = receiver::start().await;
        let t = s.tenant("acme").await;
        let (status, body) = put_settings(&s, &t, json!({"write_minutes": true})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["settings"]["write_minutes"], true);
        minutes_endpoint(&s, &t, &r.url("/d/ok")).await;

        // Analysed as the analysis worker stores it when the company wants minutes.
        let (call, upload) = s.one_call(&t, "m1").await;
        let job = s.upload_and_claim(&upload).await;
        let (heard, roles) = (crate::swap::transcript(), crate::swap::unsure_roles());
        let settings = AnalysisSettings {
            write_minutes: true,
            ..AnalysisSettings::default()
        };
        let made = scored_report(&heard, &roles, &settings, &s.app.sentiment);
        let new = new_analysis("test engine", &heard, &roles, &made, true).expect("analysis");
        let company = t.company_id.parse().expect("company");
        let stored = s
            .app
            .store
            .analysis_settings(company)
            .await
            .expect("settings");
        let finished =
            s.app
                .store
                .finish_analysis(job.id, "test", &new, stored.as_deref(), s.clock.now());
        assert_eq!(
            finished.await.expect("finish"),
            FinishOutcome::Stored { version: 1 }
        );

        let minutes = wait_for_minutes(&s, &t, &call, 1, Duration::from_secs(30)).await;
        assert_eq!(minutes["text"], "Topic:\nA call of 4 lines.", "{minutes}");
        assert_eq!(minutes["model"], "fake-model");
        assert_eq!(minutes["call_id"], call.as_str());
        {
            let requests = model.requests.lock().expect("requests");
            let request = requests.last().expect("a request");
            assert_eq!(request["model"], "fake-model");
            assert_eq!(request["temperature"], 0);
            assert_eq!(request["messages"][0]["role"], "system");
            // Speaker 1 was taken for the user: the agent's lines are the customer's words.
            assert_eq!(
                request["messages"][1]["content"],
                "Customer: Hello, this is Emma from Northwind.\nAgent: Hi, could you send the invoice today?\n\
                 Customer: Sure, go ahead.\nAgent: Thanks.\n"
            );
        }
        let events = minutes_events(&r, "/d/ok", 1).await;
        let problems =
            miitel_schema::problems_against(miitel_schema::MINUTES_SCHEMA, &events[0], "Welcome");
        assert!(problems.is_empty(), "{}: {problems:#?}", s.backend);
        assert_eq!(events[0]["event_type"], "call_summarization_completed");
        assert_eq!(events[0]["version"], 1);
        assert_eq!(events[0]["call"]["id"], call.as_str());
        assert_eq!(
            events[0]["call"]["details"][0]["minutes"],
            "Topic:\nA call of 4 lines."
        );

        // A swap makes version 2, and its minutes (with the roles the right way round)
        // replace the first ones, announced again.
        let (status, body) = crate::swap::swap(&s, &t.admin_token, &call).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        wait_for_minutes(&s, &t, &call, 2, Duration::from_secs(30)).await;
        let content = model.requests.lock().expect("requests").last().expect("r")["messages"][1]
            ["content"]
            .clone();
        assert!(
            content
                .as_str()
                .expect("text")
                .starts_with("Agent: Hello, this is Emma"),
            "{content}"
        );
        let events = minutes_events(&r, "/d/ok", 2).await;
        assert!(events.iter().any(|e| e["version"] == 2));
        // Only the minutes' event reached this endpoint.
        assert!(events
            .iter()
            .all(|e| e["event_type"] == "call_summarization_completed"));
    }
}

#[tokio::test]
async fn minutes_cannot_be_turned_on_without_a_model_and_a_call_without_them_has_none() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let (status, body) = put_settings(&s, &t, json!({"write_minutes": true})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("minutes_url")),
            "{body}"
        );
        let call = crate::swap::completed_call(&s, &t, "m1").await;
        let (status, body) = s
            .get(&format!("/api/v1/calls/{call}/minutes"), &t.admin_token)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["code"], "not_found");
    }
}

/// `scripts/llm-server` on a free port: the real small model behind llama.cpp's server.
struct LocalModel {
    child: std::process::Child,
    base: String,
}

impl Drop for LocalModel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the local model when `scripts/test` installed it (`KIKU_LLM_PYTHONPATH`); `None`
/// otherwise, unless `KIKU_TEST_REQUIRE_LLM` says it must be there.
async fn local_model() -> Option<LocalModel> {
    let Ok(path) = std::env::var("KIKU_LLM_PYTHONPATH") else {
        assert!(
            std::env::var("KIKU_TEST_REQUIRE_LLM").is_err(),
            "KIKU_LLM_PYTHONPATH is not set (scripts/test installs the local model)"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/llm_server.py");
    let child = std::process::Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string()])
        .env("PYTHONPATH", path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("python3");
    let model = LocalModel {
        child,
        base: format!("http://127.0.0.1:{port}/v1"),
    };
    let health = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(&health)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the local model did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Some(model)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_small_model_writes_the_minutes_of_a_call_the_real_speech_model_analysed() {
    let Some(speech) = kiku_analysis::testing::test_model_dir() else {
        return;
    };
    let Some(llm) = local_model().await else {
        return;
    };
    let s = servers_with_minutes(writer(&llm.base, "SmolLM2-135M-Instruct"))
        .await
        .into_iter()
        .next()
        .expect("a server");
    let engine = crate::analysis::engine(&speech);
    let _worker = crate::analysis::start_worker(&s, engine);
    let _others = start_workers(&s, vec![Duration::ZERO; 3], workers());
    let r = receiver::start().await;
    let t = s.tenant("acme").await;
    let settings = json!({"write_minutes": true, "redact_personal_data": true, "language": "en"});
    let (status, body) = put_settings(&s, &t, settings).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    minutes_endpoint(&s, &t, &r.url("/d/ok")).await;

    let dir = tempfile::tempdir().expect("dir");
    let (mp3, seconds) = crate::analysis::support_call_mp3(dir.path());
    let agent = s.user(&t, "daniel@acme.example", true).await;
    let data = crate::analysis::call_data("real-minutes", "mp3", seconds, &agent);
    let call = crate::analysis::ingest_and_upload(&s, &t, data, mp3).await;
    let history = crate::analysis::wait_for_analysis(&s, &t, &call).await;
    assert_eq!(history["status"], "completed", "{history}");

    let minutes = wait_for_minutes(&s, &t, &call, 1, Duration::from_secs(300)).await;
    let text = minutes["text"].as_str().expect("text");
    assert!(
        !text.trim().is_empty() && text.chars().count() <= 4_000,
        "{text}"
    );
    assert_eq!(minutes["model"], "SmolLM2-135M-Instruct");
    let events = minutes_events(&r, "/d/ok", 1).await;
    let problems =
        miitel_schema::problems_against(miitel_schema::MINUTES_SCHEMA, &events[0], "Welcome");
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(events[0]["call"]["details"][0]["minutes"], text);
    eprintln!("minutes by SmolLM2-135M-Instruct:\n{text}");
}
