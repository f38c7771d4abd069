//! Failed sign-ins counted in memory per account and per client address, with bounded
//! memory; the rule itself is `kiku_domain::sign_in_throttle`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use kiku_domain::sign_in_throttle::{FailureLog, ThrottleRule};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The limits, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleSettings {
    pub account: ThrottleRule,
    pub address: ThrottleRule,
    /// Most accounts (and, separately, addresses) remembered at once.
    pub max_tracked: usize,
}

/// An account as the throttle and the log know it: the SHA-256 of the normalised e-mail,
/// so a huge or secret e-mail is neither kept nor logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountKey([u8; 32]);

impl AccountKey {
    pub fn of(email: &str) -> Self {
        Self(Sha256::digest(email.trim().to_lowercase().as_bytes()).into())
    }

    /// The whole hash in hex: how the database's lockout names the account.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A short tag for log lines: enough to tell accounts apart, not to read the e-mail.
    pub fn tag(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

/// A client address as counted: IPv6 clients by their /64, since one host usually holds
/// a whole /64; IPv4-mapped addresses as IPv4.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
        v4 => v4,
    }
}

/// A sign-in attempt counted in advance as a failure, so parallel attempts cannot all
/// pass the check before any is counted; [`SignInThrottle::succeeded`] takes it back.
#[must_use]
pub struct Attempt {
    account: AccountKey,
    address: Option<IpAddr>,
    at: OffsetDateTime,
}

struct Logs<K> {
    rule: ThrottleRule,
    max_tracked: usize,
    logs: HashMap<K, FailureLog>,
}

impl<K: Eq + Hash + Copy> Logs<K> {
    fn new(rule: ThrottleRule, max_tracked: usize) -> Self {
        Self {
            rule,
            max_tracked: max_tracked.max(1),
            logs: HashMap::new(),
        }
    }

    fn retry_after(&self, key: &K, now: OffsetDateTime) -> Option<u64> {
        self.logs
            .get(key)
            .and_then(|log| self.rule.retry_after(log, now))
    }

    fn record(&mut self, key: K, now: OffsetDateTime) {
        if self.rule.max_failures == 0 {
            return;
        }
        if !self.logs.contains_key(&key) && self.logs.len() >= self.max_tracked {
            self.make_room(now);
        }
        let log = self.logs.entry(key).or_default();
        self.rule.record(log, now);
    }

    /// Forgets quiet keys; when all are still active, the one whose last failure is
    /// oldest, so a flood of new keys cannot grow memory past the cap.
    fn make_room(&mut self, now: OffsetDateTime) {
        let rule = self.rule;
        self.logs.retain(|_, log| {
            rule.prune(log, now);
            !log.is_empty()
        });
        if self.logs.len() >= self.max_tracked {
            let stalest = self
                .logs
                .iter()
                .min_by_key(|(_, log)| log.latest())
                .map(|(k, _)| *k);
            if let Some(key) = stalest {
                self.logs.remove(&key);
            }
        }
    }
}

