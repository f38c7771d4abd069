//! Swap user and customer and the versions of a result, over HTTP and the CLI on both
//! backends. The calls here are completed through the storage interface with a transcript
//! made in the test (the real engine's swap runs in `mono.rs`), so every rule around the
//! swap is checked quickly: recomputed from the stored transcript, kept versions, 409s,
//! tenant scoping, events.

use kiku::app::analysis::{new_analysis, scored_report};
use kiku::clock::Clock;
use kiku_domain::analysis::{report, AnalysisSettings, Roles, Transcript, Utterance, Word};
use kiku_domain::call_data::parse_batch;
use kiku_domain::metrics::Span;
use kiku_domain::{CompanyId, EventKind, JobKind, Side};
use kiku_storage::{AnalysisStore, CallStore, FinishOutcome, JobStore, NewAudio, SqlStore};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Duration;

use crate::support::{call, run_kiku, servers, Tenant, TestServer};

/// An utterance whose words share its time evenly.
fn say(speaker: usize, start: f64, end: f64, text: &str) -> Utterance {
    let said: Vec<&str> = text.split_whitespace().collect();
    let each = (end - start) / said.len().max(1) as f64;
    let words = said
        .iter()
        .enumerate()
        .map(|(i, w)| Word {
            start: start + each * i as f64,
            end: start + each * (i + 1) as f64,
            text: (*w).into(),
            probability: Some(0.9),
        })
        .collect();
    Utterance {
        speaker,
        start,
        end,
        text: text.into(),
        words,
    }
}

/// Speaker 0 talks 12 s, speaker 1 talks 4 s.
pub(crate) fn transcript() -> Transcript {
    Transcript {
        format: 1,
        duration_seconds: 20.0,
        language: "en".into(),
        speech: [
            vec![Span::new(0.0, 8.0), Span::new(12.0, 16.0)],
            vec![Span::new(8.5, 12.0), Span::new(16.5, 17.0)],
        ],
        voices: [None, None],
        utterances: vec![
            say(0, 0.0, 8.0, "Hello, this is Emma from Northwind."),
            say(1, 8.5, 12.0, "Hi, could you send the invoice today?"),
            say(0, 12.0, 16.0, "Sure, go ahead."),
            say(1, 16.5, 17.0, "Thanks."),
        ],
        overlaps_estimated: true,
        truncated: false,
    }
}

/// Speaker 1 (wrongly) taken for the user, unsure.
pub(crate) fn unsure_roles() -> Roles {
    Roles {
        user_speaker: 1,
        user_side: Side::From,
        confidence: 0.6,
        basis: "who answered first".into(),
    }
}

/// A call completed with speaker 1 (wrongly) taken for the user, unsure.
pub(crate) async fn completed_call(s: &TestServer, t: &Tenant, id: &str) -> String {
    completed_call_with(s, t, id, vec![1u8; 64]).await
}

/// [`completed_call`] with `recording` as its uploaded file.
pub(crate) async fn completed_call_with(
    s: &TestServer,
    t: &Tenant,
    id: &str,
    recording: Vec<u8>,
) -> String {
    let (call_id, upload) = s.one_call(t, id).await;
    finish_uploaded(s, &upload, recording).await;
    call_id
}

/// Uploads `recording` to `upload` and completes the analysis with [`transcript`] and
/// [`unsure_roles`] (the call must be the only one waiting for analysis).
pub(crate) async fn finish_uploaded(s: &TestServer, upload: &str, recording: Vec<u8>) {
    let job = s.upload_with_and_claim(upload, recording).await;
    let now = s.clock.now();
    let roles = unsure_roles();
    let heard = transcript();
    let made = scored_report(
        &heard,
        &roles,
        &AnalysisSettings::default(),
        &s.app.sentiment,
    );
    let new = new_analysis("test engine", &heard, &roles, &made, false).expect("analysis");
    let finished = s.app.store.finish_analysis(job.id, "test", &new, None, now);
    assert_eq!(
        finished.await.expect("finish"),
        FinishOutcome::Stored { version: 1 }
    );
}

