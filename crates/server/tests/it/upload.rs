//! `PUT <upload URL>` through real HTTP.

use kiku_storage::JobState;
use reqwest::StatusCode;
use time::Duration;

use crate::support::{servers, MAX_UPLOAD};

fn stored_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn urls_expire_after_exactly_three_hours() {
    for s in servers().await {
        let t = s.tenant("expiry").await;
        let (_, url) = s.one_call(&t, "e1").await;
        s.clock.advance(Duration::hours(3) - Duration::seconds(1));
        let (status, body) = s.send(s.http.put(&url).body("RIFF early")).await;
        assert_eq!(status, StatusCode::OK, "2:59:59 is in time: {body}");
        let (_, url) = s.one_call(&t, "e1").await; // a fresh URL for the same call
        s.clock.advance(Duration::hours(3) + Duration::seconds(1));
        let (status, body) = s.send(s.http.put(&url).body("RIFF late")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "3:00:01 is too late: {body}");
        assert!(body["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired")));
    }
}

#[tokio::test]
async fn forged_or_tampered_urls_are_403() {
    for s in servers().await {
        let t = s.tenant("forge").await;
        let (call_id, url) = s.one_call(&t, "f1").await;
        let (other_id, _) = s.one_call(&t, "f2").await;
        let sig_at = url.find("signature=").expect("sig") + "signature=".len();
        let flipped = format!(
            "{}{}",
            &url[..sig_at],
            if &url[sig_at..sig_at + 1] == "0" {
                "1"
            } else {
                "0"
            }
        ) + &url[sig_at + 1..];
        let expires: i64 = url
            .split("expires=")
            .nth(1)
            .and_then(|r| r.split('&').next())
            .and_then(|e| e.parse().ok())
            .expect("expires");
        let later = url.replace(
            &format!("expires={expires}"),
            &format!("expires={}", expires + 3600),
        );
        let for_other = url.replace(&call_id, &other_id);
        let no_query = url.split('?').next().expect("path").to_string();
        for (name, bad) in [
            ("flipped", flipped),
            ("extended", later),
            ("other call", for_other),
            ("no query", no_query),
            ("garbage id", s.url("/uploads/abc?expires=1&signature=00")),
        ] {
            let (status, body) = s.send(s.http.put(&bad).body("data")).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{} {name}: {body}",
                s.backend
            );
        }
        // Content-Type is not signed: any type works with the genuine URL.
        let (status, _) = s
            .send(
                s.http
                    .put(&url)
                    .header("content-type", "audio/mpeg")
                    .body("data"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn uploads_over_the_limit_are_413_and_leave_nothing() {
    for s in servers().await {
        let t = s.tenant("limit").await;
        let (call_id, url) = s.one_call(&t, "l1").await;
        let (status, body) = s
            .send(s.http.put(&url).body(vec![0u8; MAX_UPLOAD as usize + 1]))
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        // Without a Content-Length (chunked), the stream is cut at the limit all the same.
        let chunks =
            futures_util::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(vec![1u8; 8192])));
        let (status, _) = s
            .send(s.http.put(&url).body(reqwest::Body::wrap_stream(chunks)))
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            stored_files(&s.audio_dir).is_empty(),
            "no partial file kept"
        );
        let (_, detail) = s
            .get(&format!("/api/v1/calls/{call_id}"), &t.admin_token)
            .await;
        assert_eq!(detail["status"], "awaiting_upload");
        let (status, _) = s
            .send(s.http.put(&url).body(vec![2u8; MAX_UPLOAD as usize]))
            .await;
        assert_eq!(status, StatusCode::OK, "exactly the limit is fine");
    }
}

#[tokio::test]
async fn a_second_upload_replaces_the_first_until_analysis_starts() {
    for s in servers().await {
        let t = s.tenant("replace").await;
        let (call_id, url) = s.one_call(&t, "p1").await;
        let (status, body) = s.send(s.http.put(&url).body("first recording")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "queued");
        let (status, _) = s.send(s.http.put(&url).body("second recording")).await;
        assert_eq!(status, StatusCode::OK);
        let files = stored_files(&s.audio_dir);
        assert_eq!(files.len(), 1, "the replaced recording is deleted");
        assert_eq!(std::fs::read(&files[0]).expect("read"), b"second recording");
        let (_, detail) = s
            .get(&format!("/api/v1/calls/{call_id}"), &t.admin_token)
            .await;
        assert_eq!(detail["audio"]["bytes"], 16);
        assert_eq!(detail["status"], "queued");
        // The upload enqueued exactly one analysis job; a worker takes it.
        let now = kiku::clock::Clock::now(s.clock.as_ref());
        let job = s
            .app
            .store
            .claim_job(
                &[kiku_domain::JobKind::AnalyseCall],
                "w",
                now + Duration::minutes(5),
                now,
            )
            .await
            .expect("claim")
            .expect("job");
        assert_eq!(
            (
                job.call_id.map(|c| c.to_string()).unwrap_or_default(),
                job.state
            ),
            (call_id.clone(), JobState::Running)
        );
        let (status, body) = s.send(s.http.put(&url).body("too late")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["code"], "upload_closed");
        assert_eq!(
            std::fs::read(&stored_files(&s.audio_dir)[0]).expect("read"),
            b"second recording"
        );
        let (_, detail) = s
            .get(&format!("/api/v1/calls/{call_id}"), &t.admin_token)
            .await;
        assert_eq!(detail["status"], "analysing");
        // A retry of the call data now hands out no upload URL.
        let (_, again) = s.post_calls(&t.webhook, &serde_json::json!({"call_data": [crate::support::call("p1", "AUTOMATIC_RECORD", false, None, None)]})).await;
        assert!(
            again["audio_upload_urls"][0]["p1"]["url"].is_null(),
            "{again}"
        );
    }
}
