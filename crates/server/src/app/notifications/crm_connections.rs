//! A company's CRM connections: checked by kind (`kiku_domain::crm`), their `base_url`
//! under the SSRF rule of outgoing webhooks, stored with the credentials apart from what
//! admins see (credentials are write-only: never returned, never logged).

use kiku_domain::crm::{connection_name, CrmConfig, CrmContent, CrmFields, CrmKind, InvalidCrm};
use kiku_domain::outgoing_webhook::EndpointUrl;
use kiku_domain::{CompanyId, CrmConnectionId};
use kiku_storage::{CrmConnection, CrmConnectionInput};

use crate::app::{App, AppError};

/// What an admin sends to create a connection (`None`: the default).
#[derive(Debug, Clone, Default)]
pub struct ConnectionRequest {
    pub kind: String,
    pub name: String,
    pub base_url: Option<String>,
    pub content: Option<String>,
    pub enabled: Option<bool>,
    pub fields: CrmFields,
}

/// What an admin sends to change one (`None`: unchanged; `base_url` `""`: back to the
/// vendor's public address). The kind never changes.
#[derive(Debug, Clone, Default)]
pub struct ConnectionChange {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub content: Option<String>,
    pub enabled: Option<bool>,
    pub fields: CrmFields,
}

pub fn not_found() -> AppError {
    AppError::NotFound("no such CRM connection in this company".into())
}

pub(super) fn invalid(e: InvalidCrm) -> AppError {
    AppError::InvalidRequest(e.to_string())
}

/// The connection's settings, read back; a stored row that no longer reads is corrupt.
pub fn config_of(c: &CrmConnection) -> Result<(CrmKind, CrmConfig, CrmContent), AppError> {
    let corrupt = |e: InvalidCrm| AppError::Internal(format!("stored CRM connection: {e}").into());
    let kind = CrmKind::parse(&c.kind).map_err(corrupt)?;
    let config = CrmConfig::from_stored(kind, &c.settings, &c.credentials).map_err(corrupt)?;
    let content = CrmContent::parse(&c.content).map_err(corrupt)?;
    Ok((kind, config, content))
}

/// The address requests go to: the connection's own, else the vendor's public one.
pub fn base_url(kind: CrmKind, c: &CrmConnection) -> Option<String> {
    c.base_url
        .clone()
        .or_else(|| kind.default_base_url().map(str::to_string))
}

/// `base_url` checked: http(s), no credentials in it, a host the SSRF rule allows. `""`
/// and `None` mean the vendor's public address, which kintone does not have.
async fn checked_base_url(
    app: &App,
    kind: CrmKind,
    raw: Option<&str>,
) -> Result<Option<String>, AppError> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty());
    let Some(raw) = raw else {
        return match kind.default_base_url() {
            Some(_) => Ok(None),
            None => Err(invalid(InvalidCrm::Missing("base_url", kind.as_str()))),
        };
    };
    let url =
        EndpointUrl::parse(raw).map_err(|e| AppError::InvalidRequest(format!("base_url: {e}")))?;
    app.outgoing_webhooks
        .check_url(url.as_str())
        .await
        .map_err(|e| AppError::UnsafeUrl(e.to_string()))?;
    Ok(Some(url.as_str().to_string()))
}

fn input(
    config: &CrmConfig,
    name: String,
    base_url: Option<String>,
    content: CrmContent,
    enabled: bool,
) -> CrmConnectionInput {
    CrmConnectionInput {
        kind: config.kind().as_str().into(),
        name,
        base_url,
        settings: config.settings(),
        credentials: config.credentials(),
        content: content.as_str().into(),
        enabled,
    }
}

pub async fn create(
    app: &App,
    company: CompanyId,
    req: ConnectionRequest,
) -> Result<CrmConnection, AppError> {
    let kind = CrmKind::parse(&req.kind).map_err(invalid)?;
    let name = connection_name(&req.name).map_err(invalid)?;
    let config = CrmConfig::parse(kind, &req.fields).map_err(invalid)?;
    let content = req
        .content
        .as_deref()
        .map(CrmContent::parse)
        .transpose()
        .map_err(invalid)?
        .unwrap_or_default();
    if app.store.company(company).await?.is_none() {
        return Err(AppError::NotFound("no such company".into()));
    }
    let base_url = checked_base_url(app, kind, req.base_url.as_deref()).await?;
    let new = input(
        &config,
        name,
        base_url,
        content,
        req.enabled.unwrap_or(true),
    );
    let created = app
        .store
        .create_crm_connection(company, &new, app.clock.now())
        .await?;
    tracing::info!(company_id = %company, crm_connection_id = %created.id, kind = kind.as_str(), "CRM connection created");
    Ok(created)
}

pub async fn update(
    app: &App,
    company: CompanyId,
    id: CrmConnectionId,
    change: ConnectionChange,
) -> Result<CrmConnection, AppError> {
    let stored = show(app, company, id).await?;
    let (kind, config, content) = config_of(&stored)?;
    let name = match &change.name {
        Some(n) => connection_name(n).map_err(invalid)?,
        None => stored.name.clone(),
    };
    let config =
        CrmConfig::parse(kind, &config.fields().overlay(&change.fields)).map_err(invalid)?;
    let content = match &change.content {
        Some(c) => CrmContent::parse(c).map_err(invalid)?,
        None => content,
    };
    let base_url = match &change.base_url {
        Some(raw) => checked_base_url(app, kind, Some(raw)).await?,
        None => stored.base_url.clone(),
    };
    let enabled = change.enabled.unwrap_or(stored.enabled);
    let replaced = input(&config, name, base_url, content, enabled);
    let updated = app
        .store
        .replace_crm_connection(company, id, &replaced, app.clock.now())
        .await?
        .ok_or_else(not_found)?;
    tracing::info!(company_id = %company, crm_connection_id = %id, "CRM connection changed");
    Ok(updated)
}

pub async fn list(app: &App, company: CompanyId) -> Result<Vec<CrmConnection>, AppError> {
    Ok(app.store.crm_connections(company).await?)
}

pub async fn show(
    app: &App,
    company: CompanyId,
    id: CrmConnectionId,
) -> Result<CrmConnection, AppError> {
    app.store
        .crm_connection(company, id)
        .await?
        .ok_or_else(not_found)
}

pub async fn delete(app: &App, company: CompanyId, id: CrmConnectionId) -> Result<(), AppError> {
    if app.store.delete_crm_connection(company, id).await? {
        tracing::info!(company_id = %company, crm_connection_id = %id, "CRM connection deleted");
        Ok(())
    } else {
        Err(not_found())
    }
}