pub(crate) async fn swap(s: &TestServer, token: &str, call: &str) -> (StatusCode, Value) {
    let url = s.url(&format!("/api/v1/calls/{call}/swap"));
    s.send(s.http.post(url).bearer_auth(token)).await
}

#[tokio::test]
async fn swapping_recomputes_the_roles_into_kept_versions() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        s.user(&t, "agent@acme.example", false).await;
        let agent_token = s.login("agent@acme.example", "agent password").await;
        let call = completed_call(&s, &t, "c1").await;
        let (_, before) = s
            .get(&format!("/api/v1/calls/{call}"), &t.admin_token)
            .await;
        let a = &before["analysis"];
        assert_eq!(a["version"], 1);
        assert_eq!(before["flags"], json!(["roles_need_review"]));
        assert!(a["speech_recognition"]["raw"]
            .as_str()
            .expect("raw")
            .starts_with("0:00 (Customer) Hello, this is Emma"));

        // Any signed-in user of the company may swap.
        let (status, after) = swap(&s, &agent_token, &call).await;
        assert_eq!(status, StatusCode::OK, "{}: {after}", s.backend);
        let b = &after["analysis"];
        assert_eq!(
            (b["version"].clone(), b["version_reason"].clone()),
            (json!(2), json!("swap"))
        );
        assert_eq!(after["flags"], json!([]), "a person decided");
        assert_eq!(b["analysis"]["role_needs_review"], false);
        assert!(b["speech_recognition"]["raw"]
            .as_str()
            .expect("raw")
            .starts_with("0:00 (User) Hello, this is Emma"));
        let tlr = |x: &Value| x["analysis"]["tlr"].as_f64().expect("tlr");
        assert!(
            (tlr(a) - 0.25).abs() < 0.01 && (tlr(b) - 0.75).abs() < 0.01,
            "{} → {}",
            tlr(a),
            tlr(b)
        );
        // Phrases follow the voices: Emma's words now belong to the user.
        let user_id = b["participants"]
            .as_array()
            .expect("participants")
            .iter()
            .find(|p| p["role"] == "user")
            .expect("user")["id"]
            .clone();
        let user_phrases = b["phrases"]
            .as_array()
            .expect("phrases")
            .iter()
            .find(|p| p["participant_id"] == user_id)
            .expect("user phrases");
        assert!(user_phrases.to_string().contains("Emma"), "{user_phrases}");

        // Twice: the original roles again, as version 3; every version stays readable.
        let (_, third) = swap(&s, &t.admin_token, &call).await;
        assert_eq!(third["analysis"]["version"], 3);
        assert_eq!(
            third["analysis"]["speech_recognition"]["raw"],
            a["speech_recognition"]["raw"]
        );
        let (status, list) = s
            .get(&format!("/api/v1/calls/{call}/versions"), &t.admin_token)
            .await;
        assert_eq!(status, StatusCode::OK);
        let reasons: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|v| v["reason"].as_str().expect("reason"))
            .collect();
        assert_eq!(reasons, ["analysis", "swap", "swap"]);
        let (status, first) = s
            .get(&format!("/api/v1/calls/{call}/versions/1"), &t.admin_token)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(first["analysis"], before["analysis"]);
        for bad in ["4", "0", "x"] {
            let (status, body) = s
                .get(
                    &format!("/api/v1/calls/{call}/versions/{bad}"),
                    &t.admin_token,
                )
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad}: {body}");
        }

        // Each version was announced with its own event.
        let company = t.company_id.parse().expect("company");
        let events = s
            .app
            .store
            .events_of_call(company, call.parse().expect("call"))
            .await
            .expect("events");
        let announced: Vec<_> = events.iter().map(|e| (e.kind, e.version)).collect();
        assert_eq!(
            announced,
            vec![
                (EventKind::CallAnalysisCompleted, Some(1)),
                (EventKind::CallAnalysisCompleted, Some(2)),
                (EventKind::CallAnalysisCompleted, Some(3)),
            ]
        );
        assert_ne!(events[1].id, events[2].id);
    }
}

