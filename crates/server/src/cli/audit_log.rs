//! `kiku audit-log list`: the company's audit log, as `GET /api/v1/audit-log` gives it;
//! and the recording of each audited command the operator runs.

use clap::{ArgMatches, Subcommand};
use serde_json::{json, Map, Value};

use super::accounts::company_id;
use crate::app::audit::{self, Actor};
use crate::app::{App, AppError};

#[derive(Subcommand)]
pub enum AuditLogCommand {
    /// Entries newest first; `next_before` is the --before of the next page.
    List {
        #[arg(long)]
        company: String,
        /// Entries at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Entries before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// A user's id, or `cli` for commands run here.
        #[arg(long)]
        actor: Option<String>,
        /// e.g. `user.update`.
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        before: Option<String>,
        /// 1 to 200 (default 50).
        #[arg(long)]
        limit: Option<u32>,
    },
}

pub async fn run(app: &App, command: AuditLogCommand) -> Result<Value, AppError> {
    let AuditLogCommand::List {
        company,
        since,
        until,
        actor,
        action,
        before,
        limit,
    } = command;
    let query = audit::Query {
        since,
        until,
        actor,
        action,
        before,
        limit,
    };
    let (entries, next) = audit::list(app, company_id(&company)?, &query).await?;
    let items: Vec<_> = entries.iter().map(audit::view).collect();
    Ok(json!({ "items": items, "next_before": next }))
}

/// An audited command as parsed: its action, company and the id it was run on.
pub struct Audited {
    action: &'static str,
    company: Option<String>,
    target: Option<String>,
    details: Map<String, Value>,
}

/// The action `matches` is, if it is one (`kiku user update …` is `user.update`).
pub fn audited(matches: &ArgMatches) -> Option<Audited> {
    let (command, sub) = matches.subcommand()?;
    let (verb, args) = sub.subcommand()?;
    let action = audit::cli_action(&format!("{command} {verb}"))?;
    let text = |name: &str| {
        args.try_get_one::<String>(name)
            .ok()
            .flatten()
            .map(String::to_string)
    };
    let mut details = Map::new();
    if let Some(Some(filters)) = args
        .try_get_many::<String>("filters")
        .ok()
        .map(|v| v.map(|f| f.cloned().collect::<Vec<_>>()))
    {
        details.insert("filters".into(), json!(filters));
    }
    Some(Audited {
        action,
        company: text("company"),
        target: text("id").or_else(|| text("user")).or_else(|| text("call")),
        details,
    })
}

/// Records a command that succeeded with `output`; a failure to record is reported on
/// stderr (the action itself is done).
/// A command that names no company (`secrets reencrypt`) acted on all of them, so it is
/// recorded in every company's log.
pub async fn record(app: &App, audited: Audited, output: &Value) {
    let (made, kept) = audit::answer_details(output);
    let named = audited
        .company
        .or_else(|| output["company_id"].as_str().map(str::to_string));
    let companies = match named {
        Some(c) => company_id(&c).ok().into_iter().collect(),
        None => match app.store.company_ids().await {
            Ok(all) => all,
            Err(e) => {
                eprintln!(
                    "kiku: the audit entries of {} were not recorded: {e}",
                    audited.action
                );
                return;
            }
        },
    };
    let mut details = audited.details;
    details.extend(kept);
    let target = audited.target.or(made);
    for company in companies {
        let recorded = audit::record(
            app,
            company,
            &Actor::operator(),
            audited.action,
            target.clone(),
            details.clone(),
        )
        .await;
        if let Err(e) = recorded {
            eprintln!(
                "kiku: the audit entry of {} was not recorded: {e}",
                audited.action
            );
        }
    }
}
