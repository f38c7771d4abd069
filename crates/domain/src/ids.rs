//! Typed identifiers: a company id can never be passed where a call id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        /// On the wire a UUID string (`serde(transparent)`).
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                uuid_schema()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

#[cfg(feature = "openapi")]
fn uuid_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .into()
}

uuid_id!(
    /// A tenant.
    CompanyId
);
uuid_id!(
    /// A user; PBXs send it as `miitel_user_id`.
    UserId
);
uuid_id!(
    /// A call history.
    CallId
);
uuid_id!(
    /// A durable background job.
    JobId
);
uuid_id!(
    /// An event in the outbox (a result became available or changed); receivers
    /// de-duplicate on it, so retries of one event keep it.
    EventId
);
uuid_id!(
    /// An outgoing webhook endpoint of a company.
    OutgoingWebhookId
);
uuid_id!(
    /// An auto-tag rule of a company.
    TagRuleId
);
uuid_id!(
    /// One recorded attempt to deliver an event to an outgoing webhook.
    OutgoingDeliveryId
);
uuid_id!(
    /// A company's Slack rule (where and when to post a message about analysed calls).
    SlackRuleId
);
uuid_id!(
    /// One recorded attempt to send a Slack message or an e-mail, or to write a CRM record.
    NotificationAttemptId
);
uuid_id!(
    /// A company's connection to a CRM (Salesforce, HubSpot or kintone).
    CrmConnectionId
);
uuid_id!(
    /// One entry of a company's audit log.
    AuditEntryId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = CallId::new();
        assert_eq!(id.to_string().parse::<CallId>().ok(), Some(id));
        assert!("not-a-uuid".parse::<CallId>().is_err());
    }
}
