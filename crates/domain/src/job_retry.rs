//! When a failed job runs again: exponential backoff with a cap, then the dead state.

use std::time::Duration;

/// Retry policy for durable jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(30 * 60),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next try after `attempts` tries failed, or `None` when the
    /// job has used all its attempts and goes dead.
    pub fn next_delay(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let exponent = attempts.saturating_sub(1).min(30);
        let delay = self.base_delay.saturating_mul(1u32 << exponent);
        Some(delay.min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_then_stops() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay(1), Some(Duration::from_secs(10)));
        assert_eq!(p.next_delay(2), Some(Duration::from_secs(20)));
        assert_eq!(p.next_delay(4), Some(Duration::from_secs(80)));
        assert_eq!(p.next_delay(5), None);
    }

    proptest! {
        #[test]
        fn delays_grow_and_stay_capped(attempts in 1u32..200, base in 1u64..1000, cap in 1u64..100_000) {
            let p = RetryPolicy { max_attempts: 1000, base_delay: Duration::from_secs(base), max_delay: Duration::from_secs(cap) };
            let now = p.next_delay(attempts).expect("below max attempts");
            let next = p.next_delay(attempts + 1).expect("below max attempts");
            prop_assert!(now <= next);
            prop_assert!(next <= Duration::from_secs(cap));
        }
    }
}
