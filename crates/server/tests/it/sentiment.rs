//! Sentiment end to end: a generated call (espeak-ng) with a clearly happy agent and a
//! clearly angry customer, analysed by a real worker with the real model and the real
//! lexicons, seen through the HTTP API; a swap moves the scores with the voice.

use kiku_analysis::testing::{stereo_call, test_model_dir, test_sentiment_dir, Line};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::analysis::{
    call_data, engine, ingest_and_upload, mp3_of, start_worker, wait_for_analysis,
};
use crate::support::servers;

const HAPPY_ANGRY: &[Line] = &[
    Line {
        speaker: 0,
        gap: 0.0,
        text: "Great news! Your refund is approved. I am really happy I could help you today.",
    },
    Line {
        speaker: 1,
        gap: 0.8,
        text: "This is terrible. I am very angry, your service is awful and I hate waiting.",
    },
];

/// `(positive_score, negative_score)` of the participant with `role`, and how many phrase
/// sentiments it carries.
fn scores(detail: &Value, role: &str) -> (u64, u64, usize) {
    let p = detail["participants"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["role"] == role))
        .expect("participant");
    let a = &p["analysis"];
    (
        a["positive_score"].as_u64().expect("positive_score"),
        a["negative_score"].as_u64().expect("negative_score"),
        a["phrase_sentiments"].as_array().map_or(0, Vec::len),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_happy_agent_and_an_angry_customer_are_scored_and_a_swap_moves_the_scores() {
    let (Some(model), Some(_)) = (test_model_dir(), test_sentiment_dir()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let call = stereo_call(
        dir.path(),
        kiku_analysis::testing::SUPPORT_VOICES,
        HAPPY_ANGRY,
        1.0,
    )
    .expect("generated call");
    let mp3 = mp3_of(dir.path(), &call.wav);
    let engine = engine(&model);
    for s in servers().await {
        let t = s.tenant("acme").await;
        let agent = s.user(&t, "daniel@acme.example", true).await;
        let _stop = start_worker(&s, engine.clone());
        let call_id = ingest_and_upload(
            &s,
            &t,
            call_data("happy-angry", "mp3", call.seconds, &agent),
            mp3.clone(),
        )
        .await;
        let history = wait_for_analysis(&s, &t, &call_id).await;
        assert_eq!(history["status"], "completed", "{}: {history:#}", s.backend);
        let detail = &history["analysis"];
        let (user_pos, user_neg, user_phrases) = scores(detail, "user");
        let (customer_pos, customer_neg, customer_phrases) = scores(detail, "customer");
        assert!(user_phrases >= 1 && customer_phrases >= 1, "{detail:#}");
        assert!(
            user_pos > 0 && user_pos > customer_pos && customer_neg > user_neg,
            "{}: the agent is happy, the customer angry: user {user_pos}/{user_neg}, \
             customer {customer_pos}/{customer_neg}\n{:#}",
            s.backend,
            detail["participants"]
        );
        assert!(customer_neg >= 30, "clearly angry: {customer_neg}");
        // The customer's words, timed and with the model's confidence, inside the phrase.
        let angry = spoken_word(detail, "customer", "angry");
        let (start, end, probability) = (
            angry["start_at"].as_f64().expect("start_at"),
            angry["end_at"].as_f64().expect("end_at"),
            angry["probability"].as_f64().expect("probability"),
        );
        assert!(
            start >= 0.0 && start <= end && end <= call.seconds && probability > 0.3,
            "{angry}"
        );

        let (status, body) = crate::swap::swap(&s, &t.admin_token, &call_id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, swapped) = s
            .get(&format!("/api/v1/calls/{call_id}"), &t.admin_token)
            .await;
        let after = &swapped["analysis"];
        assert_eq!(
            scores(after, "user"),
            (customer_pos, customer_neg, customer_phrases),
            "the angry voice is now the user's"
        );
        assert_eq!(
            scores(after, "customer"),
            (user_pos, user_neg, user_phrases)
        );
    }
}

/// The word (as `phrase_words` carries it) of the participant with `role` that spells
/// `text`, whatever its case and punctuation.
fn spoken_word<'a>(detail: &'a Value, role: &str, text: &str) -> &'a Value {
    let p = detail["participants"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["role"] == role))
        .expect("participant");
    p["analysis"]["phrase_words"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|phrase| phrase["words"].as_array().into_iter().flatten())
        .find(|w| {
            w["word"].as_str().is_some_and(|s| {
                s.trim()
                    .trim_matches(|c: char| !c.is_alphanumeric())
                    .eq_ignore_ascii_case(text)
            })
        })
        .unwrap_or_else(|| panic!("no word {text:?} in the {role}'s phrase_words: {p:#}"))
}

