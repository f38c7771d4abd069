//! A call's notifications on its page, for admins (the API's
//! `GET /api/v1/calls/{id}/notifications` is admins' too): each target and event with its
//! attempts, outcome and CRM record id, named and linked to the target's admin page.

use std::collections::HashMap;

use kiku_domain::CallId;

use super::error::UiError;
use super::session::Viewer;
use crate::app::notifications::history::{self, CallNotification, NotificationTarget};
use crate::app::notifications::{crm_connections, slack_rules};
use crate::app::{outgoing_webhooks, AppError};
use crate::http::AppState;

pub struct NotificationRow {
    pub channel: &'static str,
    pub target: String,
    /// The target's admin page, while it exists.
    pub link: Option<String>,
    pub event_id: String,
    pub attempts: u32,
    /// When, and what the target answered.
    pub last_attempt: String,
    /// `delivered`, `failed`, … (a class of the row) and its words.
    pub outcome: String,
    pub outcome_text: &'static str,
    pub crm_record_id: String,
}

/// The names of the company's Slack rules, CRM connections and outgoing webhooks by id.
async fn target_names(
    app: &AppState,
    viewer: &Viewer,
) -> Result<HashMap<String, String>, AppError> {
    let company = viewer.user.company_id;
    let mut names = HashMap::new();
    for r in slack_rules::list(app, company).await? {
        names.insert(r.id.to_string(), r.name);
    }
    for c in crm_connections::list(app, company).await? {
        names.insert(c.id.to_string(), c.name);
    }
    for e in outgoing_webhooks::list(app, company).await? {
        names.insert(e.id.to_string(), e.name);
    }
    Ok(names)
}

fn row(n: &CallNotification, names: &HashMap<String, String>, viewer: &Viewer) -> NotificationRow {
    let t = viewer.text().notify;
    // A target deleted since keeps the name its attempts were logged under.
    let named = |id: String, logged: &Option<String>, page: &str| {
        let link = names
            .contains_key(&id)
            .then(|| format!("/admin/{page}/{id}"));
        let name = names.get(&id).or(logged.as_ref()).cloned().unwrap_or(id);
        (name, link)
    };
    let (target, link) = match &n.target {
        NotificationTarget::Slack {
            slack_rule_id,
            name,
        } => named(slack_rule_id.to_string(), name, "slack-rules"),
        NotificationTarget::Crm {
            crm_connection_id,
            name,
        } => named(crm_connection_id.to_string(), name, "crm-connections"),
        NotificationTarget::Email { email } => (email.clone(), None),
        NotificationTarget::Webhook {
            outgoing_webhook_id,
        } => named(outgoing_webhook_id.to_string(), &None, "outgoing-webhooks"),
    };
    let last_attempt = n.last_attempt.as_ref().map_or_else(String::new, |l| {
        let answer = match (l.status, &l.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        format!("{} {answer}", l.attempted_at)
            .trim_end()
            .to_string()
    });
    NotificationRow {
        channel: t.channel_name(n.channel),
        target,
        link,
        event_id: n.event_id.clone(),
        attempts: n.attempts,
        last_attempt,
        outcome: n.outcome.clone(),
        outcome_text: t.outcome_name(&n.outcome),
        crm_record_id: n.crm_record_id.clone().flatten().unwrap_or_default(),
    }
}

/// The call's notifications for an admin; `None` for anyone else.
pub async fn rows(
    app: &AppState,
    viewer: &Viewer,
    call: CallId,
) -> Result<Option<Vec<NotificationRow>>, UiError> {
    if !viewer.user.admin {
        return Ok(None);
    }
    let failed = |e| UiError::new(e, viewer.lang);
    let company = viewer.user.company_id;
    let items = history::of_call(app, company, call).await.map_err(failed)?;
    let names = if items.is_empty() {
        HashMap::new()
    } else {
        target_names(app, viewer).await.map_err(failed)?
    };
    Ok(Some(items.iter().map(|n| row(n, &names, viewer)).collect()))
}
