//! The minutes writer: one chat completion request to the language model the operator
//! runs behind the OpenAI-compatible API (llama.cpp's server, Ollama, vLLM or a cloud
//! service). The address is the operator's own choice in the configuration, not a
//! company's, so it is not under the outgoing webhooks' SSRF rule: a model on the same
//! machine is the common case.

use std::time::Duration;

use kiku_domain::analysis::minutes::ChatMessage;
use serde_json::{json, Value};

/// Tokens the model may write; the minutes' format needs a few hundred.
const MAX_TOKENS: u32 = 600;
/// The most of an error answer quoted in a job's cause.
const QUOTED_CHARS: usize = 300;

/// Where and how the minutes are written.
#[derive(Clone, Debug)]
pub struct MinutesSettings {
    /// The API's base, e.g. `http://127.0.0.1:8081/v1`: requests go to
    /// `{url}/chat/completions`.
    pub url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …`.
    pub api_key: Option<String>,
    /// One request, connection to last byte.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum MinutesError {
    #[error("minutes_url must be an http(s) URL such as http://127.0.0.1:8081/v1, got {0:?}")]
    BadUrl(String),
    #[error("the language model's HTTP client cannot be built: {0}")]
    Client(String),
    #[error("the language model at {url} did not answer: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("the language model answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("the language model's answer does not read: {0}")]
    BadAnswer(String),
}

impl MinutesError {
    /// Whether asking again cannot help: the model refused the request itself (a wrong
    /// model name, a key it does not know), not a busy or absent server.
    pub fn is_permanent(&self) -> bool {
        match self {
            MinutesError::Refused { status, .. } => {
                (400..500).contains(status) && *status != 408 && *status != 429
            }
            MinutesError::BadUrl(_) | MinutesError::Client(_) => true,
            MinutesError::Unreachable { .. } | MinutesError::BadAnswer(_) => false,
        }
    }
}

/// Sends minutes requests to one configured endpoint.
#[derive(Clone, Debug)]
pub struct MinutesWriter {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    model: String,
    api_key: Option<String>,
}

impl MinutesWriter {
    pub fn new(settings: &MinutesSettings) -> Result<Self, MinutesError> {
        let base = settings.url.trim().trim_end_matches('/');
        let endpoint = reqwest::Url::parse(&format!("{base}/chat/completions"))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.query().is_none())
            .ok_or_else(|| MinutesError::BadUrl(settings.url.clone()))?;
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .no_proxy()
            .build()
            .map_err(|e| MinutesError::Client(e.to_string()))?;
        Ok(Self {
            client,
            endpoint,
            model: settings.model.clone(),
            api_key: settings.api_key.clone(),
        })
    }

    /// The model's name, as the minutes record it.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The model's answer to `messages` (the text of its first choice).
    pub async fn complete(&self, messages: &[ChatMessage]) -> Result<String, MinutesError> {
        let body = json!({
            "model": self.model,
            "messages": messages
                .iter()
                .map(|m| json!({"role": m.role, "content": m.content}))
                .collect::<Vec<_>>(),
            // The same call gives the same minutes.
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
            "stream": false,
        });
        let mut request = self.client.post(self.endpoint.clone()).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let unreachable = |e: reqwest::Error| MinutesError::Unreachable {
            url: self.endpoint.to_string(),
            cause: e.without_url().to_string(),
        };
        let answer = request.send().await.map_err(unreachable)?;
        let status = answer.status();
        let text = answer.text().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(MinutesError::Refused {
                status: status.as_u16(),
                body: text.chars().take(QUOTED_CHARS).collect(),
            });
        }
        let value: Value =
            serde_json::from_str(&text).map_err(|e| MinutesError::BadAnswer(e.to_string()))?;
        value["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                MinutesError::BadAnswer("no choices[0].message.content in the answer".into())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> MinutesSettings {
        MinutesSettings {
            url: url.into(),
            model: "m".into(),
            api_key: None,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_endpoint_is_the_base_url_plus_chat_completions() {
        for (base, expected) in [
            (
                "http://127.0.0.1:8081/v1",
                "http://127.0.0.1:8081/v1/chat/completions",
            ),
            (
                "https://llm.example.com/v1/ ",
                "https://llm.example.com/v1/chat/completions",
            ),
        ] {
            let writer = MinutesWriter::new(&settings(base)).expect("writer");
            assert_eq!(writer.endpoint.as_str(), expected);
        }
        for bad in ["", "ftp://host/v1", "127.0.0.1:8081", "http://h/v1?x=1"] {
            assert!(
                matches!(
                    MinutesWriter::new(&settings(bad)),
                    Err(MinutesError::BadUrl(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_a_refused_request_is_permanent() {
        let refused = |status| MinutesError::Refused {
            status,
            body: String::new(),
        };
        assert!(refused(400).is_permanent());
        assert!(refused(404).is_permanent());
        assert!(!refused(429).is_permanent());
        assert!(!refused(503).is_permanent());
        assert!(!MinutesError::BadAnswer("x".into()).is_permanent());
    }
}
