//! Composition: configuration in, the running parts out — the database, the recordings'
//! store, the signing key and limits wired into an [`App`], and the speech engine. The
//! one place that knows which implementation backs each interface.

use std::sync::Arc;

use kiku_analysis::pipeline::Engine;
use kiku_blobs::{Blobs, LocalBlobs, ObjectBlobs};
use kiku_domain::upload_signature::SigningKey;
use kiku_storage::SqlStore;

use crate::app::notifications::Notifiers;
use crate::app::{limits, sign_in_throttle, App};
use crate::clock::SystemClock;
use crate::config::{load_or_create_key, AudioStore, Config};

/// Opens the configured database (running migrations) and audio store.
pub async fn app(config: &Config) -> Result<App, String> {
    private_data_dir(&config.data_dir, config.database_url.is_none())
        .map_err(|e| format!("cannot create data dir {}: {e}", config.data_dir.display()))?;
    let store = SqlStore::connect(&config.database_url(), config.secret_keys()?)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let blobs = audio_store(config).await?;
    let key = match &config.signing_key {
        Some(hex_key) => {
            hex::decode(hex_key.trim()).map_err(|_| "signing key is not hex".to_string())?
        }
        None => load_or_create_key(&config.signing_key_file())?,
    };
    let outgoing_webhooks = kiku_notify::WebhookClient::new(config.outgoing_webhook_client()?)
        .map_err(|e| e.to_string())?;
    // Slack webhooks are outgoing HTTP like any other: the same SSRF rule and client.
    let slack = kiku_notify::SlackSender::new(outgoing_webhooks.clone());
    // CRMs too: a base_url is an admin's choice of address, under the same rule.
    let crm = kiku_notify::Crms::new(outgoing_webhooks.clone());
    Ok(App {
        store: Arc::new(store),
        blobs,
        clock: Arc::new(SystemClock),
        signing_key: SigningKey::new(key)?,
        public_url: config.public_url(),
        limits: limits::RequestLimits {
            max_upload_bytes: config.max_upload_bytes,
            max_request_bytes: config.max_request_bytes,
            max_json_bytes: config.max_json_bytes,
            body_timeout: std::time::Duration::from_secs(u64::from(config.body_timeout_seconds)),
            buffers: limits::BufferBudget::new(config.max_buffered_bytes),
        },
        uploads_in_flight: Default::default(),
        min_free_disk_bytes: config.min_free_disk_bytes,
        session_ttl: time::Duration::hours(i64::from(config.session_hours)),
        webhook_secrets: Default::default(),
        sign_in_throttle: sign_in_throttle::SignInThrottle::new(config.sign_in_throttle()),
        abuse: config.abuse_limits(),
        abuse_state: Default::default(),
        jobs_queued: Default::default(),
        outgoing_webhooks,
        notifiers: Notifiers {
            slack,
            mailer: match config.smtp()? {
                Some(smtp) => Some(kiku_notify::Mailer::new(&smtp).map_err(|e| e.to_string())?),
                None => None,
            },
            crm,
        },
        metrics: Default::default(),
        trusted_proxies: config.trusted_proxies()?,
        sentiment: Arc::new(sentiment_lexicons(config)),
        minutes: match config.minutes()? {
            Some(settings) => {
                Some(kiku_notify::MinutesWriter::new(&settings).map_err(|e| e.to_string())?)
            }
            None => None,
        },
    })
}

/// The sentiment lexicons; each one missing is logged once, and its language's calls have
/// no `positive_score` / `negative_score` (never a made-up 0).
pub fn sentiment_lexicons(config: &Config) -> kiku_domain::analysis::Lexicons {
    let dir = config.sentiment_dir();
    let (lexicons, problems) = kiku_analysis::sentiment::load_lexicons(&dir);
    for problem in problems {
        tracing::warn!(%problem, "a sentiment lexicon is missing: calls in its language get no sentiment (run scripts/install-models or set KIKU_SENTIMENT_DIR)");
    }
    lexicons
}

/// The recordings' store: the local folder, or the bucket once it has answered (a missing
/// bucket, refused credentials or an endpoint that does not answer stop the start here,
/// as a database that cannot be opened does).
async fn audio_store(config: &Config) -> Result<Arc<dyn Blobs>, String> {
    match config.audio_store()? {
        AudioStore::Local(dir) => {
            let blobs = LocalBlobs::open(&dir)
                .map_err(|e| format!("cannot open the audio folder {}: {e}", dir.display()))?;
            Ok(Arc::new(blobs))
        }
        AudioStore::S3(settings) => {
            let endpoint = settings.endpoint_for_logs();
            let blobs = ObjectBlobs::s3(&settings, config.scratch_dir())
                .map_err(|e| format!("audio_store {}: {e}", settings.url()))?;
            blobs.check_writable(0).await.map_err(|e| {
                format!(
                    "audio_store {} at {endpoint} cannot be used: {e}",
                    settings.url()
                )
            })?;
            tracing::info!(audio_store = %settings.url(), %endpoint, "recordings are stored in S3");
            Ok(Arc::new(blobs))
        }
    }
}

/// The speech engine when this process analyses calls (`analysis_workers` > 0); refuses
/// to go on without the model then.
pub async fn engine(config: &Config) -> Result<Option<Arc<Engine>>, String> {
    if config.analysis_workers == 0 {
        tracing::info!("analysis_workers is 0: this process analyses no calls");
        return Ok(None);
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
    Ok(Some(Arc::new(engine)))
}

/// Creates the data folder readable by its owner only (0700), whatever the umask, and makes
/// an existing one so: it holds the database, recordings and the signing key. The default
/// SQLite file is created 0600 before SQLite opens it (its `-wal` and `-shm` files take its
/// mode); with another database URL there is none to make.
fn private_data_dir(dir: &std::path::Path, default_database: bool) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let db = dir.join("kiku.db");
    if default_database && !db.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(db)?;
    }
    Ok(())
}