/// The failed sign-ins the server remembers.
pub struct SignInThrottle {
    accounts: Mutex<Logs<AccountKey>>,
    addresses: Mutex<Logs<IpAddr>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SignInThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            accounts: Mutex::new(Logs::new(settings.account, settings.max_tracked)),
            addresses: Mutex::new(Logs::new(settings.address, settings.max_tracked)),
        }
    }

    /// Seconds to wait when the account or the address is throttled; otherwise the attempt,
    /// already counted as a failure.
    pub fn begin(
        &self,
        account: AccountKey,
        address: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<Attempt, u64> {
        let address = address.map(address_key);
        // Both locks at once (always in this order) so the check and the count are one step.
        let mut accounts = lock(&self.accounts);
        let mut addresses = lock(&self.addresses);
        let wait = [
            accounts.retry_after(&account, now),
            address.and_then(|a| addresses.retry_after(&a, now)),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(seconds) = wait {
            return Err(seconds);
        }
        accounts.record(account, now);
        if let Some(a) = address {
            addresses.record(a, now);
        }
        Ok(Attempt {
            account,
            address,
            at: now,
        })
    }

    /// The attempt signed in: the account starts afresh and the address is not charged.
    pub fn succeeded(&self, attempt: Attempt) {
        lock(&self.accounts).logs.remove(&attempt.account);
        if let Some(a) = attempt.address {
            if let Some(log) = lock(&self.addresses).logs.get_mut(&a) {
                log.forgive(attempt.at);
            }
        }
    }

    /// The attempt failed; it was counted in [`Self::begin`].
    pub fn failed(&self, attempt: Attempt) {
        drop(attempt);
    }

    /// How many accounts and addresses are remembered (for tests of the memory bound).
    pub fn tracked(&self) -> (usize, usize) {
        (
            lock(&self.accounts).logs.len(),
            lock(&self.addresses).logs.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).expect("time")
    }

    fn throttle(account: u32, address: u32, max_tracked: usize) -> SignInThrottle {
        let rule = |max_failures| ThrottleRule {
            max_failures,
            window: Duration::from_secs(900),
        };
        SignInThrottle::new(ThrottleSettings {
            account: rule(account),
            address: rule(address),
            max_tracked,
        })
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("ip"))
    }

    #[test]
    fn accounts_are_normalised_and_tagged_without_the_e_mail() {
        let key = AccountKey::of(" Root@A.example ");
        assert_eq!(key, AccountKey::of("root@a.example"));
        assert_eq!(key.tag().len(), 12);
        assert!(key.tag().chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn an_account_is_throttled_from_any_address_and_a_success_resets_it() {
        let t = throttle(2, 100, 100);
        let a = AccountKey::of("a@x.example");
        t.failed(t.begin(a, ip("10.0.0.1"), at(0)).expect("first"));
        t.failed(t.begin(a, ip("10.0.0.2"), at(1)).expect("second"));
        assert_eq!(t.begin(a, ip("10.0.0.3"), at(2)).err(), Some(898));
        assert!(t
            .begin(AccountKey::of("b@x.example"), ip("10.0.0.3"), at(2))
            .is_ok());
        let attempt = t
            .begin(a, ip("10.0.0.3"), at(900))
            .expect("window moved on");
        t.succeeded(attempt);
        assert!(t.begin(a, None, at(900)).is_ok(), "a success starts afresh");
    }

    #[test]
    fn an_address_is_throttled_across_accounts_and_ipv6_by_its_64() {
        let t = throttle(100, 3, 100);
        for (i, addr) in ["2001:db8::1", "2001:db8::2", "2001:db8::ffff:1"]
            .iter()
            .enumerate()
        {
            let account = AccountKey::of(&format!("{i}@x.example"));
            t.failed(t.begin(account, ip(addr), at(0)).expect("under the limit"));
        }
        let other = AccountKey::of("z@x.example");
        assert!(t.begin(other, ip("2001:db8:0:0:abcd::9"), at(0)).is_err());
        assert!(
            t.begin(other, ip("2001:db8:0:1::1"), at(0)).is_ok(),
            "another /64"
        );
        assert!(
            t.begin(other, None, at(0)).is_ok(),
            "an unknown address is not counted"
        );
    }

    #[test]
    fn a_successful_sign_in_is_not_charged_to_its_address() {
        let t = throttle(100, 2, 100);
        for i in 0..5 {
            let attempt = t
                .begin(
                    AccountKey::of(&format!("{i}@x.example")),
                    ip("10.0.0.1"),
                    at(i),
                )
                .expect("successes never throttle");
            t.succeeded(attempt);
        }
        assert_eq!(t.tracked(), (0, 1));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_new_keys() {
        let t = throttle(5, 5, 50);
        for i in 0..1_000 {
            let attempt = t.begin(
                AccountKey::of(&format!("{i}@x.example")),
                ip(&format!("10.0.{}.{}", i / 256, i % 256)),
                at(i),
            );
            t.failed(attempt.expect("each key is new"));
            let (accounts, addresses) = t.tracked();
            assert!(accounts <= 50 && addresses <= 50);
        }
        // The newest keys are the ones kept.
        let recent = AccountKey::of("999@x.example");
        for _ in 0..4 {
            t.failed(t.begin(recent, None, at(1_000)).expect("under the limit"));
        }
        assert!(t.begin(recent, None, at(1_000)).is_err());
    }
}
