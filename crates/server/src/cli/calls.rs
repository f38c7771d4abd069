//! `kiku call …`: operations on a call history.

use clap::Subcommand;
use kiku_domain::CallId;
use serde_json::{json, Value};

use super::accounts::company_id;
use crate::app::{analysis, App, AppError};

#[derive(Subcommand)]
pub enum CallCommand {
    /// Swap user and customer on a completed call: a new version of its result.
    Swap {
        #[arg(long)]
        company: String,
        #[arg(long)]
        call: String,
    },
}

pub async fn call(app: &App, command: CallCommand) -> Result<Value, AppError> {
    match command {
        CallCommand::Swap { company, call } => {
            let company = company_id(&company)?;
            let call: CallId = call
                .parse()
                .map_err(|_| AppError::InvalidRequest("--call is not a call id".into()))?;
            let version = analysis::swap(app, company, call).await?;
            let detail = analysis::current_detail(app, company, call).await?;
            Ok(json!({"call_id": call, "version": version, "analysis": detail}))
        }
    }
}
