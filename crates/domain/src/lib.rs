//! Kiku's domain: the rules of call data, call status, upload signatures, job retries,
//! sign-in throttling, outgoing webhooks, notifications, CRM connections, auto-tag rules,
//! personal data in transcripts and the Incoming Webhook secret's hash.
//! Pure logic with no I/O, so every rule is testable on its own.

pub mod analysis;
pub mod audio;
pub mod call_data;
pub mod call_status;
pub mod crm;
pub mod csrf;
pub mod datetime;
pub mod ids;
pub mod job_kind;
pub mod job_retry;
pub mod metrics;
pub mod notification;
pub mod outbox;
pub mod outgoing_webhook;
pub mod pii;
pub mod search;
pub mod sign_in_throttle;
pub mod tag_rule;
pub mod upload_signature;
pub mod webhook_secret;

pub use call_data::{
    AudioFileType, CallData, ChannelType, EventType, Participant, Problem, Side, StereoChannel,
};
pub use call_status::CallStatus;
pub use ids::{
    AuditEntryId, CallId, CompanyId, CrmConnectionId, EventId, JobId, NotificationAttemptId,
    OutgoingDeliveryId, OutgoingWebhookId, SlackRuleId, TagRuleId, UserId,
};
pub use job_kind::JobKind;
pub use outbox::EventKind;
