//! The company's secret Incoming Webhook URL: minted, shown once, revoked, and checked in
//! constant time on every request (against a copy of its hash at most one second old, see
//! `secret_cache`). Only the secret's hash is stored, so after it is minted the URL is
//! only ever shown masked.

use kiku_domain::{webhook_secret, CompanyId};
use kiku_storage::WebhookSecret;

use super::{abuse, App, AppError};

/// What stands for the secret in a masked URL.
const MASK: &str = "********";

/// The URL as handed to an admin: `url` in full only from [`create`].
pub struct WebhookUrl {
    pub url: Option<String>,
    /// The URL with its secret replaced by asterisks.
    pub masked_url: String,
    pub created_at: time::OffsetDateTime,
}

/// The answer of the API and the CLI: `url` only when just minted. Fields in the order
/// the answer has always had (alphabetical).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = IncomingWebhookUrl)]
pub struct WebhookUrlView {
    #[schema(format = DateTime)]
    created_at: String,
    /// The URL with its secret replaced by `********`.
    masked_url: String,
    /// The company's secret Incoming Webhook URL (`…/webhooks/incoming/{company_id}/{secret}`),
    /// only in the answer that created it: Kiku keeps only the secret's hash. Treat it as a
    /// credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    url: Option<String>,
}

pub fn view(url: &WebhookUrl) -> WebhookUrlView {
    WebhookUrlView {
        created_at: kiku_domain::datetime::format(url.created_at),
        masked_url: url.masked_url.clone(),
        url: url.url.clone(),
    }
}

fn url_with(app: &App, company: CompanyId, secret: &str) -> String {
    format!("{}/webhooks/incoming/{company}/{secret}", app.public_url)
}

fn masked(app: &App, stored: &WebhookSecret) -> WebhookUrl {
    WebhookUrl {
        url: None,
        masked_url: url_with(app, stored.company_id, MASK),
        created_at: stored.created_at,
    }
}

/// Mints a 256-bit secret; fails with a conflict while one exists. The only time the
/// full URL is known.
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
    Ok(WebhookUrl {
        url: Some(url_with(app, company, &secret)),
        ..masked(app, &stored)
    })
}

pub async fn show(app: &App, company: CompanyId) -> Result<WebhookUrl, AppError> {
    let stored = app.store.webhook_secret(company).await?;
    stored
        .map(|s| masked(app, &s))
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
            let fetched = app
                .store
                .webhook_secret(company)
                .await?
                .map(|s| s.secret_hash);
            app.webhook_secrets.put(company, fetched.clone());
            fetched
        }
    };
    let stored = stored.ok_or_else(not_found)?;
    if webhook_secret::matches(&stored, secret) {
        // Only a right URL is counted: strangers cannot use up a company's rate.
        abuse::take_webhook_request(app, company)?;
        Ok(company)
    } else {
        Err(not_found())
    }
}
