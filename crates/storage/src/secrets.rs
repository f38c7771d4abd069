//! Secrets at rest: the values Kiku must read back (outgoing webhook signing secrets, Slack
//! webhook URLs, CRM credentials) are stored encrypted with AES-256-GCM under a key from
//! the configuration. Each value gets a random nonce, and where it lives (column, company,
//! row) is bound as associated data, so a ciphertext copied to another row or column does
//! not decrypt. The stored form names its key, so old keys stay readable during a rotation:
//! `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use kiku_domain::CompanyId;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// Bytes of a key.
pub const KEY_LEN: usize = 32;
const PREFIX: &str = "enc:v1:";

/// Why a key or a stored secret was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("{0} must be {KEY_LEN} bytes written as base64")]
    BadKey(String),
    #[error(
        "{slot} is encrypted with key {key_id}, which is neither secrets_key (key {current}) \
         nor one of secrets_old_keys; configure the key it was written with"
    )]
    UnknownKey {
        slot: String,
        key_id: String,
        current: String,
    },
    #[error(
        "{slot} does not decrypt with its key {key_id}: it was altered, or copied from another row"
    )]
    Undecryptable { slot: String, key_id: String },
    #[error("{0} is not in the encrypted form Kiku writes")]
    Malformed(String),
}

/// Where a secret is stored; bound to its ciphertext.
#[derive(Clone, Copy, Debug)]
pub struct Slot<'a> {
    /// `table.column`.
    pub column: &'static str,
    pub company: CompanyId,
    /// The row's id.
    pub row: &'a str,
}

impl std::fmt::Display for Slot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of row {}", self.column, self.row)
    }
}

impl Slot<'_> {
    fn associated_data(&self) -> String {
        format!("kiku\0{}\0{}\0{}", self.column, self.company, self.row)
    }
}

struct Key {
    id: String,
    aead: LessSafeKey,
}

impl Key {
    fn new(bytes: &[u8]) -> Option<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).ok()?;
        // A short public name for the key: the stored form says which key to open it with.
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            &[b"kiku secrets key\0", bytes].concat(),
        );
        let id = digest.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(Self {
            id,
            aead: LessSafeKey::new(unbound),
        })
    }
}

/// The current key (every write) and the old ones (still read). Its `Debug` shows key ids
/// only.
#[derive(Clone)]
pub struct SecretKeys {
    current: Arc<Key>,
    old: Arc<[Key]>,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKeys")
            .field("current", &self.current.id)
            .field("old", &self.old.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

/// What a stored value is.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored<'a> {
    /// Written before secrets were encrypted.
    PlainText,
    /// Encrypted under the key with this id.
    Encrypted { key_id: &'a str },
}

/// Whether `stored` is plain text or encrypted (and under which key).
pub fn stored_form(stored: &str) -> Stored<'_> {
    match stored
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once(':'))
    {
        Some((key_id, _)) => Stored::Encrypted { key_id },
        None => Stored::PlainText,
    }
}

impl SecretKeys {
    /// Keys written as base64 (`secrets_key`, `secrets_old_keys`).
    pub fn from_base64(current: &str, old: &[&str]) -> Result<Self, SecretError> {
        let decode = |text: &str, name: &str| -> Result<Key, SecretError> {
            STANDARD
                .decode(text.trim())
                .ok()
                .filter(|b| b.len() == KEY_LEN)
                .and_then(|b| Key::new(&b))
                .ok_or_else(|| SecretError::BadKey(name.to_string()))
        };
        let current = decode(current, "secrets_key (KIKU_SECRETS_KEY)")?;
        let old = old
            .iter()
            .enumerate()
            .map(|(i, k)| {
                decode(
                    k,
                    &format!("secrets_old_keys (KIKU_SECRETS_OLD_KEYS) #{}", i + 1),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            current: Arc::new(current),
            old: old.into(),
        })
    }

    /// A new random key as base64, for the generated key file.
    pub fn generate_base64() -> String {
        let mut key = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut key)
            .expect("the operating system's random source failed");
        STANDARD.encode(key)
    }

