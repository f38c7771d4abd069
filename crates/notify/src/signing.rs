//! Standard Webhooks v1 signatures: HMAC-SHA256 of `id.timestamp.body` with a `whsec_`
//! secret, sent as `v1,<base64>`; several space-separated during a secret rotation.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;

const PREFIX: &str = "whsec_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is \"whsec_\" followed by the standard base64 of 24 to 64 bytes")]
pub struct InvalidSecret;

/// An endpoint's signing key. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// 24 random bytes, as Svix and the spec's examples use.
    pub fn generate() -> Self {
        let mut key = vec![0u8; 24];
        rand::thread_rng().fill_bytes(&mut key);
        Self(key)
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidSecret> {
        let encoded = raw.strip_prefix(PREFIX).ok_or(InvalidSecret)?;
        let key = STANDARD.decode(encoded).map_err(|_| InvalidSecret)?;
        if !(24..=64).contains(&key.len()) {
            return Err(InvalidSecret);
        }
        Ok(Self(key))
    }

    /// The `whsec_…` text: stored, and shown to the admin once.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // new_from_slice accepts any key length for HMAC; the error arm cannot happen.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` value: one signature per secret (the current one first, then the
/// previous one while a rotation lasts), space-separated.
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const BODY: &[u8] = br#"{"type":"call_analysis_completed","data":{"id":"abc"}}"#;

    #[test]
    fn the_integration_notes_vector() {
        let secret = WebhookSecret::parse(SECRET).expect("valid");
        assert_eq!(
            secret.sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1_674_087_231, BODY),
            "v1,npYjooMvSz8jIObL4y18qNAYjNONzMHlLTt5jp5kRqw="
        );
        assert_eq!(secret.reveal(), SECRET);
    }

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let a = WebhookSecret::generate();
        let b = WebhookSecret::generate();
        assert_ne!(a, b);
        assert_eq!(a.reveal().len(), "whsec_".len() + 32);
        assert_eq!(WebhookSecret::parse(&a.reveal()).expect("valid"), a);
    }

    #[test]
    fn bad_secrets_are_refused() {
        for bad in [
            "",
            "MDEy",
            "whsec_",
            "whsec_not base64!",
            "whsec_MDEy",
            "sk_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ] {
            assert_eq!(WebhookSecret::parse(bad), Err(InvalidSecret), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let secret = WebhookSecret::parse(SECRET).expect("valid");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("MDEy") && shown.contains("redacted"));
    }

    #[test]
    fn rotation_sends_both_signatures() {
        let new = WebhookSecret::generate();
        let old = WebhookSecret::parse(SECRET).expect("valid");
        let header = signature_header(&[&new, &old], "msg_1", 1, BODY);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            vec![new.sign("msg_1", 1, BODY), old.sign("msg_1", 1, BODY)]
        );
    }
}
