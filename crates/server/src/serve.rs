//! `kiku serve`: logging, the HTTP server, and a graceful stop on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;
use crate::http;
use crate::worker;
use kiku_analysis::pipeline::Engine;

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

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve_on(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The client address reaches handlers (sign-in throttling, refusal logs) as ConnectInfo.
    axum::serve(
        listener,
        http::router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

pub async fn run(config: Config) -> Result<(), String> {
    init_logging(&config.log_format);
    let app = Arc::new(App::open(&config).await?);
    let (stop_workers, shutdown) = tokio::sync::watch::channel(false);
    let workers = start_workers(&config, app.clone(), shutdown).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {} (KIKU_LISTEN): {e}", config.listen))?;
    tracing::info!(listen = %config.listen, public_url = %app.public_url, data_dir = %config.data_dir.display(), "kiku is serving");
    serve_on(app, listener, shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    // Running analyses stop and go back to the queue for the next start.
    let _ = stop_workers.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Loads the speech model and starts the configured number of analysis workers.
async fn start_workers(
    config: &Config,
    app: Arc<App>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    if config.analysis_workers == 0 {
        tracing::info!("analysis_workers is 0: this process analyses no calls");
        return Ok(Vec::new());
    }
    let model = config.model_dir();
    if !model.join("model.bin").is_file() {
        return Err(format!(
            "no speech model in {}: run scripts/install-models, set KIKU_MODEL_DIR, or set KIKU_ANALYSIS_WORKERS=0",
            model.display()
        ));
    }
    let options = config.engine_options();
    let engine = tokio::task::spawn_blocking(move || Engine::load(&model, options))
        .await
        .map_err(|e| format!("loading the speech model crashed: {e}"))?
        .map_err(|e| e.to_string())?;
    tracing::info!(
        engine = engine.description(),
        workers = config.analysis_workers,
        "speech engine loaded"
    );
    Ok(worker::start(
        app,
        Arc::new(engine),
        config.analysis_workers,
        config.worker_options(),
        shutdown,
    ))
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
