//! Kiku's senders. Outgoing webhooks on the wire: Standard Webhooks signatures (`signing`),
//! which addresses may be reached (`ssrf`), the HTTP client that delivers and challenges
//! (`client`), and the `call_analysis_completed` payload (`payload`). Notifications: what
//! they say (`notice`, with the [`Sender`] trait) and one sender per channel (`slack`,
//! `email`). CRM activity records: what they hold and the [`CrmWriter`] trait (`crm`), one
//! writer per vendor (`salesforce`, `hubspot`, `kintone`). Minutes: the request to the
//! operator's language model (`minutes`).

pub mod client;
pub mod crm;
pub mod email;
pub mod hubspot;
pub mod kintone;
pub mod minutes;
pub mod notice;
pub mod payload;
pub mod salesforce;
pub mod signing;
pub mod slack;
pub mod ssrf;

pub use client::{
    ApiAnswer, ApiCall, Attempt, ChallengeError, ClientSettings, Delivery, WebhookClient,
};
pub use crm::{Activity, CrmTarget, CrmWriter, Crms, Written};
pub use email::{Mailer, MailerError, SmtpSecurity, SmtpSettings};
pub use minutes::{MinutesError, MinutesSettings, MinutesWriter};
pub use notice::{Notice, Sender, Sent};
pub use payload::{
    completed_body, completed_payload, detail_json, failed_payload, minutes_payload, PayloadInput,
    PayloadOptions,
};
pub use signing::{signature_header, InvalidSecret, WebhookSecret};
pub use slack::SlackSender;
pub use ssrf::{
    parse_allow_networks, HostResolver, InvalidNetwork, SsrfError, SsrfPolicy, StaticResolver,
    SystemResolver,
};
