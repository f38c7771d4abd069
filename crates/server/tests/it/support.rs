//! Starts a server per backend with a manual clock, and helpers to drive it.

use std::sync::Arc;

use kiku::app::abuse::AbuseLimits;
use kiku::app::accounts::{self, UserInput};
use kiku::app::limits::RequestLimits;
use kiku::app::notifications::Notifiers;
use kiku::app::sign_in_throttle::{SignInThrottle, ThrottleSettings};
use kiku::app::{webhook_url, App};
use kiku::clock::{Clock, ManualClock};
use kiku::http::ServeOptions;
use kiku_blobs::LocalBlobs;
use kiku_domain::sign_in_throttle::ThrottleRule;
use kiku_domain::upload_signature::SigningKey;
use kiku_domain::JobKind;
use kiku_notify::{ClientSettings, Crms, Mailer, SlackSender, StaticResolver, WebhookClient};
use kiku_storage::test_support::{secret_keys, test_databases, TestDatabase, TEST_SECRETS_KEY};
use kiku_storage::{Job, SecretKeys, SqlStore};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::net::TcpListener;

pub const MAX_UPLOAD: u64 = 256 * 1024;
pub const MAX_REQUEST: usize = 256 * 1024;
/// Sign-in throttling in tests: small limits, so reaching them takes few Argon2 runs.
pub const SIGN_IN_ACCOUNT_FAILURES: u32 = 3;
pub const SIGN_IN_ADDRESS_FAILURES: u32 = 6;
pub const SIGN_IN_WINDOW: std::time::Duration = std::time::Duration::from_secs(900);

pub struct TestServer {
    pub backend: &'static str,
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub app: Arc<App>,
    pub http: reqwest::Client,
    pub audio_dir: std::path::PathBuf,
    _db: Option<TestDatabase>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A company with a signed-in admin and a webhook URL.
pub struct Tenant {
    pub company_id: String,
    pub admin_token: String,
    pub webhook: String,
}

/// What a test server sends with: the outgoing webhook client's settings, the mailer, the
/// abuse limits and the minutes' language model.
type Senders = (
    ClientSettings,
    Option<Mailer>,
    AbuseLimits,
    Option<kiku_notify::MinutesWriter>,
);

/// One started server per available backend.
pub async fn servers() -> Vec<TestServer> {
    let mut out = Vec::new();
    for db in test_databases().await {
        out.push(start(db, None).await);
    }
    out
}

/// Like [`servers`], handing out URLs under `public_url` (e.g. an https one).
pub async fn servers_with_public_url(public_url: &str) -> Vec<TestServer> {
    let mut out = Vec::new();
    for db in test_databases().await {
        out.push(start(db, Some(public_url)).await);
    }
    out
}

/// Like [`servers`], with these outgoing webhook client settings (e.g. no allow list).
pub async fn servers_with_outgoing(settings: fn() -> ClientSettings) -> Vec<TestServer> {
    servers_sending(|| (settings(), None, Default::default(), None)).await
}

/// Like [`servers`], sending e-mail with `mailer`.
pub async fn servers_with_mailer(mailer: Mailer) -> Vec<TestServer> {
    servers_sending(|| {
        let mailer = Some(mailer.clone());
        (test_outgoing_settings(), mailer, Default::default(), None)
    })
    .await
}

/// Like [`servers`], writing minutes with `minutes`.
pub async fn servers_with_minutes(minutes: kiku_notify::MinutesWriter) -> Vec<TestServer> {
    servers_sending(|| {
        let minutes = Some(minutes.clone());
        (test_outgoing_settings(), None, Default::default(), minutes)
    })
    .await
}

/// One server per available backend, each sending with what `senders` makes.
async fn servers_sending(senders: impl Fn() -> Senders) -> Vec<TestServer> {
    let mut out = Vec::new();
    for db in test_databases().await {
        let dir = tempfile::tempdir().expect("temp dir");
        let audio_dir = dir.path().join("audio");
        let (backend, url) = (db.backend, db.url.clone());
        out.push(start_on_with(backend, &url, audio_dir, Some(db), dir, None, senders()).await);
    }
    out
}

/// The outgoing webhook client of test servers: 127.0.0.0/8 allowed, short timeouts, and a
/// resolver that knows only `localhost` (no test sends a packet outside 127.0.0.0/8).
pub fn test_outgoing_settings() -> ClientSettings {
    let loopback: std::net::IpAddr = [127, 0, 0, 1].into();
    ClientSettings {
        timeout: std::time::Duration::from_secs(2),
        challenge_timeout: std::time::Duration::from_secs(1),
        allow_networks: kiku_notify::parse_allow_networks("127.0.0.0/8").expect("networks"),
        resolver: Arc::new(StaticResolver::default().with("localhost", &[loopback])),
    }
}

async fn start(db: TestDatabase, public_url: Option<&str>) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let audio_dir = dir.path().join("audio");
    let (backend, url) = (db.backend, db.url.clone());
    start_on(backend, &url, audio_dir, Some(db), dir, public_url).await
}

