//! Process roles: `kiku serve --api-only` (no job workers) and a `kiku worker` on the same
//! database and recordings. A job queued through the API waits until a worker runs; the
//! worker answers `/health`, `/ready` and `/metrics` on its own port and nothing else, and stops on
//! SIGTERM.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::process::KikuProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_only_server_leaves_jobs_to_a_worker_process() {
    let api = KikuProcess::api_only(&[]).await;
    let company = api.company("correct horse");
    crate::deliveries::completed_calls_in(&api.data_dir, &company, 3).await;
    let http = reqwest::Client::new();
    let token = api.sign_in("correct horse").await;
    let post = |path: &str, body: Value| {
        http.post(api.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let rule: Value = post(
        "/api/v1/tag-rules",
        json!({"name": "Emma", "keywords": ["emma"], "tag": "asked for Emma"}),
    )
    .await
    .expect("rule")
    .json()
    .await
    .expect("json");
    let id = rule["id"].as_str().expect("id");
    let applied = post(&format!("/api/v1/tag-rules/{id}/apply"), json!({}))
        .await
        .expect("apply");
    assert_eq!(applied.status(), StatusCode::ACCEPTED);
    let tagged = || async {
        let page: Value = http
            .get(api.url("/api/v1/calls"))
            .query(&[("tag", "asked for Emma")])
            .bearer_auth(&token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        page["total"].as_u64().unwrap_or(0)
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(tagged().await, 0, "the API process runs no jobs");

    let mut worker = api.worker(&[("KIKU_JOB_WORKERS", "1")]).await;
    let mut n = 0;
    for _ in 0..100 {
        n = tagged().await;
        if n == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(n, 3, "the worker applied the rule:\n{}", worker.log());
    for (path, status) in [
        ("/health", StatusCode::OK),
        ("/ready", StatusCode::OK),
        ("/api/v1/calls", StatusCode::NOT_FOUND),
    ] {
        let got = http.get(worker.url(path)).send().await.expect("get");
        assert_eq!(got.status(), status, "{path} on the worker");
    }
    // The worker reports the shared queue: the rule's job is done, none is left waiting.
    let metrics = http
        .get(worker.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), StatusCode::OK);
    let metrics = metrics.text().await.expect("text");
    assert!(
        metrics.contains(r#"kiku_jobs{kind="apply_tag_rule",state="queued"} 0"#),
        "{metrics}"
    );
    let stopped = worker.terminate(Duration::from_secs(10));
    assert!(
        stopped.is_some(),
        "the worker stops on SIGTERM:\n{}",
        worker.log()
    );
    assert!(worker.log().contains("kiku worker is running"));
}
