//! Configuration: compiled-in defaults, then an optional TOML file (`KIKU_CONFIG`), then
//! `KIKU_*` environment variables; validated once at start with readable messages.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use kiku_analysis::recognise::ComputeDevice;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct Config {
    /// Folder for the SQLite database, recordings and generated keys.
    pub data_dir: PathBuf,
    /// Where recordings are stored: a local folder (default `audio` in `data_dir`) or an
    /// S3-compatible bucket, `s3://bucket` or `s3://bucket/prefix`.
    pub audio_store: Option<String>,
    // The S3 connection when `audio_store` is `s3://…`; each one unset comes from the
    // standard AWS variables (AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID,
    // AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP, AWS_VIRTUAL_HOSTED_STYLE_REQUEST…).
    /// The service's URL, e.g. `https://s3.example.com`; AWS itself when unset.
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    /// Never logged nor shown.
    pub s3_secret_access_key: Option<String>,
    /// Allows a plain `http://` endpoint.
    pub s3_allow_http: Option<bool>,
    /// `bucket.host/key` requests instead of path-style `host/bucket/key`.
    pub s3_virtual_hosted_style_request: Option<bool>,
    /// `sqlite://…` or `postgres://…`; defaults to `kiku.db` in `data_dir`.
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    /// Base of the URLs handed out (webhook and upload URLs); defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Largest accepted recording, in bytes.
    pub max_upload_bytes: u64,
    /// Largest accepted call-data batch posted to the Incoming Webhook, in bytes.
    pub max_request_bytes: usize,
    /// Largest accepted body of the JSON API (sign-in, users, settings…), in bytes.
    pub max_json_bytes: usize,
    /// Request bodies held in memory at once, all requests together, in bytes; past it a
    /// request gets 503 with `Retry-After` instead of more memory.
    pub max_buffered_bytes: usize,
    /// A connection must send a complete request head within this many seconds of opening
    /// or of its previous response (idle keep-alive and half-sent heads are closed).
    pub header_timeout_seconds: u32,
    /// A request body (an upload, a JSON body) that sends nothing for this many seconds is
    /// dropped; nothing of it is kept.
    pub body_timeout_seconds: u32,
    /// Open connections at most; past it new connections wait in the listen backlog. Capped
    /// by the process's open-file limit.
    pub max_connections: usize,
    /// On SIGTERM, requests in flight get this many seconds to finish; idle and half-sent
    /// connections are closed at once.
    pub shutdown_grace_seconds: u32,
    /// `/ready` reports not ready when the data folder's disk has less free space, in bytes.
    pub min_free_disk_bytes: u64,
    /// Hex key (≥ 32 bytes) signing upload URLs; generated into `data_dir` when absent.
    /// Set it explicitly when several processes on different machines hand out URLs.
    pub signing_key: Option<String>,
    /// Base64 key (32 bytes) encrypting the secrets stored in the database (endpoint
    /// signing secrets, Slack webhook URLs, CRM credentials); generated into `data_dir`
    /// when absent. Every process sharing the database needs the same one.
    pub secrets_key: Option<String>,
    /// Comma-separated base64 keys that were `secrets_key` before a rotation: still read,
    /// never written (`kiku secrets reencrypt` moves everything to the current key).
    pub secrets_old_keys: String,
    /// How long a sign-in lasts, in hours.
    pub session_hours: u32,
    /// `text` or `json`.
    pub log_format: String,
    /// CTranslate2 Whisper model folder; defaults to `models/whisper-base` in `data_dir`
    /// (where the run command installs it).
    pub model_dir: Option<PathBuf>,
    /// The speaker encoder that separates the two voices of MONAURAL calls; defaults to
    /// `models/speaker-encoder/encoder.safetensors` in `data_dir` when that file exists.
    pub speaker_encoder: Option<PathBuf>,
    /// The sentiment lexicons' folder; defaults to `models/sentiment` in `data_dir` (where
    /// `scripts/install-models` puts them). A missing lexicon leaves its language's calls
    /// without sentiment (logged at start).
    pub sentiment_dir: Option<PathBuf>,
    /// Calls analysed at once; 0 runs no analysis in this process.
    pub analysis_workers: usize,
    /// Workers for every other background job (re-scoring); 0 runs none in this process.
    pub job_workers: usize,
    /// CPU threads for speech recognition in this process, shared by all workers (one
    /// engine; the two channels of a call run side by side).
    pub analysis_threads: usize,
    /// Beam width of the speech recogniser (1 = greedy, faster; 5 = faster-whisper's default).
    pub beam_size: usize,
    /// Where speech recognition runs: `cpu`, or `cuda` / `cuda:N` for an NVIDIA GPU (the
    /// release build's engine, with CUDA 12 and cuDNN 9 installed).
    pub analysis_device: String,
    /// Recordings are never decoded past this length, in minutes.
    pub max_recording_minutes: u32,
    /// An analysis running longer than this is stopped and the call fails, in minutes.
    pub analysis_timeout_minutes: u32,
    /// A worker's hold on a job, renewed every third of it; a dead worker's job is taken
    /// over this long after its last heartbeat. In seconds.
    pub analysis_lease_seconds: u32,
    // sign-in throttling
    /// Failed sign-ins per account (e-mail) within `sign_in_window_seconds` before 429;
    /// 0 turns the per-account limit off.
    pub sign_in_account_failures: u32,
    /// Failed sign-ins per client address (IPv6: per /64) within the window; 0 turns it
    /// off (behind a reverse proxy every client has the proxy's address).
    pub sign_in_address_failures: u32,
    /// The sliding window both limits count in, in seconds.
    pub sign_in_window_seconds: u32,
    /// Most accounts, and separately addresses, remembered at once (memory bound).
    pub sign_in_tracked_keys: usize,
    /// Failed sign-ins of one account within `sign_in_window_seconds`, counted in the
    /// database (all processes together), that lock it; 0 turns the lockout off.
    pub sign_in_lockout_failures: u32,
    /// How long a locked account stays locked, in seconds.
    pub sign_in_lockout_seconds: u32,
    // abuse limits of the Incoming Webhook
    /// Requests per second to one company's Incoming Webhook URL (in each process);
    /// 0 turns the limit off.
    pub incoming_webhook_requests_per_second: u32,
    /// Requests to it at once after a quiet spell.
    pub incoming_webhook_burst: u32,
    /// One company's calls awaiting their recording at most; 0: no cap.
    pub max_calls_awaiting_upload: u64,
    /// Bytes of recordings one company may upload in 24 hours; 0: no cap.
    pub max_upload_bytes_per_day: u64,
    // outgoing webhooks
    /// Comma-separated CIDR networks that outgoing webhooks may reach although the SSRF
    /// rule refuses them (loopback, private, link-local…); empty: none.
    pub outgoing_allow_networks: String,
    /// Comma-separated CIDR networks of reverse proxies whose `X-Forwarded-For` names the
    /// client (for sign-in limits and logs); empty: none, the peer is the client.
    pub trusted_proxies: String,
    // outgoing webhook deliveries
    /// Outgoing webhook deliveries in flight at once in this process (claimed and recorded
    /// in batches); 0 delivers none here.
    pub delivery_workers: usize,
    /// Deliveries in flight to one endpoint from this process at most.
    pub outgoing_deliveries_per_endpoint: usize,
    /// Waits before the 2nd, 3rd, … attempt of a delivery, comma-separated seconds
    /// (Standard Webhooks' schedule; ±20 % jitter is added).
    pub outgoing_retry_schedule_seconds: String,
    /// An endpoint without a successful delivery for this many hours is disabled.
    pub outgoing_disable_after_hours: u32,
    // notifications (Slack, e-mail); retried on the outgoing webhooks' schedule
    /// Slack messages and e-mails sent at once by this process; 0 sends none here.
    pub notification_workers: usize,
    /// The SMTP server e-mail notifications go through; none: no e-mail is sent (the
    /// e-mails wait in their jobs, retried, until one is configured).
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    /// `starttls` (the server must offer it), `tls` (from the first byte) or `none`.
    pub smtp_security: String,
    pub smtp_username: Option<String>,
    /// Never logged nor shown.
    pub smtp_password: Option<String>,
    /// The sender, `Kiku <kiku@example.com>` or a bare address.
    pub smtp_from: String,
    /// The whole exchange with the SMTP server, in seconds.
    pub smtp_timeout_seconds: u32,
    // minutes (docs/analysis.md, *Minutes*)
    /// The OpenAI-compatible chat API the minutes are written through, e.g.
    /// `http://127.0.0.1:8081/v1` (`/chat/completions` is added); none: no minutes.
    pub minutes_url: Option<String>,
    /// The model named in each request (required with `minutes_url`).
    pub minutes_model: Option<String>,
    /// Sent as `Authorization: Bearer …`. Never logged nor shown.
    pub minutes_api_key: Option<String>,
    /// One request to the model, in seconds.
    pub minutes_timeout_seconds: u32,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("audio_store", &self.audio_store)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "database",
                &self
                    .database_url
                    .as_ref()
                    .map(|u| u.split(':').next().unwrap_or_default()),
            )
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "secrets_key",
                &self.secrets_key.as_ref().map(|_| "<redacted>"),
            )
            .field("smtp_host", &self.smtp_host)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .field("minutes_url", &self.minutes_url)
            .field("minutes_model", &self.minutes_model)
            .field(
                "minutes_api_key",
                &self.minutes_api_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./kiku-data"),
            audio_store: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: None,
            s3_virtual_hosted_style_request: None,
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            max_upload_bytes: 2 * 1024 * 1024 * 1024,
            max_request_bytes: 10 * 1024 * 1024,
            max_json_bytes: 64 * 1024,
            max_buffered_bytes: 64 * 1024 * 1024,
            header_timeout_seconds: 15,
            body_timeout_seconds: 30,
            max_connections: 1024,
            shutdown_grace_seconds: 10,
            min_free_disk_bytes: 64 * 1024 * 1024,
            signing_key: None,
            secrets_key: None,
            secrets_old_keys: String::new(),
            session_hours: 24 * 14,
            log_format: "text".into(),
            model_dir: None,
            speaker_encoder: None,
            sentiment_dir: None,
            analysis_workers: 1,
            job_workers: 2,
            analysis_threads: std::thread::available_parallelism().map_or(2, usize::from),
            beam_size: 5,
            analysis_device: "cpu".into(),
            max_recording_minutes: 240,
            analysis_timeout_minutes: 60,
            analysis_lease_seconds: 60,
            // sign-in throttling
            sign_in_account_failures: 10,
            sign_in_address_failures: 50,
            sign_in_window_seconds: 15 * 60,
            sign_in_tracked_keys: 20_000,
            sign_in_lockout_failures: 20,
            sign_in_lockout_seconds: 15 * 60,
            incoming_webhook_requests_per_second: 50,
            incoming_webhook_burst: 500,
            max_calls_awaiting_upload: 100_000,
            max_upload_bytes_per_day: 100 * 1024 * 1024 * 1024,
            // outgoing webhooks
            outgoing_allow_networks: String::new(),
            trusted_proxies: String::new(),
            // outgoing webhook deliveries
            delivery_workers: 16,
            outgoing_deliveries_per_endpoint: 4,
            outgoing_retry_schedule_seconds: "5,300,1800,7200,18000,36000,36000".into(),
            outgoing_disable_after_hours: 120,
            // notifications
            notification_workers: 4,
            smtp_host: None,
            smtp_port: 587,
            smtp_security: "starttls".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_from: "Kiku <kiku@localhost>".into(),
            smtp_timeout_seconds: 30,
            minutes_url: None,
            minutes_model: None,
            minutes_api_key: None,
            minutes_timeout_seconds: 300,
        }
    }
}

