//! Uploaded calls analysed by a real worker with the real model, seen through the HTTP API:
//! the MiiTel-shaped detail, settings that re-score past calls, and refused recordings.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kiku::jobs::{self, RunnerOptions, WorkerCounts};
use kiku_analysis::pipeline::{Engine, EngineOptions};
use kiku_analysis::testing::{stereo_call, test_model_dir, SUPPORT_CALL, SUPPORT_VOICES};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{call, servers, Tenant, TestServer};

/// The generated support call as MP3 (uploads in tests are capped small), and its length.
pub fn support_call_mp3(dir: &std::path::Path) -> (Vec<u8>, f64) {
    let call = stereo_call(dir, SUPPORT_VOICES, SUPPORT_CALL, 1.0).expect("generated call");
    (mp3_of(dir, &call.wav), call.seconds)
}

/// `wav` as a 48 kb/s MP3 (made in `dir`).
pub fn mp3_of(dir: &std::path::Path, wav_bytes: &[u8]) -> Vec<u8> {
    let wav = dir.join("call.wav");
    let mp3 = dir.join("call.mp3");
    std::fs::write(&wav, wav_bytes).expect("write");
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-b:a", "48k"])
        .arg(&mp3)
        .status()
        .expect("ffmpeg (scripts/setup installs it)");
    assert!(status.success());
    std::fs::read(mp3).expect("mp3")
}

