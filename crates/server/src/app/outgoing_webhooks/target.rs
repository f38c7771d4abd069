//! A stored endpoint made ready to send to: its settings parsed back into the domain's
//! checked types and its secrets into signing keys. The delivery runner starts here.

use kiku_domain::outgoing_webhook::{EventKind, ExtraHeaders, ExtraPayload, InvalidEndpoint};
use kiku_notify::{
    completed_body, detail_json, InvalidSecret, PayloadInput, PayloadOptions, WebhookSecret,
};
use kiku_storage::OutgoingWebhook;
use serde_json::value::RawValue;
use time::OffsetDateTime;

/// A stored endpoint that no longer parses (edited by hand, or rules tightened since).
#[derive(Debug, thiserror::Error)]
pub enum InvalidStoredEndpoint {
    #[error(transparent)]
    Settings(#[from] InvalidEndpoint),
    #[error(transparent)]
    Secret(#[from] InvalidSecret),
}

/// Everything one delivery to this endpoint needs.
#[derive(Debug, Clone)]
pub struct DeliveryTarget {
    pub url: String,
    pub headers: ExtraHeaders,
    pub payload: ExtraPayload,
    pub options: PayloadOptions,
    /// The current secret, then the previous one while its rotation overlap lasts.
    pub secrets: Vec<WebhookSecret>,
    pub events: Vec<EventKind>,
}

impl DeliveryTarget {
    pub fn from_stored(
        e: &OutgoingWebhook,
        now: OffsetDateTime,
    ) -> Result<Self, InvalidStoredEndpoint> {
        let secrets = e
            .signing_secrets(now)
            .into_iter()
            .map(WebhookSecret::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            url: e.url.clone(),
            headers: ExtraHeaders::parse(&e.headers)?,
            payload: ExtraPayload::parse(&e.payload)?,
            options: PayloadOptions {
                exclude_phrases: e.exclude_phrases,
                exclude_keywords: e.exclude_keywords,
            },
            secrets,
            events: e
                .events
                .iter()
                .filter_map(|t| EventKind::parse(t))
                .collect(),
        })
    }

    /// This endpoint's `call_analysis_completed` (or `…_rescored`) body: its leave-out
    /// options and additional payload applied.
    pub fn completed_body(&self, input: PayloadInput<'_>) -> Vec<u8> {
        let detail = detail_json(input.detail, self.options);
        self.completed_body_with(input, &detail)
    }

    /// [`Self::completed_body`] with the detail already serialized for this endpoint's
    /// options ([`detail_json`]).
    pub fn completed_body_with(&self, input: PayloadInput<'_>, detail: &RawValue) -> Vec<u8> {
        completed_body(input, detail, &self.payload)
    }

    /// The secrets as [`kiku_notify::Delivery`] takes them.
    pub fn secret_refs(&self) -> Vec<&WebhookSecret> {
        self.secrets.iter().collect()
    }
}