impl Config {
    /// Loads defaults → `KIKU_CONFIG` file → `KIKU_*` variables, and validates.
    pub fn load() -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = std::env::var_os("KIKU_CONFIG") {
            let path = PathBuf::from(file);
            if !path.is_file() {
                return Err(format!(
                    "KIKU_CONFIG names {} which is not a readable file",
                    path.display()
                ));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("KIKU_").ignore(&["config"]));
        let config: Config = figment
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.audio_store()?;
        if self.max_upload_bytes == 0 {
            return Err("max_upload_bytes (KIKU_MAX_UPLOAD_BYTES) must be positive".into());
        }
        if self.max_request_bytes < 1024 {
            return Err("max_request_bytes (KIKU_MAX_REQUEST_BYTES) must be at least 1024".into());
        }
        if self.max_json_bytes < 1024 {
            return Err("max_json_bytes (KIKU_MAX_JSON_BYTES) must be at least 1024".into());
        }
        if self.max_buffered_bytes < self.max_request_bytes.max(self.max_json_bytes) {
            return Err("max_buffered_bytes (KIKU_MAX_BUFFERED_BYTES) must be at least max_request_bytes and max_json_bytes".into());
        }
        if self.header_timeout_seconds == 0
            || self.body_timeout_seconds == 0
            || self.shutdown_grace_seconds == 0
        {
            return Err("header_timeout_seconds, body_timeout_seconds and shutdown_grace_seconds must be positive".into());
        }
        if self.max_connections == 0 {
            return Err("max_connections (KIKU_MAX_CONNECTIONS) must be positive".into());
        }
        if let Some(url) = &self.public_url {
            let ok = (url.starts_with("http://") || url.starts_with("https://"))
                && !url.contains(['?', '#', ' ']);
            if !ok {
                return Err(format!("public_url (KIKU_PUBLIC_URL) must be an http(s) URL without query, got {url:?}"));
            }
        }
        if let Some(key) = &self.signing_key {
            match hex::decode(key.trim()) {
                Ok(bytes) if bytes.len() >= 32 => {}
                _ => {
                    return Err(
                        "signing_key (KIKU_SIGNING_KEY) must be at least 32 bytes written as hex"
                            .into(),
                    )
                }
            }
        }
        if let Some(key) = &self.secrets_key {
            kiku_storage::SecretKeys::from_base64(key, &self.old_secret_keys())
                .map_err(|e| e.to_string())?;
        }
        if self.analysis_threads == 0 || self.analysis_threads > 256 {
            return Err("analysis_threads (KIKU_ANALYSIS_THREADS) must be 1 to 256".into());
        }
        if !(1..=10).contains(&self.beam_size) {
            return Err("beam_size (KIKU_BEAM_SIZE) must be 1 to 10".into());
        }
        self.analysis_device
            .parse::<ComputeDevice>()
            .map_err(|e| format!("analysis_device (KIKU_ANALYSIS_DEVICE): {e}"))?;
        if self.max_recording_minutes == 0 || self.analysis_timeout_minutes == 0 {
            return Err(
                "max_recording_minutes and analysis_timeout_minutes must be positive".into(),
            );
        }
        if !(3..=3600).contains(&self.analysis_lease_seconds) {
            return Err(
                "analysis_lease_seconds (KIKU_ANALYSIS_LEASE_SECONDS) must be 3 to 3600".into(),
            );
        }
        if self.job_workers > 64 {
            return Err("job_workers (KIKU_JOB_WORKERS) must be at most 64".into());
        }
        if self.analysis_workers > 64 {
            return Err("analysis_workers (KIKU_ANALYSIS_WORKERS) must be at most 64".into());
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(format!(
                "log_format (KIKU_LOG_FORMAT) must be text or json, got {:?}",
                self.log_format
            ));
        }
        if self.session_hours == 0 {
            return Err("session_hours (KIKU_SESSION_HOURS) must be positive".into());
        }
        // outgoing webhooks
        kiku_notify::parse_allow_networks(&self.outgoing_allow_networks)
            .map_err(|e| format!("{e} (KIKU_OUTGOING_ALLOW_NETWORKS)"))?;
        self.trusted_proxies()?;
        // outgoing webhook deliveries
        self.retry_schedule()?;
        if self.delivery_workers > 256 || self.outgoing_deliveries_per_endpoint == 0 {
            return Err("delivery_workers (KIKU_DELIVERY_WORKERS) must be at most 256 and outgoing_deliveries_per_endpoint (KIKU_OUTGOING_DELIVERIES_PER_ENDPOINT) positive".into());
        }
        if self.outgoing_disable_after_hours == 0 {
            return Err(
                "outgoing_disable_after_hours (KIKU_OUTGOING_DISABLE_AFTER_HOURS) must be positive"
                    .into(),
            );
        }
        // notifications
        if self.notification_workers > 64 {
            return Err(
                "notification_workers (KIKU_NOTIFICATION_WORKERS) must be at most 64".into(),
            );
        }
        self.smtp()?;
        self.minutes()?;
        // sign-in throttling
        if !(1..=86_400).contains(&self.sign_in_window_seconds) {
            return Err(
                "sign_in_window_seconds (KIKU_SIGN_IN_WINDOW_SECONDS) must be 1 to 86400".into(),
            );
        }
        if self.sign_in_account_failures > 10_000 || self.sign_in_address_failures > 10_000 {
            return Err("sign_in_account_failures and sign_in_address_failures (KIKU_SIGN_IN_ACCOUNT_FAILURES, KIKU_SIGN_IN_ADDRESS_FAILURES) must be at most 10000".into());
        }
        if self.sign_in_lockout_failures > 10_000
            || !(1..=7 * 86_400).contains(&self.sign_in_lockout_seconds)
        {
            return Err("sign_in_lockout_failures (KIKU_SIGN_IN_LOCKOUT_FAILURES) must be at most 10000 and sign_in_lockout_seconds (KIKU_SIGN_IN_LOCKOUT_SECONDS) 1 to 604800".into());
        }
        if self.incoming_webhook_requests_per_second > 0 && self.incoming_webhook_burst == 0 {
            return Err("incoming_webhook_burst (KIKU_INCOMING_WEBHOOK_BURST) must be at least 1 while incoming_webhook_requests_per_second is on".into());
        }
        if !(1..=10_000_000).contains(&self.sign_in_tracked_keys) {
            return Err(
                "sign_in_tracked_keys (KIKU_SIGN_IN_TRACKED_KEYS) must be 1 to 10000000".into(),
            );
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("kiku.db").display()
            )
        })
    }

    pub fn public_url(&self) -> String {
        let url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        url.trim_end_matches('/').to_string()
    }

    /// Where recordings go, from `audio_store` and the `s3_*` settings.
    pub fn audio_store(&self) -> Result<AudioStore, String> {
        let setting = self
            .audio_store
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let s3_set = [
            &self.s3_endpoint,
            &self.s3_region,
            &self.s3_access_key_id,
            &self.s3_secret_access_key,
        ]
        .iter()
        .any(|s| s.is_some())
            || self.s3_allow_http.is_some()
            || self.s3_virtual_hosted_style_request.is_some();
        let Some(setting) = setting else {
            if s3_set {
                return Err("s3_* settings are given but audio_store (KIKU_AUDIO_STORE) is not an s3:// URL: recordings would go to the local folder".into());
            }
            return Ok(AudioStore::Local(self.data_dir.join("audio")));
        };
        let Some(parsed) = kiku_blobs::S3Settings::from_url(setting) else {
            if setting.contains("://") {
                return Err(format!(
                    "audio_store (KIKU_AUDIO_STORE) must be a local folder or s3://bucket/prefix, got {setting:?}"
                ));
            }
            if s3_set {
                return Err(
                    "s3_* settings are given but audio_store (KIKU_AUDIO_STORE) is a local folder"
                        .into(),
                );
            }
            return Ok(AudioStore::Local(PathBuf::from(setting)));
        };
        let mut s3 = parsed.map_err(|e| format!("audio_store (KIKU_AUDIO_STORE): {e}"))?;
        if self.s3_access_key_id.is_some() != self.s3_secret_access_key.is_some() {
            return Err("s3_access_key_id and s3_secret_access_key (KIKU_S3_ACCESS_KEY_ID, KIKU_S3_SECRET_ACCESS_KEY) go together".into());
        }
        s3.endpoint = self.s3_endpoint.clone();
        s3.region = self.s3_region.clone();
        s3.access_key_id = self.s3_access_key_id.clone();
        s3.secret_access_key = self.s3_secret_access_key.clone();
        s3.allow_http = self.s3_allow_http;
        s3.virtual_hosted_style_request = self.s3_virtual_hosted_style_request;
        Ok(AudioStore::S3(s3))
    }

    /// Workers' temporary copies of recordings read from a bucket (deleted when done).
    pub fn scratch_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }

    pub fn model_dir(&self) -> PathBuf {
        self.model_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models").join("whisper-base"))
    }

    pub fn sentiment_dir(&self) -> PathBuf {
        self.sentiment_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models").join("sentiment"))
    }

    /// How the speech engine runs, from these settings.
    pub fn engine_options(&self) -> kiku_analysis::pipeline::EngineOptions {
        kiku_analysis::pipeline::EngineOptions {
            threads: self.analysis_threads,
            beam_size: self.beam_size,
            // Checked by `validate`.
            device: self.analysis_device.parse().unwrap_or_default(),
            max_recording_seconds: f64::from(self.max_recording_minutes) * 60.0,
            speaker_encoder: self.speaker_encoder.clone().or_else(|| {
                let installed = self
                    .data_dir
                    .join("models")
                    .join("speaker-encoder")
                    .join("encoder.safetensors");
                installed.is_file().then_some(installed)
            }),
        }
    }

    pub fn runner_options(&self) -> crate::jobs::RunnerOptions {
        use kiku_domain::outgoing_webhook::DeliveryPolicy;
        let seconds = std::time::Duration::from_secs;
        crate::jobs::RunnerOptions {
            lease: seconds(u64::from(self.analysis_lease_seconds)),
            poll: seconds(1),
            analysis_timeout: seconds(u64::from(self.analysis_timeout_minutes) * 60),
            delivery: crate::jobs::DeliverySettings {
                policy: DeliveryPolicy {
                    schedule: self.retry_schedule().unwrap_or_default(),
                    disable_after: seconds(u64::from(self.outgoing_disable_after_hours) * 3600),
                    ..DeliveryPolicy::default()
                },
                per_endpoint: self.outgoing_deliveries_per_endpoint,
                slots: Default::default(),
            },
        }
    }

    /// How many workers of each sort this process runs.
    /// The networks of `trusted_proxies`.
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, String> {
        kiku_notify::parse_allow_networks(&self.trusted_proxies)
            .map_err(|e| format!("{e} (KIKU_TRUSTED_PROXIES)"))
    }

    /// These settings with every worker count 0 (`kiku serve --api-only`).
    pub fn without_workers(self) -> Self {
        Self {
            analysis_workers: 0,
            job_workers: 0,
            delivery_workers: 0,
            notification_workers: 0,
            ..self
        }
    }

    pub fn worker_counts(&self) -> crate::jobs::WorkerCounts {
        crate::jobs::WorkerCounts {
            analysis: self.analysis_workers,
            jobs: self.job_workers,
            deliveries: self.delivery_workers,
            notifications: self.notification_workers,
        }
    }

    // notifications
    /// The SMTP settings, when a server is configured.
    /// The language model that writes minutes, when `minutes_url` is set.
    pub fn minutes(&self) -> Result<Option<kiku_notify::MinutesSettings>, String> {
        let Some(url) = self.minutes_url.as_ref().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let Some(model) = self.minutes_model.as_ref().filter(|m| !m.trim().is_empty()) else {
            return Err("minutes_url (KIKU_MINUTES_URL) needs minutes_model (KIKU_MINUTES_MODEL): the model the requests name".into());
        };
        if self.minutes_timeout_seconds == 0 {
            return Err(
                "minutes_timeout_seconds (KIKU_MINUTES_TIMEOUT_SECONDS) must be positive".into(),
            );
        }
        let settings = kiku_notify::MinutesSettings {
            url: url.clone(),
            model: model.trim().to_string(),
            api_key: self.minutes_api_key.clone().filter(|k| !k.is_empty()),
            timeout: std::time::Duration::from_secs(u64::from(self.minutes_timeout_seconds)),
        };
        kiku_notify::MinutesWriter::new(&settings)
            .map_err(|e| format!("{e} (KIKU_MINUTES_URL)"))?;
        Ok(Some(settings))
    }

    pub fn smtp(&self) -> Result<Option<kiku_notify::SmtpSettings>, String> {
        let Some(host) = self.smtp_host.as_ref().filter(|h| !h.trim().is_empty()) else {
            return Ok(None);
        };
        let security = kiku_notify::SmtpSecurity::parse(&self.smtp_security).ok_or_else(|| {
            format!(
                "smtp_security (KIKU_SMTP_SECURITY) must be starttls, tls or none, got {:?}",
                self.smtp_security
            )
        })?;
        if self.smtp_username.is_some() != self.smtp_password.is_some() {
            return Err("smtp_username and smtp_password (KIKU_SMTP_USERNAME, KIKU_SMTP_PASSWORD) go together".into());
        }
        if self.smtp_port == 0 || self.smtp_timeout_seconds == 0 {
            return Err("smtp_port and smtp_timeout_seconds must be positive".into());
        }
        let settings = kiku_notify::SmtpSettings {
            host: host.trim().to_string(),
            port: self.smtp_port,
            security,
            username: self.smtp_username.clone(),
            password: self.smtp_password.clone(),
            from: self.smtp_from.clone(),
            timeout: std::time::Duration::from_secs(u64::from(self.smtp_timeout_seconds)),
        };
        kiku_notify::Mailer::new(&settings).map_err(|e| format!("{e} (KIKU_SMTP_FROM)"))?;
        Ok(Some(settings))
    }

    fn retry_schedule(&self) -> Result<Vec<std::time::Duration>, String> {
        self.outgoing_retry_schedule_seconds
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= 7 * 86_400)
                    .map(std::time::Duration::from_secs)
                    .ok_or_else(|| format!("outgoing_retry_schedule_seconds (KIKU_OUTGOING_RETRY_SCHEDULE_SECONDS): {s:?} is not a number of seconds up to a week"))
            })
            .collect()
    }

    /// How the listener treats connections, from these settings.
    pub fn serve_options(&self) -> crate::http::ServeOptions {
        let seconds = |s: u32| std::time::Duration::from_secs(u64::from(s));
        crate::http::ServeOptions {
            header_timeout: seconds(self.header_timeout_seconds),
            max_connections: crate::http::connection_cap(self.max_connections),
            shutdown_grace: seconds(self.shutdown_grace_seconds),
        }
    }

    // sign-in throttling
    pub fn abuse_limits(&self) -> crate::app::abuse::AbuseLimits {
        crate::app::abuse::AbuseLimits {
            lockout_failures: self.sign_in_lockout_failures,
            lockout_window: time::Duration::seconds(i64::from(self.sign_in_window_seconds)),
            lockout_for: time::Duration::seconds(i64::from(self.sign_in_lockout_seconds)),
            webhook_requests_per_second: self.incoming_webhook_requests_per_second,
            webhook_burst: self.incoming_webhook_burst,
            max_calls_awaiting_upload: self.max_calls_awaiting_upload,
            max_upload_bytes_per_day: self.max_upload_bytes_per_day,
        }
    }

    pub fn sign_in_throttle(&self) -> crate::app::sign_in_throttle::ThrottleSettings {
        let rule = |max_failures| kiku_domain::sign_in_throttle::ThrottleRule {
            max_failures,
            window: std::time::Duration::from_secs(u64::from(self.sign_in_window_seconds)),
        };
        crate::app::sign_in_throttle::ThrottleSettings {
            account: rule(self.sign_in_account_failures),
            address: rule(self.sign_in_address_failures),
            max_tracked: self.sign_in_tracked_keys,
        }
    }

    // outgoing webhooks
    /// The outgoing webhook client's settings: Standard Webhooks' timeouts and the allow list.
    pub fn outgoing_webhook_client(&self) -> Result<kiku_notify::ClientSettings, String> {
        let allow_networks = kiku_notify::parse_allow_networks(&self.outgoing_allow_networks)
            .map_err(|e| e.to_string())?;
        Ok(kiku_notify::ClientSettings {
            allow_networks,
            ..Default::default()
        })
    }

    pub fn signing_key_file(&self) -> PathBuf {
        self.data_dir.join("upload-signing.key")
    }

    pub fn secrets_key_file(&self) -> PathBuf {
        self.data_dir.join("secrets.key")
    }

    fn old_secret_keys(&self) -> Vec<&str> {
        self.secrets_old_keys
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect()
    }

    /// The keys of the secrets at rest: `secrets_key`, or the one generated into
    /// `data_dir` on first use; with `secrets_old_keys`.
    pub fn secret_keys(&self) -> Result<kiku_storage::SecretKeys, String> {
        let current = match &self.secrets_key {
            Some(key) => key.clone(),
            None => load_or_create(
                &self.secrets_key_file(),
                kiku_storage::SecretKeys::generate_base64,
            )?,
        };
        kiku_storage::SecretKeys::from_base64(&current, &self.old_secret_keys()).map_err(|e| {
            match &self.secrets_key {
                Some(_) => e.to_string(),
                None => format!(
                    "{} does not hold a secrets key: {e}",
                    self.secrets_key_file().display()
                ),
            }
        })
    }
}