/// A server on the database at `url` with recordings in `audio_dir`.
pub async fn start_on(
    backend: &'static str,
    url: &str,
    audio_dir: std::path::PathBuf,
    db: Option<TestDatabase>,
    dir: tempfile::TempDir,
    public_url: Option<&str>,
) -> TestServer {
    start_on_with(
        backend,
        url,
        audio_dir,
        db,
        dir,
        public_url,
        (test_outgoing_settings(), None, Default::default(), None),
    )
    .await
}

async fn start_on_with(
    backend: &'static str,
    url: &str,
    audio_dir: std::path::PathBuf,
    db: Option<TestDatabase>,
    dir: tempfile::TempDir,
    public_url: Option<&str>,
    senders: Senders,
) -> TestServer {
    start_keyed(
        backend,
        url,
        audio_dir,
        db,
        dir,
        public_url,
        senders,
        secret_keys(),
    )
    .await
}

/// Another server on `s`'s database, its secrets opened with `keys` (as after a restart
/// with a rotated `secrets_key`).
pub async fn beside_with_keys(s: &TestServer, keys: SecretKeys) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = s.database_url().expect("database").to_string();
    let senders = (test_outgoing_settings(), None, Default::default(), None);
    start_keyed(
        s.backend,
        &url,
        s.audio_dir.clone(),
        None,
        dir,
        None,
        senders,
        keys,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn start_keyed(
    backend: &'static str,
    url: &str,
    audio_dir: std::path::PathBuf,
    db: Option<TestDatabase>,
    dir: tempfile::TempDir,
    public_url: Option<&str>,
    (outgoing, mailer, abuse, minutes): Senders,
    keys: SecretKeys,
) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("t"),
    ));
    let store = SqlStore::connect(url, keys).await.expect("database");
    let client = WebhookClient::new(outgoing).expect("webhook client");
    let app = Arc::new(App {
        store: Arc::new(store),
        blobs: Arc::new(LocalBlobs::open(&audio_dir).expect("blobs")),
        clock: clock.clone() as Arc<dyn Clock>,
        signing_key: SigningKey::new(rand_key()).expect("key"),
        public_url: public_url.map_or_else(|| base.clone(), str::to_string),
        limits: RequestLimits::new(MAX_UPLOAD, MAX_REQUEST, MAX_REQUEST),
        uploads_in_flight: Default::default(),
        min_free_disk_bytes: 0,
        session_ttl: time::Duration::hours(1),
        webhook_secrets: Default::default(),
        sign_in_throttle: SignInThrottle::new(ThrottleSettings {
            account: ThrottleRule {
                max_failures: SIGN_IN_ACCOUNT_FAILURES,
                window: SIGN_IN_WINDOW,
            },
            address: ThrottleRule {
                max_failures: SIGN_IN_ADDRESS_FAILURES,
                window: SIGN_IN_WINDOW,
            },
            max_tracked: 1_000,
        }),
        abuse,
        abuse_state: Default::default(),
        jobs_queued: Default::default(),
        outgoing_webhooks: client.clone(),
        notifiers: Notifiers {
            slack: SlackSender::new(client.clone()),
            mailer,
            crm: Crms::new(client),
        },
        metrics: Default::default(),
        // Loopback: the tests' clients are their own "proxy", so X-Forwarded-For is honoured.
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("net")],
        sentiment: Arc::new(test_sentiment()),
        minutes,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kiku::serve::serve_on(
        app.clone(),
        listener,
        ServeOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    TestServer {
        backend,
        base,
        clock,
        app,
        http: reqwest::Client::new(),
        audio_dir,
        _db: db,
        _dir: dir,
        _stop: stop,
    }
}

fn rand_key() -> Vec<u8> {
    (0..32).map(|i| (i * 37 + 11) as u8).collect()
}

impl TestServer {
    /// A new company with admin `admin@<name>.example`, signed in, with a webhook URL.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let admin = UserInput {
            name: "Admin".into(),
            email: format!("admin@{name}.example"),
            password: Some("correct horse".into()),
            admin: true,
            use_incoming_webhook: false,
        };
        let (company, _) = accounts::create_company(&self.app, name, admin)
            .await
            .expect("company");
        let token = self
            .login(&format!("admin@{name}.example"), "correct horse")
            .await;
        let webhook = webhook_url::create(&self.app, company.id)
            .await
            .expect("url")
            .url
            .expect("shown when created");
        Tenant {
            company_id: company.id.to_string(),
            admin_token: token,
            webhook,
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self
            .send(
                self.http
                    .post(self.url("/api/v1/auth/login"))
                    .json(&json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// A user of `tenant` created through the API; returns its ID.
    pub async fn user(&self, tenant: &Tenant, email: &str, permitted: bool) -> String {
        let req = self.http.post(self.url("/api/v1/users")).bearer_auth(&tenant.admin_token).json(&json!({
            "name": "Agent", "email": email, "password": "agent password", "use_incoming_webhook": permitted
        }));
        let (status, body) = self.send(req).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["user_id"].as_str().expect("id").to_string()
    }

    /// The server's database, for the CLI run beside it.
    pub fn database_url(&self) -> Option<&str> {
        self._db.as_ref().map(|db| db.url.as_str())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends and returns status and JSON body; any non-JSON body fails the test.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = req.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        if text.is_empty() {
            return (status, Value::Null);
        }
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{} non-JSON body for {status}: {text}", self.backend));
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}: {body}",
            self.backend
        );
        (status, body)
    }

    pub async fn post_calls(&self, webhook: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.http.post(webhook).json(body)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    /// Uploads a recording to `upload` and claims the analysis job it queued, as a worker
    /// would.
    pub async fn upload_and_claim(&self, upload: &str) -> Job {
        self.upload_with_and_claim(upload, vec![1u8; 64]).await
    }

    /// [`Self::upload_and_claim`] with `recording` as the file.
    pub async fn upload_with_and_claim(&self, upload: &str, recording: Vec<u8>) -> Job {
        let (status, body) = self.send(self.http.put(upload).body(recording)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let now = self.clock.now();
        self.app
            .store
            .claim_job(
                &[JobKind::AnalyseCall],
                "test",
                now + time::Duration::minutes(5),
                now,
            )
            .await
            .expect("claim")
            .expect("the call's analysis job")
    }

    /// Posts one call and returns its `(call_id, upload url)`.
    pub async fn one_call(&self, tenant: &Tenant, id: &str) -> (String, String) {
        let (status, body) = self
            .post_calls(
                &tenant.webhook,
                &json!({"call_data": [call(id, "AUTOMATIC_RECORD", false, None, None)]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let entry = &body["audio_upload_urls"][0][id];
        (
            entry["call_id"].as_str().expect("id").into(),
            entry["url"].as_str().expect("url").into(),
        )
    }
}

/// A valid call of `event`, with optional user IDs on each side.
pub fn call(id: &str, event: &str, answered: bool, from: Option<&str>, to: Option<&str>) -> Value {
    json!({
        "call_data_id": id,
        "audio_file_type": "wav",
        "event_type": event,
        "groupname": null,
        "queue_name": null,
        "call_starts_at": "2026-01-05T10:00:00+09:00",
        "call_answered_at": if answered { json!("2026-01-05T10:00:07+0900") } else { Value::Null },
        "call_ends_at": "2026-01-05T10:04:00+09:00",
        "circuit_number": "0311112222",
        "audio_channel_type": "STEREO",
        "participants": [
            {"type": "FROM", "stereo_lr": "left", "miitel_user_id": from, "number": "0311112222", "name": "Suzuki"},
            {"type": "TO", "stereo_lr": "right", "miitel_user_id": to, "number": "+81322223333", "name": null}
        ],
        "tags": [{"value": "first call"}]
    })
}

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/miitel/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture json")
}

/// Runs the real `kiku` binary with `args` and `env`; whether it succeeded, and the one
/// JSON object it printed.
pub fn run_kiku(args: &[&str], env: &[(&str, String)]) -> (bool, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiku"))
        .args(args)
        .env("KIKU_SECRETS_KEY", TEST_SECRETS_KEY)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run kiku");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("{args:?} printed non-JSON: {stdout}"));
    (out.status.success(), json)
}

/// `kiku company create` (company "Acme", admin `boss@acme.example`) with `env`; the
/// printed `{company_id, admin_user_id}`.
pub fn cli_company(env: &[(&str, String)]) -> Value {
    let (ok, company) = run_kiku(
        &[
            "company",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            "boss@acme.example",
            "--admin-password",
            "long enough",
        ],
        env,
    );
    assert!(ok, "{company}");
    company
}

/// Like [`servers`], with `abuse` as the abuse limits.
pub async fn servers_with_abuse_limits(abuse: AbuseLimits) -> Vec<TestServer> {
    servers_sending(|| (test_outgoing_settings(), None, abuse.clone(), None)).await
}

/// Sends `req`; the status, `Retry-After` in seconds and the JSON body (`Null` if none).
pub async fn send_for_retry(req: reqwest::RequestBuilder) -> (StatusCode, Option<u64>, Value) {
    let response = req.send().await.expect("request");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

/// The sentiment lexicons the test servers score with: the real ones when
/// `KIKU_TEST_SENTIMENT_DIR` is set (`scripts/test` installs them), otherwise a few lines of
/// VADER's lexicon as it ships, so reports still carry sentiment in the vendor's shape.
pub(crate) fn test_sentiment() -> kiku_domain::analysis::Lexicons {
    use kiku_domain::analysis::sentiment::EnglishLexicon;
    if let Some(dir) = std::env::var_os("KIKU_TEST_SENTIMENT_DIR") {
        let (lexicons, problems) = kiku_analysis::sentiment::load_lexicons(dir.as_ref());
        assert!(problems.is_empty(), "{problems:?}");
        return lexicons;
    }
    let vader = "angry\t-2.3\t0.64031\t[]\nhappy\t2.7\t0.64031\t[]\nthanks\t1.9\t0.53852\t[]\n";
    kiku_domain::analysis::Lexicons {
        english: Some(EnglishLexicon::parse(vader).expect("lexicon")),
        japanese: None,
    }
}
