//! The HTTP client of outgoing webhooks, Slack and CRMs: deliveries (signed, never
//! following redirects, reaching only checked addresses), plain JSON posts (Slack), vendor
//! API calls (CRMs) and the proof-of-ownership challenge at save.

use crate::signing::{signature_header, WebhookSecret};
use crate::ssrf::{CheckedDns, HostResolver, SsrfError, SsrfPolicy, SystemResolver};
use ipnet::IpNet;
use kiku_domain::outgoing_webhook::ExtraHeaders;
use rand::RngCore;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sent as `User-Agent`; receivers may match the `Kiku-Webhook/1` prefix.
pub const USER_AGENT_VALUE: &str = concat!("Kiku-Webhook/1 (", env!("CARGO_PKG_VERSION"), ")");
/// How much of a response is kept in the delivery log.
pub const RESPONSE_HEAD_BYTES: usize = 1024;
/// How much of a vendor API's answer is read (ids, search results, error JSON).
pub const API_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct ClientSettings {
    /// A delivery's whole request (Standard Webhooks: 15 s).
    pub timeout: Duration,
    /// The challenge's whole request (10 s).
    pub challenge_timeout: Duration,
    /// `outgoing_allow_networks`.
    pub allow_networks: Vec<IpNet>,
    pub resolver: Arc<dyn HostResolver>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            challenge_timeout: Duration::from_secs(10),
            allow_networks: Vec::new(),
            resolver: Arc::new(SystemResolver),
        }
    }
}

/// One delivery attempt to make.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub url: &'a str,
    pub headers: &'a ExtraHeaders,
    /// `webhook-id`: the event id, the same on every retry and replay.
    pub event_id: &'a str,
    /// `webhook-timestamp`, unix seconds of this attempt.
    pub timestamp: i64,
    pub body: &'a [u8],
    /// The current secret first, then the previous one while a rotation lasts.
    pub secrets: &'a [&'a WebhookSecret],
}

/// What one attempt gave; endpoint trouble is data here, never an `Err`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// `None` when no response came (refused address, timeout, connection error).
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The first KiB of the response body, lossy UTF-8.
    pub response_head: String,
    /// Why it failed without a status; never holds a secret or a header value.
    pub error: Option<String>,
    /// The receiver's `Retry-After` in seconds, if any.
    pub retry_after: Option<Duration>,
}

