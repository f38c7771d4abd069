//! A short-lived in-process copy of each company's webhook secret (its hash), so the hot webhook
//! path skips one database round trip. This process forgets a secret the moment it
//! creates or deletes one; other processes sharing the database notice within [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kiku_domain::CompanyId;

/// How long another process may keep accepting a URL revoked elsewhere.
pub const TTL: Duration = Duration::from_secs(1);
/// Bound on remembered companies; the cache is cleared when it is reached.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct SecretCache(Mutex<HashMap<CompanyId, (Option<String>, Instant)>>);

impl SecretCache {
    /// `Some(secret or none)` when a fresh answer is remembered.
    pub fn get(&self, company: CompanyId) -> Option<Option<String>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&company)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(s, _)| s.clone())
    }

    pub fn put(&self, company: CompanyId, secret: Option<String>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(company, (secret, Instant::now()));
    }

    pub fn forget(&self, company: CompanyId) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&company);
    }
}