/// Call data for a recording of `seconds`, with the user `agent` on the left (FROM).
pub(crate) fn call_data(id: &str, file_type: &str, seconds: f64, agent: &str) -> Value {
    let mut c = call(id, "OUTGOING_CALL", true, Some(agent), None);
    c["audio_file_type"] = json!(file_type);
    c["call_starts_at"] = json!("2026-01-05T10:00:00+09:00");
    c["call_answered_at"] = json!("2026-01-05T10:00:00+09:00");
    let ends = time::OffsetDateTime::parse(
        "2026-01-05T01:00:00Z",
        &time::format_description::well_known::Rfc3339,
    )
    .expect("t")
        + time::Duration::seconds_f64(seconds.ceil());
    c["call_ends_at"] = json!(ends
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format"));
    c
}

pub(crate) async fn ingest_and_upload(
    s: &TestServer,
    t: &Tenant,
    data: Value,
    audio: Vec<u8>,
) -> String {
    let id = data["call_data_id"].as_str().expect("id").to_string();
    let (status, body) = s
        .post_calls(&t.webhook, &json!({ "call_data": [data] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entry = &body["audio_upload_urls"][0][&id];
    let url = entry["url"].as_str().expect("url");
    let (status, body) = s.send(s.http.put(url).body(audio)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    entry["call_id"].as_str().expect("call id").to_string()
}

/// Polls the call until analysis ends; returns its history.
pub(crate) async fn wait_for_analysis(s: &TestServer, t: &Tenant, call_id: &str) -> Value {
    for _ in 0..600 {
        let (status, body) = s
            .get(&format!("/api/v1/calls/{call_id}"), &t.admin_token)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if matches!(body["status"].as_str(), Some("completed" | "failed")) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!(
        "{}: analysis of {call_id} did not end in 5 minutes",
        s.backend
    );
}

/// The product's rule with wide bounds (a 25 s test call scores below 0) and `points`
/// per "router".
fn rule(points: f64) -> Value {
    json!({
        "base": 50, "duration_points": [[0, 0], [5, 30], [10, 50], [20, 50], [30, 30], [40, 0], [50, -10], [60, -20]],
        "talk_ratio_weight": -1, "talk_ratio_target_percent": 40,
        "overlap_per_minute_weight": -10, "silence_per_minute_weight": -10,
        "keyword_points": [["router", points]], "min": -1000, "max": 1000
    })
}

pub(crate) fn start_worker(
    s: &TestServer,
    engine: Arc<Engine>,
) -> tokio::sync::watch::Sender<bool> {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let options = RunnerOptions {
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(200),
        analysis_timeout: Duration::from_secs(600),
        delivery: Default::default(),
    };
    let counts = WorkerCounts {
        analysis: 1,
        jobs: 1,
        deliveries: 0,
        notifications: 0,
    };
    jobs::start(s.app.clone(), Some(engine), counts, options, shutdown);
    stop
}

pub(crate) fn engine(model: &std::path::Path) -> Arc<Engine> {
    let options = EngineOptions {
        threads: 2,
        beam_size: 1,
        ..Default::default()
    };
    Arc::new(Engine::load(model, options).expect("model"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_stereo_call_is_analysed_and_rescored_when_settings_change() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (mp3, seconds) = support_call_mp3(dir.path());
    let engine = engine(&model);
    for s in servers().await {
        let t = s.tenant("acme").await;
        let agent = s.user(&t, "daniel@acme.example", true).await;
        let (status, body) = s
            .send(
                s.http
                    .put(s.url("/api/v1/settings/analysis"))
                    .bearer_auth(&t.admin_token)
                    .json(&json!({"language": "auto", "keywords": ["router", "refund"], "vocabulary": ["Kiku"], "score_rule": rule(0.0)})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, stored) = s.get("/api/v1/settings/analysis", &t.admin_token).await;
        assert_eq!(stored["vocabulary"], json!(["Kiku"]));
        let _stop = start_worker(&s, engine.clone());
        let call_id =
            ingest_and_upload(&s, &t, call_data("c1", "mp3", seconds, &agent), mp3.clone()).await;
        let history = wait_for_analysis(&s, &t, &call_id).await;
        assert_eq!(history["status"], "completed", "{}: {history:#}", s.backend);
        let a = &history["analysis"];
        assert_eq!(a["id"], call_id.as_str());
        assert_eq!(a["call_type"], "OUTGOING_CALL");
        assert_eq!(a["analysis"]["language"], "en");
        assert_eq!(a["analysis"]["silence_count"], 1, "{a:#}");
        assert_eq!(a["analysis"]["overlap_count"], 1, "{a:#}");
        let tlr = a["analysis"]["tlr"].as_f64().expect("tlr");
        assert!((0.5..0.8).contains(&tlr), "the agent talks most: {tlr}");
        let user = &a["participants"][0];
        assert_eq!(
            (user["from_to"].as_str(), user["role"].as_str()),
            (Some("FROM"), Some("user"))
        );
        assert_eq!(user["login_id"], "daniel@acme.example");
        assert_eq!(a["participants"][1]["role"], "customer");
        let user_phrases = a["phrases"]
            .as_array()
            .expect("phrases")
            .iter()
            .find(|p| p["participant_id"] == user["id"])
            .expect("user phrases");
        let said: String = user_phrases["raw"]
            .as_array()
            .expect("raw")
            .iter()
            .filter_map(|p| p["phrase"].as_str())
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        assert!(
            said.contains("router") && said.contains("account"),
            "{said}"
        );
        let keywords: Vec<&str> = a["keywords"]
            .as_array()
            .expect("keywords")
            .iter()
            .filter_map(|k| k["value"].as_str())
            .collect();
        assert_eq!(keywords, ["router", "router"], "said twice by the agent");
        assert!(a["speech_recognition"]["raw"]
            .as_str()
            .expect("raw")
            .starts_with("0:00 (User) Hello"));
        // The call notes: the agent's promise with its day, the customer's question,
        // which the agent answered.
        let notes = a["call_notes"]
            .as_array()
            .unwrap_or_else(|| panic!("no call_notes in {a:#}"));
        let promise = notes
            .iter()
            .find(|n| {
                n["kind"] == "commitment"
                    && n["phrase"]
                        .as_str()
                        .is_some_and(|p| p.to_lowercase().contains("new router"))
            })
            .unwrap_or_else(|| panic!("no commitment to send a router in {notes:#?}"));
        assert_eq!(promise["participant_id"], user["id"]);
        assert_eq!(promise["dates"], json!(["tomorrow"]), "{promise}");
        let question = notes
            .iter()
            .find(|n| n["kind"] == "question")
            .unwrap_or_else(|| panic!("no question in {notes:#?}"));
        assert_eq!(question["participant_id"], a["participants"][1]["id"]);
        assert_eq!(question["answered"], true, "{question}");
        let before = a["analysis"]["score"].as_f64().expect("score");

        // A rule worth 10 points per "router" re-scores the stored call.
        let (status, body) = s
            .send(
                s.http
                    .put(s.url("/api/v1/settings/analysis"))
                    .bearer_auth(&t.admin_token)
                    .json(&json!({
                        "keywords": ["router"], "score_rule": rule(10.0)
                    })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["rescoring_calls"], 1);
        // The re-score is a job: it makes version 2 of the result.
        let mut after = Value::Null;
        for _ in 0..100 {
            after = s
                .get(&format!("/api/v1/calls/{call_id}"), &t.admin_token)
                .await
                .1;
            if after["analysis"]["version"] == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(after["analysis"]["version_reason"], "rescore", "{after:#}");
        let rescored = after["analysis"]["analysis"]["score"]
            .as_f64()
            .expect("score");
        let expected = before + 20.0;
        assert!(
            (rescored - expected).abs() < 1e-3,
            "{}: {before} → {rescored}",
            s.backend
        );

        // Listing shows the same detail; bad settings are refused with a reason.
        let (_, list) = s
            .get("/api/v1/calls?status=completed", &t.admin_token)
            .await;
        assert_eq!(
            list["items"][0]["analysis"]["analysis"]["score"],
            after["analysis"]["analysis"]["score"]
        );
        let (status, body) = s
            .send(
                s.http
                    .put(s.url("/api/v1/settings/analysis"))
                    .bearer_auth(&t.admin_token)
                    .json(&json!({
                        "keywords": ["   "]
                    })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, body) = s
            .send(
                s.http
                    .put(s.url("/api/v1/settings/analysis"))
                    .bearer_auth(&t.admin_token)
                    .json(&json!({"vocabulary": ["x".repeat(101)]})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("vocabulary")),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_recordings_fail_with_their_cause_and_the_server_carries_on() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (mp3, seconds) = support_call_mp3(dir.path());
    let engine = engine(&model);
    for s in servers().await {
        let t = s.tenant("acme").await;
        let agent = s.user(&t, "daniel@acme.example", true).await;
        let _stop = start_worker(&s, engine.clone());
        let garbage: Vec<u8> = (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let cases = [
            ("garbage", "wav", garbage, "not a recognised audio format"),
            (
                "mp3-as-wav",
                "wav",
                mp3.clone(),
                "the file is mp3, not the declared wav",
            ),
            (
                "cut",
                "mp3",
                mp3[..mp3.len() / 4].to_vec(),
                "but the call lasted",
            ),
        ];
        for (id, declared, audio, cause) in cases {
            let call_id =
                ingest_and_upload(&s, &t, call_data(id, declared, seconds, &agent), audio).await;
            let history = wait_for_analysis(&s, &t, &call_id).await;
            assert_eq!(history["status"], "failed", "{id}: {history:#}");
            let message = history["status_message"].as_str().expect("message");
            assert!(
                message.starts_with("Failed to analyze data because the call duration is too short to analyze or there is a problem in the recording: ")
                    && message.contains(cause),
                "{id}: {message}"
            );
            assert_eq!(history["analysis"], Value::Null);
        }
        let (status, _) = s.send(s.http.get(s.url("/health"))).await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_longer_than_its_call_is_analysed_up_to_the_cap_and_flagged() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // A 10 s call whose recording runs on for 140 s: decoded up to 10 × 1.25 + 120 s. An
    // 8 kb/s MP3, to fit the test servers' upload limit.
    let call = stereo_call(dir.path(), SUPPORT_VOICES, &SUPPORT_CALL[..2], 130.0).expect("call");
    assert!(call.seconds > 135.0);
    let wav = dir.path().join("long.wav");
    let mp3 = dir.path().join("long.mp3");
    std::fs::write(&wav, &call.wav).expect("write");
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-ar", "8000", "-b:a", "8k"])
        .arg(&mp3)
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    let mp3 = std::fs::read(mp3).expect("mp3");
    let engine = engine(&model);
    for s in servers().await {
        let t = s.tenant("acme").await;
        let agent = s.user(&t, "daniel@acme.example", true).await;
        let _stop = start_worker(&s, engine.clone());
        let id =
            ingest_and_upload(&s, &t, call_data("long", "mp3", 10.0, &agent), mp3.clone()).await;
        let history = wait_for_analysis(&s, &t, &id).await;
        assert_eq!(history["status"], "completed", "{}: {history:#}", s.backend);
        assert_eq!(
            history["flags"],
            json!(["recording_truncated"]),
            "{}",
            s.backend
        );
        let a = &history["analysis"]["analysis"];
        assert_eq!(a["recording_truncated"], true);
        let seconds = a["duration_seconds"].as_f64().expect("duration");
        assert!((seconds - 132.5).abs() < 0.1, "{}: {seconds}", s.backend);
        let raw = history["analysis"]["speech_recognition"]["raw"]
            .as_str()
            .expect("raw");
        assert!(
            raw.contains("(User)"),
            "what was decoded is analysed: {raw}"
        );
    }
}
