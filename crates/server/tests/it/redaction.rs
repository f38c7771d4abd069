//! Personal data redaction end to end: a company turns it on, a call in which the
//! customer reads out a card number and a phone number (in pieces) and the agent says the
//! customer's name is analysed by the real model, and nothing of them is left in what
//! the transcript gives out through the API; with redaction off, the same call keeps them.

use kiku_analysis::testing::{stereo_call, test_model_dir, Line, SUPPORT_VOICES};
use reqwest::StatusCode;
use serde_json::json;

use crate::analysis::{call_data, ingest_and_upload, mp3_of, start_worker, wait_for_analysis};
use crate::support::servers;

const CALL: &[Line] = &[
    Line {
        speaker: 0,
        gap: 0.0,
        text: "Thank you, Mr Smith. Could I have your card number, please?",
    },
    Line {
        speaker: 1,
        gap: 0.5,
        text: "Sure. Four one one one, one one one one.",
    },
    Line {
        speaker: 1,
        gap: 0.8,
        text: "One one one one, one one one one.",
    },
    Line {
        speaker: 0,
        gap: 0.5,
        text: "And a phone number to call you back?",
    },
    Line {
        speaker: 1,
        gap: 0.5,
        text: "Zero nine zero, one two three four, five six seven eight.",
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_redacted_before_it_is_stored_when_the_company_asks() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let call = stereo_call(dir.path(), SUPPORT_VOICES, CALL, 0.5).expect("espeak-ng");
    let mp3 = mp3_of(dir.path(), &call.wav);
    let engine = crate::analysis::engine(&model);
    // One backend: the redaction is in the pipeline, not in the store.
    let Some(s) = servers().await.into_iter().next() else {
        return;
    };
    let t = s.tenant("acme").await;
    let agent = s.user(&t, "daniel@acme.example", true).await;
    let _worker = start_worker(&s, engine);
    let mut heard = Vec::new();
    for (id, redact) in [("kept", false), ("redacted", true)] {
        let (status, body) = s
            .send(
                s.http
                    .put(s.url("/api/v1/settings/analysis"))
                    .bearer_auth(&t.admin_token)
                    .json(&json!({ "redact_personal_data": redact })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut data = call_data(id, "mp3", call.seconds, &agent);
        data["participants"][1]["name"] = json!("John Smith");
        let call_id = ingest_and_upload(&s, &t, data, mp3.clone()).await;
        let done = wait_for_analysis(&s, &t, &call_id).await;
        assert_eq!(done["status"], "completed", "{done:#}");
        // What the transcript gives out: the phrases, the raw text and the summary (the
        // call data's own fields, such as the parties' names, are the PBX's and stay).
        let analysis = &done["analysis"];
        let said = format!("{}{}", analysis["phrases"], analysis["speech_recognition"]);
        heard.push((redact, said, analysis["speech_recognition"]["raw"].clone()));
    }
    let (_, kept, kept_raw) = &heard[0];
    let digits = |text: &str| text.chars().filter(char::is_ascii_digit).count();
    let spoken = kept.to_lowercase();
    assert!(
        spoken.contains("smith") && digits(&phrases_of(kept_raw)) >= 8,
        "without redaction the call keeps what was said: {kept_raw}"
    );
    let (_, redacted, raw) = &heard[1];
    let text = raw.as_str().unwrap_or_default();
    assert!(text.contains("[card number]"), "{text}");
    assert!(text.contains("[phone number]"), "{text}");
    assert!(text.contains("[name]"), "{text}");
    let lower = redacted.to_lowercase();
    for said in ["smith", "1111", "4111", "one one one", "five six seven"] {
        assert!(!lower.contains(said), "{said:?} left in {redacted}");
    }
    // Each line is "m:ss (Role) phrase": the phrases hold no digits any more.
    let phrases: String = text
        .lines()
        .filter_map(|line| line.split_once(") ").map(|(_, phrase)| phrase))
        .collect();
    assert_eq!(
        digits(&phrases),
        0,
        "digits left in the redacted transcript: {text}"
    );
}

/// The phrases of a raw transcript, whose lines are "m:ss (Role) phrase".
fn phrases_of(raw: &serde_json::Value) -> String {
    raw.as_str()
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once(") ").map(|(_, phrase)| phrase))
        .collect()
}
