//! What the API conformance run (`scripts/conformance`, schemathesis against the live
//! server) found, kept as regression tests.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::servers;

/// A page query the server cannot read (`limit=abc`) used to get axum's plain-text 400,
/// outside the document and the API's error shape.
#[tokio::test]
async fn unreadable_page_queries_get_a_json_422() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let id = "00000000-0000-4000-8000-000000000000";
        for path in [
            format!("/api/v1/outgoing-webhooks/{id}/deliveries"),
            format!("/api/v1/slack-rules/{id}/deliveries"),
            format!("/api/v1/crm-connections/{id}/deliveries"),
            "/api/v1/email-notifications/deliveries".to_string(),
            "/api/v1/audit-log".to_string(),
        ] {
            let (status, body) = s.get(&format!("{path}?limit=abc"), &t.admin_token).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
            assert_eq!(body["code"], "invalid_request", "{path}: {body}");
        }
        // A parameter the audit log does not have: its query refuses unknown fields, and
        // that refusal was axum's plain-text 400.
        let path = "/api/v1/audit-log?surprise=1";
        let (status, body) = s.get(path, &t.admin_token).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "invalid_request", "{body}");
        // An empty cursor: documented as 422 now.
        let path = "/api/v1/email-notifications/deliveries?before=";
        let (status, body) = s.get(path, &t.admin_token).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
}

/// The document listed 13 of the 21 error codes (no `invalid_query`, `unsafe_url`…), and
/// not the 400/413/415 every JSON body can get; nor the 422 of a bad page cursor.
#[tokio::test]
async fn the_document_describes_every_error_the_server_sends() {
    for s in servers().await {
        let (status, doc) = s.send(s.http.get(s.url("/openapi.json"))).await;
        assert_eq!(status, StatusCode::OK);
        let codes = &doc["components"]["schemas"]["Error"]["properties"]["code"]["enum"];
        for code in [
            "invalid_query",
            "unsafe_url",
            "challenge_failed",
            "method_not_allowed",
        ] {
            assert!(
                codes.as_array().expect("enum").contains(&json!(code)),
                "{code}"
            );
        }
        let mut json_bodies = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("item") {
                if op
                    .pointer("/requestBody/content/application~1json")
                    .is_some()
                {
                    json_bodies += 1;
                    for status in ["400", "413", "415"] {
                        assert!(
                            op["responses"][status].is_object(),
                            "{method} {path} {status}"
                        );
                    }
                }
                assert!(op["responses"]["500"].is_object(), "{method} {path} 500");
                if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    assert!(op["responses"]["401"].is_object(), "{method} {path} 401");
                }
                let takes_cursor = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == "before"));
                if takes_cursor {
                    assert!(op["responses"]["422"].is_object(), "{method} {path} 422");
                }
            }
        }
        assert!(json_bodies >= 15, "{json_bodies}");
    }
}

/// Bodies that were built with `json!` are types now (so that the document derives their
/// schemas); `json!` sorted an object's keys, and the answers keep those bytes.
#[tokio::test]
async fn typed_answers_keep_the_bytes_json_gave_them() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let text = |req: reqwest::RequestBuilder| async move {
            req.send()
                .await
                .expect("request")
                .text()
                .await
                .expect("body")
        };
        let users = text(
            s.http
                .get(s.url("/api/v1/users"))
                .bearer_auth(&t.admin_token),
        )
        .await;
        assert!(
            users.starts_with(r#"{"items":[{"admin":true,"company_id":"#),
            "{users}"
        );
        let put = s.http.put(s.url("/api/v1/settings/analysis"));
        let settings = text(put.bearer_auth(&t.admin_token).json(&json!({}))).await;
        let expected = r#"{"rescoring_calls":0,"settings":{"keep_original_recording":true,"keywords":[],"language":"auto","redact_audio":"off","redact_personal_data":false,"score_rule":{"base":50.0,"duration_points":[[0.0,0.0],"#;
        assert!(settings.starts_with(expected), "{settings}");
        let batch = json!({"call_data": [{"call_data_id": "c1"}]});
        let problems = text(s.http.post(&t.webhook).json(&batch)).await;
        let expected = r#"{"code":"invalid_call_data","message":"#;
        assert!(problems.starts_with(expected), "{problems}");
        assert!(
            problems.contains(r#""problems":[{"call_data_id":"c1","index":0,"path":"#),
            "{problems}"
        );
        let login = s.http.post(s.url("/api/v1/auth/login"));
        let body = json!({"email": "admin@acme.example", "password": "correct horse"});
        let session = text(login.json(&body)).await;
        assert!(session.starts_with(r#"{"company_id":"#), "{session}");
    }
}
