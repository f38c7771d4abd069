//! The audit log's rows: who did what to a company, when and from where.

use kiku_domain::{AuditEntryId, CompanyId};
use time::OffsetDateTime;

/// An entry as written; the store gives it its id.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    pub company_id: CompanyId,
    pub at: OffsetDateTime,
    /// The user's id, or `cli` for the operator's command line.
    pub actor_id: String,
    /// The user's e-mail, or the operator's login name.
    pub actor_name: String,
    /// `user.create`, `webhook_url.delete`, … (docs/api.md lists them).
    pub action: String,
    /// The id of what the action was done to, when it names one.
    pub target: Option<String>,
    /// A JSON object of what else the action named; never a secret.
    pub details: String,
    /// The client's address; `None` for the CLI or when unknown.
    pub client: Option<String>,
    /// `api`, `ui` or `cli`.
    pub via: String,
}

/// An entry as stored.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub entry: NewAuditEntry,
}

/// Which entries to list, newest first: all filters optional; `before` is the (time, id)
/// of the last entry of the previous page.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub before: Option<(OffsetDateTime, AuditEntryId)>,
    pub limit: u32,
}
