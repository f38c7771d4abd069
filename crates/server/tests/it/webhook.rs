//! `POST <incoming webhook URL>` through real HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{call, fixture, servers};

const EVENTS: [&str; 7] = [
    "OUTGOING_CALL",
    "OUTGOING_TRANSFER",
    "INCOMING_CALL",
    "AUTOMATIC_TRANSFER",
    "EXTENSION",
    "EXTENSION_TRANSFER",
    "AUTOMATIC_RECORD",
];

/// The seed's table: which sides need a user ID, for each event, answered or not, group or not.
fn required(event: &str, side: &str, answered: bool, group: bool) -> bool {
    match (event, side) {
        ("OUTGOING_CALL" | "OUTGOING_TRANSFER", "FROM") => true,
        ("INCOMING_CALL", "TO") => answered,
        ("EXTENSION" | "EXTENSION_TRANSFER", "FROM") => true,
        ("EXTENSION" | "EXTENSION_TRANSFER", "TO") => !group || answered,
        _ => false,
    }
}

#[tokio::test]
async fn every_row_of_the_seed_table() {
    for s in servers().await {
        let t = s.tenant("seed").await;
        let user = s.user(&t, "agent@seed.example", true).await;
        let mut n = 0;
        for event in EVENTS {
            for answered in [false, true] {
                for group in [false, true] {
                    for (from, to) in [(false, false), (true, false), (false, true), (true, true)] {
                        n += 1;
                        let id = format!("row-{n}");
                        let mut c = call(
                            &id,
                            event,
                            answered,
                            from.then_some(user.as_str()),
                            to.then_some(user.as_str()),
                        );
                        c["groupname"] = if group { json!("support") } else { json!("") };
                        let (status, body) =
                            s.post_calls(&t.webhook, &json!({"call_data": [c]})).await;
                        let mut expected: Vec<String> = Vec::new();
                        if required(event, "FROM", answered, group) && !from {
                            expected.push("call_data[0].participants[0].miitel_user_id".into());
                        }
                        if required(event, "TO", answered, group) && !to {
                            expected.push("call_data[0].participants[1].miitel_user_id".into());
                        }
                        let ctx = format!("{} {event} answered={answered} group={group} from={from} to={to}: {body}", s.backend);
                        if expected.is_empty() {
                            assert_eq!(status, StatusCode::OK, "{ctx}");
                            assert!(
                                body["audio_upload_urls"][0][&id]["url"].is_string(),
                                "{ctx}"
                            );
                        } else {
                            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{ctx}");
                            let problems = body["problems"].as_array().expect("problems");
                            let paths: Vec<&str> =
                                problems.iter().filter_map(|p| p["path"].as_str()).collect();
                            assert_eq!(paths, expected, "{ctx}");
                            assert!(
                                problems
                                    .iter()
                                    .all(|p| p["index"] == 0 && p["call_data_id"] == id.as_str()),
                                "{ctx}"
                            );
                            assert!(
                                problems[0]["reason"].as_str().is_some_and(
                                    |r| r.starts_with(&format!("required for {event}"))
                                ),
                                "{ctx}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn both_vendor_samples_are_accepted_with_real_user_ids() {
    for s in servers().await {
        let t = s.tenant("samples").await;
        let user = s.user(&t, "taro@samples.example", true).await;
        for (name, id) in [
            ("sample1.json", "test_id"),
            ("sample2.json", "calldatatest0003"),
        ] {
            let mut body = fixture(name);
            body["call_data"][0]["participants"][0]["miitel_user_id"] = json!(user);
            let (status, out) = s.post_calls(&t.webhook, &body).await;
            assert_eq!(status, StatusCode::OK, "{} {name}: {out}", s.backend);
            let url = out["audio_upload_urls"][0][id]["url"]
                .as_str()
                .expect("url");
            assert!(url.starts_with(&format!("{}/uploads/", s.base)));
            let call_id = out["audio_upload_urls"][0][id]["call_id"]
                .as_str()
                .expect("id");
            let (_, detail) = s
                .get(&format!("/api/v1/calls/{call_id}"), &t.admin_token)
                .await;
            assert_eq!(detail["status"], "awaiting_upload");
            assert_eq!(
                detail["status_message"],
                "Analytics engine is not started because the audio file has not been uploaded or is uploading."
            );
            let ambiguous = detail["flags"]
                .as_array()
                .is_some_and(|f| f.contains(&json!("stereo_channels_ambiguous")));
            assert_eq!(ambiguous, name == "sample1.json", "{detail}");
        }
        // Sample2 spelled its offset +0900; it is stored as the same instant.
        let (_, list) = s
            .get("/api/v1/calls?event_type=OUTGOING_CALL", &t.admin_token)
            .await;
        assert_eq!(list["total"], 2);
    }
}

#[tokio::test]
async fn users_must_be_permitted_members_of_this_company() {
    for s in servers().await {
        let a = s.tenant("a").await;
        let b = s.tenant("b").await;
        let a_user = s.user(&a, "agent@a.example", true).await;
        let b_unpermitted = s.user(&b, "agent@b.example", false).await;
        for user in [
            a_user.as_str(),
            b_unpermitted.as_str(),
            "00000000-0000-0000-0000-000000000000",
        ] {
            let body = json!({"call_data": [call("x", "OUTGOING_CALL", true, Some(user), None)]});
            let (status, out) = s.post_calls(&b.webhook, &body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
            assert_eq!(
                out["problems"][0]["path"],
                "call_data[0].participants[0].miitel_user_id"
            );
        }
        // Switching the permission on makes the same batch pass.
        let req = s
            .http
            .patch(s.url(&format!("/api/v1/users/{b_unpermitted}")))
            .bearer_auth(&b.admin_token)
            .json(&json!({"use_incoming_webhook": true}));
        assert_eq!(s.send(req).await.0, StatusCode::OK);
        let body =
            json!({"call_data": [call("x", "OUTGOING_CALL", true, Some(&b_unpermitted), None)]});
        assert_eq!(s.post_calls(&b.webhook, &body).await.0, StatusCode::OK);
        // A never sees B's call through any endpoint.
        let (_, a_list) = s.get("/api/v1/calls", &a.admin_token).await;
        assert_eq!(a_list["total"], 0);
        let (_, b_list) = s.get("/api/v1/calls", &b.admin_token).await;
        let b_call = b_list["items"][0]["call_id"]
            .as_str()
            .expect("id")
            .to_string();
        assert_eq!(
            s.get(&format!("/api/v1/calls/{b_call}"), &a.admin_token)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn retries_are_idempotent_and_conflicts_roll_back_the_batch() {
    for s in servers().await {
        let t = s.tenant("idem").await;
        let c1 = call("c1", "AUTOMATIC_RECORD", false, None, None);
        let (status, first) = s
            .post_calls(&t.webhook, &json!({"call_data": [c1.clone()]}))
            .await;
        assert_eq!(status, StatusCode::OK);
        s.clock.advance(time::Duration::minutes(10));
        let (status, again) = s
            .post_calls(&t.webhook, &json!({"call_data": [c1.clone()]}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            first["audio_upload_urls"][0]["c1"]["call_id"],
            again["audio_upload_urls"][0]["c1"]["call_id"]
        );
        assert_ne!(
            first["audio_upload_urls"][0]["c1"]["url"], again["audio_upload_urls"][0]["c1"]["url"],
            "a fresh URL"
        );

        let mut changed = c1.clone();
        changed["tags"] = json!([{"value": "edited"}]);
        let new_call = call("c2", "AUTOMATIC_RECORD", false, None, None);
        let (status, out) = s
            .post_calls(&t.webhook, &json!({"call_data": [new_call, changed]}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{out}");
        assert_eq!(out["code"], "call_data_conflict");
        assert_eq!(out["problems"][0]["index"], 1);
        assert_eq!(out["problems"][0]["call_data_id"], "c1");
        let (_, list) = s.get("/api/v1/calls", &t.admin_token).await;
        assert_eq!(list["total"], 1, "c2 was rolled back with the batch");

        // A batch with one invalid call stores nothing either.
        let mut bad = call("c3", "OUTGOING_CALL", false, None, None);
        bad["participants"][0]["miitel_user_id"] = Value::Null;
        let good = call("c4", "AUTOMATIC_RECORD", false, None, None);
        assert_eq!(
            s.post_calls(&t.webhook, &json!({"call_data": [good, bad]}))
                .await
                .0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(s.get("/api/v1/calls", &t.admin_token).await.1["total"], 1);
    }
}

#[tokio::test]
async fn responses_follow_request_order_in_a_batch_of_fifty() {
    for s in servers().await {
        let t = s.tenant("batch").await;
        let calls: Vec<Value> = (0..50)
            .map(|i| call(&format!("b{i}"), "AUTOMATIC_TRANSFER", false, None, None))
            .collect();
        let (status, out) = s.post_calls(&t.webhook, &json!({"call_data": calls})).await;
        assert_eq!(status, StatusCode::OK);
        let urls = out["audio_upload_urls"].as_array().expect("list");
        assert_eq!(urls.len(), 50);
        for (i, entry) in urls.iter().enumerate() {
            let keys: Vec<&String> = entry.as_object().expect("object").keys().collect();
            assert_eq!(
                keys,
                vec![&format!("b{i}")],
                "one single-key map per call, in order"
            );
        }
    }
}

#[tokio::test]
async fn revoked_and_unknown_urls_are_indistinguishable_404s() {
    for s in servers().await {
        let t = s.tenant("revoke").await;
        let body = json!({"call_data": [call("r1", "AUTOMATIC_RECORD", false, None, None)]});
        assert_eq!(s.post_calls(&t.webhook, &body).await.0, StatusCode::OK);
        let (_, wrong_secret) = s.post_calls(&format!("{}x", t.webhook), &body).await;
        let unknown_company = t
            .webhook
            .replace(&t.company_id, "7d1c0b7e-0000-4000-8000-000000000000");
        let (_, unknown) = s.post_calls(&unknown_company, &body).await;
        let (_, garbage) = s
            .post_calls(&s.url("/webhooks/incoming/nope/nope"), &body)
            .await;
        let req = s
            .http
            .delete(s.url("/api/v1/incoming-webhook"))
            .bearer_auth(&t.admin_token);
        assert_eq!(s.send(req).await.0, StatusCode::NO_CONTENT);
        let (status, revoked) = s.post_calls(&t.webhook, &body).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(revoked, wrong_secret);
        assert_eq!(revoked, unknown);
        assert_eq!(revoked, garbage);
        // Creating again mints a different URL, which works; the old one stays dead.
        let req = s
            .http
            .post(s.url("/api/v1/incoming-webhook"))
            .bearer_auth(&t.admin_token);
        let (status, created) = s.send(req).await;
        assert_eq!(status, StatusCode::CREATED);
        let new_url = created["url"].as_str().expect("url");
        assert_ne!(new_url, t.webhook);
        assert_eq!(s.post_calls(new_url, &body).await.0, StatusCode::OK);
        assert_eq!(
            s.post_calls(&t.webhook, &body).await.0,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn hostile_bodies_get_clear_4xx_json() {
    for s in servers().await {
        let t = s.tenant("hostile").await;
        let raw = |body: Vec<u8>, ctype: Option<&str>| {
            let mut req = s.http.post(&t.webhook).body(body);
            if let Some(c) = ctype {
                req = req.header("content-type", c);
            }
            req
        };
        let valid = serde_json::to_vec(
            &json!({"call_data": [call("h1", "AUTOMATIC_RECORD", false, None, None)]}),
        )
        .expect("json");
        let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
            (
                "no content type",
                raw(valid.clone(), None),
                StatusCode::OK,
                "",
            ),
            (
                "json with charset",
                raw(valid.clone(), Some("application/json; charset=utf-8")),
                StatusCode::OK,
                "",
            ),
            (
                "text/plain",
                raw(valid.clone(), Some("text/plain")),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                "form",
                raw(valid, Some("application/x-www-form-urlencoded")),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                "truncated",
                raw(b"{\"call_data\": [".to_vec(), None),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                "not utf-8",
                raw(vec![0xff, 0xfe, 0x00], None),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                "empty",
                raw(Vec::new(), None),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                "deep nesting",
                raw(
                    format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
                    None,
                ),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                "huge",
                raw(vec![b' '; super::support::MAX_REQUEST + 1], None),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "array top",
                raw(b"[]".to_vec(), None),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_call_data",
            ),
            (
                "wrong types",
                raw(
                    br#"{"call_data": [{"call_data_id": 5, "participants": "x"}]}"#.to_vec(),
                    None,
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_call_data",
            ),
        ];
        for (name, req, expected, code) in cases {
            let (status, body) = s.send(req).await;
            assert_eq!(status, expected, "{} {name}: {body}", s.backend);
            if !code.is_empty() {
                assert_eq!(body["code"], code, "{name}");
                assert!(
                    body["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{name}"
                );
            }
        }
        // The server is still up and nothing was lost.
        assert_eq!(s.get("/api/v1/calls", &t.admin_token).await.1["total"], 1);
    }
}

#[tokio::test]
async fn a_revocation_by_another_process_takes_effect_within_a_second() {
    for s in servers().await {
        let t = s.tenant("elsewhere").await;
        let body = json!({"call_data": [call("x1", "AUTOMATIC_RECORD", false, None, None)]});
        assert_eq!(s.post_calls(&t.webhook, &body).await.0, StatusCode::OK);
        // Another process deletes the URL straight in the shared database.
        let company = t.company_id.parse().expect("company id");
        assert!(s
            .app
            .store
            .delete_webhook_secret(company)
            .await
            .expect("delete"));
        tokio::time::sleep(kiku::app::secret_cache::TTL + std::time::Duration::from_millis(100))
            .await;
        assert_eq!(
            s.post_calls(&t.webhook, &body).await.0,
            StatusCode::NOT_FOUND
        );
    }
}
