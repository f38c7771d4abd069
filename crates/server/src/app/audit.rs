//! The audit log: every admin action (and every swap and export) recorded with who, when,
//! what and from where, and listed newest first for admins. Entries are only ever added.
//! Which requests and commands are actions is decided here, from three tables: the API's
//! routes, the web UI's routes and the CLI's commands, each mapped to one action name.

use std::net::IpAddr;

use kiku_domain::{datetime, AuditEntryId, CompanyId};
use kiku_storage::{AuditEntry, AuditFilter, NewAuditEntry};
use serde_json::{json, Map, Value};

use super::{cursor, App, AppError};

/// Who did an action, and through what.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The user's id, or [`CLI_ACTOR`].
    pub id: String,
    /// The user's e-mail, or the operator's login name.
    pub name: String,
    pub client: Option<IpAddr>,
    pub via: Via,
}

/// The actor id of commands run by the operator on the server's machine.
pub const CLI_ACTOR: &str = "cli";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Api,
    Ui,
    Cli,
}

impl Via {
    pub const ALL: [Via; 3] = [Via::Api, Via::Ui, Via::Cli];

    pub fn as_str(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Ui => "ui",
            Via::Cli => "cli",
        }
    }
}

impl Actor {
    /// The operator running a CLI command (named by the login name, when known).
    pub fn operator() -> Self {
        let name = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "operator".into());
        Actor {
            id: CLI_ACTOR.into(),
            name,
            client: None,
            via: Via::Cli,
        }
    }
}

/// `(method, route)` of the API and the web UI → action.
const HTTP_ACTIONS: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/users", "user.create"),
    ("PATCH", "/api/v1/users/{user_id}", "user.update"),
    ("POST", "/api/v1/incoming-webhook", "webhook_url.create"),
    ("DELETE", "/api/v1/incoming-webhook", "webhook_url.delete"),
    (
        "PUT",
        "/api/v1/settings/analysis",
        "analysis_settings.update",
    ),
    (
        "POST",
        "/api/v1/outgoing-webhooks",
        "outgoing_webhook.create",
    ),
    (
        "PATCH",
        "/api/v1/outgoing-webhooks/{id}",
        "outgoing_webhook.update",
    ),
    (
        "DELETE",
        "/api/v1/outgoing-webhooks/{id}",
        "outgoing_webhook.delete",
    ),
    (
        "POST",
        "/api/v1/outgoing-webhooks/{id}/secret",
        "outgoing_webhook.rotate_secret",
    ),
    (
        "POST",
        "/api/v1/outgoing-webhooks/{id}/replay",
        "outgoing_webhook.replay",
    ),
    ("POST", "/api/v1/slack-rules", "slack_rule.create"),
    ("PATCH", "/api/v1/slack-rules/{id}", "slack_rule.update"),
    ("DELETE", "/api/v1/slack-rules/{id}", "slack_rule.delete"),
    (
        "POST",
        "/api/v1/slack-rules/{id}/replay",
        "slack_rule.replay",
    ),
    ("POST", "/api/v1/crm-connections", "crm_connection.create"),
    (
        "PATCH",
        "/api/v1/crm-connections/{id}",
        "crm_connection.update",
    ),
    (
        "DELETE",
        "/api/v1/crm-connections/{id}",
        "crm_connection.delete",
    ),
    (
        "POST",
        "/api/v1/crm-connections/{id}/replay",
        "crm_connection.replay",
    ),
    (
        "PUT",
        "/api/v1/email-notifications",
        "email_recipients.update",
    ),
    (
        "POST",
        "/api/v1/email-notifications/replay",
        "email_notifications.replay",
    ),
    ("POST", "/api/v1/tag-rules", "tag_rule.create"),
    ("PATCH", "/api/v1/tag-rules/{id}", "tag_rule.update"),
    ("DELETE", "/api/v1/tag-rules/{id}", "tag_rule.delete"),
    ("POST", "/api/v1/tag-rules/{id}/apply", "tag_rule.apply"),
    ("POST", "/api/v1/calls/{call_id}/swap", "call.swap"),
    ("GET", "/api/v1/calls/export.csv", "call.export"),
    ("POST", "/admin/users", "user.create"),
    ("POST", "/admin/users/{user_id}", "user.update"),
    ("POST", "/admin/webhook", "webhook_url.create"),
    ("POST", "/admin/webhook/delete", "webhook_url.delete"),
    ("POST", "/admin/settings", "analysis_settings.update"),
    (
        "POST",
        "/admin/outgoing-webhooks",
        "outgoing_webhook.create",
    ),
    (
        "POST",
        "/admin/outgoing-webhooks/{id}/enabled",
        "outgoing_webhook.update",
    ),
    (
        "POST",
        "/admin/outgoing-webhooks/{id}/replay",
        "outgoing_webhook.replay",
    ),
    (
        "POST",
        "/admin/outgoing-webhooks/{id}/delete",
        "outgoing_webhook.delete",
    ),
    ("POST", "/admin/tag-rules", "tag_rule.create"),
    ("POST", "/admin/tag-rules/{id}/enabled", "tag_rule.update"),
    ("POST", "/admin/tag-rules/{id}/apply", "tag_rule.apply"),
    ("POST", "/admin/tag-rules/{id}/delete", "tag_rule.delete"),
    ("POST", "/admin/slack-rules", "slack_rule.create"),
    ("POST", "/admin/slack-rules/{id}", "slack_rule.update"),
    (
        "POST",
        "/admin/slack-rules/{id}/replay",
        "slack_rule.replay",
    ),
    (
        "POST",
        "/admin/slack-rules/{id}/delete",
        "slack_rule.delete",
    ),
    ("POST", "/admin/crm-connections", "crm_connection.create"),
    (
        "POST",
        "/admin/crm-connections/{id}",
        "crm_connection.update",
    ),
    (
        "POST",
        "/admin/crm-connections/{id}/replay",
        "crm_connection.replay",
    ),
    (
        "POST",
        "/admin/crm-connections/{id}/delete",
        "crm_connection.delete",
    ),
    ("POST", "/admin/email", "email_recipients.update"),
    ("POST", "/admin/email/replay", "email_notifications.replay"),
    ("POST", "/calls/{call_id}/swap", "call.swap"),
];