/// A call completed through the storage with a happy agent (speaker 0, the user) and an
/// angry customer, scored with the server's lexicons.
async fn completed_happy_angry(
    s: &crate::support::TestServer,
    t: &crate::support::Tenant,
) -> String {
    use kiku::app::analysis::{new_analysis, scored_report};
    use kiku::clock::Clock;
    use kiku_domain::analysis::{AnalysisSettings, Roles, Transcript, Utterance};
    use kiku_domain::metrics::Span;
    use kiku_domain::Side;

    let say = |speaker, start, end, text: &str| Utterance {
        speaker,
        start,
        end,
        text: text.into(),
        words: vec![],
    };
    let heard = Transcript {
        format: 1,
        duration_seconds: 20.0,
        language: "en".into(),
        speech: [
            vec![Span::new(1.0, 5.0), Span::new(12.0, 15.0)],
            vec![Span::new(6.0, 11.0)],
        ],
        voices: [None, None],
        utterances: vec![
            say(0, 1.0, 5.0, "Hello, how can I help?"),
            say(1, 6.0, 11.0, "I am so angry, this is the third time!"),
            say(0, 12.0, 15.0, "I am really happy to fix it for you."),
        ],
        overlaps_estimated: false,
        truncated: false,
    };
    let roles = Roles {
        user_speaker: 0,
        user_side: Side::From,
        confidence: 1.0,
        basis: "the left channel".into(),
    };
    let (call_id, upload) = s.one_call(t, "moods").await;
    let job = s.upload_with_and_claim(&upload, crate::ui::wav(20)).await;
    let made = scored_report(
        &heard,
        &roles,
        &AnalysisSettings::default(),
        &s.app.sentiment,
    );
    let new = new_analysis("test engine", &heard, &roles, &made, false).expect("analysis");
    s.app
        .store
        .finish_analysis(job.id, "test", &new, None, s.clock.now())
        .await
        .expect("finish");
    call_id
}

#[tokio::test]
async fn the_timeline_colours_each_partys_speech_by_sentiment_in_a_real_browser() {
    let Some(browser) = crate::browser::Browser::start().await else {
        return;
    };
    for s in servers().await {
        let t = s.tenant("acme").await;
        let call = completed_happy_angry(&s, &t).await;
        browser.goto(&s.url(&format!("/calls/{call}"))).await;
        if browser.url().await.contains("/sign-in") {
            browser.type_into("#email", "admin@acme.example").await;
            browser.type_into("#password", "correct horse").await;
            browser.click("#sign-in").await;
            browser
                .wait_until(
                    "return location.pathname.startsWith('/calls/')",
                    10,
                    "the call",
                )
                .await;
        }
        let moods = |track: &str| {
            format!("return [...document.querySelectorAll('#track-{track} .mood')].map(b => [b.className, Number(b.dataset.start), getComputedStyle(b).backgroundColor])")
        };
        assert_eq!(
            browser.script(&moods("user"), json!([])).await,
            json!([["mood positive", 12, "rgb(47, 158, 68)"]]),
            "{}: the agent's happy phrase is green; the greeting stays neutral",
            s.backend
        );
        assert_eq!(
            browser.script(&moods("customer"), json!([])).await,
            json!([["mood negative", 6, "rgb(107, 47, 163)"]]),
            "the customer's angry phrase"
        );
        let (_, api) = s
            .get(&format!("/api/v1/calls/{call}"), &t.admin_token)
            .await;
        let user = scores(&api["analysis"], "user");
        let customer = scores(&api["analysis"], "customer");
        let metrics = browser.text("#metrics").await;
        let shown = format!(
            "User {}% / {}% · Customer {}% / {}%",
            user.0, user.1, customer.0, customer.1
        );
        assert!(metrics.contains(&shown), "{shown} in {metrics}");
        browser
            .screenshot(&format!("sentiment-{}", s.backend))
            .await;

        // Swapped: the colours move with the voices.
        let (status, body) = crate::swap::swap(&s, &t.admin_token, &call).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        browser.goto(&s.url(&format!("/calls/{call}"))).await;
        assert_eq!(
            browser.script(&moods("user"), json!([])).await,
            json!([["mood negative", 6, "rgb(107, 47, 163)"]])
        );
    }
}
