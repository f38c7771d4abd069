//! Kiku's senders. Outgoing webhooks on the wire: Standard Webhooks signatures (`signing`),
//! which addresses may be reached (`ssrf`), the HTTP client that delivers and challenges
//! (`client`), and the `call_analysis_completed` payload (`payload`). Notifications: what
//! they say (`notice`, with the [`Sender`] trait) and one sender per channel (`slack`,
//! `email`).

pub mod client;
pub mod email;
pub mod notice;
pub mod payload;
pub mod signing;
pub mod slack;
pub mod ssrf;

pub use client::{Attempt, ChallengeError, ClientSettings, Delivery, WebhookClient};
pub use email::{Mailer, MailerError, SmtpSecurity, SmtpSettings};
pub use notice::{Notice, Sender, Sent};
pub use payload::{completed_payload, failed_payload, PayloadInput, PayloadOptions};
pub use signing::{signature_header, InvalidSecret, WebhookSecret};
pub use slack::SlackSender;
pub use ssrf::{
    parse_allow_networks, HostResolver, InvalidNetwork, SsrfError, SsrfPolicy, StaticResolver,
    SystemResolver,
};