/// The CLI's commands (`<command> <subcommand>`) → action.
const CLI_ACTIONS: &[(&str, &str)] = &[
    ("company create", "company.create"),
    ("user create", "user.create"),
    ("user update", "user.update"),
    ("webhook-url create", "webhook_url.create"),
    ("webhook-url delete", "webhook_url.delete"),
    ("call swap", "call.swap"),
    ("call export", "call.export"),
    ("outgoing-webhook create", "outgoing_webhook.create"),
    ("outgoing-webhook update", "outgoing_webhook.update"),
    ("outgoing-webhook delete", "outgoing_webhook.delete"),
    (
        "outgoing-webhook rotate-secret",
        "outgoing_webhook.rotate_secret",
    ),
    ("slack-rule create", "slack_rule.create"),
    ("slack-rule update", "slack_rule.update"),
    ("slack-rule delete", "slack_rule.delete"),
    ("slack-rule replay", "slack_rule.replay"),
    ("crm-connection create", "crm_connection.create"),
    ("crm-connection update", "crm_connection.update"),
    ("crm-connection delete", "crm_connection.delete"),
    ("crm-connection replay", "crm_connection.replay"),
    ("email-notifications set", "email_recipients.update"),
    ("email-notifications user", "user_notifications.update"),
    ("email-notifications replay", "email_notifications.replay"),
    ("tag-rule create", "tag_rule.create"),
    ("tag-rule update", "tag_rule.update"),
    ("tag-rule delete", "tag_rule.delete"),
    ("tag-rule apply", "tag_rule.apply"),
    // Touches every company: recorded in each company's log.
    ("secrets reencrypt", "secrets.reencrypt"),
];

/// The action a request is, by its method and matched route; `None`: not audited.
pub fn http_action(method: &str, route: &str) -> Option<&'static str> {
    HTTP_ACTIONS
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, action)| *action)
}

/// The action a CLI command is (`command` as `"user update"`); `None`: not audited.
pub fn cli_action(command: &str) -> Option<&'static str> {
    CLI_ACTIONS
        .iter()
        .find(|(c, _)| *c == command)
        .map(|(_, action)| *action)
}

/// Every action name, sorted, once each: what the audit log's action filter offers.
pub fn actions() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = HTTP_ACTIONS
        .iter()
        .map(|(_, _, action)| *action)
        .chain(CLI_ACTIONS.iter().map(|(_, action)| *action))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The fields of a request's or command's answer worth keeping in `details`: ids and
/// switches, never a secret, URL, setting or credential (those may hold secrets).
const DETAIL_FIELDS: &[&str] = &[
    "company_id",
    "user_id",
    "admin_user_id",
    "email",
    "admin",
    "use_incoming_webhook",
    "enabled",
    "kind",
    "version",
    "queued",
    "calls",
    "replayed",
    "key_id",
    "reencrypted",
    "already_current",
    "encrypted_from_plain_text",
    "webhook_secrets_hashed",
];

/// What an action's answer (the API's JSON body or the CLI's output) says worth keeping:
/// the [`DETAIL_FIELDS`] found at its top level, and the id it made as the target.
pub fn answer_details(answer: &Value) -> (Option<String>, Map<String, Value>) {
    let Some(object) = answer.as_object() else {
        return (None, Map::new());
    };
    let kept = object
        .iter()
        .filter(|(k, v)| DETAIL_FIELDS.contains(&k.as_str()) && !v.is_object() && !v.is_array())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let made = ["id", "user_id", "company_id"]
        .iter()
        .find_map(|k| object.get(*k).and_then(Value::as_str))
        .map(str::to_string);
    (made, kept)
}

