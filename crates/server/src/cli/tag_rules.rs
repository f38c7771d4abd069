//! `kiku tag-rule create|list|show|update|delete|apply`: the same services as the HTTP
//! API, for operators.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::accounts::company_id;
use crate::app::tag_rules::{self as service, id_of, view, TagRuleRequest};
use crate::app::{App, AppError};

/// A rule's settings, for `create` (name, keywords and tag required) and `update`.
#[derive(Args)]
pub struct RuleArgs {
    #[arg(long)]
    name: Option<String>,
    /// Comma-separated words or phrases.
    #[arg(long, value_delimiter = ',')]
    keywords: Option<Vec<String>>,
    /// `any`: the keywords' total count reaches --min-count; `all`: each keyword's does.
    #[arg(long = "match")]
    keyword_match: Option<String>,
    #[arg(long)]
    min_count: Option<u32>,
    /// Whose words count: user, customer or any.
    #[arg(long)]
    speaker: Option<String>,
    #[arg(long)]
    tag: Option<String>,
    #[arg(long)]
    enabled: Option<bool>,
}

impl From<RuleArgs> for TagRuleRequest {
    fn from(a: RuleArgs) -> Self {
        TagRuleRequest {
            name: a.name,
            keywords: a.keywords,
            keyword_match: a.keyword_match,
            min_count: a.min_count,
            speaker: a.speaker,
            tag: a.tag,
            enabled: a.enabled,
        }
    }
}

#[derive(Subcommand)]
pub enum TagRuleCommand {
    /// Create a rule; calls analysed from now on are tagged by it.
    Create {
        #[arg(long)]
        company: String,
        #[command(flatten)]
        rule: RuleArgs,
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
        #[command(flatten)]
        rule: RuleArgs,
    },
    /// Delete a rule and the tags it gave.
    Delete {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
    },
    /// Apply a rule to every analysed call (a background job run by `kiku serve`).
    Apply {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
    },
}

pub async fn run(app: &App, command: TagRuleCommand) -> Result<Value, AppError> {
    match command {
        TagRuleCommand::Create { company, rule } => {
            let made = service::create(app, company_id(&company)?, rule.into()).await?;
            Ok(json!(view(&made)))
        }
        TagRuleCommand::List { company } => {
            let all = service::list(app, company_id(&company)?).await?;
            Ok(json!({"items": all.iter().map(view).collect::<Vec<_>>()}))
        }
        TagRuleCommand::Show { company, id } => {
            let rule = service::show(app, company_id(&company)?, id_of(&id)?).await?;
            Ok(json!(view(&rule)))
        }
        TagRuleCommand::Update { company, id, rule } => {
            let changed =
                service::update(app, company_id(&company)?, id_of(&id)?, rule.into()).await?;
            Ok(json!(view(&changed)))
        }
        TagRuleCommand::Delete { company, id } => {
            service::delete(app, company_id(&company)?, id_of(&id)?).await?;
            Ok(json!({"deleted": true}))
        }
        TagRuleCommand::Apply { company, id } => {
            let calls = service::apply(app, company_id(&company)?, id_of(&id)?).await?;
            Ok(json!({"applying_to_calls": calls}))
        }
    }
}
