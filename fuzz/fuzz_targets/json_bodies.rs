//! Every JSON request body of the API: the first byte picks the request, the rest is its
//! body, read into that request's wire shape (as the handler's `ApiJson` does) and then
//! checked by the same domain rules the handler's service applies. The call data body has
//! a target of its own (`call_data`).
//!
//! The wire shapes below are the handlers' (`crates/server/src/http/*.rs`), which live in
//! the server crate this build cannot link (the speech engine's C++ build).
#![no_main]

use std::collections::BTreeMap;

use kiku_domain::analysis::{parse_speaker, AnalysisSettings};
use kiku_domain::crm::{connection_name, CrmConfig, CrmContent, CrmFields, CrmKind};
use kiku_domain::datetime::parse_lenient;
use kiku_domain::notification::{EmailAddress, EmailRecipients, RuleName, SlackRuleFilters};
use kiku_domain::outgoing_webhook::{
    EndpointName, EndpointUrl, ExtraHeaders, ExtraPayload, OutgoingEvents,
};
use kiku_domain::tag_rule::{KeywordMatch, TagRuleSpec};
use kiku_domain::EventId;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

#[allow(dead_code)]
#[derive(Deserialize)]
struct LoginIn {
    email: String,
    password: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserIn {
    name: String,
    email: String,
    password: Option<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    use_incoming_webhook: bool,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatchIn {
    admin: Option<bool>,
    use_incoming_webhook: Option<bool>,
}

/// `POST` and `PATCH` of an outgoing webhook endpoint (every field optional in a patch).
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointIn {
    name: Option<String>,
    url: Option<String>,
    headers: Option<Value>,
    payload: Option<Value>,
    exclude_phrases: Option<bool>,
    exclude_keywords: Option<bool>,
    enabled: Option<bool>,
    events: Option<Vec<String>>,
}

/// `POST` and `PATCH` of a Slack rule.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleIn {
    name: Option<String>,
    webhook_url: Option<String>,
    enabled: Option<bool>,
    include_summary: Option<bool>,
    filters: Option<Value>,
}

/// Replays of outgoing webhooks, Slack rules, CRM connections and e-mail.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayIn {
    event_id: Option<String>,
    failed_since: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailSettingsIn {
    recipients: Vec<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MyNotificationsIn {
    email_on_completion: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionIn {
    kind: Option<String>,
    name: Option<String>,
    base_url: Option<String>,
    content: Option<String>,
    #[allow(dead_code)]
    enabled: Option<bool>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    api_version: Option<String>,
    access_token: Option<String>,
    app: Option<u64>,
    api_token: Option<String>,
    field_map: Option<BTreeMap<String, String>>,
    guest_space_id: Option<u64>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct TagRuleRequest {
    name: Option<String>,
    keywords: Option<Vec<String>>,
    #[serde(rename = "match")]
    keyword_match: Option<String>,
    min_count: Option<u32>,
    speaker: Option<String>,
    tag: Option<String>,
    enabled: Option<bool>,
}

fn read<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_json::from_slice(body).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 11 {
        0 => drop(read::<LoginIn>(body)),
        1 => drop(read::<UserIn>(body)),
        2 => drop(read::<UserPatchIn>(body)),
        3 => drop(read::<MyNotificationsIn>(body)),
        4 => endpoint(body),
        5 => slack_rule(body),
        6 => replay(body),
        7 => email_settings(body),
        8 => crm_connection(body),
        9 => tag_rule(body),
        _ => analysis_settings(body),
    }
});

fn endpoint(body: &[u8]) {
    let Some(input) = read::<EndpointIn>(body) else {
        return;
    };
    if let Some(name) = &input.name {
        let _ = EndpointName::parse(name);
    }
    if let Some(url) = &input.url {
        if let Ok(url) = EndpointUrl::parse(url) {
            // What is stored must read back the same.
            assert!(EndpointUrl::parse(url.as_str()).is_ok(), "{}", url.as_str());
        }
    }
    if let Some(headers) = &input.headers {
        if let Ok(headers) = ExtraHeaders::parse(headers) {
            assert!(ExtraHeaders::parse(&headers.to_json()).is_ok());
        }
    }
    if let Some(payload) = &input.payload {
        let _ = ExtraPayload::parse(payload);
    }
    if let Some(events) = &input.events {
        let _ = OutgoingEvents::parse(events);
    }
}

fn slack_rule(body: &[u8]) {
    let Some(input) = read::<RuleIn>(body) else {
        return;
    };
    if let Some(name) = &input.name {
        let _ = RuleName::parse(name);
    }
    if let Some(url) = &input.webhook_url {
        let _ = EndpointUrl::parse(url);
    }
    if let Some(filters) = &input.filters {
        let _ = SlackRuleFilters::parse(filters);
    }
}

fn replay(body: &[u8]) {
    let Some(input) = read::<ReplayIn>(body) else {
        return;
    };
    if let Some(id) = &input.event_id {
        let _ = id.parse::<EventId>();
    }
    if let Some(since) = &input.failed_since {
        let _ = parse_lenient(since);
    }
    if let Some(to) = &input.to {
        let _ = EmailAddress::parse(to);
    }
}

fn email_settings(body: &[u8]) {
    if let Some(input) = read::<EmailSettingsIn>(body) {
        let _ = EmailRecipients::parse(&input.recipients);
    }
}

fn crm_connection(body: &[u8]) {
    let Some(input) = read::<ConnectionIn>(body) else {
        return;
    };
    if let Some(name) = &input.name {
        let _ = connection_name(name);
    }
    if let Some(url) = &input.base_url {
        let _ = EndpointUrl::parse(url);
    }
    if let Some(content) = &input.content {
        let _ = CrmContent::parse(content);
    }
    let fields = CrmFields {
        client_id: input.client_id,
        client_secret: input.client_secret,
        refresh_token: input.refresh_token,
        api_version: input.api_version,
        access_token: input.access_token,
        app: input.app,
        api_token: input.api_token,
        field_map: input.field_map,
        guest_space_id: input.guest_space_id,
    };
    // The kind given, or each kind (a patch is checked against the connection's own).
    let kinds = match input.kind.as_deref().map(CrmKind::parse) {
        Some(Ok(kind)) => vec![kind],
        Some(Err(_)) => return,
        None => CrmKind::ALL.to_vec(),
    };
    for kind in kinds {
        let _ = CrmConfig::parse(kind, &fields);
    }
}

fn tag_rule(body: &[u8]) {
    let Some(input) = read::<TagRuleRequest>(body) else {
        return;
    };
    let keyword_match = match input.keyword_match.as_deref().map(KeywordMatch::parse) {
        Some(Some(m)) => m,
        Some(None) => return,
        None => KeywordMatch::Any,
    };
    let speaker = match input.speaker.as_deref().map(parse_speaker) {
        Some(Some(s)) => s,
        Some(None) => return,
        None => None,
    };
    let spec = TagRuleSpec {
        name: input.name.unwrap_or_default(),
        keywords: input.keywords.unwrap_or_default(),
        keyword_match,
        min_count: input.min_count.unwrap_or(1),
        speaker,
        tag: input.tag.unwrap_or_default(),
        enabled: input.enabled.unwrap_or(true),
    };
    if let Ok(valid) = spec.validate() {
        // Validating a valid rule changes nothing.
        assert_eq!(valid.clone().validate(), Ok(valid));
    }
}

fn analysis_settings(body: &[u8]) {
    if let Some(settings) = read::<AnalysisSettings>(body) {
        if settings.validate().is_ok() {
            let _ = settings.normalised_keywords();
        }
    }
}
