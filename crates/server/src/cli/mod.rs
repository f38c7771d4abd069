//! The operator CLI. Every command but `serve` prints one JSON object on stdout; failures
//! print `{"error": {"code", "message"}}` and exit with status 1.

mod accounts;
mod analyze;
mod audit_log;
mod calls;
mod crm;
mod notifications;
mod outgoing_webhooks;
mod secrets;
mod tag_rules;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::{json, Value};

use crate::app::{App, AppError};
use crate::config::Config;
use crate::serve::Role;

#[derive(Parser)]
#[command(
    name = "kiku",
    version,
    about = "Self-hosted call-recording analytics server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (KIKU_LISTEN, KIKU_PUBLIC_URL, KIKU_DATA_DIR, KIKU_DATABASE_URL).
    Serve {
        /// The API, the web UI, the webhook and uploads only: no job workers of any kind
        /// (every worker count 0), leaving the jobs to `kiku worker` processes.
        #[arg(long)]
        api_only: bool,
    },
    /// Run job workers only (analysis, re-scoring, deliveries, notifications, as the
    /// config's worker counts say), sharing the database and recordings with `serve`.
    Worker {
        /// Serve `/health` and `/ready` on this address (e.g. 127.0.0.1:9090); none when absent.
        #[arg(long)]
        health_listen: Option<std::net::SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Companies (tenants).
    #[command(subcommand)]
    Company(accounts::CompanyCommand),
    /// Users of a company.
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// The company's Incoming Webhook URL.
    #[command(subcommand, name = "webhook-url")]
    WebhookUrl(accounts::WebhookUrlCommand),
    /// Call histories.
    #[command(subcommand)]
    Call(calls::CallCommand),
    /// A company's outgoing webhook endpoints.
    #[command(subcommand, name = "outgoing-webhook")]
    OutgoingWebhook(outgoing_webhooks::OutgoingWebhookCommand),
    /// A company's Slack rules.
    #[command(subcommand, name = "slack-rule")]
    SlackRule(notifications::SlackRuleCommand),
    /// E-mail notifications: company-wide recipients, users' choices, replays.
    #[command(subcommand, name = "email-notifications")]
    EmailNotifications(notifications::EmailNotificationsCommand),
    /// A company's CRM connections (Salesforce, HubSpot, kintone).
    #[command(subcommand, name = "crm-connection")]
    CrmConnection(crm::CrmConnectionCommand),
    /// A company's auto-tag rules.
    #[command(subcommand, name = "tag-rule")]
    TagRule(tag_rules::TagRuleCommand),
    /// The company's audit log: who did what, when and from where.
    #[command(subcommand, name = "audit-log")]
    AuditLog(audit_log::AuditLogCommand),
    /// The secrets stored in the database: `reencrypt` after a key rotation.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Analyse a local recording and print the call detail (no server or database needed).
    Analyze(analyze::AnalyzeArgs),
}

pub fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail("invalid_arguments", e.to_string().trim()),
    };
    let audited = audit_log::audited(&matches);
    let config = match Config::load() {
        Ok(config) => config,
        Err(message) => return fail("invalid_configuration", &message),
    };
    if let Command::Analyze(args) = cli.command {
        return match analyze::run(&config, args) {
            Ok(out) => {
                println!("{out}");
                ExitCode::SUCCESS
            }
            Err(failure) => fail(failure.code, &failure.message),
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail("internal", &format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { api_only } => match crate::serve::run(
                if api_only {
                    config.without_workers()
                } else {
                    config
                },
                Role::Server,
            )
            .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => fail("serve_failed", &message),
            },
            Command::Worker { health_listen } => {
                match crate::serve::run(
                    config,
                    Role::Worker {
                        health: health_listen,
                    },
                )
                .await
                {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(message) => fail("worker_failed", &message),
                }
            }
            command => match crate::bootstrap::app(&config).await {
                Err(message) => fail("cannot_open", &message),
                Ok(app) => match run(&app, command).await {
                    Ok(out) => {
                        if let Some(audited) = audited {
                            audit_log::record(&app, audited, &out).await;
                        }
                        println!("{out}");
                        ExitCode::SUCCESS
                    }
                    Err(err) => fail(code(&err), &err.to_string()),
                },
            },
        }
    })
}

async fn run(app: &App, command: Command) -> Result<Value, AppError> {
    match command {
        Command::Serve { .. } | Command::Worker { .. } | Command::Analyze(_) => {
            unreachable!("handled before opening the app")
        }
        Command::Migrate => Ok(json!({"migrated": true})),
        Command::Company(c) => accounts::company(app, c).await,
        Command::User(c) => accounts::user(app, c).await,
        Command::WebhookUrl(c) => accounts::webhook_url(app, c).await,
        Command::Call(c) => calls::call(app, c).await,
        Command::OutgoingWebhook(c) => outgoing_webhooks::run(app, c).await,
        Command::SlackRule(c) => notifications::slack_rule(app, c).await,
        Command::EmailNotifications(c) => notifications::email_notifications(app, c).await,
        Command::CrmConnection(c) => crm::run(app, c).await,
        Command::TagRule(c) => tag_rules::run(app, c).await,
        Command::AuditLog(c) => audit_log::run(app, c).await,
        Command::Secrets(c) => secrets::run(app, c).await,
    }
}

fn code(err: &AppError) -> &'static str {
    match err {
        AppError::NotFound(_) => "not_found",
        AppError::Conflict(_) => "conflict",
        AppError::InvalidRequest(_) => "invalid_request",
        AppError::InvalidQuery(_) => "invalid_query",
        AppError::UnsafeUrl(_) => "unsafe_url",
        AppError::ChallengeFailed(_) => "challenge_failed",
        AppError::Internal(e) => {
            eprintln!("kiku: {e}");
            "internal"
        }
        _ => "failed",
    }
}

fn fail(code: &str, message: &str) -> ExitCode {
    println!("{}", json!({"error": {"code": code, "message": message}}));
    eprintln!("kiku: {message}");
    ExitCode::FAILURE
}
