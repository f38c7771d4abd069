//! `kiku slack-rule …` and `kiku email-notifications …`: the same services as the HTTP
//! API, for operators. Webhook URLs are taken, never printed.

use clap::{Args, Subcommand};
use kiku_domain::{SlackRuleId, UserId};
use kiku_storage::UserNotifications;
use serde_json::{json, Value};

use super::accounts::company_id;
use super::outgoing_webhooks::json_arg;
use crate::app::notifications::slack_rules::{self as rules, RuleChange, RuleRequest};
use crate::app::notifications::{email, replay, view};
use crate::app::outgoing_webhooks::replay::Replay;
use crate::app::{App, AppError};

/// The settings shared by `create` and `update`.
#[derive(Args)]
pub struct RuleArgs {
    #[arg(long)]
    include_summary: Option<bool>,
    #[arg(long)]
    enabled: Option<bool>,
    /// A JSON object: user_ids, event_types, tags, min_score, max_score.
    #[arg(long)]
    filters: Option<String>,
}

#[derive(Subcommand)]
pub enum SlackRuleCommand {
    /// Create a rule (after the SSRF check of its URL).
    Create {
        #[arg(long)]
        company: String,
        #[arg(long)]
        name: String,
        /// Slack's incoming-webhook URL (a credential: stored, never shown).
        #[arg(long)]
        webhook_url: String,
        #[command(flatten)]
        settings: RuleArgs,
    },
    List {
        #[arg(long)]
        company: String,
    },
    Show {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
    },
    Update {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        webhook_url: Option<String>,
        #[command(flatten)]
        settings: RuleArgs,
    },
    Delete {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
    },
    /// Post one event again (--event-id) or every failed one since a time (--failed-since).
    Replay {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        event_id: Option<String>,
        #[arg(long)]
        failed_since: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum EmailNotificationsCommand {
    /// The company-wide recipients, and whether an SMTP server is configured.
    Show {
        #[arg(long)]
        company: String,
    },
    /// Replace the company-wide recipients (none given: none).
    Set {
        #[arg(long)]
        company: String,
        #[arg(long = "recipient")]
        recipients: Vec<String>,
    },
    /// Switch a user's *e-mail me when recognition of my calls completes*.
    User {
        #[arg(long)]
        company: String,
        #[arg(long)]
        user: String,
        /// `true` or `false`.
        #[arg(long, action = clap::ArgAction::Set)]
        email_on_completion: bool,
    },
    /// Send one event's e-mails again (--event-id, optionally --to) or every failed one
    /// since a time (--failed-since).
    Replay {
        #[arg(long)]
        company: String,
        #[arg(long)]
        event_id: Option<String>,
        #[arg(long)]
        failed_since: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
}

fn rule_id(text: &str) -> Result<SlackRuleId, AppError> {
    text.parse()
        .map_err(|_| AppError::InvalidRequest(format!("{text:?} is not a Slack rule ID")))
}

pub async fn slack_rule(app: &App, command: SlackRuleCommand) -> Result<Value, AppError> {
    match command {
        SlackRuleCommand::Create {
            company,
            name,
            webhook_url,
            settings,
        } => {
            let request = RuleRequest {
                name,
                webhook_url,
                enabled: settings.enabled,
                include_summary: settings.include_summary,
                filters: json_arg("filters", settings.filters)?,
            };
            let rule = rules::create(app, company_id(&company)?, request).await?;
            Ok(json!(view::rule(&rule)))
        }
        SlackRuleCommand::List { company } => {
            let all = rules::list(app, company_id(&company)?).await?;
            Ok(json!({"items": all.iter().map(view::rule).collect::<Vec<_>>()}))
        }
        SlackRuleCommand::Show { company, id } => {
            let rule = rules::show(app, company_id(&company)?, rule_id(&id)?).await?;
            Ok(json!(view::rule(&rule)))
        }
        SlackRuleCommand::Update {
            company,
            id,
            name,
            webhook_url,
            settings,
        } => {
            let change = RuleChange {
                name,
                webhook_url,
                enabled: settings.enabled,
                include_summary: settings.include_summary,
                filters: json_arg("filters", settings.filters)?,
            };
            let rule = rules::update(app, company_id(&company)?, rule_id(&id)?, change).await?;
            Ok(json!(view::rule(&rule)))
        }
        SlackRuleCommand::Delete { company, id } => {
            rules::delete(app, company_id(&company)?, rule_id(&id)?).await?;
            Ok(json!({"deleted": true}))
        }
        SlackRuleCommand::Replay {
            company,
            id,
            event_id,
            failed_since,
        } => {
            let what = Replay::from_request(event_id, failed_since)?;
            let n = replay::slack(app, company_id(&company)?, rule_id(&id)?, what).await?;
            Ok(json!({"replaying": n}))
        }
    }
}

pub async fn email_notifications(
    app: &App,
    command: EmailNotificationsCommand,
) -> Result<Value, AppError> {
    match command {
        EmailNotificationsCommand::Show { company } => {
            let recipients = email::recipients(app, company_id(&company)?).await?;
            Ok(json!(email::settings_view(app, &recipients)))
        }
        EmailNotificationsCommand::Set {
            company,
            recipients,
        } => {
            let stored = email::set_recipients(app, company_id(&company)?, &recipients).await?;
            Ok(json!(email::settings_view(app, &stored)))
        }
        EmailNotificationsCommand::User {
            company,
            user,
            email_on_completion,
        } => {
            let user: UserId = user
                .parse()
                .map_err(|_| AppError::InvalidRequest(format!("{user:?} is not a user ID")))?;
            let choice = UserNotifications {
                email_on_completion,
            };
            let set = email::set_user_choice(app, company_id(&company)?, user, choice).await?;
            Ok(json!(email::choice_view(set)))
        }
        EmailNotificationsCommand::Replay {
            company,
            event_id,
            failed_since,
            to,
        } => {
            let what = Replay::from_request(event_id, failed_since)?;
            let n = replay::email(app, company_id(&company)?, to.as_deref(), what).await?;
            Ok(json!({"replaying": n}))
        }
    }
}
