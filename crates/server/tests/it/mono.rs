//! MONAURAL calls end to end: the generated test set through `kiku analyze --mono` (who
//! spoke when, scored as DER, and which voice is the user), and an uploaded mono call
//! through the worker and the HTTP API, with the review flag on an unsure decision.

use std::sync::Arc;

use kiku_analysis::pipeline::{Engine, EngineOptions};
use kiku_analysis::testing::{
    diarization_error_rate, encode, stereo_call, test_model_dir, test_speaker_encoder, MONO_CASES,
};
use kiku_domain::metrics::timeline::{intersect, merge, total};
use kiku_domain::metrics::Span;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::analysis::{call_data, ingest_and_upload, start_worker, wait_for_analysis};
use crate::support::{run_kiku, servers};

/// DER is scored with the usual 0.25 s collar; a generated call must be diarized this well.
const COLLAR_SECONDS: f64 = 0.25;
const MAX_DER: f64 = 0.15;

/// The speech of the detail's user and customer, from `speech_segments`.
fn segments_by_role(detail: &Value) -> (Vec<Span>, Vec<Span>) {
    let of = |role: &str| -> Vec<Span> {
        detail["participants"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["role"] == role))
            .and_then(|p| p["analysis"]["speech_segments"].as_array())
            .map(|pairs| {
                pairs
                    .iter()
                    .filter_map(|p| Some(Span::new(p[0].as_f64()?, p[1].as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    (of("user"), of("customer"))
}

/// Whether the voice Kiku calls the user speaks more of `user`'s turns than the other's.
fn user_found(user_speech: &[Span], truth: &[Vec<Span>; 2], user: usize) -> bool {
    let shared = |turns: &[Span]| total(&intersect(&merge(user_speech), &merge(turns)));
    shared(&truth[user]) > shared(&truth[1 - user])
}

#[test]
fn every_generated_mono_call_is_diarized_and_its_user_found() {
    let (Some(model), Some(encoder)) = (test_model_dir(), test_speaker_encoder()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let env = [
        ("KIKU_DATA_DIR", dir.path().display().to_string()),
        ("KIKU_BEAM_SIZE", "1".to_string()),
        ("KIKU_SPEAKER_ENCODER", encoder.display().to_string()),
    ];
    let mut failures = Vec::new();
    for (i, case) in MONO_CASES.iter().enumerate() {
        let work = dir.path().join(format!("case{i}"));
        std::fs::create_dir_all(&work).expect("dir");
        let call = stereo_call(&work, case.voices, case.lines, 1.0).expect("generated call");
        let (audio, _) = encode(&work, &call.mono_wav, case.encoding).expect("encode");
        let file = work.join("call.audio");
        std::fs::write(&file, audio).expect("write");
        let (ok, detail) = run_kiku(
            &[
                "analyze",
                &file.display().to_string(),
                "--model",
                &model.display().to_string(),
                "--mono",
                "--event-type",
                case.event_type.as_str(),
                "--language",
                case.language,
            ],
            &env,
        );
        assert!(ok, "{}: {detail}", case.name);
        let (user, customer) = segments_by_role(&detail);
        let der = diarization_error_rate(&call.turns, &[user.clone(), customer], COLLAR_SECONDS);
        let found = user_found(&user, &call.turns, case.user);
        let confidence = detail["analysis"]["role_confidence"]
            .as_f64()
            .unwrap_or(0.0);
        eprintln!(
            "{}: DER {der:.3}, user found {found}, confidence {confidence:.2} ({})",
            case.name, detail["analysis"]["role_basis"]
        );
        if der > MAX_DER || !found {
            failures.push(format!(
                "{}: DER {der:.3}, user found: {found}\n{}",
                case.name, detail["speech_recognition"]["raw"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_mono_call_is_analysed_and_an_unsure_decision_flagged() {
    let (Some(model), Some(encoder)) = (test_model_dir(), test_speaker_encoder()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // The English outgoing call: the customer answers, the user (Emma) introduces herself.
    let case = MONO_CASES
        .iter()
        .find(|c| c.language == "en" && c.event_type.as_str() == "OUTGOING_CALL")
        .expect("case");
    let call = stereo_call(dir.path(), case.voices, case.lines, 1.0).expect("generated call");
    let (mp3, _) = encode(dir.path(), &call.mono_wav, case.encoding).expect("encode");
    let options = EngineOptions {
        threads: 2,
        beam_size: 1,
        speaker_encoder: Some(encoder),
        ..Default::default()
    };
    let engine = Arc::new(Engine::load(&model, options).expect("models"));
    for s in servers().await {
        let t = s.tenant("acme").await;
        let agent = s.user(&t, "emma@northwind.example", true).await;
        let _stop = start_worker(&s, engine.clone());
        let mono = |id: &str| {
            let mut data = call_data(id, "mp3", call.seconds, &agent);
            data["audio_channel_type"] = json!("MONAURAL");
            data
        };
        // As it happened: Emma (FROM) calls a customer, who answers first.
        let mut data = mono("m1");
        data["participants"][0]["name"] = json!("Emma");
        let sure = ingest_and_upload(&s, &t, data, mp3.clone()).await;
        // The same recording reported as an incoming call answered by an unnamed user: the
        // voice that answered first is not the one who introduced herself, so the
        // evidence disagrees.
        let mut data = mono("m2");
        data["event_type"] = json!("INCOMING_CALL");
        data["participants"][0]["miitel_user_id"] = Value::Null;
        data["participants"][0]["name"] = Value::Null;
        data["participants"][1]["miitel_user_id"] = json!(agent);
        let unsure = ingest_and_upload(&s, &t, data, mp3.clone()).await;

        let history = wait_for_analysis(&s, &t, &sure).await;
        assert_eq!(history["status"], "completed", "{}: {history:#}", s.backend);
        let a = &history["analysis"];
        assert_eq!(a["analysis"]["overlaps_estimated"], true);
        let confidence = a["analysis"]["role_confidence"]
            .as_f64()
            .expect("confidence");
        assert!(confidence >= 0.75, "{}: {a:#}", s.backend);
        assert_eq!(a["analysis"]["role_needs_review"], false);
        assert_eq!(history["flags"], json!([]), "{}", s.backend);
        let (user, customer) = segments_by_role(a);
        assert!(user_found(&user, &call.turns, case.user), "{a:#}");
        let der = diarization_error_rate(&call.turns, &[user, customer], COLLAR_SECONDS);
        assert!(der <= MAX_DER, "{}: DER {der:.3}", s.backend);
        let raw = a["speech_recognition"]["raw"].as_str().expect("raw");
        // The user's line, whatever punctuation the recogniser puts after "Hello".
        assert!(
            raw.lines()
                .any(|l| l.contains("(User) Hello") && l.to_lowercase().contains("this is emma")),
            "{raw}"
        );

        let history = wait_for_analysis(&s, &t, &unsure).await;
        assert_eq!(history["status"], "completed", "{}: {history:#}", s.backend);
        let a = &history["analysis"];
        let confidence = a["analysis"]["role_confidence"]
            .as_f64()
            .expect("confidence");
        assert!(confidence < 0.75, "{}: {a:#}", s.backend);
        assert_eq!(a["analysis"]["role_needs_review"], true);
        assert_eq!(
            history["flags"],
            json!(["roles_need_review"]),
            "{}",
            s.backend
        );
        let (status, page) = s.get("/api/v1/calls", &t.admin_token).await;
        assert_eq!(status, StatusCode::OK);
        let flagged: Vec<&Value> = page["items"]
            .as_array()
            .expect("calls")
            .iter()
            .filter(|c| c["flags"] == json!(["roles_need_review"]))
            .collect();
        assert_eq!(flagged.len(), 1, "{}: {page:#}", s.backend);

        // A person corrects the unsure call: the other voice is the user now, recomputed
        // from the stored transcript as version 2; the flag is gone; version 1 is kept.
        let raw_before = a["speech_recognition"]["raw"].as_str().expect("raw");
        let user_said_before = raw_before.contains("(User) Hello, this is Emma");
        let swap = |s: &crate::support::TestServer, token: &str, id: &str| {
            s.http
                .post(s.url(&format!("/api/v1/calls/{id}/swap")))
                .bearer_auth(token)
        };
        let (status, swapped) = s.send(swap(&s, &t.admin_token, &unsure)).await;
        assert_eq!(status, StatusCode::OK, "{swapped}");
        let b = &swapped["analysis"];
        assert_eq!(b["version"], 2);
        assert_eq!(b["version_reason"], "swap");
        assert_eq!(swapped["flags"], json!([]), "a person decided");
        assert_eq!(b["analysis"]["role_needs_review"], false);
        let raw_after = b["speech_recognition"]["raw"].as_str().expect("raw");
        assert_ne!(
            raw_after.contains("(User) Hello, this is Emma"),
            user_said_before,
            "{raw_after}"
        );
        let tlr = |x: &Value| x["analysis"]["tlr"].as_f64().expect("tlr");
        assert!((tlr(a) + tlr(b) - 1.0).abs() < 0.02, "talk:listen flips");
        let (_, old) = s
            .get(
                &format!("/api/v1/calls/{unsure}/versions/1"),
                &t.admin_token,
            )
            .await;
        assert_eq!(
            old["analysis"]["speech_recognition"]["raw"],
            a["speech_recognition"]["raw"]
        );
        // Twice gives back the first roles, as version 3.
        let (_, again) = s.send(swap(&s, &t.admin_token, &unsure)).await;
        assert_eq!(again["analysis"]["version"], 3);
        assert_eq!(
            again["analysis"]["speech_recognition"]["raw"],
            a["speech_recognition"]["raw"]
        );
    }
}
