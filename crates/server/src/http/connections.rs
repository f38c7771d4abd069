//! The listener: accepts connections up to a cap, closes those that do not send a request
//! head in time (idle keep-alive, half-sent heads), gives every request an id for the log,
//! and on shutdown closes idle connections at once and in-flight ones after a grace period.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::Instrument;

/// How the listener treats connections (settings `header_timeout_seconds`,
/// `max_connections`, `shutdown_grace_seconds`).
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(15),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

const REQUEST_ID: &str = "x-request-id";

/// A connection's read buffer at most (hyper's default is ~400 KB): what each stalled
/// client can pin, and the largest request head accepted.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// File descriptors kept free for the database, recordings and the listener itself.
const RESERVED_FDS: usize = 64;

/// `wanted`, lowered so that open connections cannot use up the process's open-file limit
/// (past it, `accept` fails and even `/health` goes unanswered).
pub fn connection_cap(wanted: usize) -> usize {
    let soft_limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        });
    match soft_limit {
        Some(limit) if limit.saturating_sub(RESERVED_FDS) < wanted => {
            let cap = limit.saturating_sub(RESERVED_FDS).max(16);
            tracing::warn!(
                max_connections = wanted,
                open_file_limit = limit,
                cap,
                "max_connections lowered to fit the open-file limit"
            );
            cap
        }
        _ => wanted,
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains as described above.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(
                        max_connections = options.max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                    last_warning = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or the like: back off instead of spinning.
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        connections.spawn(connection(
            stream,
            peer,
            router.clone(),
            options,
            stopping.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    // Each connection bounds itself by the grace period; this is a backstop.
    if tokio::time::timeout(options.shutdown_grace + Duration::from_secs(1), drained)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}

/// Counts a connection's requests between the call of the service and its response.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The request's id (`X-Request-Id`), for pages that show it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// A client's id when it is short and plain, else a new one.
fn request_id(req: &Request<Incoming>) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_string)
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    options: ServeOptions,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let count = in_flight.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        let guard = InFlight::enter(&count);
        let id = request_id(&req);
        // Paths are not logged: webhook and upload URLs carry secrets.
        let span = tracing::info_span!("request", request_id = %id, method = %req.method());
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(RequestId(id.clone()));
        let router = router.clone();
        async move {
            let mut response = match router.oneshot(req.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            drop(guard);
            Ok::<_, Infallible>(response)
        }
        .instrument(span)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(READ_BUFFER_BYTES);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    if in_flight.load(Ordering::SeqCst) == 0 {
        // Idle, or a request head still arriving: nothing to finish.
        return;
    }
    conn.as_mut().graceful_shutdown();
    if tokio::time::timeout(options.shutdown_grace, conn)
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = options.shutdown_grace.as_secs(),
            "a request did not finish within the shutdown grace period; its connection was closed"
        );
    }
}
