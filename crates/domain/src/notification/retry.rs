//! What happens after a notification attempt: the outgoing webhooks' schedule (with its
//! jitter) for trouble worth waiting out; a receiver's `Retry-After` (Slack's 429) is
//! honoured in full up to an hour, since Slack asks for exactly that wait.

use std::time::Duration;

use crate::outgoing_webhook::{decide, AttemptResult, Decision, DeliveryPolicy};

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How a sender judged its attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Worth another try (a timeout, a 5xx or 429, an SMTP 4xx, no connection), after
    /// `after` when the receiver said so.
    Retry {
        after: Option<Duration>,
    },
    /// Trying again cannot help (Slack's 400/403/404, an SMTP 5xx, a bad address).
    Permanent,
}

/// What becomes of the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Done,
    RetryAfter(Duration),
    GiveUp,
}

/// Decides after attempt number `attempt` (1 = the first); `random` in `[0, 1)` picks the
/// jitter.
pub fn next_step(policy: &DeliveryPolicy, attempt: u32, verdict: Verdict, random: f64) -> Step {
    match verdict {
        Verdict::Delivered => Step::Done,
        Verdict::Permanent => Step::GiveUp,
        Verdict::Retry { after } => {
            let failed = AttemptResult {
                status: None,
                retry_after: None,
            };
            match decide(policy, attempt, failed, random) {
                Decision::Retry(scheduled) => Step::RetryAfter(
                    after.map_or(scheduled, |asked| asked.min(MAX_RETRY_AFTER).max(scheduled)),
                ),
                _ => Step::GiveUp,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> DeliveryPolicy {
        DeliveryPolicy {
            schedule: vec![Duration::from_secs(5), Duration::from_secs(300)],
            jitter: 0.0,
            ..DeliveryPolicy::default()
        }
    }

    #[test]
    fn retries_follow_the_schedule_and_retry_after_wins_when_longer() {
        let p = policy();
        let retry = Verdict::Retry { after: None };
        assert_eq!(next_step(&p, 1, Verdict::Delivered, 0.5), Step::Done);
        assert_eq!(next_step(&p, 1, Verdict::Permanent, 0.5), Step::GiveUp);
        assert_eq!(
            next_step(&p, 1, retry, 0.5),
            Step::RetryAfter(Duration::from_secs(5))
        );
        assert_eq!(
            next_step(&p, 2, retry, 0.5),
            Step::RetryAfter(Duration::from_secs(300))
        );
        assert_eq!(
            next_step(&p, 3, retry, 0.5),
            Step::GiveUp,
            "schedule used up"
        );
        let asked = |s| Verdict::Retry {
            after: Some(Duration::from_secs(s)),
        };
        assert_eq!(
            next_step(&p, 1, asked(30), 0.5),
            Step::RetryAfter(Duration::from_secs(30)),
            "Slack's Retry-After in full"
        );
        assert_eq!(
            next_step(&p, 1, asked(1), 0.5),
            Step::RetryAfter(Duration::from_secs(5)),
            "never sooner than the schedule"
        );
        assert_eq!(
            next_step(&p, 1, asked(86_400), 0.5),
            Step::RetryAfter(MAX_RETRY_AFTER)
        );
    }
}
