//! Limits on what one account, one company's Incoming Webhook URL or one company's
//! uploads can make Kiku do, each answered with 429 and `Retry-After`:
//! - sign-in lockout: failed sign-ins of one account counted in the database (so every
//!   process sharing it agrees, and a restart forgets nothing); past the limit the account
//!   is locked for a time, even for the right password;
//! - the Incoming Webhook URL's request rate, per company, in this process (a token bucket);
//! - calls awaiting their recording, and bytes of recordings uploaded in the last 24 hours,
//!   per company, counted in the database: a leaked URL cannot fill the disk.
//!
//! The per-account and per-address throttles in memory are `sign_in_throttle`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use kiku_domain::CompanyId;
use time::{Duration, OffsetDateTime};

use super::sign_in_throttle::AccountKey;
use super::{App, AppError};

/// The limits; each 0 turns its limit off.
#[derive(Clone, Debug)]
pub struct AbuseLimits {
    /// Failed sign-ins of one account within `lockout_window` that lock it.
    pub lockout_failures: u32,
    pub lockout_window: Duration,
    /// How long a locked account stays locked.
    pub lockout_for: Duration,
    /// Requests per second to one company's Incoming Webhook URL, sustained.
    pub webhook_requests_per_second: u32,
    /// Requests to it at once after a quiet spell.
    pub webhook_burst: u32,
    /// One company's calls awaiting their recording at most.
    pub max_calls_awaiting_upload: u64,
    /// Bytes of recordings one company may upload in 24 hours.
    pub max_upload_bytes_per_day: u64,
}

impl Default for AbuseLimits {
    fn default() -> Self {
        Self {
            lockout_failures: 20,
            lockout_window: Duration::minutes(15),
            lockout_for: Duration::minutes(15),
            webhook_requests_per_second: 50,
            webhook_burst: 500,
            max_calls_awaiting_upload: 100_000,
            max_upload_bytes_per_day: 100 * 1024 * 1024 * 1024,
        }
    }
}

/// What the limits need to remember in this process: each company's webhook bucket.
#[derive(Default)]
pub struct AbuseState {
    buckets: Mutex<HashMap<CompanyId, Bucket>>,
}

/// Real time, not the app's clock: a rate is about how fast requests come.
#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

fn seconds_until(from: OffsetDateTime, to: OffsetDateTime) -> u64 {
    u64::try_from((to - from).whole_seconds().max(1)).unwrap_or(1)
}

/// Refuses a sign-in to a locked account, before any password work.
pub async fn check_lockout(app: &App, account: &AccountKey) -> Result<(), AppError> {
    if app.abuse.lockout_failures == 0 {
        return Ok(());
    }
    let now = app.clock.now();
    match app.store.sign_in_locked_until(&account.hex(), now).await? {
        Some(until) => Err(locked(now, until)),
        None => Ok(()),
    }
}

fn locked(now: OffsetDateTime, until: OffsetDateTime) -> AppError {
    AppError::RateLimited {
        message: format!(
            "too many failed sign-ins for this account; it is locked for {} more seconds",
            seconds_until(now, until)
        ),
        retry_after_seconds: seconds_until(now, until),
    }
}

/// Counts a failed sign-in of `account`; the error to answer when this failure locked it.
pub async fn failed_sign_in(app: &App, account: &AccountKey) -> Result<Option<AppError>, AppError> {
    let limits = &app.abuse;
    if limits.lockout_failures == 0 {
        return Ok(None);
    }
    let now = app.clock.now();
    let until = app
        .store
        .record_sign_in_failure(
            &account.hex(),
            now,
            now - limits.lockout_window,
            limits.lockout_failures,
            now + limits.lockout_for,
        )
        .await?;
    Ok(until.filter(|u| *u > now).map(|u| locked(now, u)))
}

/// Forgets an account's failures after it signed in.
pub async fn signed_in(app: &App, account: &AccountKey) -> Result<(), AppError> {
    if app.abuse.lockout_failures == 0 {
        return Ok(());
    }
    Ok(app.store.clear_sign_in_failures(&account.hex()).await?)
}

/// Takes one request from the company's webhook bucket, or says when the next one fits.
pub fn take_webhook_request(app: &App, company: CompanyId) -> Result<(), AppError> {
    let (rate, burst) = (
        f64::from(app.abuse.webhook_requests_per_second),
        f64::from(app.abuse.webhook_burst.max(1)),
    );
    if rate == 0.0 {
        return Ok(());
    }
    let now = Instant::now();
    let mut buckets = app
        .abuse_state
        .buckets
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let bucket = buckets.entry(company).or_insert(Bucket {
        tokens: burst,
        at: now,
    });
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return Ok(());
    }
    let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0);
    Err(AppError::RateLimited {
        message: format!(
            "too many requests to this Incoming Webhook URL (at most {} a second); try again in {wait} seconds",
            app.abuse.webhook_requests_per_second
        ),
        retry_after_seconds: wait as u64,
    })
}

/// Refuses a batch that would leave the company with more calls awaiting their recording
/// than allowed.
pub async fn check_awaiting_upload(
    app: &App,
    company: CompanyId,
    batch: usize,
) -> Result<(), AppError> {
    let cap = app.abuse.max_calls_awaiting_upload;
    if cap == 0 {
        return Ok(());
    }
    let waiting = app.store.calls_awaiting_upload(company).await?;
    if waiting.saturating_add(batch as u64) > cap {
        return Err(AppError::RateLimited {
            message: format!(
                "this company has {waiting} calls awaiting their recording (at most {cap}); upload those first"
            ),
            retry_after_seconds: 60,
        });
    }
    Ok(())
}

/// How many more bytes the company may upload now; an error when none.
pub async fn upload_allowance(
    app: &App,
    company: CompanyId,
    declared: Option<u64>,
) -> Result<u64, AppError> {
    let cap = app.abuse.max_upload_bytes_per_day;
    if cap == 0 {
        return Ok(u64::MAX);
    }
    let now = app.clock.now();
    let (used, oldest) = app
        .store
        .uploaded_bytes_since(company, now - Duration::days(1))
        .await?;
    let left = cap.saturating_sub(used);
    if left == 0 || declared.is_some_and(|n| n > left) {
        let retry = oldest.map_or(3600, |t| seconds_until(now, t + Duration::days(1)));
        return Err(AppError::RateLimited {
            message: format!(
                "this company has uploaded {used} bytes of recordings in the last 24 hours (at most {cap}); try again in {retry} seconds"
            ),
            retry_after_seconds: retry,
        });
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_whole_seconds_of_at_least_one() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("t");
        assert_eq!(seconds_until(t, t), 1);
        assert_eq!(seconds_until(t, t + Duration::seconds(90)), 90);
        assert_eq!(seconds_until(t + Duration::seconds(5), t), 1);
    }
}
