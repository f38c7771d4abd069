//! The application services: what Kiku does, independent of HTTP or the command line.
//! Handlers and CLI commands extract their input, call one of these, and map the result.

pub mod accounts;
pub mod analysis;
mod error;
pub mod ingest;
pub mod secret_cache;
pub mod sign_in_throttle;
pub mod upload;
pub mod webhook_url;

use std::sync::Arc;

use kiku_blobs::{Blobs, ObjectBlobs};
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
    pub max_upload_bytes: u64,
    pub max_request_bytes: usize,
    pub session_ttl: time::Duration,
    pub webhook_secrets: secret_cache::SecretCache,
    pub sign_in_throttle: sign_in_throttle::SignInThrottle,
}

impl App {
    /// Opens the configured database (running migrations) and audio folder.
    pub async fn open(config: &Config) -> Result<Self, String> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create data dir {}: {e}", config.data_dir.display()))?;
        let store = SqlStore::connect(&config.database_url())
            .await
            .map_err(|e| format!("cannot open the database: {e}"))?;
        let blobs = ObjectBlobs::local(config.audio_dir()).map_err(|e| {
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
            max_upload_bytes: config.max_upload_bytes,
            max_request_bytes: config.max_request_bytes,
            session_ttl: time::Duration::hours(i64::from(config.session_hours)),
            webhook_secrets: Default::default(),
            sign_in_throttle: sign_in_throttle::SignInThrottle::new(config.sign_in_throttle()),
        })
    }
}
