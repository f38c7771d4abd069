//! `kiku outgoing-webhook create|list|show|update|delete|rotate-secret`: the same services
//! as the HTTP API, for operators.

use clap::{Args, Subcommand};
use kiku_domain::OutgoingWebhookId;
use serde_json::{json, Value};

use super::accounts::company_id;
use crate::app::outgoing_webhooks::{self as service, view, EndpointChange, EndpointRequest};
use crate::app::{App, AppError};

/// The settings shared by `create` and `update`; JSON options take a JSON object.
#[derive(Args)]
pub struct EndpointArgs {
    /// Additional headers, a JSON object of strings.
    #[arg(long)]
    headers: Option<String>,
    /// Additional payload, a JSON object merged at the payload's top level.
    #[arg(long)]
    payload: Option<String>,
    #[arg(long)]
    exclude_phrases: Option<bool>,
    #[arg(long)]
    exclude_keywords: Option<bool>,
    #[arg(long)]
    enabled: Option<bool>,
    /// Comma-separated event types.
    #[arg(long, value_delimiter = ',')]
    events: Option<Vec<String>>,
}

#[derive(Subcommand)]
pub enum OutgoingWebhookCommand {
    /// Create an endpoint (after the SSRF check and the challenge); prints its secret once.
    Create {
        #[arg(long)]
        company: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        url: String,
        #[command(flatten)]
        settings: EndpointArgs,
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
    /// Change an endpoint; a new URL is challenged first.
    Update {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        settings: EndpointArgs,
    },
    Delete {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
    },
    /// A new secret (printed once); the old one still signs for 24 hours.
    RotateSecret {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
    },
}

fn endpoint_id(text: &str) -> Result<OutgoingWebhookId, AppError> {
    text.parse()
        .map_err(|_| AppError::InvalidRequest(format!("{text:?} is not an outgoing webhook ID")))
}

pub(super) fn json_arg(name: &str, text: Option<String>) -> Result<Option<Value>, AppError> {
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| AppError::InvalidRequest(format!("--{name} is not JSON: {e}")))
    })
    .transpose()
}

pub async fn run(app: &App, command: OutgoingWebhookCommand) -> Result<Value, AppError> {
    match command {
        OutgoingWebhookCommand::Create {
            company,
            name,
            url,
            settings,
        } => {
            let request = EndpointRequest {
                name,
                url,
                headers: json_arg("headers", settings.headers)?,
                payload: json_arg("payload", settings.payload)?,
                exclude_phrases: settings.exclude_phrases,
                exclude_keywords: settings.exclude_keywords,
                enabled: settings.enabled,
                events: settings.events,
            };
            let e = service::create(app, company_id(&company)?, request).await?;
            Ok(json!(view::endpoint_with_secret(&e)))
        }
        OutgoingWebhookCommand::List { company } => {
            let all = service::list(app, company_id(&company)?).await?;
            Ok(json!({"items": all.iter().map(view::endpoint).collect::<Vec<_>>()}))
        }
        OutgoingWebhookCommand::Show { company, id } => {
            let e = service::show(app, company_id(&company)?, endpoint_id(&id)?).await?;
            Ok(json!(view::endpoint(&e)))
        }
        OutgoingWebhookCommand::Update {
            company,
            id,
            name,
            url,
            settings,
        } => {
            let change = EndpointChange {
                name,
                url,
                headers: json_arg("headers", settings.headers)?,
                payload: json_arg("payload", settings.payload)?,
                exclude_phrases: settings.exclude_phrases,
                exclude_keywords: settings.exclude_keywords,
                enabled: settings.enabled,
                events: settings.events,
            };
            let e = service::update(app, company_id(&company)?, endpoint_id(&id)?, change).await?;
            Ok(json!(view::endpoint(&e)))
        }
        OutgoingWebhookCommand::Delete { company, id } => {
            service::delete(app, company_id(&company)?, endpoint_id(&id)?).await?;
            Ok(json!({"deleted": true}))
        }
        OutgoingWebhookCommand::RotateSecret { company, id } => {
            let e = service::rotate_secret(app, company_id(&company)?, endpoint_id(&id)?).await?;
            Ok(json!(view::endpoint_with_secret(&e)))
        }
    }
}
