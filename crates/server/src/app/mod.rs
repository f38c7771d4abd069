//! The application services: what Kiku does, independent of HTTP or the command line.
//! Handlers and CLI commands extract their input, call one of these, and map the result.

pub mod accounts;
pub mod analysis;
mod error;
pub mod ingest;
pub mod limits;
pub mod outgoing_webhooks;
pub mod readiness;
pub mod secret_cache;
pub mod sign_in_throttle;
pub mod upload;
pub mod webhook_url;

use std::sync::Arc;

use kiku_blobs::{Blobs, LocalBlobs};
use kiku_domain::upload_signature::SigningKey;
use kiku_storage::{SqlStore, Store};

use crate::clock::{Clock, SystemClock};
use crate::config::{load_or_create_key, Config};

pub use error::AppError;

/// Everything the services reach: storage, blobs, time and the settings they need.
pub struct App {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn Blobs>,
    pub clock: Arc<dyn Clock>,
    pub signing_key: SigningKey,
    /// Base of handed-out URLs, without a trailing slash.
    pub public_url: String,
    pub limits: limits::RequestLimits,
    /// Calls whose recording is being received right now (one upload per call at a time).
    pub uploads_in_flight: upload::UploadsInFlight,
    /// `/ready` reports not ready below this much free disk for the data folder.
    pub min_free_disk_bytes: u64,
    pub session_ttl: time::Duration,
    pub webhook_secrets: secret_cache::SecretCache,
    pub sign_in_throttle: sign_in_throttle::SignInThrottle,
    /// The SSRF-safe client that challenges and delivers to outgoing webhooks.
    pub outgoing_webhooks: kiku_notify::WebhookClient,
}

impl App {
    /// Opens the configured database (running migrations) and audio folder.
    pub async fn open(config: &Config) -> Result<Self, String> {
        private_data_dir(&config.data_dir)
            .map_err(|e| format!("cannot create data dir {}: {e}", config.data_dir.display()))?;
        let store = SqlStore::connect(&config.database_url())
            .await
            .map_err(|e| format!("cannot open the database: {e}"))?;
        let blobs = LocalBlobs::open(config.audio_dir()).map_err(|e| {
            format!(
                "cannot open the audio folder {}: {e}",
                config.audio_dir().display()
            )
        })?;
        let key = match &config.signing_key {
            Some(hex_key) => {
                hex::decode(hex_key.trim()).map_err(|_| "signing key is not hex".to_string())?
            }
            None => load_or_create_key(&config.signing_key_file())?,
        };
        Ok(Self {
            store: Arc::new(store),
            blobs: Arc::new(blobs),
            clock: Arc::new(SystemClock),
            signing_key: SigningKey::new(key)?,
            public_url: config.public_url(),
            limits: limits::RequestLimits {
                max_upload_bytes: config.max_upload_bytes,
                max_request_bytes: config.max_request_bytes,
                max_json_bytes: config.max_json_bytes,
                body_timeout: std::time::Duration::from_secs(u64::from(
                    config.body_timeout_seconds,
                )),
                buffers: limits::BufferBudget::new(config.max_buffered_bytes),
            },
            uploads_in_flight: Default::default(),
            min_free_disk_bytes: config.min_free_disk_bytes,
            session_ttl: time::Duration::hours(i64::from(config.session_hours)),
            webhook_secrets: Default::default(),
            sign_in_throttle: sign_in_throttle::SignInThrottle::new(config.sign_in_throttle()),
            outgoing_webhooks: kiku_notify::WebhookClient::new(config.outgoing_webhook_client()?)
                .map_err(|e| e.to_string())?,
        })
    }
}

/// Creates the data folder readable by its owner only (0700), whatever the umask, and makes
/// an existing one so: it holds the database, recordings and the signing key. The SQLite
/// file is created 0600 before SQLite opens it (its `-wal` and `-shm` files take its mode).
fn private_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let db = dir.join("kiku.db");
    if !db.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(db)?;
    }
    Ok(())
}
