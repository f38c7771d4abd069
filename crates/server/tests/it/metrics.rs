//! `GET /metrics` through real HTTP on both backends: requests counted by route template
//! (never by path: the webhook's path carries its secret), the ingest and upload counters,
//! and the shared job queue read from the database at scrape time.

use reqwest::StatusCode;

use crate::support::{servers, TestServer};

async fn scrape(s: &TestServer) -> String {
    let res = s.http.get(s.url("/metrics")).send().await.expect("scrape");
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    res.text().await.expect("text")
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in:\n{text}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_the_queue() {
    for s in servers().await {
        let t = s.tenant("Acme").await;
        let (_, upload) = s.one_call(&t, "m-1").await;
        let put = s.http.put(&upload).body(vec![7u8; 1000]).send().await;
        assert_eq!(put.expect("upload").status(), StatusCode::OK);
        let missing = s.http.get(s.url("/no/such/page")).send().await;
        assert_eq!(missing.expect("404").status(), StatusCode::NOT_FOUND);
        s.clock.advance(time::Duration::seconds(90));

        let text = scrape(&s).await;
        has(
            &text,
            r#"kiku_http_requests_total{route="/webhooks/incoming/{company_id}/{secret}",method="POST",status="200"} 1"#,
        );
        has(
            &text,
            r#"kiku_http_requests_total{route="/uploads/{call_id}",method="PUT",status="200"} 1"#,
        );
        has(
            &text,
            r#"kiku_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        );
        has(&text, "kiku_ingested_calls_total 1");
        has(&text, r#"kiku_uploads_total{outcome="stored"} 1"#);
        has(&text, "kiku_upload_bytes_total 1000");
        has(&text, r#"kiku_jobs{kind="analyse_call",state="queued"} 1"#);
        has(&text, r#"kiku_jobs{kind="deliver_webhook",state="dead"} 0"#);
        has(
            &text,
            r#"kiku_job_oldest_ready_seconds{kind="analyse_call"} 90.0"#,
        );
        assert!(
            text.contains("kiku_http_request_duration_seconds_bucket{"),
            "{text}"
        );
        assert!(text.contains("kiku_db_connections{pool="), "{text}");
        let secret = t.webhook.rsplit('/').next().expect("secret");
        assert!(
            !text.contains(secret),
            "the webhook secret is in the metrics"
        );
        assert!(
            !text.contains(&t.company_id),
            "a company id is in the metrics"
        );

        // The scrape itself is counted by the next one.
        let again = scrape(&s).await;
        has(
            &again,
            r#"kiku_http_requests_total{route="/metrics",method="GET",status="200"} 1"#,
        );
        eprintln!("{}: ok", s.backend);
    }
}