/// Records `action` on `company` by `actor`.
pub async fn record(
    app: &App,
    company: CompanyId,
    actor: &Actor,
    action: &str,
    target: Option<String>,
    details: Map<String, Value>,
) -> Result<AuditEntryId, AppError> {
    let entry = NewAuditEntry {
        company_id: company,
        at: app.clock.now(),
        actor_id: actor.id.clone(),
        actor_name: actor.name.clone(),
        action: action.to_string(),
        target,
        details: Value::Object(details).to_string(),
        client: actor.client.map(|ip| ip.to_string()),
        via: actor.via.as_str().to_string(),
    };
    Ok(app.store.record_audit(&entry).await?)
}

/// The filters of a listing, as the API's query and the CLI's flags give them.
#[derive(Debug, Default)]
pub struct Query {
    pub since: Option<String>,
    pub until: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub before: Option<String>,
    pub limit: Option<u32>,
}

fn time_of(name: &str, text: Option<&str>) -> Result<Option<time::OffsetDateTime>, AppError> {
    text.map(|t| {
        datetime::parse_lenient(t).map_err(|why| AppError::InvalidRequest(format!("{name} {why}")))
    })
    .transpose()
}

/// A page of the company's entries, newest first, and the cursor of the next one.
pub async fn list(
    app: &App,
    company: CompanyId,
    query: &Query,
) -> Result<(Vec<AuditEntry>, Option<String>), AppError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let filter = AuditFilter {
        since: time_of("since", query.since.as_deref())?,
        until: time_of("until", query.until.as_deref())?,
        actor_id: query.actor.clone().filter(|a| !a.is_empty()),
        action: query.action.clone().filter(|a| !a.is_empty()),
        before: query.before.as_deref().map(cursor::decode).transpose()?,
        limit: limit + 1,
    };
    let mut page = app.store.audit_entries(company, &filter).await?;
    let next = if page.len() > limit as usize {
        page.truncate(limit as usize);
        page.last().map(|e| cursor::encode(e.entry.at, e.id))
    } else {
        None
    };
    Ok((page, next))
}

/// One recorded action as the API and the CLI show it: who, when, what and from where.
/// Entries are never changed. Fields in the order the answer has always had
/// (alphabetical).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = AuditEntry)]
pub struct EntryView {
    #[schema(examples("user.update", "webhook_url.delete"))]
    action: String,
    actor: ActorView,
    #[schema(format = DateTime)]
    at: String,
    /// The client's address (behind trusted proxies, the forwarded one).
    #[schema(required)]
    client: Option<String>,
    /// Ids and on/off switches from the answer, an export's query; never secrets, URLs or
    /// settings.
    #[schema(value_type = Object)]
    details: Value,
    id: AuditEntryId,
    /// The id the action was on, if any.
    #[schema(required)]
    target: Option<String>,
    #[schema(value_type = crate::http::schemas::AuditVia)]
    via: String,
}

/// Who did it.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = AuditActor)]
pub struct ActorView {
    /// The user's id, or `cli` for an operator's command.
    id: String,
    /// The user's e-mail, or the operator's login name.
    name: String,
}

pub fn view(e: &AuditEntry) -> EntryView {
    let details: Value = serde_json::from_str(&e.entry.details).unwrap_or_else(|_| json!({}));
    EntryView {
        action: e.entry.action.clone(),
        actor: ActorView {
            id: e.entry.actor_id.clone(),
            name: e.entry.actor_name.clone(),
        },
        at: datetime::format(e.entry.at),
        client: e.entry.client.clone(),
        details,
        id: e.id,
        target: e.entry.target.clone(),
        via: e.entry.via.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_ids_and_switches_but_never_secrets() {
        let answer = json!({
            "id": "e1", "secret": "whsec_x", "url": "https://x", "enabled": true,
            "settings": {"token": "t"}, "email": "a@b.example", "admin": false,
        });
        let (made, kept) = answer_details(&answer);
        assert_eq!(made.as_deref(), Some("e1"));
        assert_eq!(
            Value::Object(kept),
            json!({"enabled": true, "email": "a@b.example", "admin": false})
        );
        assert_eq!(answer_details(&json!("text")), (None, Map::new()));
    }

    #[test]
    fn every_action_is_named_resource_dot_verb() {
        let names = HTTP_ACTIONS
            .iter()
            .map(|(_, _, a)| *a)
            .chain(CLI_ACTIONS.iter().map(|(_, a)| *a));
        for name in names {
            let (resource, verb) = name.split_once('.').expect(name);
            assert!(!resource.is_empty() && !verb.is_empty(), "{name}");
        }
        assert_eq!(http_action("GET", "/api/v1/users"), None);
        assert_eq!(cli_action("user list"), None);
    }
}
