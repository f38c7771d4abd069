//! Notifications of analysed calls: Slack rules (`slack_rules`), e-mail recipients and
//! each user's choice (`email`), CRM connections (`crm_connections`), their attempt logs
//! (`attempts`), what a message says (`notice`), one attempt of one job (`send`, for the
//! `deliver_notification` runner; a CRM record's in `crm_send`), a call's notifications
//! (`history`), an admin's replay (`replay`) and the JSON admins see (`view`). The jobs
//! themselves are written with each `call_analysis_completed` event, by the store.

pub mod attempts;
pub mod crm_connections;
pub mod crm_send;
pub mod email;
pub mod history;
pub mod notice;
pub mod replay;
pub mod send;
pub mod slack_rules;
pub mod view;

use kiku_domain::notification::InvalidNotification;
use kiku_notify::{Crms, Mailer, SlackSender};

use super::AppError;

/// The senders: Slack and the CRMs through the outgoing webhooks' SSRF-checked client,
/// e-mail through the configured SMTP server (none: e-mails are retried, and logged,
/// until one is set).
#[derive(Clone)]
pub struct Notifiers {
    pub slack: SlackSender,
    pub mailer: Option<Mailer>,
    pub crm: Crms,
}

fn invalid(e: InvalidNotification) -> AppError {
    AppError::InvalidRequest(e.to_string())
}
