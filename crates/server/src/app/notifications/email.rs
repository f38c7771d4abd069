//! E-mail notifications' settings: the company-wide recipients (admins) and each user's
//! *e-mail me when recognition of my calls completes*.

use kiku_domain::notification::EmailRecipients;
use kiku_domain::{CompanyId, UserId};
use kiku_storage::UserNotifications;

use super::invalid;
use crate::app::{App, AppError};

pub async fn recipients(app: &App, company: CompanyId) -> Result<Vec<String>, AppError> {
    Ok(app.store.email_recipients(company).await?)
}

/// Replaces the company-wide recipients; what is stored.
pub async fn set_recipients(
    app: &App,
    company: CompanyId,
    raw: &[String],
) -> Result<Vec<String>, AppError> {
    let parsed = EmailRecipients::parse(raw).map_err(invalid)?;
    let addresses: Vec<String> = parsed
        .addresses()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    app.store.set_email_recipients(company, &addresses).await?;
    tracing::info!(company_id = %company, recipients = addresses.len(), "e-mail recipients set");
    Ok(addresses)
}

/// Whether the server can send e-mail at all (an SMTP server is configured).
pub fn smtp_configured(app: &App) -> bool {
    app.notifiers.mailer.is_some()
}

/// The company-wide e-mail settings as admins see them.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = EmailNotifications)]
pub struct EmailSettings {
    recipients: Vec<String>,
    /// Whether the server has an SMTP server (`smtp_host`); without one e-mails are
    /// retried, and logged, until one is configured.
    smtp_configured: bool,
}

pub fn settings_view(app: &App, recipients: &[String]) -> EmailSettings {
    EmailSettings {
        recipients: recipients.to_vec(),
        smtp_configured: smtp_configured(app),
    }
}

pub async fn user_choice(
    app: &App,
    company: CompanyId,
    user: UserId,
) -> Result<UserNotifications, AppError> {
    Ok(app.store.user_notifications(company, user).await?)
}

pub async fn set_user_choice(
    app: &App,
    company: CompanyId,
    user: UserId,
    choice: UserNotifications,
) -> Result<UserNotifications, AppError> {
    app.store
        .set_user_notifications(company, user, choice, app.clock.now())
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::NotFound(_) => AppError::NotFound("no such user in this company".into()),
            other => other,
        })?;
    Ok(choice)
}

/// A user's own notification choice.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MyNotifications {
    /// E-mail me when recognition of my calls (a call that names me as a party) completes.
    email_on_completion: bool,
}

pub fn choice_view(choice: UserNotifications) -> MyNotifications {
    MyNotifications {
        email_on_completion: choice.email_on_completion,
    }
}
