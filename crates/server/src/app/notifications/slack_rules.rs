//! A company's Slack rules: created and re-pointed only after the SSRF check, listed
//! without their webhook URLs (a Slack webhook URL is a credential).

use kiku_domain::notification::{RuleName, SlackRuleFilters};
use kiku_domain::outgoing_webhook::EndpointUrl;
use kiku_domain::{CompanyId, SlackRuleId};
use kiku_storage::{NewSlackRule, SlackRule, SlackRulePatch};
use serde_json::Value;

use super::invalid;
use crate::app::{App, AppError};

/// What an admin sends to create a rule (`None`: the default).
#[derive(Debug, Clone, Default)]
pub struct RuleRequest {
    pub name: String,
    pub webhook_url: String,
    pub enabled: Option<bool>,
    pub include_summary: Option<bool>,
    pub filters: Option<Value>,
}

/// What an admin sends to change a rule (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct RuleChange {
    pub name: Option<String>,
    pub webhook_url: Option<String>,
    pub enabled: Option<bool>,
    pub include_summary: Option<bool>,
    pub filters: Option<Value>,
}

pub fn not_found() -> AppError {
    AppError::NotFound("no such Slack rule in this company".into())
}

/// The URL, checked: http(s), no credentials in it, a host the SSRF rule allows.
async fn checked_url(app: &App, raw: &str) -> Result<String, AppError> {
    let url = EndpointUrl::parse(raw)
        .map_err(|e| AppError::InvalidRequest(format!("webhook_url: {e}")))?;
    app.outgoing_webhooks
        .check_url(url.as_str())
        .await
        .map_err(|e| AppError::UnsafeUrl(e.to_string()))?;
    Ok(url.as_str().to_string())
}

/// The filters, checked, with every user id a user of the company; stored normalised.
async fn checked_filters(app: &App, company: CompanyId, raw: &Value) -> Result<Value, AppError> {
    let filters = SlackRuleFilters::parse(raw).map_err(invalid)?;
    if !filters.user_ids.is_empty() {
        let users = app.store.users(company).await?;
        if let Some(stranger) = filters
            .user_ids
            .iter()
            .find(|id| !users.iter().any(|u| u.id == **id))
        {
            return Err(AppError::InvalidRequest(format!(
                "filters: {stranger} is not a user of this company"
            )));
        }
    }
    serde_json::to_value(&filters).map_err(AppError::internal)
}

pub async fn create(
    app: &App,
    company: CompanyId,
    req: RuleRequest,
) -> Result<SlackRule, AppError> {
    let name = RuleName::parse(&req.name).map_err(invalid)?;
    if app.store.company(company).await?.is_none() {
        return Err(AppError::NotFound("no such company".into()));
    }
    let filters = checked_filters(app, company, &req.filters.unwrap_or(Value::Null)).await?;
    let webhook_url = checked_url(app, &req.webhook_url).await?;
    let new = NewSlackRule {
        company_id: company,
        name: name.as_str().into(),
        webhook_url,
        enabled: req.enabled.unwrap_or(true),
        include_summary: req.include_summary.unwrap_or(false),
        filters,
        now: app.clock.now(),
    };
    let created = app.store.create_slack_rule(&new).await?;
    tracing::info!(company_id = %company, slack_rule_id = %created.id, "slack rule created");
    Ok(created)
}

pub async fn update(
    app: &App,
    company: CompanyId,
    id: SlackRuleId,
    change: RuleChange,
) -> Result<SlackRule, AppError> {
    show(app, company, id).await?;
    let name = change
        .name
        .as_deref()
        .map(RuleName::parse)
        .transpose()
        .map_err(invalid)?;
    let filters = match &change.filters {
        Some(f) => Some(checked_filters(app, company, f).await?),
        None => None,
    };
    let webhook_url = match &change.webhook_url {
        Some(url) => Some(checked_url(app, url).await?),
        None => None,
    };
    let patch = SlackRulePatch {
        name: name.map(|n| n.as_str().into()),
        webhook_url,
        enabled: change.enabled,
        include_summary: change.include_summary,
        filters,
    };
    let updated = app
        .store
        .update_slack_rule(company, id, &patch, app.clock.now())
        .await?;
    updated.ok_or_else(not_found)
}

pub async fn list(app: &App, company: CompanyId) -> Result<Vec<SlackRule>, AppError> {
    Ok(app.store.slack_rules(company).await?)
}

pub async fn show(app: &App, company: CompanyId, id: SlackRuleId) -> Result<SlackRule, AppError> {
    app.store
        .slack_rule(company, id)
        .await?
        .ok_or_else(not_found)
}

pub async fn delete(app: &App, company: CompanyId, id: SlackRuleId) -> Result<(), AppError> {
    if app.store.delete_slack_rule(company, id).await? {
        tracing::info!(company_id = %company, slack_rule_id = %id, "slack rule deleted");
        Ok(())
    } else {
        Err(not_found())
    }
}