#[tokio::test]
async fn swapping_is_refused_clearly_where_it_cannot_apply() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let other = s.tenant("other").await;
        let (waiting, _) = s.one_call(&t, "no-recording").await;
        let (status, body) = swap(&s, &t.admin_token, &waiting).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["code"], "conflict");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("awaiting_upload"),
            "{body}"
        );
        let call = completed_call(&s, &t, "done").await;
        // Another company's user sees no such call; nobody without a session gets in.
        let (status, _) = swap(&s, &other.admin_token, &call).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = s
            .get(
                &format!("/api/v1/calls/{call}/versions"),
                &other.admin_token,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let url = s.url(&format!("/api/v1/calls/{call}/swap"));
        let (status, _) = s.send(s.http.post(url)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = swap(&s, &t.admin_token, "not-a-call").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_cli_swaps_too() {
    let dir = tempfile::tempdir().expect("dir");
    let env = [("KIKU_DATA_DIR", dir.path().display().to_string())];
    let (ok, company) = run_kiku(
        &[
            "company",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            "a@acme.example",
            "--admin-password",
            "long enough",
        ],
        &env,
    );
    assert!(ok, "{company}");
    let company = company["company_id"].as_str().expect("id").to_string();
    let (ok, out) = run_kiku(
        &[
            "call",
            "swap",
            "--company",
            &company,
            "--call",
            &uuid::Uuid::new_v4().to_string(),
        ],
        &env,
    );
    assert!(!ok);
    assert_eq!(out["error"]["code"], "not_found", "{out}");
    let (ok, out) = run_kiku(
        &["call", "swap", "--company", &company, "--call", "x"],
        &env,
    );
    assert!(!ok);
    assert_eq!(out["error"]["code"], "invalid_request", "{out}");

    // A call completed in the same database, as a worker would have left it.
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("kiku.db").display());
    let store = SqlStore::connect(&url, kiku_storage::test_support::secret_keys())
        .await
        .expect("database");
    let company_id: CompanyId = company.parse().expect("company");
    let data =
        parse_batch(&json!({"call_data": [call("cli", "AUTOMATIC_RECORD", false, None, None)]}))
            .expect("call data");
    let now = time::OffsetDateTime::now_utc();
    let id = store
        .ingest_calls(company_id, &data, now)
        .await
        .expect("ingest")[0]
        .id;
    let audio = NewAudio {
        key: "k".into(),
        bytes: 1,
    };
    store.attach_audio(id, audio, now).await.expect("attach");
    let job = store
        .claim_job(
            &[JobKind::AnalyseCall],
            "w",
            now + Duration::minutes(5),
            now,
        )
        .await
        .expect("claim")
        .expect("job");
    let roles = Roles {
        user_speaker: 1,
        user_side: Side::From,
        confidence: 0.6,
        basis: "who answered first".into(),
    };
    let heard = transcript();
    let made = report(&heard, &roles, &AnalysisSettings::default());
    let new = new_analysis("test engine", &heard, &roles, &made, false).expect("analysis");
    store
        .finish_analysis(job.id, "w", &new, None, now)
        .await
        .expect("finish");
    store.close().await;
    let (ok, out) = run_kiku(
        &[
            "call",
            "swap",
            "--company",
            &company,
            "--call",
            &id.to_string(),
        ],
        &env,
    );
    assert!(ok, "{out}");
    assert_eq!(out["version"], 2);
    assert!(
        out["analysis"]["speech_recognition"]["raw"]
            .as_str()
            .expect("raw")
            .starts_with("0:00 (User) Hello, this is Emma"),
        "{out}"
    );
}
