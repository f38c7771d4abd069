//! Values going in and out of the CRM tables. Storage keeps what it is given; the rules
//! live in `kiku_domain::crm`.

use kiku_domain::{CallId, CompanyId, CrmConnectionId};
use serde_json::Value;
use time::OffsetDateTime;

/// A stored CRM connection, its credentials included: never hand it to a response as is.
#[derive(Clone, PartialEq)]
pub struct CrmConnection {
    pub id: CrmConnectionId,
    pub company_id: CompanyId,
    /// `salesforce`, `hubspot` or `kintone`.
    pub kind: String,
    pub name: String,
    /// `None`: the vendor's public address.
    pub base_url: Option<String>,
    /// What admins may see, as a JSON object.
    pub settings: Value,
    /// Tokens and secrets, as a JSON object.
    pub credentials: Value,
    /// `transcript` or `summary`.
    pub content: String,
    pub enabled: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Debug without the credentials: a connection may end up in an error or a log line.
impl std::fmt::Debug for CrmConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmConnection")
            .field("id", &self.id)
            .field("company_id", &self.company_id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// A connection's every setting, to create one or to replace what is stored.
#[derive(Clone)]
pub struct CrmConnectionInput {
    pub kind: String,
    pub name: String,
    pub base_url: Option<String>,
    pub settings: Value,
    pub credentials: Value,
    pub content: String,
    pub enabled: bool,
}

/// The record a call became in a connection's CRM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrmRecord {
    pub connection_id: CrmConnectionId,
    pub call_id: CallId,
    /// The CRM's own id (a Salesforce Task, a HubSpot call, a kintone record).
    pub record_id: String,
    /// The version of the call's result the record holds.
    pub version: u32,
    /// The event that wrote it last.
    pub event_id: String,
    pub updated_at: OffsetDateTime,
}

/// What [`crate::CrmStore::claim_crm_record`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrmClaim {
    /// The job may write: the record the call became so far (`None`: create one).
    Held(Option<CrmRecord>),
    /// Another running job is writing the call's record in this connection.
    Busy,
}

/// A record written by a delivered attempt, stored with the attempt.
#[derive(Clone, Debug)]
pub struct CrmRecordWrite {
    pub company_id: CompanyId,
    pub connection_id: CrmConnectionId,
    pub call_id: CallId,
    pub record_id: String,
    pub version: u32,
    pub event_id: String,
}
