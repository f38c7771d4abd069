//! `kiku serve` and `kiku worker`: logging, the job workers, the HTTP server (or a worker's
//! health port), and a graceful stop on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;
use crate::{bootstrap, http, jobs};

/// Sets up `tracing` once: text for people, JSON for log collectors. `RUST_LOG` filters.
pub fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second initialisation (tests) keeps the first subscriber.
    drop(result);
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains its connections.
pub async fn serve_on(
    app: Arc<App>,
    listener: TcpListener,
    options: http::ServeOptions,
    shutdown: impl std::future::Future<Output = ()>,
) {
    http::serve(listener, http::router(app), options, shutdown).await;
}

/// What a process runs besides its job workers (their numbers come from the config).
pub enum Role {
    /// `kiku serve`: the API, the web UI, the webhook and uploads on `listen`.
    Server,
    /// `kiku worker`: no API; `/health` and `/ready` only, on `health` when given.
    Worker { health: Option<SocketAddr> },
}

pub async fn run(config: Config, role: Role) -> Result<(), String> {
    init_logging(&config.log_format);
    let app = Arc::new(bootstrap::app(&config).await?);
    let engine = bootstrap::engine(&config).await?;
    let (stop_workers, shutdown) = tokio::sync::watch::channel(false);
    let workers = jobs::start(
        app.clone(),
        engine,
        config.worker_counts(),
        config.runner_options(),
        shutdown,
    );
    let bind = |addr: SocketAddr, what: &'static str| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr} ({what}): {e}"))
    };
    match role {
        Role::Server => {
            let listener = bind(config.listen, "KIKU_LISTEN").await?;
            tracing::info!(listen = %config.listen, public_url = %app.public_url, data_dir = %config.data_dir.display(), "kiku is serving");
            serve_on(app, listener, config.serve_options(), shutdown_signal()).await;
        }
        Role::Worker { health: Some(addr) } => {
            let listener = bind(addr, "--health-listen").await?;
            tracing::info!(health = %addr, "kiku worker is running");
            let router = http::health_router(app);
            http::serve(listener, router, config.serve_options(), shutdown_signal()).await;
        }
        Role::Worker { health: None } => {
            tracing::info!("kiku worker is running");
            shutdown_signal().await;
        }
    }
    // Running jobs stop and go back to the queue for the next start.
    let _ = stop_workers.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
