//! The log of a whole run, as an operator's log collector gets it: `kiku serve` with JSON
//! logs at debug level, taking a call through the webhook and its upload, analysing it with
//! the real model, delivering to an outgoing webhook and a Slack rule, and refusing bad
//! input along the way. Every line is JSON; requests and jobs carry their ids; and none of
//! the secrets, phone numbers, passwords, tokens, signed URLs or words of the transcript
//! appear anywhere in it.

use std::time::{Duration, Instant};

use kiku_analysis::testing::{stereo_call, test_model_dir, SUPPORT_CALL, SUPPORT_VOICES};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::process::KikuProcess;
use crate::receiver;

const PASSWORD: &str = "pass-Phrase-of-the-admin";
const WRONG_PASSWORD: &str = "wrong-Phrase-of-someone";
const FROM_NUMBER: &str = "0311112222";
const TO_NUMBER: &str = "+81322223333";
const OUTGOING_TOKEN: &str = "outgoingQueryToken4711";
const SLACK_TOKEN: &str = "slackHookToken0815";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_logs_json_with_ids_and_no_secrets() {
    let model = test_model_dir();
    let receiver = receiver::start().await;
    let mut env = vec![
        ("KIKU_LOG_FORMAT", "json".to_string()),
        ("RUST_LOG", "debug".to_string()),
        ("KIKU_OUTGOING_ALLOW_NETWORKS", "127.0.0.0/8".to_string()),
    ];
    if let Some(model) = &model {
        env.push(("KIKU_ANALYSIS_WORKERS", "1".into()));
        env.push(("KIKU_MODEL_DIR", model.display().to_string()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut kiku = KikuProcess::start(&env).await;
    let company = kiku.company(PASSWORD);
    let http = reqwest::Client::new();
    let refused = http
        .post(kiku.url("/api/v1/auth/login"))
        .json(&json!({"email": "admin@acme.example", "password": WRONG_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let token = kiku.sign_in(PASSWORD).await;
    let post = |path: &str, body: Value| {
        http.post(kiku.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let webhook: Value = post("/api/v1/incoming-webhook", json!({}))
        .await
        .expect("webhook")
        .json()
        .await
        .expect("json");
    let webhook = webhook["url"].as_str().expect("url").to_string();
    let outgoing_url = receiver.url(&format!("/d/ok?token={OUTGOING_TOKEN}"));
    let outgoing: Value = post(
        "/api/v1/outgoing-webhooks",
        json!({"name": "crm bridge", "url": outgoing_url}),
    )
    .await
    .expect("outgoing")
    .json()
    .await
    .expect("json");
    let signing_secret = outgoing["secret"].as_str().expect("secret").to_string();
    let slack_url = receiver.url(&format!("/d/ok?hook={SLACK_TOKEN}"));
    let slack = post(
        "/api/v1/slack-rules",
        json!({"name": "sales", "webhook_url": slack_url}),
    )
    .await
    .expect("slack");
    assert_eq!(slack.status(), StatusCode::CREATED);

    // Bad input: a body that is not JSON (with a phone number in it) and a forged upload.
    let garbage = http
        .post(&webhook)
        .body(format!("{{\"number\": \"{TO_NUMBER}\""))
        .send()
        .await
        .expect("post");
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    let mut call = crate::support::call("log-1", "AUTOMATIC_RECORD", true, None, None);
    call["participants"][0]["number"] = json!(FROM_NUMBER);
    call["participants"][1]["number"] = json!(TO_NUMBER);
    // The generated recording's length (Kiku refuses a recording far shorter than the call).
    call["call_ends_at"] = json!("2026-01-05T10:00:33+09:00");
    let accepted: Value = http
        .post(&webhook)
        .json(&json!({"call_data": [call]}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let entry = &accepted["audio_upload_urls"][0]["log-1"];
    let call_id = entry["call_id"].as_str().expect("call id").to_string();
    let upload = entry["url"].as_str().expect("url").to_string();
    let forged = format!("{}0", &upload[..upload.len() - 1]);
    let forged = http.put(&forged).body(vec![0u8; 10]).send().await;
    assert_eq!(forged.expect("put").status(), StatusCode::FORBIDDEN);

    let work = tempfile::tempdir().expect("dir");
    let recording = stereo_call(work.path(), SUPPORT_VOICES, SUPPORT_CALL, 0.5)
        .expect("espeak-ng call")
        .wav;
    let put = http.put(&upload).body(recording).send().await.expect("put");
    assert_eq!(put.status(), StatusCode::OK);

    if model.is_some() {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let detail: Value = http
                .get(kiku.url(&format!("/api/v1/calls/{call_id}")))
                .bearer_auth(&token)
                .send()
                .await
                .expect("detail")
                .json()
                .await
                .expect("json");
            if detail["status"] == "completed" {
                break;
            }
            let waiting = detail["status"] == "queued" || detail["status"] == "analysing";
            assert!(
                waiting && Instant::now() < deadline,
                "not analysed: {detail}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The webhook delivery and the Slack message of the completed analysis.
        let deadline = Instant::now() + Duration::from_secs(30);
        while receiver
            .received()
            .iter()
            .filter(|r| r.path == "/d/ok" && !r.body.windows(9).any(|w| w == b"challenge"))
            .count()
            < 2
        {
            assert!(Instant::now() < deadline, "deliveries did not arrive");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(kiku.terminate(Duration::from_secs(20)).is_some());

    let log = kiku.log();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(lines.len() > 20, "{log}");
    for line in &lines {
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
    }
    let in_span = |name: &str, field: &str| {
        lines.iter().any(|l| {
            l["spans"].as_array().is_some_and(|spans| {
                spans
                    .iter()
                    .any(|s| s["name"] == name && s[field].is_string())
            })
        })
    };
    assert!(
        in_span("request", "request_id"),
        "no line with a request id"
    );
    if model.is_some() {
        assert!(in_span("job", "job_id"), "no line with a job id");
    }

    let upload_signature = upload.rsplit_once('?').map_or("", |(_, q)| q).to_string();
    let webhook_secret = webhook.rsplit('/').next().expect("secret").to_string();
    let mut forbidden: Vec<(&str, String)> = vec![
        ("the admin's password", PASSWORD.into()),
        ("a wrong password", WRONG_PASSWORD.into()),
        ("the session token", token.clone()),
        ("the webhook secret", webhook_secret),
        ("the upload URL's signature", upload_signature),
        ("a caller's number", FROM_NUMBER.into()),
        ("a caller's number", TO_NUMBER.into()),
        ("a caller's number", "81322223333".into()),
        ("the outgoing webhook's URL token", OUTGOING_TOKEN.into()),
        ("the outgoing webhook's signing secret", signing_secret),
        ("the Slack webhook's token", SLACK_TOKEN.into()),
        ("a participant's name", "Suzuki".into()),
    ];
    if model.is_some() {
        for word in ["internet", "evening", "Daniel"] {
            forbidden.push(("a word of the transcript", word.into()));
        }
    }
    for (what, text) in &forbidden {
        assert!(!text.is_empty(), "{what}");
        if let Some(line) = log.lines().find(|l| l.contains(text.as_str())) {
            panic!("{what} ({text}) is in the log: {line}");
        }
    }
    eprintln!("{} log lines checked, company {company}", lines.len());
}
