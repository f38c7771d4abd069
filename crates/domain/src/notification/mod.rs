//! Notifications as data: Slack rules and their filters (`slack_rule.rs`), e-mail
//! addresses and company-wide recipients (`email.rs`), what a `deliver_notification` job
//! carries (`job.rs`) and what happens after an attempt (`retry.rs`). Pure rules, no I/O.

mod email;
mod job;
mod retry;
mod slack_rule;

pub use email::{EmailAddress, EmailRecipients, MAX_RECIPIENTS};
pub use job::{NotificationJob, Target};
pub use retry::{next_step, Step, Verdict, MAX_RETRY_AFTER};
pub use slack_rule::{CallFacts, RuleName, SlackRuleFilters};

/// Why a notification setting is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidNotification {
    #[error("name must be 1 to 100 characters")]
    Name,
    #[error("{0:?} is not an e-mail address")]
    Email(String),
    #[error("at most {MAX_RECIPIENTS} recipients")]
    TooManyRecipients,
    #[error("filters: {0}")]
    Filters(String),
}
