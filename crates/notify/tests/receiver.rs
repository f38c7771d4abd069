//! A real local webhook receiver for the tests: an axum server on 127.0.0.1 that records
//! every request and answers as its route says.

#![allow(dead_code)] // each including test uses part of it

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub addr: Option<SocketAddr>,
    pub log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.expect("started"))
    }
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }
}

fn challenge_of(body: &Bytes) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["challenge"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Routes: `/ok` (answers the challenge right, 204 to anything else), `/wrong-body`,
/// `/wrong-type`, `/error` (500), `/hang` (never answers), `/busy` (503, Retry-After: 7,
/// 2 KiB body), `/redirect` (302), `/gone` (410). Under `/d/` every route answers the
/// challenge right and then behaves for deliveries: `/d/ok` (204), `/d/flaky` (500 twice,
/// then 204), `/d/gone` (410), `/d/hang` (never answers), `/d/slow` (204 after 0.1 s).
pub async fn start() -> Receiver {
    let log: Arc<Mutex<Vec<Received>>> = Arc::default();
    let record = |log: Arc<Mutex<Vec<Received>>>, path: &'static str| {
        move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let earlier = {
                    let mut log = log.lock().expect("log");
                    let earlier = log.iter().filter(|r| r.path == path).count();
                    log.push(Received {
                        path: path.into(),
                        headers,
                        body: body.clone(),
                    });
                    earlier
                };
                answer(path, &body, earlier).await
            }
        }
    };
    let mut router = Router::new();
    for path in [
        "/ok",
        "/wrong-body",
        "/wrong-type",
        "/error",
        "/hang",
        "/busy",
        "/redirect",
        "/gone",
        "/d/ok",
        "/d/flaky",
        "/d/gone",
        "/d/hang",
        "/d/slow",
    ] {
        router = router.route(path, post(record(log.clone(), path)));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    Receiver {
        addr: Some(addr),
        log,
    }
}

/// `earlier`: requests to `path` before this one (the challenge included).
async fn answer(path: &str, body: &Bytes, earlier: usize) -> Response {
    let challenge = challenge_of(body);
    match path {
        p if p.starts_with("/d/") && !challenge.is_empty() => {
            ([("content-type", "text/plain")], challenge).into_response()
        }
        "/d/ok" => StatusCode::NO_CONTENT.into_response(),
        // The challenge, then two failures.
        "/d/flaky" if earlier < 3 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/d/flaky" => StatusCode::NO_CONTENT.into_response(),
        "/d/gone" => StatusCode::GONE.into_response(),
        "/d/slow" => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            StatusCode::NO_CONTENT.into_response()
        }
        "/d/hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        "/ok" if !challenge.is_empty() => {
            ([("content-type", "text/plain; charset=utf-8")], challenge).into_response()
        }
        "/ok" => StatusCode::NO_CONTENT.into_response(),
        "/wrong-body" => ([("content-type", "text/plain")], "not-the-challenge").into_response(),
        "/wrong-type" => ([("content-type", "application/json")], challenge).into_response(),
        "/error" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        "/busy" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "7")],
            "x".repeat(2048),
        )
            .into_response(),
        "/redirect" => (StatusCode::FOUND, [("location", "http://127.0.0.1:1/")]).into_response(),
        "/gone" => StatusCode::GONE.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
