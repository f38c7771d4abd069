//! CRM connections as data: the three kinds Kiku writes activity records to, what an admin
//! sends for each (`CrmFields`), the checked settings (`CrmConfig`) split into what admins
//! may see and the credentials that are never shown, and the Kiku fields a kintone app's
//! fields can be mapped from (`fields.rs`). Pure rules, no I/O.

mod config;
mod fields;

pub use config::{
    CrmConfig, CrmFields, HubspotConfig, KintoneConfig, SalesforceConfig, Secret,
    DEFAULT_SALESFORCE_API_VERSION,
};
pub use fields::{FieldMap, KikuField};

use serde::{Deserialize, Serialize};

/// Which CRM a connection writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmKind {
    Salesforce,
    Hubspot,
    Kintone,
}

impl CrmKind {
    pub const ALL: [CrmKind; 3] = [CrmKind::Salesforce, CrmKind::Hubspot, CrmKind::Kintone];

    pub fn as_str(self) -> &'static str {
        match self {
            CrmKind::Salesforce => "salesforce",
            CrmKind::Hubspot => "hubspot",
            CrmKind::Kintone => "kintone",
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidCrm> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or(InvalidCrm::Kind)
    }

    /// The vendor's public API address, used when a connection has no `base_url`. kintone
    /// has none: every customer has an address of their own.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            // The token endpoint's host; the API host comes back as `instance_url`.
            CrmKind::Salesforce => Some("https://login.salesforce.com"),
            CrmKind::Hubspot => Some("https://api.hubapi.com"),
            CrmKind::Kintone => None,
        }
    }
}

/// What a record's body carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmContent {
    /// Every phrase as `m:ss (User) phrase` lines.
    #[default]
    Transcript,
    /// The summary's lines only.
    Summary,
}

impl CrmContent {
    pub fn as_str(self) -> &'static str {
        match self {
            CrmContent::Transcript => "transcript",
            CrmContent::Summary => "summary",
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidCrm> {
        match text {
            "transcript" => Ok(CrmContent::Transcript),
            "summary" => Ok(CrmContent::Summary),
            _ => Err(InvalidCrm::Content),
        }
    }
}

/// A connection's name: 1 to 100 characters, trimmed.
pub fn connection_name(raw: &str) -> Result<String, InvalidCrm> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > 100 {
        return Err(InvalidCrm::Name);
    }
    Ok(name.to_owned())
}

/// Why a CRM connection is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidCrm {
    #[error("kind must be salesforce, hubspot or kintone")]
    Kind,
    #[error("name must be 1 to 100 characters")]
    Name,
    #[error("content must be transcript or summary")]
    Content,
    #[error("{0} is required for {1} connections")]
    Missing(&'static str, &'static str),
    #[error("{0} is not a setting of {1} connections")]
    NotFor(&'static str, &'static str),
    #[error("{0}: {1}")]
    Field(&'static str, String),
}
