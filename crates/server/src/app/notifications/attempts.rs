//! One page of notification attempts (a Slack rule's, a CRM connection's, the e-mails'),
//! newest first, with the cursor of the next page: what the API's attempt logs and the
//! admin pages list.

use kiku_domain::{CompanyId, CrmConnectionId, NotificationAttemptId, SlackRuleId};
use kiku_storage::{AttemptFilter, NotificationAttempt};

use super::{crm_connections, slack_rules};
use crate::app::{cursor, App, AppError};

/// Attempts a page holds unless asked otherwise, and at most.
pub const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// Which page: after the cursor `before` (`app::cursor`), `limit` attempts.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub before: Option<String>,
    pub limit: Option<u32>,
}

pub struct AttemptPage {
    pub items: Vec<NotificationAttempt>,
    pub next_before: Option<String>,
}

async fn page(
    app: &App,
    company: CompanyId,
    mut filter: AttemptFilter,
    request: PageRequest,
) -> Result<AttemptPage, AppError> {
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    if let Some(before) = request.before.as_deref() {
        filter.before = Some(cursor::decode::<NotificationAttemptId>(before)?);
    }
    filter.limit = limit + 1;
    let mut items = app.store.notification_attempts(company, &filter).await?;
    let next_before = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|a| cursor::encode(a.attempted_at, a.id))
    } else {
        None
    };
    Ok(AttemptPage { items, next_before })
}

/// A Slack rule's attempts (not found when the rule is not the company's).
pub async fn of_slack_rule(
    app: &App,
    company: CompanyId,
    rule: SlackRuleId,
    request: PageRequest,
) -> Result<AttemptPage, AppError> {
    slack_rules::show(app, company, rule).await?;
    let filter = AttemptFilter {
        slack_rule: Some(rule),
        ..AttemptFilter::default()
    };
    page(app, company, filter, request).await
}

/// A CRM connection's attempts (not found when it is not the company's).
pub async fn of_crm_connection(
    app: &App,
    company: CompanyId,
    connection: CrmConnectionId,
    request: PageRequest,
) -> Result<AttemptPage, AppError> {
    crm_connections::show(app, company, connection).await?;
    let filter = AttemptFilter {
        crm_connection: Some(connection),
        ..AttemptFilter::default()
    };
    page(app, company, filter, request).await
}

/// Every e-mail attempt of the company.
pub async fn of_email(
    app: &App,
    company: CompanyId,
    request: PageRequest,
) -> Result<AttemptPage, AppError> {
    let filter = AttemptFilter {
        channel: Some("email".into()),
        ..AttemptFilter::default()
    };
    page(app, company, filter, request).await
}
