//! `kiku company …`, `kiku user …` and `kiku webhook-url …`.

use clap::Subcommand;
use kiku_domain::{datetime, CompanyId, UserId};
use kiku_storage::{User, UserPatch};
use serde_json::{json, Value};

use crate::app::accounts::{self, UserInput};
use crate::app::{webhook_url, App, AppError};

#[derive(Subcommand)]
pub enum CompanyCommand {
    /// Create a company and its first admin.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long)]
        admin_password: String,
        #[arg(long, default_value = "Admin")]
        admin_name: String,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; without --password the user cannot sign in.
    Create {
        #[arg(long)]
        company: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        use_incoming_webhook: bool,
    },
    /// List a company's users with their IDs.
    List {
        #[arg(long)]
        company: String,
    },
    /// Switch a user's admin flag or Use Incoming Webhook permission.
    Update {
        #[arg(long)]
        company: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        admin: Option<bool>,
        #[arg(long)]
        use_incoming_webhook: Option<bool>,
    },
}

#[derive(Subcommand)]
pub enum WebhookUrlCommand {
    /// Mint the company's secret URL (one at a time).
    Create {
        #[arg(long)]
        company: String,
    },
    Show {
        #[arg(long)]
        company: String,
    },
    /// Revoke it at once.
    Delete {
        #[arg(long)]
        company: String,
    },
}

pub(super) fn company_id(text: &str) -> Result<CompanyId, AppError> {
    text.parse()
        .map_err(|_| AppError::InvalidRequest(format!("{text:?} is not a company ID")))
}

fn user_json(u: &User) -> Value {
    json!({
        "user_id": u.id, "company_id": u.company_id, "name": u.name, "email": u.email,
        "admin": u.admin, "use_incoming_webhook": u.use_incoming_webhook,
        "created_at": datetime::format(u.created_at),
    })
}

pub async fn company(app: &App, command: CompanyCommand) -> Result<Value, AppError> {
    let CompanyCommand::Create {
        name,
        admin_email,
        admin_password,
        admin_name,
    } = command;
    let admin = UserInput {
        name: admin_name,
        email: admin_email,
        password: Some(admin_password),
        admin: true,
        use_incoming_webhook: false,
    };
    let (company, admin) = accounts::create_company(app, &name, admin).await?;
    Ok(json!({"company_id": company.id, "admin_user_id": admin.id}))
}

pub async fn user(app: &App, command: UserCommand) -> Result<Value, AppError> {
    match command {
        UserCommand::Create {
            company,
            name,
            email,
            password,
            admin,
            use_incoming_webhook,
        } => {
            let input = UserInput {
                name,
                email,
                password,
                admin,
                use_incoming_webhook,
            };
            let user = accounts::create_user(app, company_id(&company)?, input).await?;
            Ok(json!({"user_id": user.id}))
        }
        UserCommand::List { company } => {
            let users = accounts::users(app, company_id(&company)?).await?;
            Ok(json!({"users": users.iter().map(user_json).collect::<Vec<_>>()}))
        }
        UserCommand::Update {
            company,
            user,
            admin,
            use_incoming_webhook,
        } => {
            let id: UserId = user
                .parse()
                .map_err(|_| AppError::InvalidRequest(format!("{user:?} is not a user ID")))?;
            if admin.is_none() && use_incoming_webhook.is_none() {
                return Err(AppError::InvalidRequest(
                    "nothing to change: give --admin and/or --use-incoming-webhook".into(),
                ));
            }
            let user = accounts::update_user(
                app,
                company_id(&company)?,
                id,
                UserPatch {
                    admin,
                    use_incoming_webhook,
                },
            )
            .await?;
            Ok(user_json(&user))
        }
    }
}

pub async fn webhook_url(app: &App, command: WebhookUrlCommand) -> Result<Value, AppError> {
    let shown = |u: webhook_url::WebhookUrl| json!(webhook_url::view(&u));
    match command {
        WebhookUrlCommand::Create { company } => Ok(shown(
            webhook_url::create(app, company_id(&company)?).await?,
        )),
        WebhookUrlCommand::Show { company } => {
            Ok(shown(webhook_url::show(app, company_id(&company)?).await?))
        }
        WebhookUrlCommand::Delete { company } => {
            webhook_url::delete(app, company_id(&company)?).await?;
            Ok(json!({"deleted": true}))
        }
    }
}
