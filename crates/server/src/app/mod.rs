//! The application services: what Kiku does, independent of HTTP or the command line.
//! Handlers and CLI commands extract their input, call one of these, and map the result.

pub mod abuse;
pub mod accounts;
pub mod analysis;
pub mod audit;
pub mod call_analysis;
pub mod cursor;
mod error;
pub mod export;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod notifications;
pub mod outgoing_webhooks;
pub mod readiness;
pub mod search;
pub mod secret_cache;
pub mod sign_in_throttle;
pub mod tag_rules;
pub mod upload;
pub mod webhook_url;

use std::sync::Arc;

use kiku_blobs::Blobs;
use kiku_domain::upload_signature::SigningKey;
use kiku_storage::Store;

use crate::clock::Clock;

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
    /// Sign-in lockout, the webhook's request rate and the per-company caps.
    pub abuse: abuse::AbuseLimits,
    pub abuse_state: abuse::AbuseState,
    /// Wakes this process's idle job workers when it has queued work (other processes
    /// find it when they next poll).
    pub jobs_queued: tokio::sync::Notify,
    /// The SSRF-safe client that challenges and delivers to outgoing webhooks.
    pub outgoing_webhooks: kiku_notify::WebhookClient,
    /// Slack and e-mail senders.
    pub notifiers: notifications::Notifiers,
    /// What `/metrics` reports.
    pub metrics: metrics::Metrics,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The sentiment lexicons every report is scored with (a swap or re-score in any
    /// process too); a language without one gets no sentiment.
    pub sentiment: Arc<kiku_domain::analysis::Lexicons>,
    /// The operator's language model that writes minutes (`minutes_url`); none: no
    /// minutes are written, and companies cannot turn them on.
    pub minutes: Option<kiku_notify::MinutesWriter>,
}
