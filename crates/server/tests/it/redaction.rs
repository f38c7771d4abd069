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

/// [`CALL`] with a lead-in before the phone number: with the parties' names in Whisper's
/// prompt (the vocabulary), its bare digits came out as "0 1234 I678".
const CALL_WITH_NAMES: &[Line] = &[
    CALL[0],
    CALL[1],
    CALL[2],
    CALL[3],
    Line {
        speaker: 1,
        gap: 0.5,
        text: "My number is zero nine zero, one two three four, five six seven eight.",
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_redacted_before_it_is_stored_when_the_company_asks() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let call = stereo_call(dir.path(), SUPPORT_VOICES, CALL_WITH_NAMES, 0.5).expect("espeak-ng");
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

/// RMS of channel `channel` of a 16-bit PCM WAV (44-byte header, as Kiku writes and
/// espeak-ng's calls are) between `from` and `to` seconds.
fn rms(wav: &[u8], channel: usize, from: f64, to: f64) -> f64 {
    let channels = usize::from(u16::from_le_bytes([wav[22], wav[23]]));
    let rate = f64::from(u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]));
    let frames = (wav.len() - 44) / (2 * channels);
    let (a, b) = ((from * rate) as usize, ((to * rate) as usize).min(frames));
    let sum: f64 = (a..b)
        .map(|f| {
            let at = 44 + (f * channels + channel) * 2;
            f64::from(i16::from_le_bytes([wav[at], wav[at + 1]])).powi(2)
        })
        .sum();
    (sum / (b - a).max(1) as f64).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_recording_is_silent_where_personal_data_was_said() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let call = stereo_call(dir.path(), SUPPORT_VOICES, CALL, 0.5).expect("espeak-ng");
    let engine = crate::analysis::engine(&model);
    let Some(s) = servers().await.into_iter().next() else {
        return;
    };
    let t = s.tenant("acme").await;
    let agent = s.user(&t, "daniel@acme.example", true).await;
    let _worker = start_worker(&s, engine);
    // Hiding in the audio what the transcript's redaction finds needs that redaction.
    let (status, body) = s
        .send(
            s.http
                .put(s.url("/api/v1/settings/analysis"))
                .bearer_auth(&t.admin_token)
                .json(&json!({ "redact_audio": "tone" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let settings = json!({
        "redact_personal_data": true,
        "redact_audio": "silence",
        "keep_original_recording": false,
    });
    let (status, body) = s
        .send(
            s.http
                .put(s.url("/api/v1/settings/analysis"))
                .bearer_auth(&t.admin_token)
                .json(&settings),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Uploaded as MP3 (the tests' upload limit is small); the copy is a WAV.
    let data = call_data("audio", "mp3", call.seconds, &agent);
    let mp3 = mp3_of(dir.path(), &call.wav);
    let call_id = ingest_and_upload(&s, &t, data, mp3).await;
    let company = t.company_id.parse().expect("company");
    let id = call_id.parse().expect("call id");
    let stored = s.app.store.call(company, id).await.expect("store");
    let original = stored.and_then(|c| c.audio).expect("uploaded").key;
    let done = wait_for_analysis(&s, &t, &call_id).await;
    assert_eq!(done["status"], "completed", "{done:#}");

    let response = s
        .http
        .get(s.url(&format!("/api/v1/calls/{call_id}/recording")))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .expect("recording");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "audio/wav");
    let served = response.bytes().await.expect("body").to_vec();
    // The customer's second line is all card digits: silent in the copy. The agent's
    // question about a phone number holds none: as loud as before.
    let card = &call.turns[1][1];
    let (from, to) = (
        card.start + 0.2 * (card.end - card.start),
        card.end - 0.2 * (card.end - card.start),
    );
    assert!(rms(&call.wav, 1, from, to) > 300.0, "the line was spoken");
    assert!(
        rms(&served, 1, from, to) < 1.0,
        "card digits left audible: rms {}",
        rms(&served, 1, from, to)
    );
    let question = &call.turns[0][1];
    let (before, after) = (
        rms(&call.wav, 0, question.start, question.end),
        rms(&served, 0, question.start, question.end),
    );
    // (The copy is of the MP3, so not sample for sample the generated WAV.)
    assert!(
        (after / before - 1.0).abs() < 0.15,
        "rms {before} became {after}"
    );

    // The copy is the call's recording; the original is gone, as the company asked.
    let stored = s.app.store.call(company, id).await.expect("store");
    let audio = stored.and_then(|c| c.audio).expect("audio");
    assert!(audio.redacted_at.is_some() && audio.original_key.is_none());
    assert!(s.app.blobs.get_range(&original, 0..1).await.is_err());
}
