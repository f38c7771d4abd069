//! The OpenAPI schemas whose values come from the code: the enums the handlers parse and
//! the error codes. Each is a marker type named as in the document; the values are read
//! from the domain's own lists, so the document cannot offer a value the server refuses.

use std::borrow::Cow;

use kiku_domain::search::{Flag as DomainFlag, SortKey as DomainSortKey};
use kiku_domain::{CallStatus as DomainCallStatus, EventType as DomainEventType};
use utoipa::openapi::schema::{Object, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

use crate::app::export::Encoding;

fn string_enum<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> RefOr<Schema> {
    let mut object = Object::with_type(SchemaType::Type(Type::String));
    object.description = Some(description.to_string());
    object.enum_values = Some(values.into_iter().map(Into::into).collect());
    RefOr::T(Schema::Object(object))
}

/// A marker type whose schema is `$name` in the document, built by `$schema`.
macro_rules! schema {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

schema!(
    /// `event_type` of call data.
    EventType => string_enum(
        "Kind of call.\n\n| value | meaning |\n|---|---|\n| `OUTGOING_CALL` | external outgoing call |\n| `OUTGOING_TRANSFER` | external transfer |\n| `INCOMING_CALL` | external incoming call |\n| `AUTOMATIC_TRANSFER` | automatic forwarding |\n| `EXTENSION` | extension call to a user |\n| `EXTENSION_TRANSFER` | internal transfer to a user |\n| `AUTOMATIC_RECORD` | answering machine |",
        DomainEventType::ALL.iter().map(|e| e.as_str()),
    )
);

schema!(
    /// A call history's `status`.
    CallStatus => string_enum(
        "`awaiting_upload` → `queued` (recording stored) → `analysing` (a worker holds the job; `progress_percent` 0–99) → `completed` | `failed`. Engine trouble sends an analysing call back to `queued` for a retry (5 attempts in all).",
        DomainCallStatus::ALL.iter().map(|s| s.as_str()),
    )
);

schema!(
    /// The call list's `sort`.
    SortKey => string_enum(
        "The order, newest or highest first.",
        [DomainSortKey::StartsAt, DomainSortKey::Score, DomainSortKey::Duration].map(DomainSortKey::as_str),
    )
);

schema!(
    /// A call's flags, also a filter of the call list.
    Flag => string_enum(
        "A flag a call history can carry.",
        DomainFlag::ALL.map(DomainFlag::as_str),
    )
);

/// The values of `speaker`, as [`kiku_domain::analysis::parse_speaker`] reads them.
const SPEAKERS: [&str; 3] = ["any", "user", "customer"];

schema!(
    /// The call list's `speaker`: whose words `q` searches.
    SearchSpeaker => string_enum("Whose words `q` searches.", SPEAKERS)
);

/// The export's encodings, as [`Encoding::parse`] reads them (it also takes spellings
/// such as `utf8` and `sjis`).
const ENCODINGS: [Encoding; 2] = [Encoding::Utf8, Encoding::ShiftJis];

schema!(
    /// The CSV export's `encoding`.
    ExportEncoding => string_enum("The CSV file's character encoding.", ENCODINGS.map(Encoding::charset))
);

/// Every schema of this module, for the document's components (the handlers' attributes
/// refer to them by name; utoipa registers the bodies' schemas, not the parameters').
pub fn all() -> Vec<(Cow<'static, str>, RefOr<Schema>)> {
    fn one<T: utoipa::ToSchema>() -> (Cow<'static, str>, RefOr<Schema>) {
        (T::name(), T::schema())
    }
    vec![
        one::<EventType>(),
        one::<CallStatus>(),
        one::<SortKey>(),
        one::<Flag>(),
        one::<SearchSpeaker>(),
        one::<ExportEncoding>(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiku_domain::analysis::parse_speaker;

    #[test]
    fn every_documented_speaker_and_encoding_is_accepted() {
        for speaker in SPEAKERS {
            assert!(parse_speaker(speaker).is_some(), "{speaker}");
        }
        for encoding in ENCODINGS {
            assert_eq!(Encoding::parse(encoding.charset()), Some(encoding));
        }
    }
}