    /// The id of the key every new value is encrypted with.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    pub fn seal(&self, plain: &str, slot: Slot<'_>) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the operating system's random source failed");
        let mut data = plain.as_bytes().to_vec();
        self.current
            .aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(slot.associated_data()),
                &mut data,
            )
            .expect("AES-GCM takes any length a secret has");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!(
            "{PREFIX}{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(out)
        )
    }

    pub fn open(&self, stored: &str, slot: Slot<'_>) -> Result<String, SecretError> {
        let malformed = || SecretError::Malformed(slot.to_string());
        let (key_id, body) = stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .ok_or_else(malformed)?;
        let key = std::iter::once(&*self.current)
            .chain(self.old.iter())
            .find(|k| k.id == key_id)
            .ok_or_else(|| SecretError::UnknownKey {
                slot: slot.to_string(),
                key_id: key_id.to_string(),
                current: self.current.id.clone(),
            })?;
        let mut bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| malformed())?;
        if bytes.len() < NONCE_LEN {
            return Err(malformed());
        }
        let mut data = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| malformed())?;
        let plain = key
            .aead
            .open_in_place(nonce, Aad::from(slot.associated_data()), &mut data)
            .map_err(|_| SecretError::Undecryptable {
                slot: slot.to_string(),
                key_id: key_id.to_string(),
            })?;
        String::from_utf8(plain.to_vec()).map_err(|_| malformed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: &str, old: &[&str]) -> SecretKeys {
        SecretKeys::from_base64(current, old).expect("keys")
    }

    fn slot<'a>(column: &'static str, company: CompanyId, row: &'a str) -> Slot<'a> {
        Slot {
            column,
            company,
            row,
        }
    }

    #[test]
    fn a_secret_round_trips_and_is_not_readable_in_its_stored_form() {
        let k = keys(&SecretKeys::generate_base64(), &[]);
        let company = CompanyId::new();
        let at = slot("slack_rules.webhook_url", company, "r1");
        let plain = "https://hooks.slack.example/services/T0/B0/secretpart";
        let stored = k.seal(plain, at);
        assert!(!stored.contains("secretpart"));
        assert_eq!(
            stored_form(&stored),
            Stored::Encrypted {
                key_id: k.current_id()
            }
        );
        assert_eq!(stored_form(plain), Stored::PlainText);
        assert_eq!(k.open(&stored, at).expect("opens"), plain);
        // A fresh nonce each time: the same secret twice is stored differently.
        assert_ne!(k.seal(plain, at), stored);
        assert_eq!(k.open(&k.seal("", at), at).expect("empty"), "");
    }

    #[test]
    fn another_key_is_refused_by_name_and_a_lookalike_key_does_not_open() {
        let a = keys(&SecretKeys::generate_base64(), &[]);
        let b = keys(&SecretKeys::generate_base64(), &[]);
        let at = slot("outgoing_webhooks.secret", CompanyId::new(), "e1");
        let stored = a.seal("whsec_x", at);
        assert!(
            matches!(b.open(&stored, at), Err(SecretError::UnknownKey { key_id, .. }) if key_id == a.current_id())
        );
        // A wrong key that claims the right id (a forged prefix) fails authentication.
        let forged = stored.replacen(a.current_id(), b.current_id(), 1);
        assert!(matches!(
            b.open(&forged, at),
            Err(SecretError::Undecryptable { .. })
        ));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let k = keys(&SecretKeys::generate_base64(), &[]);
        let at = slot("crm_connections.credentials", CompanyId::new(), "c1");
        let stored = k.seal(r#"{"api_token":"t"}"#, at);
        let (head, body) = stored.rsplit_once(':').expect("form");
        let mut bytes = URL_SAFE_NO_PAD.decode(body).expect("b64");
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            let tampered = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&bytes));
            assert!(
                matches!(
                    k.open(&tampered, at),
                    Err(SecretError::Undecryptable { .. })
                ),
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
        let short = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&bytes[..NONCE_LEN + 3]));
        assert!(k.open(&short, at).is_err());
        for junk in [
            "enc:v1:",
            "enc:v1:abcd",
            &format!("{head}:!!"),
            "whsec_plain",
        ] {
            assert!(k.open(junk, at).is_err(), "{junk}");
        }
    }

    #[test]
    fn a_value_moved_to_another_row_column_or_company_does_not_open() {
        let k = keys(&SecretKeys::generate_base64(), &[]);
        let company = CompanyId::new();
        let at = slot("outgoing_webhooks.secret", company, "e1");
        let stored = k.seal("whsec_x", at);
        for elsewhere in [
            slot("outgoing_webhooks.secret", company, "e2"),
            slot("outgoing_webhooks.previous_secret", company, "e1"),
            slot("outgoing_webhooks.secret", CompanyId::new(), "e1"),
        ] {
            assert!(matches!(
                k.open(&stored, elsewhere),
                Err(SecretError::Undecryptable { .. })
            ));
        }
    }

    #[test]
    fn after_a_rotation_old_values_still_open_and_new_ones_use_the_new_key() {
        let (old_text, new_text) = (SecretKeys::generate_base64(), SecretKeys::generate_base64());
        let before = keys(&old_text, &[]);
        let at = slot("slack_rules.webhook_url", CompanyId::new(), "r1");
        let stored = before.seal("https://x.example/h", at);
        let after = keys(&new_text, &[&old_text]);
        assert_eq!(
            after.open(&stored, at).expect("old key"),
            "https://x.example/h"
        );
        let resealed = after.seal("https://x.example/h", at);
        assert_eq!(
            stored_form(&resealed),
            Stored::Encrypted {
                key_id: after.current_id()
            }
        );
        assert_ne!(after.current_id(), before.current_id());
        // Without the old key, the old value is refused by name, not read as garbage.
        assert!(matches!(
            keys(&new_text, &[]).open(&stored, at),
            Err(SecretError::UnknownKey { .. })
        ));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(SecretKeys::from_base64("", &[]).is_err());
        assert!(SecretKeys::from_base64("not base64!", &[]).is_err());
        assert!(SecretKeys::from_base64(&STANDARD.encode([1u8; 16]), &[]).is_err());
        let good = SecretKeys::generate_base64();
        assert!(
            matches!(SecretKeys::from_base64(&good, &["short"]), Err(SecretError::BadKey(m)) if m.contains("#1"))
        );
        let k = SecretKeys::from_base64(&format!(" {good}\n"), &[]).expect("trimmed");
        assert!(!format!("{k:?}").contains(&good));
    }
}
