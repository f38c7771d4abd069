//! When a delivery is tried again: Standard Webhooks' schedule with jitter and a clamped
//! `Retry-After`; which answers disable an endpoint; when a failing endpoint is disabled.

use std::time::Duration;

/// The delivery settings. `schedule[i]` is the wait before attempt `i + 2`; tests shrink it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPolicy {
    pub schedule: Vec<Duration>,
    /// Fraction of each delay added or taken at random (0.2 = ±20 %), so that endpoints
    /// that failed together are not retried in one burst.
    pub jitter: f64,
    /// An endpoint with no success for this long is disabled.
    pub disable_after: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        let secs = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600];
        Self {
            schedule: secs.into_iter().map(Duration::from_secs).collect(),
            jitter: 0.2,
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

/// One attempt's outcome as the rule needs it: the HTTP status (`None` for a timeout or a
/// connection error) and the receiver's `Retry-After`, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptResult {
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
}

/// What happens after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 2xx.
    Delivered,
    /// 410 Gone: the receiver asked never to be called again.
    DisableEndpoint,
    /// Try again after this long.
    Retry(Duration),
    /// Failed and the schedule is used up.
    GaveUp,
}

/// Decides after attempt number `attempt` (1 = the first) of one event to one endpoint.
/// `random` in `[0, 1)` picks the jitter (the caller draws it, so tests can fix it).
/// 3xx (redirects are not followed) and 4xx are failures retried like 5xx, 429, timeouts
/// and connection errors: a receiver's misconfiguration is often fixed within the schedule.
pub fn decide(
    policy: &DeliveryPolicy,
    attempt: u32,
    result: AttemptResult,
    random: f64,
) -> Decision {
    match result.status {
        Some(200..=299) => return Decision::Delivered,
        Some(410) => return Decision::DisableEndpoint,
        _ => {}
    }
    let index = attempt.saturating_sub(1) as usize;
    let Some(&base) = policy.schedule.get(index) else {
        return Decision::GaveUp;
    };
    let delay = match result.retry_after {
        // Honoured, but a receiver cannot make us hammer it nor park the event for days.
        Some(asked) => asked.clamp(base, base.saturating_mul(2)),
        None => {
            let unit = random.clamp(0.0, 1.0);
            let jitter = policy.jitter.clamp(0.0, 1.0);
            base.mul_f64(1.0 + jitter * (2.0 * unit - 1.0))
        }
    };
    Decision::Retry(delay)
}

/// Whether an endpoint failing since `failing_since_ms` (unix ms; `None` when its last
/// attempt succeeded) is disabled at `now_ms`.
pub fn should_disable(policy: &DeliveryPolicy, failing_since_ms: Option<i64>, now_ms: i64) -> bool {
    let limit = i64::try_from(policy.disable_after.as_millis()).unwrap_or(i64::MAX);
    failing_since_ms.is_some_and(|since| now_ms.saturating_sub(since) >= limit)
}
