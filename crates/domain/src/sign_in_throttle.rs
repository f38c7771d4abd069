//! Sign-in throttling as a pure rule: at most `max_failures` failed sign-ins per key (an
//! account or a client address) in any sliding window; the caller holds one log per key.

use std::collections::VecDeque;
use std::time::Duration;

use time::OffsetDateTime;

/// How many failures a key may have within `window` before it must wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleRule {
    /// 0 turns the rule off.
    pub max_failures: u32,
    pub window: Duration,
}

/// The newest failures of one key, oldest first. Only the newest `max_failures` decide,
/// so no more are kept: memory per key is bounded by the rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailureLog {
    times: VecDeque<OffsetDateTime>,
}

impl FailureLog {
    /// The newest recorded failure, for evicting the least recently active key.
    pub fn latest(&self) -> Option<OffsetDateTime> {
        self.times.back().copied()
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Takes back one failure recorded at `at` (an attempt that turned out to succeed).
    pub fn forgive(&mut self, at: OffsetDateTime) {
        if let Some(i) = self.times.iter().rposition(|t| *t == at) {
            self.times.remove(i);
        }
    }
}

impl ThrottleRule {
    fn window(&self) -> time::Duration {
        time::Duration::try_from(self.window).unwrap_or(time::Duration::MAX)
    }

    fn in_window(&self, failure: OffsetDateTime, now: OffsetDateTime) -> bool {
        // A failure stamped after `now` (a clock stepped back) still counts.
        failure
            .checked_add(self.window())
            .is_none_or(|end| end > now)
    }

    /// Whole seconds (at least 1) until another attempt is allowed, or `None` when one is
    /// allowed now.
    pub fn retry_after(&self, log: &FailureLog, now: OffsetDateTime) -> Option<u64> {
        let max = self.max_failures as usize;
        if max == 0 || log.times.len() < max {
            return None;
        }
        // Allowed again once the oldest of the newest `max` failures leaves the window.
        let deciding = log.times[log.times.len() - max];
        let Some(end) = deciding.checked_add(self.window()) else {
            return Some(u64::MAX);
        };
        if end <= now {
            return None;
        }
        let millis = u64::try_from((end - now).whole_milliseconds()).unwrap_or(u64::MAX);
        Some(millis.div_ceil(1000).max(1))
    }

    /// Records a failure at `now` and forgets what can no longer decide.
    pub fn record(&self, log: &mut FailureLog, now: OffsetDateTime) {
        if self.max_failures == 0 {
            log.times.clear();
            return;
        }
        log.times.push_back(now);
        self.prune(log, now);
    }

    /// Drops failures out of the window (and any beyond the newest `max_failures`);
    /// an empty log afterwards means the key can be forgotten.
    pub fn prune(&self, log: &mut FailureLog, now: OffsetDateTime) {
        while log.times.len() > self.max_failures as usize
            || log.times.front().is_some_and(|t| !self.in_window(*t, now))
        {
            log.times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).expect("time")
    }

    fn rule(max: u32, window_s: u64) -> ThrottleRule {
        ThrottleRule {
            max_failures: max,
            window: Duration::from_secs(window_s),
        }
    }

    #[test]
    fn the_failure_over_the_limit_waits_for_the_oldest_to_leave_the_window() {
        let r = rule(3, 900);
        let mut log = FailureLog::default();
        for s in [0, 10, 20] {
            assert_eq!(r.retry_after(&log, at(s)), None);
            r.record(&mut log, at(s));
        }
        assert_eq!(r.retry_after(&log, at(20)), Some(880));
        assert_eq!(r.retry_after(&log, at(899)), Some(1));
        assert_eq!(r.retry_after(&log, at(900)), None);
        r.record(&mut log, at(900));
        assert_eq!(
            r.retry_after(&log, at(900)),
            Some(10),
            "10 s until t=10 ages out"
        );
    }

    #[test]
    fn fractions_of_a_second_round_up() {
        let r = rule(1, 60);
        let mut log = FailureLog::default();
        r.record(&mut log, at(0));
        let now = at(59) + time::Duration::milliseconds(1);
        assert_eq!(r.retry_after(&log, now), Some(1));
        assert_eq!(
            r.retry_after(&log, at(1) - time::Duration::milliseconds(1)),
            Some(60)
        );
    }

    #[test]
    fn zero_turns_the_rule_off() {
        let r = rule(0, 60);
        let mut log = FailureLog::default();
        for s in 0..100 {
            r.record(&mut log, at(s));
            assert_eq!(r.retry_after(&log, at(s)), None);
        }
        assert!(log.is_empty());
    }

    #[test]
    fn a_forgiven_attempt_no_longer_counts() {
        let r = rule(2, 60);
        let mut log = FailureLog::default();
        r.record(&mut log, at(0));
        r.record(&mut log, at(1));
        assert!(r.retry_after(&log, at(1)).is_some());
        log.forgive(at(1));
        assert_eq!(r.retry_after(&log, at(1)), None);
        log.forgive(at(5));
        assert_eq!(
            log.len(),
            1,
            "forgiving a time never recorded changes nothing"
        );
    }

    #[test]
    fn pruning_empties_a_quiet_log() {
        let r = rule(5, 60);
        let mut log = FailureLog::default();
        r.record(&mut log, at(0));
        r.prune(&mut log, at(59));
        assert_eq!(log.latest(), Some(at(0)));
        r.prune(&mut log, at(60));
        assert!(log.is_empty());
    }

    proptest! {
        /// A client that tries whenever it is allowed and always fails never gets more than
        /// `max` failures into any window, and the log never outgrows `max`.
        #[test]
        fn no_window_holds_more_than_max_failures(
            max in 1u32..20,
            window_s in 1u64..3600,
            gaps in proptest::collection::vec(0i64..600_000, 1..300),
        ) {
            let r = rule(max, window_s);
            let mut log = FailureLog::default();
            let mut now = at(0);
            let mut recorded = Vec::new();
            for gap in gaps {
                now += time::Duration::milliseconds(gap);
                if r.retry_after(&log, now).is_none() {
                    r.record(&mut log, now);
                    recorded.push(now);
                }
                prop_assert!(log.len() <= max as usize);
            }
            let window = time::Duration::seconds(window_s as i64);
            for (i, start) in recorded.iter().enumerate() {
                let within = recorded[i..].iter().take_while(|t| **t < *start + window).count();
                prop_assert!(within <= max as usize, "{within} failures in one window");
            }
        }

        /// Retry-After is exact to the second: still refused a second earlier, allowed then.
        #[test]
        fn retry_after_is_exact(
            max in 1u32..10,
            window_s in 1u64..3600,
            gaps in proptest::collection::vec(0i64..5_000, 1..40),
        ) {
            let r = rule(max, window_s);
            let mut log = FailureLog::default();
            let mut now = at(0);
            for gap in gaps {
                now += time::Duration::milliseconds(gap);
                r.record(&mut log, now);
            }
            if let Some(wait) = r.retry_after(&log, now) {
                prop_assert!(wait >= 1 && wait <= window_s);
                let wait = time::Duration::seconds(wait as i64);
                prop_assert!(r.retry_after(&log, now + wait - time::Duration::seconds(1)).is_some());
                prop_assert_eq!(r.retry_after(&log, now + wait), None);
            } else {
                prop_assert!(log.len() < max as usize);
            }
        }
    }
}
