//! Abuse limits through real HTTP: the sign-in lockout kept in the database (it holds on
//! another server process on the same database), the Incoming Webhook URL's rate, and
//! each company's caps on calls awaiting their recording and bytes uploaded per day.
//! Every refusal is 429 `too_many_requests` with `Retry-After`.

use kiku::app::abuse::AbuseLimits;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Duration;

use crate::support::{call, send_for_retry, servers_with_abuse_limits, start_on, TestServer};

/// Every limit off: each test turns on the one it checks.
fn off() -> AbuseLimits {
    AbuseLimits {
        lockout_failures: 0,
        webhook_requests_per_second: 0,
        max_calls_awaiting_upload: 0,
        max_upload_bytes_per_day: 0,
        ..AbuseLimits::default()
    }
}

async fn sign_in(s: &TestServer, password: &str) -> (StatusCode, Option<u64>, Value) {
    let body = json!({"email": "admin@locked.example", "password": password});
    send_for_retry(s.http.post(s.url("/api/v1/auth/login")).json(&body)).await
}

#[tokio::test]
async fn an_account_is_locked_in_the_database_for_every_process() {
    let limits = AbuseLimits {
        lockout_failures: 5,
        lockout_window: Duration::hours(1),
        lockout_for: Duration::minutes(10),
        ..off()
    };
    for s in servers_with_abuse_limits(limits).await {
        s.tenant("locked").await;
        // Three failures reach the in-memory throttle (3 in tests); past its window two
        // more reach the lockout's 5, counted in the database.
        for _ in 0..3 {
            assert_eq!(
                sign_in(&s, "wrong password").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        s.clock.advance(Duration::seconds(901));
        for _ in 0..2 {
            assert_eq!(
                sign_in(&s, "wrong password").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        let (status, retry_after, body) = sign_in(&s, "correct horse").await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: {body}",
            s.backend
        );
        assert_eq!(retry_after, Some(600));
        assert_eq!(body["code"], "too_many_requests");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("locked")),
            "{body}"
        );

        // Another process on the same database (its own memory, default settings).
        let url = s.database_url().expect("database").to_string();
        let dir = tempfile::tempdir().expect("dir");
        let audio = dir.path().join("audio");
        let other = start_on(s.backend, &url, audio, None, dir, None).await;
        let (status, retry_after, _) = sign_in(&other, "correct horse").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{}", s.backend);
        assert!(
            retry_after.is_some_and(|r| r > 600),
            "its clock is behind: {retry_after:?}"
        );

        // When the lock ends the right password works and the count starts again.
        s.clock.advance(Duration::seconds(601));
        assert_eq!(sign_in(&s, "correct horse").await.0, StatusCode::OK);
        assert_eq!(
            sign_in(&s, "wrong password").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(sign_in(&s, "correct horse").await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_webhook_url_gets_its_rate_and_no_more() {
    let limits = AbuseLimits {
        webhook_requests_per_second: 1,
        webhook_burst: 3,
        ..off()
    };
    for s in servers_with_abuse_limits(limits).await {
        let t = s.tenant("rated").await;
        let other = s.tenant("calm").await;
        let batch = json!({"call_data": [call("rate-1", "AUTOMATIC_RECORD", false, None, None)]});
        // Wrong secrets are not counted against the company.
        let wrong = format!("{}x", t.webhook);
        for _ in 0..5 {
            assert_eq!(
                send_for_retry(s.http.post(&wrong).json(&batch)).await.0,
                StatusCode::NOT_FOUND
            );
        }
        for _ in 0..3 {
            let (status, _, body) = send_for_retry(s.http.post(&t.webhook).json(&batch)).await;
            assert_eq!(status, StatusCode::OK, "{}: {body}", s.backend);
        }
        let (status, retry_after, body) =
            send_for_retry(s.http.post(&t.webhook).json(&batch)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["code"], "too_many_requests");
        assert_eq!(retry_after, Some(1));
        let (status, _, _) = send_for_retry(s.http.post(&other.webhook).json(&batch)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "another company's URL has its own rate"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (status, _, _) = send_for_retry(s.http.post(&t.webhook).json(&batch)).await;
        assert_eq!(status, StatusCode::OK, "a second later one more fits");
    }
}

#[tokio::test]
async fn a_company_cannot_pile_up_calls_awaiting_their_recording() {
    let limits = AbuseLimits {
        max_calls_awaiting_upload: 3,
        ..off()
    };
    for s in servers_with_abuse_limits(limits).await {
        let t = s.tenant("piled").await;
        let batch = |ids: &[&str]| {
            let calls: Vec<Value> = ids
                .iter()
                .map(|id| call(id, "AUTOMATIC_RECORD", false, None, None))
                .collect();
            json!({ "call_data": calls })
        };
        let (status, _, first) =
            send_for_retry(s.http.post(&t.webhook).json(&batch(&["a", "b"]))).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let (status, retry_after, body) =
            send_for_retry(s.http.post(&t.webhook).json(&batch(&["c", "d"]))).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: {body}",
            s.backend
        );
        assert_eq!(retry_after, Some(60));
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("awaiting")),
            "{body}"
        );
        let (status, _) = s.get("/api/v1/calls", &t.admin_token).await;
        assert_eq!(status, StatusCode::OK);
        // Uploading one recording makes room.
        let url = first["audio_upload_urls"][0]["a"]["url"]
            .as_str()
            .expect("url");
        assert_eq!(
            send_for_retry(s.http.put(url).body(vec![1u8; 64])).await.0,
            StatusCode::OK
        );
        let (status, _, body) =
            send_for_retry(s.http.post(&t.webhook).json(&batch(&["c", "d"]))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn a_company_uploads_at_most_its_bytes_per_day() {
    let limits = AbuseLimits {
        max_upload_bytes_per_day: 100,
        ..off()
    };
    for s in servers_with_abuse_limits(limits).await {
        let t = s.tenant("bytes").await;
        let (_, first) = s.one_call(&t, "day-1").await;
        let (_, second) = s.one_call(&t, "day-2").await;
        assert_eq!(
            send_for_retry(s.http.put(&first).body(vec![1u8; 64]))
                .await
                .0,
            StatusCode::OK
        );
        let (status, retry_after, body) =
            send_for_retry(s.http.put(&second).body(vec![1u8; 64])).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: {body}",
            s.backend
        );
        assert_eq!(
            retry_after,
            Some(86_400),
            "until the first upload is a day old"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("24 hours")),
            "{body}"
        );
        // A day later there is room again (with a fresh upload URL).
        s.clock.advance(Duration::days(1));
        let (_, again) = s.one_call(&t, "day-2").await;
        assert_eq!(
            send_for_retry(s.http.put(&again).body(vec![1u8; 64]))
                .await
                .0,
            StatusCode::OK
        );
    }
}
