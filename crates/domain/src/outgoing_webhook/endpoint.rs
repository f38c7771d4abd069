//! An outgoing webhook endpoint's settings, each a newtype built only by its checked
//! constructor: name, URL, additional headers, additional payload and events.

use serde_json::{Map, Value};

use crate::EventKind;
use std::fmt;

/// Why endpoint settings were refused; the message is shown to the admin as is and never
/// contains a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEndpoint {
    #[error("name must be 1 to 100 characters")]
    Name,
    #[error("url must be an http or https URL with a host: {0}")]
    Url(String),
    #[error("headers must be a JSON object of string values")]
    HeadersShape,
    #[error("header name {0:?} is not a valid HTTP header name")]
    HeaderName(String),
    #[error("header {0:?} cannot be set (Kiku sets it)")]
    HeaderReserved(String),
    #[error("the value of header {0:?} is not a valid HTTP header value")]
    HeaderValue(String),
    #[error("payload must be a JSON object")]
    PayloadShape,
    #[error("payload key {0:?} is reserved for Kiku's own keys")]
    PayloadReserved(String),
    #[error("events must be a non-empty list of call_analysis_completed, call_analysis_failed, call_analysis_rescored")]
    Events,
}

/// 1–100 characters (not bytes: names may be Japanese).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointName(String);

impl EndpointName {
    pub fn parse(raw: &str) -> Result<Self, InvalidEndpoint> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > 100 {
            return Err(InvalidEndpoint::Name);
        }
        Ok(Self(name.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An http(s) URL with a host. Whether the host may be reached is the SSRF rule's business
/// (in `kiku-notify`), checked at save and at every delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(url::Url);

impl EndpointUrl {
    pub fn parse(raw: &str) -> Result<Self, InvalidEndpoint> {
        let url = url::Url::parse(raw.trim()).map_err(|e| InvalidEndpoint::Url(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidEndpoint::Url(format!(
                "scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidEndpoint::Url("no host".into()));
        }
        // Credentials in the URL would end up in lists and logs; headers are the place.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidEndpoint::Url(
                "user and password are not allowed in the URL; use headers".into(),
            ));
        }
        Ok(Self(url))
    }
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
    pub fn url(&self) -> &url::Url {
        &self.0
    }
}

/// Headers Kiku always sets itself, refused case-insensitively.
fn is_reserved_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "user-agent"
        || lower == "content-type"
        || lower == "content-length"
        || lower == "host"
        || lower.starts_with("webhook-")
}

/// RFC 9110 `token`.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Visible ASCII, space and tab; no CR/LF (header injection) and no other controls.
fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// The endpoint's additional headers, in the order given. `Debug` hides the values: they
/// are often credentials.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ExtraHeaders(Vec<(String, String)>);

impl ExtraHeaders {
    pub fn parse(value: &Value) -> Result<Self, InvalidEndpoint> {
        let Value::Object(map) = value else {
            return Err(InvalidEndpoint::HeadersShape);
        };
        let mut headers = Vec::with_capacity(map.len());
        for (name, value) in map {
            let Value::String(value) = value else {
                return Err(InvalidEndpoint::HeadersShape);
            };
            if !is_header_name(name) {
                return Err(InvalidEndpoint::HeaderName(name.clone()));
            }
            if is_reserved_header(name) {
                return Err(InvalidEndpoint::HeaderReserved(name.clone()));
            }
            if !is_header_value(value) {
                return Err(InvalidEndpoint::HeaderValue(name.clone()));
            }
            headers.push((name.clone(), value.clone()));
        }
        Ok(Self(headers))
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|(n, _)| n.clone()).collect()
    }
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(n, v)| (n.clone(), Value::String(v.clone())))
                .collect(),
        )
    }
}

impl fmt::Debug for ExtraHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, _)| (n, "<redacted>")))
            .finish()
    }
}

/// Keys of the payload that Kiku writes; additional payload cannot replace them.
pub const RESERVED_PAYLOAD_KEYS: [&str; 5] = [
    "call",
    "event_id",
    "event_type",
    "version",
    "previous_version",
];

/// A JSON object merged at the top level of every payload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExtraPayload(Map<String, Value>);

impl ExtraPayload {
    pub fn parse(value: &Value) -> Result<Self, InvalidEndpoint> {
        let Value::Object(map) = value else {
            return Err(InvalidEndpoint::PayloadShape);
        };
        if let Some(key) = map
            .keys()
            .find(|k| RESERVED_PAYLOAD_KEYS.contains(&k.as_str()))
        {
            return Err(InvalidEndpoint::PayloadReserved(key.clone()));
        }
        Ok(Self(map.clone()))
    }
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// A non-empty set of events, sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvents(Vec<EventKind>);

impl Default for OutgoingEvents {
    /// Re-scoring can touch every past call, so it is only sent to those who ask for it.
    fn default() -> Self {
        Self(vec![
            EventKind::CallAnalysisCompleted,
            EventKind::CallAnalysisFailed,
        ])
    }
}

impl OutgoingEvents {
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, InvalidEndpoint> {
        let mut events = raw
            .iter()
            .map(|s| EventKind::parse(s.as_ref()).ok_or(InvalidEndpoint::Events))
            .collect::<Result<Vec<_>, _>>()?;
        events.sort();
        events.dedup();
        if events.is_empty() {
            return Err(InvalidEndpoint::Events);
        }
        Ok(Self(events))
    }
    pub fn contains(&self, event: EventKind) -> bool {
        self.0.contains(&event)
    }
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.as_str()).collect()
    }
}

/// Everything an admin sets on an endpoint, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointInput {
    pub name: EndpointName,
    pub url: EndpointUrl,
    pub headers: ExtraHeaders,
    pub payload: ExtraPayload,
    pub exclude_phrases: bool,
    pub exclude_keywords: bool,
    pub enabled: bool,
    pub events: OutgoingEvents,
}
