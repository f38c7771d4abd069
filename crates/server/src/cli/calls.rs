//! `kiku call …`: operations on a call history.

use clap::Subcommand;
use kiku_domain::search::CallSearch;
use kiku_domain::CallId;
use serde_json::{json, Value};

use super::accounts::company_id;
use crate::app::{analysis, export, App, AppError};

#[derive(Subcommand)]
pub enum CallCommand {
    /// Swap user and customer on a completed call: a new version of its result.
    Swap {
        #[arg(long)]
        company: String,
        #[arg(long)]
        call: String,
    },
    /// Write the company's calls as CSV, the file `GET /api/v1/calls/export.csv` serves.
    Export {
        #[arg(long)]
        company: String,
        /// Where to write the file.
        #[arg(long)]
        out: std::path::PathBuf,
        /// `utf-8` (with a BOM) or `shift_jis`.
        #[arg(long, default_value = "utf-8")]
        encoding: String,
        /// A filter of the call list, `NAME=VALUE` (e.g. `q=解約`, `status=completed`);
        /// repeat for several.
        #[arg(long = "filter", value_name = "NAME=VALUE")]
        filters: Vec<String>,
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
        CallCommand::Export {
            company,
            out,
            encoding,
            filters,
        } => {
            let company = company_id(&company)?;
            let mut pairs = Vec::new();
            for f in &filters {
                let (k, v) = f.split_once('=').ok_or_else(|| {
                    AppError::InvalidRequest(format!("--filter {f:?} is not NAME=VALUE"))
                })?;
                pairs.push((k.to_string(), v.to_string()));
            }
            let search = CallSearch::parse(&pairs, &[])?;
            pairs.push(("encoding".into(), encoding));
            let encoding = export::encoding_of(&pairs)?;
            let rows = write_export(app, company, search, encoding, &out).await?;
            Ok(json!({"file": out.display().to_string(), "rows": rows}))
        }
    }
}

/// The export written to a new file at `path` (made private to this user: it holds numbers
/// and names), synced before it is reported written.
async fn write_export(
    app: &App,
    company: kiku_domain::CompanyId,
    search: CallSearch,
    encoding: export::Encoding,
    path: &std::path::Path,
) -> Result<u64, AppError> {
    use tokio::io::AsyncWriteExt;
    let failed = |e: std::io::Error| {
        AppError::InvalidRequest(format!("cannot write {}: {e}", path.display()))
    };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .await
        .map_err(failed)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(2);
    let writing = async move {
        while let Some(chunk) = rx.recv().await {
            file.write_all(&chunk).await?;
        }
        file.sync_all().await
    };
    let (rows, written) = tokio::join!(export::export(app, company, search, encoding, tx), writing);
    written.map_err(failed)?;
    rows
}
