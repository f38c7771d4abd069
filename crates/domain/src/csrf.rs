//! Cross-site request forgery tokens for the web UI: an HMAC of the session token under the
//! server's key. A page of the signed-in user carries it in its forms; another site can
//! neither read the page nor compute it, and it changes with every sign-in.

use hmac::Mac;

use crate::upload_signature::SigningKey;

impl SigningKey {
    /// The CSRF token of the session whose token is `session`.
    pub fn csrf_token(&self, session: &str) -> String {
        let mac = self.keyed(format!("kiku-csrf-v1\n{session}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `given` is the session's CSRF token (compared in constant time).
    pub fn verify_csrf(&self, session: &str, given: &str) -> bool {
        let Ok(given) = hex::decode(given) else {
            return false;
        };
        self.keyed(format!("kiku-csrf-v1\n{session}").as_bytes())
            .verify_slice(&given)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_belongs_to_one_session_and_one_key() {
        let key = SigningKey::new(vec![7; 32]).expect("key");
        let other_key = SigningKey::new(vec![8; 32]).expect("key");
        let token = key.csrf_token("session-a");
        assert!(key.verify_csrf("session-a", &token));
        assert!(!key.verify_csrf("session-b", &token));
        assert!(!other_key.verify_csrf("session-a", &token));
        assert!(!key.verify_csrf("session-a", ""));
        assert!(!key.verify_csrf("session-a", "not hex"));
        assert!(!key.verify_csrf("session-a", &token[..10]));
    }
}