/// One call of a vendor's API, for [`WebhookClient::api`].
pub struct ApiCall<'a> {
    pub method: reqwest::Method,
    pub url: &'a str,
    /// Sent as given, marked sensitive.
    pub headers: Vec<(&'static str, String)>,
    /// The content type and the bytes.
    pub body: Option<(&'static str, Vec<u8>)>,
}

/// What a vendor's API answered; trouble is data here, never an `Err`.
#[derive(Debug, Clone)]
pub struct ApiAnswer {
    /// `None` when no response came.
    pub status: Option<u16>,
    pub headers: HeaderMap,
    /// Up to [`API_BODY_BYTES`] of the body, lossy UTF-8.
    pub body: String,
    /// Why no (whole) answer came; never holds the URL or a header value.
    pub error: Option<String>,
    pub latency_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error(transparent)]
    Ssrf(#[from] SsrfError),
    #[error("the challenge request failed: {0}")]
    Request(String),
    #[error("the challenge answer was wrong: status {status}, content type {content_type:?}, body starts {body_head:?} (expected 200, text/plain and exactly the challenge)")]
    Answer {
        status: u16,
        content_type: String,
        body_head: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("the HTTP client could not be built: {0}")]
pub struct ClientBuildError(String);

/// Holds one reqwest client (connection pool) for every endpoint.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    ssrf: SsrfPolicy,
    settings: Arc<ClientSettings>,
}

impl WebhookClient {
    pub fn new(settings: ClientSettings) -> Result<Self, ClientBuildError> {
        let ssrf = SsrfPolicy::new(settings.allow_networks.clone(), settings.resolver.clone());
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedDns(ssrf.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .user_agent(USER_AGENT_VALUE)
            .build()
            .map_err(|e| ClientBuildError(e.to_string()))?;
        Ok(Self {
            http,
            ssrf,
            settings: Arc::new(settings),
        })
    }

    /// The SSRF check at save.
    pub async fn check_url(&self, url: &str) -> Result<(), SsrfError> {
        self.ssrf.check_url(url).await
    }

    /// A request to `url` under the SSRF rule: http(s) only, literal hosts checked here
    /// (they never reach the resolver), every time.
    fn checked(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("url is not valid: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SsrfError::Scheme.to_string());
        }
        self.ssrf
            .check_literal(&parsed)
            .map_err(|e| e.to_string())?;
        Ok(self.http.request(method, parsed))
    }

    fn request(
        &self,
        url: &str,
        headers: &ExtraHeaders,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<reqwest::RequestBuilder, String> {
        let request = self.checked(reqwest::Method::POST, url)?;
        let mut map = HeaderMap::new();
        for (name, value) in headers.iter() {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("header name {name:?} is not valid"))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| format!("the value of header {name} is not valid"))?;
            value.set_sensitive(true);
            map.insert(name, value);
        }
        map.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        map.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        Ok(request.headers(map).timeout(timeout).body(body))
    }

    /// One call of a vendor's API (a CRM): any method, headers marked sensitive (they
    /// carry tokens), an optional body with its content type; up to [`API_BODY_BYTES`] of
    /// the answer kept to be read. Always returns an [`ApiAnswer`].
    pub async fn api(&self, call: ApiCall<'_>) -> ApiAnswer {
        let started = Instant::now();
        let fail = |error: String| ApiAnswer {
            status: None,
            headers: HeaderMap::new(),
            body: String::new(),
            error: Some(error),
            latency_ms: elapsed_ms(started),
        };
        let mut request = match self.checked(call.method, call.url) {
            Ok(r) => r.timeout(self.settings.timeout),
            Err(e) => return fail(e),
        };
        for (name, value) in &call.headers {
            let Ok(mut value) = HeaderValue::from_str(value) else {
                return fail(format!("the value of header {name} is not valid"));
            };
            value.set_sensitive(true);
            request = request.header(*name, value);
        }
        if let Some((content_type, body)) = call.body {
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return fail(describe(&e, self.settings.timeout)),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let (body, error) = match read_up_to(response, API_BODY_BYTES).await {
            Ok(body) => (body, None),
            Err(e) => (String::new(), Some(describe(&e, self.settings.timeout))),
        };
        ApiAnswer {
            status: Some(status),
            headers,
            body,
            error,
            latency_ms: elapsed_ms(started),
        }
    }

    /// POSTs one signed payload. Always returns an [`Attempt`].
    pub async fn deliver(&self, d: Delivery<'_>) -> Attempt {
        let started = Instant::now();
        let failed = |error: String| failed_attempt(started, error);
        let request = match self.request(d.url, d.headers, d.body.to_vec(), self.settings.timeout) {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        let mut signature = match HeaderValue::from_str(&signature_header(
            d.secrets,
            d.event_id,
            d.timestamp,
            d.body,
        )) {
            Ok(v) => v,
            Err(_) => return failed("the signature header could not be built".into()),
        };
        signature.set_sensitive(true);
        let request = request
            .header("webhook-id", d.event_id)
            .header("webhook-timestamp", d.timestamp.to_string())
            .header("webhook-signature", signature);
        self.answer(request, started).await
    }

    /// POSTs `body` as JSON, unsigned (a Slack incoming webhook), under the same SSRF rule
    /// and timeout as deliveries. Always returns an [`Attempt`].
    pub async fn post_json(&self, url: &str, body: Vec<u8>) -> Attempt {
        let started = Instant::now();
        match self.request(url, &ExtraHeaders::default(), body, self.settings.timeout) {
            Ok(request) => self.answer(request, started).await,
            Err(e) => failed_attempt(started, e),
        }
    }

    /// Sends and reads the answer's status, `Retry-After` and first KiB.
    async fn answer(&self, request: reqwest::RequestBuilder, started: Instant) -> Attempt {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return failed_attempt(started, describe(&e, self.settings.timeout)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let (head, error) = match read_head(response).await {
            Ok(head) => (head, None),
            Err(e) => (String::new(), Some(describe(&e, self.settings.timeout))),
        };
        Attempt {
            status: Some(status),
            latency_ms: elapsed_ms(started),
            response_head: head,
            error,
            retry_after,
        }
    }

    /// MiiTel's proof of ownership: POST `{"challenge": "<hex>"}`; the endpoint must answer
    /// 200, `text/plain`, body exactly the hex, within the challenge timeout.
    pub async fn challenge(&self, url: &str, headers: &ExtraHeaders) -> Result<(), ChallengeError> {
        self.ssrf.check_url(url).await?;
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let body = serde_json::json!({ "challenge": token })
            .to_string()
            .into_bytes();
        let timeout = self.settings.challenge_timeout;
        let request = self
            .request(url, headers, body, timeout)
            .map_err(ChallengeError::Request)?;
        let response = request
            .send()
            .await
            .map_err(|e| ChallengeError::Request(describe(&e, timeout)))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let head = read_head(response)
            .await
            .map_err(|e| ChallengeError::Request(describe(&e, timeout)))?;
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if status == 200 && media_type.eq_ignore_ascii_case("text/plain") && head == token {
            return Ok(());
        }
        let body_head: String = head.chars().take(100).collect();
        Err(ChallengeError::Answer {
            status,
            content_type,
            body_head,
        })
    }
}

fn failed_attempt(started: Instant, error: String) -> Attempt {
    Attempt {
        status: None,
        latency_ms: elapsed_ms(started),
        response_head: String::new(),
        error: Some(error),
        retry_after: None,
    }
}

pub(crate) fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Reads at most [`RESPONSE_HEAD_BYTES`] of the body: a receiver cannot make us download
/// a large answer.
async fn read_head(response: reqwest::Response) -> Result<String, reqwest::Error> {
    read_up_to(response, RESPONSE_HEAD_BYTES).await
}

async fn read_up_to(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<String, reqwest::Error> {
    let mut head = Vec::new();
    while head.len() < limit {
        match response.chunk().await? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break,
        }
    }
    head.truncate(limit);
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// The cause without the URL (it may carry a token in its query) and without headers.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    let mut text = if error.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
