//! Finding calls over HTTP on both backends: filters, Japanese and English text with
//! snippets, 400s naming the parameter, cursors while calls arrive. Calls are completed
//! through the storage interface with transcripts made here.

use kiku::app::analysis::{new_analysis, settings_as_stored};
use kiku::clock::Clock;
use kiku_domain::analysis::{report, Roles, Transcript};
use kiku_domain::{CompanyId, Side};
use kiku_storage::FinishOutcome;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{call, servers, Tenant, TestServer};

/// `base` stored, its recording uploaded, and (with `lines`) analysed: speaker 0 is the user.
pub(crate) async fn stored_call(
    s: &TestServer,
    t: &Tenant,
    base: Value,
    lines: Option<&[(usize, &str)]>,
) -> String {
    let id = base["call_data_id"].as_str().expect("id").to_string();
    let (status, body) = s
        .post_calls(&t.webhook, &json!({ "call_data": [base] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entry = &body["audio_upload_urls"][0][&id];
    let call_id = entry["call_id"].as_str().expect("id").to_string();
    let Some(lines) = lines else { return call_id };
    let upload = entry["url"].as_str().expect("url");
    let job = s.upload_and_claim(upload).await;
    let now = s.clock.now();
    let heard: Transcript = serde_json::from_value(json!({
        "format": 1, "duration_seconds": 60.0, "language": "ja",
        "speech": [[{"start": 0.0, "end": 20.0}], [{"start": 20.0, "end": 30.0}]],
        "voices": [null, null],
        "utterances": lines.iter().enumerate().map(|(i, (speaker, text))| json!({
            "speaker": speaker, "start": i as f64 * 5.0, "end": i as f64 * 5.0 + 4.0, "text": text
        })).collect::<Vec<_>>(),
    }))
    .expect("transcript");
    let roles = Roles {
        user_speaker: 0,
        user_side: Side::From,
        confidence: 1.0,
        basis: "test".into(),
    };
    let company: CompanyId = t.company_id.parse().expect("company");
    let (settings, used) = settings_as_stored(&s.app, company).await.expect("settings");
    let made = report(&heard, &roles, &settings);
    let new = new_analysis("test engine", &heard, &roles, &made, false).expect("analysis");
    let finished = s
        .app
        .store
        .finish_analysis(job.id, "test", &new, used.as_deref(), now);
    assert!(matches!(finished.await, Ok(FinishOutcome::Stored { .. })));
    call_id
}

/// `call()` with fields replaced.
pub(crate) fn call_with(
    id: &str,
    event: &str,
    answered: bool,
    user: Option<&str>,
    extra: Value,
) -> Value {
    let mut c = call(id, event, answered, user, None);
    for (k, v) in extra.as_object().expect("object") {
        c[k] = v.clone();
    }
    c
}

pub(crate) async fn list(
    s: &TestServer,
    token: &str,
    query: &[(&str, &str)],
) -> (StatusCode, Value) {
    s.send(
        s.http
            .get(s.url("/api/v1/calls"))
            .query(query)
            .bearer_auth(token),
    )
    .await
}

/// Query parameters of one request.
type Query<'a> = Vec<(&'a str, &'a str)>;

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items in {body}"))
        .iter()
        .map(|c| c["call_id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn filters_and_text_search_find_calls_with_snippets() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let agent = s.user(&t, "agent@acme.example", true).await;
        let ja = stored_call(
            &s,
            &t,
            call_with(
                "ja",
                "OUTGOING_CALL",
                true,
                Some(&agent),
                json!({
            "tags": [{"value": "vip"}], "group_name": "sales"}),
            ),
            Some(&[
                (0, "お電話ありがとうございます。"),
                (1, "解約、したいのですが。エアコンが壊れました"),
            ]),
        )
        .await;
        let en = stored_call(&s, &t, call_with("en", "AUTOMATIC_TRANSFER", true, None, json!({
            "call_starts_at": "2026-01-06T10:00:00+09:00", "call_answered_at": "2026-01-06T10:00:05+09:00",
            "call_ends_at": "2026-01-06T10:30:00+09:00", "queue_name": "support"})),
            Some(&[(0, "How can I help?"), (1, "I'd like a REFUND, please.")])).await;
        let missed = stored_call(&s, &t, call_with("missed", "INCOMING_CALL", false, None, json!({
            "call_starts_at": "2026-01-07T10:00:00+09:00", "call_ends_at": "2026-01-07T10:00:30+09:00",
            "queue_name": "support", "tags": [],
            "participants": [
                {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": "09012345678", "name": null},
                {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0311112222", "name": null}
            ]})), None).await;
        let token = &t.admin_token;
        let cases: Vec<(Query, Vec<&String>)> = vec![
            (vec![], vec![&missed, &en, &ja]),
            (vec![("q", "解約")], vec![&ja]),
            (vec![("q", "解約したい")], vec![&ja]),
            (vec![("q", "エアコン"), ("speaker", "customer")], vec![&ja]),
            (vec![("q", "エアコン"), ("speaker", "user")], vec![]),
            (vec![("q", "refund")], vec![&en]),
            (vec![("q", "\"a refund please\"")], vec![&en]),
            (vec![("q", "refunded")], vec![]),
            (vec![("user_id", &agent)], vec![&ja]),
            (vec![("tag", "vip")], vec![&ja]),
            (vec![("number", "5678")], vec![&missed]),
            (vec![("number", "2222")], vec![&missed, &en, &ja]),
            (vec![("group_name", "sales")], vec![&ja]),
            (
                vec![("queue_name", "support"), ("answered", "true")],
                vec![&en],
            ),
            (vec![("answered", "false")], vec![&missed]),
            (
                vec![
                    ("event_type", "INCOMING_CALL"),
                    ("event_type", "OUTGOING_CALL"),
                ],
                vec![&missed, &ja],
            ),
            (vec![("status", "completed")], vec![&en, &ja]),
            (vec![("min_duration", "600")], vec![&en]),
            (vec![("max_duration", "300")], vec![&missed, &ja]),
            (
                vec![("min_score", "0"), ("max_score", "100")],
                vec![&en, &ja],
            ),
            (
                vec![
                    ("from", "2026-01-06T00:00:00+09:00"),
                    ("to", "2026-01-07T00:00:00+09:00"),
                ],
                vec![&en],
            ),
            (vec![("flag", "roles_need_review")], vec![]),
            (vec![("sort", "duration")], vec![&en, &ja, &missed]),
        ];
        for (query, want) in cases {
            let (status, body) = list(&s, token, &query).await;
            assert_eq!(status, StatusCode::OK, "{query:?}: {body}");
            let want: Vec<String> = want.into_iter().cloned().collect();
            assert_eq!(ids(&body), want, "{}: {query:?}", s.backend);
            assert_eq!(body["total"], want.len(), "{query:?}");
            assert_eq!(body["total_is_lower_bound"], false);
        }
        let (_, body) = list(&s, token, &[("q", "解約")]).await;
        assert_eq!(
            body["items"][0]["snippets"],
            json!([{"speaker": "customer", "start_at": 5.0, "text": "<mark>解約</mark>、したいのですが。エアコンが壊れました"}])
        );
        let (_, body) = list(&s, token, &[("q", "refund please")]).await;
        assert_eq!(
            body["items"][0]["snippets"][0]["text"],
            "I'd like a <mark>REFUND</mark>, <mark>please</mark>."
        );
        let (_, body) = list(&s, token, &[]).await;
        assert!(
            body["items"][0].get("snippets").is_none(),
            "only for a text search"
        );
        // Another company never sees these.
        let other = s.tenant("other").await;
        let (_, body) = list(&s, &other.admin_token, &[("q", "解約")]).await;
        assert_eq!(body["total"], 0);
    }
}

#[tokio::test]
async fn bad_search_input_is_a_400_naming_the_parameter() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let long = "解約 ".repeat(3_334);
        for (query, parameter) in [
            (vec![("status", "done")], "status"),
            (vec![("event_type", "PIGEON")], "event_type"),
            (vec![("q", long.as_str())], "q"),
            (vec![("q", "x")], "q"),
            (vec![("cursor", "not-a-cursor")], "cursor"),
            (vec![("sort", "loudness")], "sort"),
            (vec![("number", "12")], "number"),
            (vec![("speaker", "customer")], "speaker"),
            (vec![("min_duration", "-1")], "min_duration"),
            (vec![("per_page", "1000")], "per_page"),
            (vec![("colour", "red")], "colour"),
        ] {
            let (status, body) = list(&s, &t.admin_token, &query).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}: {body}");
            assert_eq!(body["code"], "invalid_query");
            assert_eq!(body["parameter"], parameter, "{body}");
            assert!(body["reason"].as_str().is_some_and(|r| !r.is_empty()));
        }
    }
}

#[tokio::test]
async fn cursors_page_through_every_call_once_while_new_ones_arrive() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let mut all = Vec::new();
        for i in 0..5 {
            let starts = format!("2026-01-0{}T10:00:00+09:00", i + 1);
            let ends = format!("2026-01-0{}T10:04:00+09:00", i + 1);
            let c = call_with(
                &format!("c{i}"),
                "AUTOMATIC_RECORD",
                false,
                None,
                json!({"call_starts_at": starts, "call_ends_at": ends}),
            );
            all.push(stored_call(&s, &t, c, None).await);
        }
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        for page in 0.. {
            let mut query = vec![("per_page", "2".to_string())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, body) = list(&s, &t.admin_token, &query).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            seen.extend(ids(&body));
            // A newer call arrives after the first page: later pages neither repeat nor skip.
            if page == 0 {
                let c = call_with(
                    "late",
                    "AUTOMATIC_RECORD",
                    false,
                    None,
                    json!({"call_starts_at": "2026-02-01T10:00:00+09:00", "call_ends_at": "2026-02-01T10:01:00+09:00"}),
                );
                stored_call(&s, &t, c, None).await;
            }
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        all.reverse();
        assert_eq!(seen, all, "{}: newest first, each once", s.backend);
    }
}
