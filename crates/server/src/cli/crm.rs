//! `kiku crm-connection …`: the same services as the HTTP API, for operators. The kind's
//! settings and credentials come as one JSON object (`--settings`); credentials are taken,
//! never printed.

use clap::{Args, Subcommand};
use kiku_domain::crm::CrmFields;
use kiku_domain::CrmConnectionId;
use serde_json::{json, Value};

use super::accounts::company_id;
use crate::app::notifications::crm_connections::{
    self as service, ConnectionChange, ConnectionRequest,
};
use crate::app::notifications::{replay, view};
use crate::app::outgoing_webhooks::replay::Replay;
use crate::app::{App, AppError};

/// The settings shared by `create` and `update`.
#[derive(Args)]
pub struct ConnectionArgs {
    /// The vendor's API address (kintone: `https://<sub>.cybozu.com`); `""` on update: the
    /// vendor's public address again.
    #[arg(long)]
    base_url: Option<String>,
    /// `transcript` or `summary`.
    #[arg(long)]
    content: Option<String>,
    #[arg(long)]
    enabled: Option<bool>,
    /// A JSON object of the kind's settings and credentials, e.g. kintone's
    /// `{"app": 12, "api_token": "…", "field_map": {"body": "memo"}}`.
    #[arg(long)]
    settings: Option<String>,
}

#[derive(Subcommand)]
pub enum CrmConnectionCommand {
    /// Connect a CRM (after the SSRF check of its base URL).
    Create {
        #[arg(long)]
        company: String,
        /// `salesforce`, `hubspot` or `kintone`.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        settings: ConnectionArgs,
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
        #[command(flatten)]
        settings: ConnectionArgs,
    },
    Delete {
        #[arg(long)]
        company: String,
        #[arg(long)]
        id: String,
    },
    /// Write one event again (--event-id) or every failed one since a time
    /// (--failed-since); the call's record is updated, not made twice.
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

fn connection_id(text: &str) -> Result<CrmConnectionId, AppError> {
    text.parse()
        .map_err(|_| AppError::InvalidRequest(format!("{text:?} is not a CRM connection ID")))
}

fn fields(settings: Option<String>) -> Result<CrmFields, AppError> {
    match settings {
        None => Ok(CrmFields::default()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| AppError::InvalidRequest(format!("--settings: {e}"))),
    }
}

pub async fn run(app: &App, command: CrmConnectionCommand) -> Result<Value, AppError> {
    match command {
        CrmConnectionCommand::Create {
            company,
            kind,
            name,
            settings,
        } => {
            let request = ConnectionRequest {
                kind,
                name,
                base_url: settings.base_url,
                content: settings.content,
                enabled: settings.enabled,
                fields: fields(settings.settings)?,
            };
            let created = service::create(app, company_id(&company)?, request).await?;
            Ok(json!(view::connection(&created)))
        }
        CrmConnectionCommand::List { company } => {
            let all = service::list(app, company_id(&company)?).await?;
            Ok(json!({"items": all.iter().map(view::connection).collect::<Vec<_>>()}))
        }
        CrmConnectionCommand::Show { company, id } => {
            let connection = service::show(app, company_id(&company)?, connection_id(&id)?).await?;
            Ok(json!(view::connection(&connection)))
        }
        CrmConnectionCommand::Update {
            company,
            id,
            name,
            settings,
        } => {
            let change = ConnectionChange {
                name,
                base_url: settings.base_url,
                content: settings.content,
                enabled: settings.enabled,
                fields: fields(settings.settings)?,
            };
            let id = connection_id(&id)?;
            let updated = service::update(app, company_id(&company)?, id, change).await?;
            Ok(json!(view::connection(&updated)))
        }
        CrmConnectionCommand::Delete { company, id } => {
            service::delete(app, company_id(&company)?, connection_id(&id)?).await?;
            Ok(json!({"deleted": true}))
        }
        CrmConnectionCommand::Replay {
            company,
            id,
            event_id,
            failed_since,
        } => {
            let what = Replay::from_request(event_id, failed_since)?;
            let n = replay::crm(app, company_id(&company)?, connection_id(&id)?, what).await?;
            Ok(json!({"replaying": n}))
        }
    }
}
