//! The company's secret Incoming Webhook URL: minted, shown, revoked, and checked in
//! constant time on every request (against a copy at most one second old, see
//! `secret_cache`).

use kiku_domain::CompanyId;
use kiku_storage::WebhookSecret;
use subtle::ConstantTimeEq;

use super::{abuse, App, AppError};

/// The URL as handed to an admin.
pub struct WebhookUrl {
    pub url: String,
    pub created_at: time::OffsetDateTime,
}

fn url_of(app: &App, secret: &WebhookSecret) -> WebhookUrl {
    WebhookUrl {
        url: format!(
            "{}/webhooks/incoming/{}/{}",
            app.public_url, secret.company_id, secret.secret
        ),
        created_at: secret.created_at,
    }
}

/// Mints a 256-bit secret; fails with a conflict while one exists.
pub async fn create(app: &App, company: CompanyId) -> Result<WebhookUrl, AppError> {
    if app.store.company(company).await?.is_none() {
        return Err(AppError::NotFound("no such company".into()));
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let stored = app
        .store
        .create_webhook_secret(company, &secret, app.clock.now())
        .await?;
    app.webhook_secrets.forget(company);
    Ok(url_of(app, &stored))
}

pub async fn show(app: &App, company: CompanyId) -> Result<WebhookUrl, AppError> {
    let stored = app.store.webhook_secret(company).await?;
    stored
        .map(|s| url_of(app, &s))
        .ok_or_else(|| AppError::NotFound("no Incoming Webhook URL; create one".into()))
}

pub async fn delete(app: &App, company: CompanyId) -> Result<(), AppError> {
    let deleted = app.store.delete_webhook_secret(company).await?;
    app.webhook_secrets.forget(company);
    if deleted {
        Ok(())
    } else {
        Err(AppError::NotFound(
            "no Incoming Webhook URL to delete".into(),
        ))
    }
}

/// Resolves `/webhooks/incoming/{company}/{secret}`: the same 404 for an unknown
/// company, a wrong secret or a revoked URL.
pub async fn authorise(app: &App, company: &str, secret: &str) -> Result<CompanyId, AppError> {
    let not_found = || AppError::NotFound("not found".into());
    let company: CompanyId = company.parse().map_err(|_| not_found())?;
    let stored = match app.webhook_secrets.get(company) {
        Some(remembered) => remembered,
        None => {
            let fetched = app.store.webhook_secret(company).await?.map(|s| s.secret);
            app.webhook_secrets.put(company, fetched.clone());
            fetched
        }
    };
    let stored = stored.ok_or_else(not_found)?;
    if bool::from(stored.as_bytes().ct_eq(secret.as_bytes())) {
        // Only a right URL is counted: strangers cannot use up a company's rate.
        abuse::take_webhook_request(app, company)?;
        Ok(company)
    } else {
        Err(not_found())
    }
}
