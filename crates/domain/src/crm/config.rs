//! A connection's settings by kind, checked: what the API sends (`CrmFields`, flat and
//! all optional), the typed `CrmConfig`, and its split into settings admins see and
//! credentials that are stored but never shown.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{CrmKind, FieldMap, InvalidCrm};

/// The Salesforce REST API version used when a connection names none.
pub const DEFAULT_SALESFORCE_API_VERSION: &str = "v62.0";

/// A credential: kept out of `Debug` output, so that no log line can carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Visible ASCII only (it goes into an HTTP header or a form), 1 to 4096 characters.
    fn parse(field: &'static str, raw: &str) -> Result<Self, InvalidCrm> {
        let text = raw.trim();
        if text.is_empty() || text.len() > 4096 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidCrm::Field(
                field,
                "must be 1 to 4096 visible ASCII characters".into(),
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every setting of every kind, as the API and storage carry them; which are allowed and
/// required depends on the kind ([`CrmConfig::parse`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmFields {
    /// Salesforce: the connected app's consumer key and secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Salesforce: the refresh-token flow instead of client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Salesforce: `vNN.N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// HubSpot: the private app's access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// kintone: the app's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<u64>,
    /// kintone: one API token, or several joined by commas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_map: Option<BTreeMap<String, String>>,
    /// kintone: the guest space the app lives in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_space_id: Option<u64>,
}

impl CrmFields {
    /// These fields with every one `patch` gives replaced.
    pub fn overlay(self, patch: &CrmFields) -> CrmFields {
        let p = patch.clone();
        CrmFields {
            client_id: p.client_id.or(self.client_id),
            client_secret: p.client_secret.or(self.client_secret),
            refresh_token: p.refresh_token.or(self.refresh_token),
            api_version: p.api_version.or(self.api_version),
            access_token: p.access_token.or(self.access_token),
            app: p.app.or(self.app),
            api_token: p.api_token.or(self.api_token),
            field_map: p.field_map.or(self.field_map),
            guest_space_id: p.guest_space_id.or(self.guest_space_id),
        }
    }

    /// The names of the fields given, for "not a setting of this kind".
    fn given(&self) -> Vec<&'static str> {
        let pairs = [
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("refresh_token", self.refresh_token.is_some()),
            ("api_version", self.api_version.is_some()),
            ("access_token", self.access_token.is_some()),
            ("app", self.app.is_some()),
            ("api_token", self.api_token.is_some()),
            ("field_map", self.field_map.is_some()),
            ("guest_space_id", self.guest_space_id.is_some()),
        ];
        pairs
            .into_iter()
            .filter(|(_, g)| *g)
            .map(|(n, _)| n)
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SalesforceConfig {
    pub client_id: Secret,
    pub client_secret: Secret,
    pub refresh_token: Option<Secret>,
    pub api_version: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HubspotConfig {
    pub access_token: Secret,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KintoneConfig {
    pub app: u64,
    pub api_token: Secret,
    pub field_map: FieldMap,
    pub guest_space_id: Option<u64>,
}

/// A connection's checked settings.
#[derive(Clone, Debug, PartialEq)]
pub enum CrmConfig {
    Salesforce(SalesforceConfig),
    Hubspot(HubspotConfig),
    Kintone(KintoneConfig),
}

fn required<T: Clone>(
    value: &Option<T>,
    field: &'static str,
    kind: CrmKind,
) -> Result<T, InvalidCrm> {
    value
        .clone()
        .ok_or(InvalidCrm::Missing(field, kind.as_str()))
}

impl CrmConfig {
    pub fn parse(kind: CrmKind, f: &CrmFields) -> Result<Self, InvalidCrm> {
        let allowed: &[&str] = match kind {
            CrmKind::Salesforce => &["client_id", "client_secret", "refresh_token", "api_version"],
            CrmKind::Hubspot => &["access_token"],
            CrmKind::Kintone => &["app", "api_token", "field_map", "guest_space_id"],
        };
        if let Some(stray) = f.given().into_iter().find(|g| !allowed.contains(g)) {
            return Err(InvalidCrm::NotFor(stray, kind.as_str()));
        }
        Ok(match kind {
            CrmKind::Salesforce => {
                let version = f
                    .api_version
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SALESFORCE_API_VERSION.into());
                if !is_api_version(&version) {
                    return Err(InvalidCrm::Field(
                        "api_version",
                        "must look like v62.0".into(),
                    ));
                }
                CrmConfig::Salesforce(SalesforceConfig {
                    client_id: Secret::parse(
                        "client_id",
                        &required(&f.client_id, "client_id", kind)?,
                    )?,
                    client_secret: Secret::parse(
                        "client_secret",
                        &required(&f.client_secret, "client_secret", kind)?,
                    )?,
                    refresh_token: f
                        .refresh_token
                        .as_deref()
                        .map(|t| Secret::parse("refresh_token", t))
                        .transpose()?,
                    api_version: version,
                })
            }
            CrmKind::Hubspot => CrmConfig::Hubspot(HubspotConfig {
                access_token: Secret::parse(
                    "access_token",
                    &required(&f.access_token, "access_token", kind)?,
                )?,
            }),
            CrmKind::Kintone => {
                let app = required(&f.app, "app", kind)?;
                if app == 0 || f.guest_space_id == Some(0) {
                    return Err(InvalidCrm::Field(
                        "app",
                        "app and guest_space_id start at 1".into(),
                    ));
                }
                CrmConfig::Kintone(KintoneConfig {
                    app,
                    api_token: Secret::parse(
                        "api_token",
                        &required(&f.api_token, "api_token", kind)?,
                    )?,
                    field_map: FieldMap::parse(&required(&f.field_map, "field_map", kind)?)?,
                    guest_space_id: f.guest_space_id,
                })
            }
        })
    }

    pub fn kind(&self) -> CrmKind {
        match self {
            CrmConfig::Salesforce(_) => CrmKind::Salesforce,
            CrmConfig::Hubspot(_) => CrmKind::Hubspot,
            CrmConfig::Kintone(_) => CrmKind::Kintone,
        }
    }

    /// What admins see: everything but the credentials.
    pub fn settings(&self) -> Value {
        match self {
            CrmConfig::Salesforce(s) => json!({"api_version": s.api_version}),
            CrmConfig::Hubspot(_) => json!({}),
            CrmConfig::Kintone(k) => json!({
                "app": k.app,
                "field_map": k.field_map.to_raw(),
                "guest_space_id": k.guest_space_id,
            }),
        }
    }

    /// The credentials as stored: write-only.
    pub fn credentials(&self) -> Value {
        match self {
            CrmConfig::Salesforce(s) => json!({
                "client_id": s.client_id.expose(),
                "client_secret": s.client_secret.expose(),
                "refresh_token": s.refresh_token.as_ref().map(Secret::expose),
            }),
            CrmConfig::Hubspot(h) => json!({"access_token": h.access_token.expose()}),
            CrmConfig::Kintone(k) => json!({"api_token": k.api_token.expose()}),
        }
    }

    /// Every setting as fields, for a change to be laid over.
    pub fn fields(&self) -> CrmFields {
        let mut merged = self.settings();
        if let (Some(m), Value::Object(c)) = (merged.as_object_mut(), self.credentials()) {
            m.extend(c);
        }
        serde_json::from_value(merged).unwrap_or_default()
    }

    /// Back from storage's two JSON objects.
    pub fn from_stored(
        kind: CrmKind,
        settings: &Value,
        credentials: &Value,
    ) -> Result<Self, InvalidCrm> {
        let mut merged = settings.clone();
        if let (Some(m), Value::Object(c)) = (merged.as_object_mut(), credentials.clone()) {
            m.extend(c);
        }
        if let Some(m) = merged.as_object_mut() {
            m.retain(|_, v| !v.is_null());
        }
        let fields: CrmFields = serde_json::from_value(merged)
            .map_err(|e| InvalidCrm::Field("stored settings", e.to_string()))?;
        Self::parse(kind, &fields)
    }
}

/// `v` + major + `.` + minor, as Salesforce names its API versions.
fn is_api_version(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(value: Value) -> CrmFields {
        serde_json::from_value(value).expect("fields")
    }

    #[test]
    fn each_kind_takes_its_own_settings() {
        let sf = CrmConfig::parse(
            CrmKind::Salesforce,
            &fields(json!({"client_id": "id", "client_secret": "s"})),
        )
        .expect("valid");
        assert_eq!(sf.settings(), json!({"api_version": "v62.0"}));
        let kintone = CrmConfig::parse(
            CrmKind::Kintone,
            &fields(json!({"app": 7, "api_token": "a,b", "field_map": {"body": "memo"}})),
        )
        .expect("valid");
        assert_eq!(
            CrmConfig::from_stored(
                CrmKind::Kintone,
                &kintone.settings(),
                &kintone.credentials()
            ),
            Ok(kintone.clone())
        );
        assert_eq!(
            CrmConfig::parse(
                CrmKind::Hubspot,
                &fields(json!({"app": 1, "access_token": "t"}))
            ),
            Err(InvalidCrm::NotFor("app", "hubspot"))
        );
        assert_eq!(
            CrmConfig::parse(
                CrmKind::Kintone,
                &fields(json!({"app": 1, "api_token": "t"}))
            ),
            Err(InvalidCrm::Missing("field_map", "kintone"))
        );
        for bad in [
            json!({"access_token": "with space"}),
            json!({"access_token": ""}),
        ] {
            assert!(
                CrmConfig::parse(CrmKind::Hubspot, &fields(bad.clone())).is_err(),
                "{bad}"
            );
        }
        assert!(CrmConfig::parse(
            CrmKind::Salesforce,
            &fields(json!({"client_id": "i", "client_secret": "s", "api_version": "62"}))
        )
        .is_err());
    }

    #[test]
    fn a_change_is_laid_over_the_stored_settings_and_secrets_stay_out_of_debug() {
        let stored = CrmConfig::parse(
            CrmKind::Hubspot,
            &fields(json!({"access_token": "old-token"})),
        )
        .expect("valid");
        assert!(!format!("{stored:?}").contains("old-token"));
        let changed = stored
            .fields()
            .overlay(&fields(json!({"access_token": "new-token"})));
        let CrmConfig::Hubspot(h) = CrmConfig::parse(CrmKind::Hubspot, &changed).expect("valid")
        else {
            panic!("kind kept");
        };
        assert_eq!(h.access_token.expose(), "new-token");
    }
}
