//! The Incoming Webhook URL's secret is kept only as its SHA-256: whoever reads the
//! database (or a backup) cannot post calls with it. A plain hash is enough (no salt, no
//! slow KDF) because the secret is 256 random bits, not a password; the URL can therefore
//! only be shown when it is minted.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "sha256:";

/// The stored form of `secret`: `sha256:<64 hex digits>`.
pub fn hash(secret: &str) -> String {
    format!("{PREFIX}{}", hex::encode(Sha256::digest(secret.as_bytes())))
}

/// Whether a stored value is already a hash (rows from before hold the secret itself).
pub fn is_hash(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Whether `presented` is the secret `stored_hash` was made from; the comparison takes the
/// same time wherever the digests differ.
pub fn matches(stored_hash: &str, presented: &str) -> bool {
    bool::from(hash(presented).as_bytes().ct_eq(stored_hash.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secret_itself_matches_its_hash() {
        let secret = "4f".repeat(32);
        let stored = hash(&secret);
        assert!(is_hash(&stored) && !is_hash(&secret));
        assert!(!stored.contains(&secret));
        assert!(matches(&stored, &secret));
        for wrong in [
            "",
            &secret[1..],
            &format!("{secret}0"),
            &"4f".repeat(31),
            &stored,
        ] {
            assert!(!matches(&stored, wrong), "{wrong}");
        }
        // A row still holding the plain secret never matches through the hash check.
        assert!(!matches(&secret, &secret));
    }
}
