//! Outgoing webhooks as data: what an endpoint may be (`endpoint.rs`), what a delivery job
//! carries (`delivery_job.rs`) and when a delivery is tried again, given up or the endpoint
//! disabled (`retry.rs`). Pure rules, no I/O.

mod delivery_job;
mod endpoint;
mod retry;

/// What an endpoint subscribes to: the outbox's events.
pub use crate::outbox::EventKind;
pub use delivery_job::DeliveryJob;
pub use endpoint::{
    EndpointInput, EndpointName, EndpointUrl, ExtraHeaders, ExtraPayload, InvalidEndpoint,
    OutgoingEvents, RESERVED_PAYLOAD_KEYS,
};
pub use retry::{decide, should_disable, AttemptResult, Decision, DeliveryPolicy};

#[cfg(test)]
mod tests;
