//! The Incoming Webhook's body as a PBX sends it (MiiTel's JSON Schema: `Welcome`,
//! `CallData`, `Participant`, `Tag`), for the OpenAPI document. [`super::parse_batch`]
//! reads it from JSON by hand (to report every problem with its path, and to be lenient
//! where PBXs differ); these types state the same shape for the document, and the tests
//! keep their fields equal to the parser's lists and its limits.

use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use super::{AudioFileType, ChannelType, EventType, Participant};

/// One element per call; a batch may hold many calls. Any invalid call rejects the whole
/// batch (nothing is stored).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomingWebhookRequest {
    #[schema(min_items = 1, max_items = 1000)]
    pub call_data: Vec<CallDataIn>,
}

/// One call, in the MiiTel Incoming Webhook format (vendor JSON Schema `CallData`), with Kiku's leniencies:
///
/// - `group_name` is accepted as an alias of `groupname`;
/// - date-time offsets may be written `+0900` as well as `+09:00`;
/// - `audio_channel_type` may be omitted and then means `STEREO`;
/// - an empty string in `groupname`/`group_name`, `queue_name` or `circuit_number` means *none*;
/// - `audio_file_type` and the other enum values are matched case-insensitively;
/// - `audio_channel_type: null` and `tags: null` mean the same as leaving them out;
/// - extra fields are allowed (and ignored).
///
/// Rules checked beyond the shape (a violation is a 422 `invalid_call_data` naming the JSON path):
///
/// - `call_starts_at` ≤ `call_answered_at` ≤ `call_ends_at`;
/// - exactly one `FROM` and one `TO` participant;
/// - if both `groupname` and `group_name` are sent, they must agree;
/// - a `call_data_id` may appear twice in one batch only with identical content;
/// - a `miitel_user_id` that is given must name a permitted user of this company;
/// - `miitel_user_id` is **required** as follows ("answered" = `call_answered_at` is not null; "group name" = a non-empty `groupname`/`group_name`):
///
/// | event_type | FROM participant | TO participant |
/// |---|---|---|
/// | `OUTGOING_CALL` | required | — |
/// | `OUTGOING_TRANSFER` | required | — |
/// | `INCOMING_CALL` | — | required if answered |
/// | `AUTOMATIC_TRANSFER` | — | — |
/// | `EXTENSION` | required | no group name: required; with a group name: required if answered |
/// | `EXTENSION_TRANSFER` | required | same as `EXTENSION` |
/// | `AUTOMATIC_RECORD` | — | — |
///
/// **Idempotency**: `call_data_id` is unique per company. Posting the same `call_data_id` again with the same content returns the same call history (and a fresh upload URL while no audio is in); with different content it is a 409 `call_data_conflict`.
#[derive(Deserialize, ToSchema)]
#[schema(as = CallData)]
pub struct CallDataIn {
    /// The PBX's own call id; unique per company.
    #[schema(min_length = 1, max_length = 255, examples("calldatatest0003"))]
    pub call_data_id: String,
    /// `m4a`, `mp3` or `wav` (read case-insensitively). The uploaded file must really be
    /// that format.
    pub audio_file_type: AudioFileType,
    pub event_type: EventType,
    /// Hunt/ring group name. `""` means none.
    #[schema(max_length = 255, examples("Sales"))]
    pub groupname: Option<String>,
    /// Alias of `groupname` (used by the vendor's own footnote and sample 2). `""` means none.
    #[schema(max_length = 255)]
    pub group_name: Option<String>,
    /// Call-centre queue. `""` means none.
    #[schema(max_length = 255)]
    pub queue_name: Option<String>,
    pub call_starts_at: LenientDateTime,
    /// `null` = the call was not answered. The field itself is required.
    #[schema(required)]
    pub call_answered_at: Option<LenientDateTime>,
    pub call_ends_at: LenientDateTime,
    /// Line/trunk number. `""` means none.
    #[schema(max_length = 255, examples("05011112222"))]
    pub circuit_number: Option<String>,
    /// Missing (or `null`) means `STEREO`.
    #[schema(default = "STEREO")]
    pub audio_channel_type: Option<ChannelType>,
    /// Exactly one `FROM` and one `TO` participant, in any order.
    #[schema(min_items = 2, max_items = 2)]
    pub participants: Vec<Participant>,
    #[schema(max_items = 100)]
    pub tags: Option<Vec<Tag>>,
}

/// A free-text tag attached to the call by the PBX.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    #[schema(min_length = 1, max_length = 512, examples("応対メモテスト"))]
    pub value: String,
}

/// A date-time as [`crate::datetime::parse_lenient`] reads it (a string on the wire).
pub struct LenientDateTime(pub String);

impl<'de> Deserialize<'de> for LenientDateTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

/// What [`crate::datetime::parse_lenient`] accepts, as a pattern (a test checks both agree).
pub const LENIENT_DATE_TIME_PATTERN: &str =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:?[0-9]{2})$";

impl utoipa::PartialSchema for LenientDateTime {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(LENIENT_DATE_TIME_PATTERN))
            .description(Some(
                "RFC 3339 date-time **with** an offset (`Z`, `+09:00`). As a leniency the offset may also be written without a colon (`+0900`), as vendor sample 2 does.",
            ))
            .examples(LENIENT_EXAMPLES)
            .into()
    }
}

impl ToSchema for LenientDateTime {}

const LENIENT_EXAMPLES: [&str; 3] = [
    "2023-11-27T15:22:33+09:00",
    "2023-11-27T15:22:33+0900",
    "2022-12-09T03:41:48Z",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datetime::parse_lenient;
    use utoipa::PartialSchema;

    fn properties<T: ToSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).expect("schema");
        let mut names: Vec<String> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn the_documented_fields_are_the_ones_the_parser_reads() {
        assert_eq!(
            properties::<CallDataIn>(),
            sorted(super::super::parse::CALL_FIELDS)
        );
        assert_eq!(
            properties::<Participant>(),
            sorted(super::super::parse::PARTICIPANT_FIELDS)
        );
        assert_eq!(properties::<Tag>(), ["value"]);
        assert_eq!(properties::<IncomingWebhookRequest>(), ["call_data"]);
        let batch = serde_json::to_value(IncomingWebhookRequest::schema()).expect("schema");
        assert_eq!(
            batch["properties"]["call_data"]["maxItems"],
            super::super::MAX_CALLS_PER_BATCH
        );
    }

    #[test]
    fn the_date_time_pattern_and_examples_match_the_parser() {
        for example in LENIENT_EXAMPLES {
            assert!(parse_lenient(example).is_ok(), "{example}");
        }
        let schema = serde_json::to_value(LenientDateTime::schema()).expect("schema");
        assert_eq!(schema["pattern"], LENIENT_DATE_TIME_PATTERN);
    }
}
