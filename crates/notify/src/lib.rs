//! Kiku's outgoing webhooks on the wire: Standard Webhooks signatures (`signing`), which
//! addresses may be reached (`ssrf`), the HTTP client that delivers and challenges
//! (`client`), and the `call_analysis_completed` payload (`payload`).

pub mod client;
pub mod payload;
pub mod signing;
pub mod ssrf;

pub use client::{Attempt, ChallengeError, ClientSettings, Delivery, WebhookClient};
pub use payload::{completed_payload, failed_payload, PayloadInput, PayloadOptions};
pub use signing::{signature_header, InvalidSecret, WebhookSecret};
pub use ssrf::{
    parse_allow_networks, HostResolver, InvalidNetwork, SsrfError, SsrfPolicy, StaticResolver,
    SystemResolver,
};