/// Where recordings are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioStore {
    Local(PathBuf),
    S3(kiku_blobs::S3Settings),
}

/// Reads the signing key, generating one into `path` on first use (mode 0600).
pub fn load_or_create_key(path: &Path) -> Result<Vec<u8>, String> {
    let text = load_or_create(path, || hex::encode(rand::random::<[u8; 32]>()))?;
    hex::decode(text.trim()).map_err(|_| format!("{} does not hold a hex key", path.display()))
}

/// The text of a key file, written by `make` on first use (mode 0600). Processes starting
/// together on one data folder agree: the file appears whole (written aside, then linked
/// into place) and only the first link wins; the others read the winner's key.
fn load_or_create(path: &Path, make: impl FnOnce() -> String) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let aside = dir.join(format!(
        ".{}.{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
        uuid::Uuid::new_v4().simple()
    ));
    write_private(&aside, &make()).map_err(|e| format!("cannot write {}: {e}", aside.display()))?;
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_explained() {
        assert!(Config::default().validate().is_ok());
        let refused = [
            (
                Config {
                    public_url: Some("ftp://x".into()),
                    ..Config::default()
                },
                "KIKU_PUBLIC_URL",
            ),
            (
                Config {
                    signing_key: Some("abcd".into()),
                    ..Config::default()
                },
                "32 bytes",
            ),
            (
                Config {
                    smtp_host: Some("mail.example".into()),
                    smtp_security: "ssl".into(),
                    ..Config::default()
                },
                "KIKU_SMTP_SECURITY",
            ),
            (
                Config {
                    smtp_host: Some("mail.example".into()),
                    smtp_from: "nobody".into(),
                    ..Config::default()
                },
                "KIKU_SMTP_FROM",
            ),
            (
                Config {
                    analysis_device: "gpu".into(),
                    ..Config::default()
                },
                "KIKU_ANALYSIS_DEVICE",
            ),
            (
                Config {
                    minutes_url: Some("http://127.0.0.1:8081/v1".into()),
                    ..Config::default()
                },
                "KIKU_MINUTES_MODEL",
            ),
            (
                Config {
                    minutes_url: Some("127.0.0.1:8081".into()),
                    minutes_model: Some("m".into()),
                    ..Config::default()
                },
                "KIKU_MINUTES_URL",
            ),
        ];
        for (bad, expected) in refused {
            let why = bad.validate().expect_err("invalid");
            assert!(why.contains(expected), "{why}");
        }
        let gpu = Config {
            analysis_device: "cuda:1".into(),
            ..Config::default()
        };
        assert_eq!(gpu.engine_options().device, ComputeDevice::Cuda(1));
        let minutes = Config {
            minutes_url: Some("http://127.0.0.1:8081/v1".into()),
            minutes_model: Some("smollm2".into()),
            minutes_api_key: Some("sk-secret".into()),
            ..Config::default()
        };
        assert!(minutes.minutes().expect("valid").is_some());
        assert!(!format!("{minutes:?}").contains("sk-secret"));
        assert!(!format!(
            "{:?}",
            Config {
                smtp_password: Some("hunter2".into()),
                ..Config::default()
            }
        )
        .contains("hunter2"));
        assert!(!format!(
            "{:?}",
            Config {
                signing_key: Some("ab".repeat(32)),
                ..Config::default()
            }
        )
        .contains("abab"));
    }

    #[test]
    fn the_audio_store_is_a_folder_or_a_bucket() {
        let store = |setting: Option<&str>| {
            Config {
                data_dir: "/data".into(),
                audio_store: setting.map(str::to_string),
                ..Config::default()
            }
            .audio_store()
        };
        assert_eq!(store(None), Ok(AudioStore::Local("/data/audio".into())));
        assert_eq!(
            store(Some(" ")),
            Ok(AudioStore::Local("/data/audio".into()))
        );
        assert_eq!(
            store(Some("/srv/audio")),
            Ok(AudioStore::Local("/srv/audio".into()))
        );
        let Ok(AudioStore::S3(s3)) = store(Some("s3://kiku-audio/prod")) else {
            panic!("an s3 URL")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("kiku-audio", "prod")
        );
        for bad in ["gs://kiku/x", "s3://", "s3://K", "s3://kiku//x"] {
            let err = store(Some(bad)).expect_err(bad);
            assert!(err.contains("KIKU_AUDIO_STORE"), "{bad}: {err}");
        }
        let config = Config {
            audio_store: Some("s3://kiku".into()),
            s3_endpoint: Some("https://s3.example.com".into()),
            s3_access_key_id: Some("AKID".into()),
            s3_secret_access_key: Some("hunter2".into()),
            s3_virtual_hosted_style_request: Some(true),
            ..Config::default()
        };
        let Ok(AudioStore::S3(s3)) = config.audio_store() else {
            panic!("s3")
        };
        assert_eq!(s3.endpoint.as_deref(), Some("https://s3.example.com"));
        assert_eq!(s3.virtual_hosted_style_request, Some(true));
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{s3:?}").contains("hunter2"));
        let half = Config {
            s3_secret_access_key: None,
            ..config.clone()
        };
        assert!(half.validate().expect_err("half").contains("go together"));
        let forgotten = Config {
            audio_store: None,
            ..config
        };
        assert!(forgotten
            .validate()
            .expect_err("s3 settings, local store")
            .contains("KIKU_AUDIO_STORE"));
    }

    #[test]
    fn key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("k");
        let a = load_or_create_key(&path).expect("create");
        let b = load_or_create_key(&path).expect("reuse");
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn processes_starting_together_agree_on_one_generated_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let ids: Vec<String> = std::thread::scope(|s| {
            let starts: Vec<_> = (0..8)
                .map(|_| s.spawn(|| config.secret_keys().expect("keys").current_id().to_string()))
                .collect();
            starts
                .into_iter()
                .map(|t| t.join().expect("thread"))
                .collect()
        });
        assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
        let file = config.secrets_key_file();
        let mode = std::fs::metadata(&file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Nothing but the key is left behind.
        assert_eq!(std::fs::read_dir(&config.data_dir).expect("dir").count(), 1);
    }

    #[test]
    fn secrets_keys_are_checked_at_start_and_never_shown() {
        let key = kiku_storage::SecretKeys::generate_base64();
        let good = Config {
            secrets_key: Some(key.clone()),
            secrets_old_keys: format!(" {}, ", kiku_storage::SecretKeys::generate_base64()),
            ..Config::default()
        };
        assert!(good.validate().is_ok());
        assert!(!format!("{good:?}").contains(&key));
        for (current, old) in [("short", ""), (key.as_str(), "nope")] {
            let bad = Config {
                secrets_key: Some(current.into()),
                secrets_old_keys: old.into(),
                ..Config::default()
            };
            let err = bad.validate().expect_err("refused");
            assert!(err.contains("KIKU_SECRETS"), "{err}");
        }
        let dir = tempfile::tempdir().expect("dir");
        let garbled = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        std::fs::write(garbled.secrets_key_file(), "not a key").expect("write");
        let err = garbled.secret_keys().expect_err("refused");
        assert!(err.contains("secrets.key"), "{err}");
    }
}
