//! Slack rules, CRM connections and notification attempts as admins see them (HTTP and CLI
//! alike): a rule's webhook URL is never shown, only its host; a connection's credentials
//! never. Fields in the order the answers have always had (alphabetical).

use std::collections::BTreeMap;

use kiku_domain::crm::CrmConfig;
use kiku_domain::notification::SlackRuleFilters;
use kiku_domain::outgoing_webhook::EndpointUrl;
use kiku_domain::{datetime, CallId, CrmConnectionId, NotificationAttemptId, SlackRuleId};
use kiku_storage::{CrmConnection, NotificationAttempt, SlackRule};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::crm_connections::{base_url, config_of};
use crate::http::schemas::{
    AttemptChannel, AttemptOutcome, CrmContent, CrmKind, NotificationTrigger,
};

/// The host a rule posts to: all of its webhook URL that may be shown.
pub fn webhook_host(r: &SlackRule) -> Option<String> {
    EndpointUrl::parse(&r.webhook_url)
        .ok()
        .and_then(|u| u.url().host_str().map(str::to_string))
}

/// What every Slack rule and CRM connection reacts to.
const TRIGGER: &str = "speech_recognition_completed";

/// A Slack rule; its webhook URL is write-only.
#[derive(Serialize, ToSchema)]
#[schema(as = SlackRule)]
pub struct RuleView {
    #[schema(format = DateTime)]
    created_at: String,
    enabled: bool,
    #[schema(value_type = SlackRuleFilters)]
    filters: Value,
    id: SlackRuleId,
    include_summary: bool,
    name: String,
    #[schema(value_type = NotificationTrigger)]
    trigger: &'static str,
    #[schema(format = DateTime)]
    updated_at: String,
    /// The host of the webhook URL; the URL itself is write-only.
    #[schema(required)]
    webhook_host: Option<String>,
}

pub fn rule(r: &SlackRule) -> RuleView {
    RuleView {
        created_at: datetime::format(r.created_at),
        enabled: r.enabled,
        filters: r.filters.clone(),
        id: r.id,
        include_summary: r.include_summary,
        name: r.name.clone(),
        trigger: TRIGGER,
        updated_at: datetime::format(r.updated_at),
        webhook_host: webhook_host(r),
    }
}

/// A CRM connection. Credentials (`client_id`, `client_secret`, `refresh_token`,
/// `access_token`, `api_token`) are never shown.
#[derive(Serialize, ToSchema)]
#[schema(as = CrmConnection)]
pub struct ConnectionView {
    /// Salesforce.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    api_version: Option<String>,
    /// kintone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    app: Option<u64>,
    /// The address requests go to (the vendor's default when none was given).
    #[schema(required)]
    base_url: Option<String>,
    #[schema(value_type = CrmContent)]
    content: String,
    #[schema(format = DateTime)]
    created_at: String,
    enabled: bool,
    /// kintone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    field_map: Option<BTreeMap<String, String>>,
    /// kintone.
    #[serde(skip_serializing_if = "Option::is_none")]
    guest_space_id: Option<Option<u64>>,
    id: CrmConnectionId,
    #[schema(value_type = CrmKind)]
    kind: String,
    name: String,
    #[schema(value_type = NotificationTrigger)]
    trigger: &'static str,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// Everything but the credentials; a stored row that does not read shows without its
/// settings rather than failing the list.
pub fn connection(c: &CrmConnection) -> ConnectionView {
    let mut view = ConnectionView {
        api_version: None,
        app: None,
        base_url: c.base_url.clone(),
        content: c.content.clone(),
        created_at: datetime::format(c.created_at),
        enabled: c.enabled,
        field_map: None,
        guest_space_id: None,
        id: c.id,
        kind: c.kind.clone(),
        name: c.name.clone(),
        trigger: TRIGGER,
        updated_at: datetime::format(c.updated_at),
    };
    if let Ok((kind, config, _)) = config_of(c) {
        view.base_url = base_url(kind, c);
        match config {
            CrmConfig::Salesforce(s) => view.api_version = Some(s.api_version),
            CrmConfig::Hubspot(_) => {}
            CrmConfig::Kintone(k) => {
                view.app = Some(k.app);
                view.field_map = Some(k.field_map.to_raw());
                view.guest_space_id = Some(k.guest_space_id);
            }
        }
    }
    view
}

/// One attempt to send a Slack message or an e-mail, or to write a CRM record.
#[derive(Serialize, ToSchema)]
#[schema(as = NotificationAttempt)]
pub struct AttemptView {
    attempt: u32,
    #[schema(format = DateTime)]
    attempted_at: String,
    #[schema(required)]
    call_id: Option<CallId>,
    #[schema(value_type = AttemptChannel)]
    channel: String,
    #[schema(required)]
    crm_connection_id: Option<CrmConnectionId>,
    /// CRM attempts: the CRM's id of the record written or updated.
    #[schema(required)]
    crm_record_id: Option<String>,
    #[schema(required)]
    error: Option<String>,
    event_id: String,
    id: NotificationAttemptId,
    latency_ms: u64,
    #[schema(value_type = AttemptOutcome)]
    outcome: String,
    replay: bool,
    response_head: String,
    #[schema(required)]
    slack_rule_id: Option<SlackRuleId>,
    /// HTTP status (Slack, CRM) or SMTP reply code (e-mail).
    #[schema(required)]
    status: Option<u16>,
    /// The rule's or connection's name, or the e-mail address.
    target: String,
}

pub fn attempt(a: &NotificationAttempt) -> AttemptView {
    AttemptView {
        attempt: a.attempt,
        attempted_at: datetime::format(a.attempted_at),
        call_id: a.call_id,
        channel: a.channel.clone(),
        crm_connection_id: a.crm_connection_id,
        crm_record_id: a.crm_record_id.clone(),
        error: a.error.clone(),
        event_id: a.event_id.clone(),
        id: a.id,
        latency_ms: a.latency_ms,
        outcome: a.outcome.clone(),
        replay: a.replay,
        response_head: a.response_head.clone(),
        slack_rule_id: a.slack_rule_id,
        status: a.status,
        target: a.target.clone(),
    }
}
