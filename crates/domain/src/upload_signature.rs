//! Self-authenticating upload URLs: an HMAC over the call id and the expiry, like an S3
//! pre-signed URL. The content type is deliberately not signed.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::ids::CallId;

type HmacSha256 = Hmac<Sha256>;

/// How long an upload URL stays valid (the seed: three hours).
pub const UPLOAD_URL_LIFETIME: time::Duration = time::Duration::hours(3);

/// The server's signing key. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// Why an upload URL was refused. Callers answer 403 for all of them alike.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature does not match")]
    BadSignature,
    #[error("the upload URL has expired")]
    Expired,
}

impl SigningKey {
    /// At least 32 bytes; shorter keys are refused so a typo cannot weaken every URL.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < 32 {
            return Err(format!(
                "signing key must be at least 32 bytes, got {}",
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }

    /// Hex signature for an upload of `call` that expires at `expires_unix` (seconds).
    pub fn sign(&self, call: CallId, expires_unix: i64) -> String {
        hex::encode(self.mac(call, expires_unix).finalize().into_bytes())
    }

    /// Checks the signature in constant time, then the expiry against `now`.
    /// The URL is valid up to and including the expiry second.
    pub fn verify(
        &self,
        call: CallId,
        expires_unix: i64,
        signature_hex: &str,
        now: OffsetDateTime,
    ) -> Result<(), SignatureError> {
        let given = hex::decode(signature_hex).map_err(|_| SignatureError::BadSignature)?;
        self.mac(call, expires_unix)
            .verify_slice(&given)
            .map_err(|_| SignatureError::BadSignature)?;
        if now.unix_timestamp() > expires_unix {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }

    fn mac(&self, call: CallId, expires_unix: i64) -> HmacSha256 {
        self.keyed(format!("kiku-upload-v1\n{call}\n{expires_unix}").as_bytes())
    }

    /// An HMAC of `message` under this key (each use prefixes its own label).
    pub(crate) fn keyed(&self, message: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail for a constructed key.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(message);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> SigningKey {
        SigningKey::new(vec![7; 32]).expect("32 bytes")
    }

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).expect("valid time")
    }

    #[test]
    fn valid_until_the_expiry_second() {
        let call = CallId::new();
        let sig = key().sign(call, 1_000);
        assert_eq!(key().verify(call, 1_000, &sig, at(999)), Ok(()));
        assert_eq!(key().verify(call, 1_000, &sig, at(1_000)), Ok(()));
        assert_eq!(
            key().verify(call, 1_000, &sig, at(1_001)),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(SigningKey::new(vec![1; 31]).is_err());
        assert!(!format!("{:?}", key()).contains('7'));
    }

    proptest! {
        #[test]
        fn any_tampering_is_caught(expires in 0i64..4_000_000_000, delta in 1i64..1000, flip in 0usize..64) {
            let call = CallId::new();
            let sig = key().sign(call, expires);
            // Moving the expiry, changing the call, or flipping one hex digit all fail.
            prop_assert_eq!(key().verify(call, expires + delta, &sig, at(0)), Err(SignatureError::BadSignature));
            prop_assert_eq!(key().verify(CallId::new(), expires, &sig, at(0)), Err(SignatureError::BadSignature));
            let mut chars: Vec<char> = sig.chars().collect();
            chars[flip] = if chars[flip] == '0' { '1' } else { '0' };
            let forged: String = chars.into_iter().collect();
            prop_assert_eq!(key().verify(call, expires, &forged, at(0)), Err(SignatureError::BadSignature));
            let other = SigningKey::new(vec![8; 32]).expect("32 bytes");
            prop_assert_eq!(other.verify(call, expires, &sig, at(0)), Err(SignatureError::BadSignature));
        }
    }
}
