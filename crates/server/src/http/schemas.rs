//! The OpenAPI schemas whose values come from the code: the enums the handlers parse and
//! the error codes. Each is a marker type named as in the document; the values are read
//! from the domain's own lists, so the document cannot offer a value the server refuses.
//! Also the list of derived schemas no operation's attribute pulls in ([`all`]).

use std::borrow::Cow;

use kiku_domain::crm::{CrmContent as DomainCrmContent, CrmKind as DomainCrmKind};
use kiku_domain::outbox::VersionReason as DomainVersionReason;
use kiku_domain::search::{Flag as DomainFlag, SortKey as DomainSortKey};
use kiku_domain::tag_rule::KeywordMatch as DomainKeywordMatch;
use kiku_domain::{CallStatus as DomainCallStatus, EventKind};
use utoipa::openapi::schema::{Object, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

use super::error::{ErrorBody, ERROR_CODES};
use crate::app::audit::Via;
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

fn with_type(schema_type: Type, description: &str) -> Object {
    let mut object = Object::with_type(SchemaType::Type(schema_type));
    object.description = Some(description.to_string());
    object
}

schema!(
    /// A recording as uploaded and served: the raw file.
    AudioFile => {
        let mut object = with_type(Type::String, "The raw audio file.");
        object.content_media_type = "application/octet-stream".into();
        RefOr::T(Schema::Object(object))
    }
);

schema!(
    /// A part of a recording (`206`), or a body the server does not read as JSON.
    Binary => {
        let mut object = with_type(Type::String, "Bytes.");
        object.format = Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Binary,
        ));
        RefOr::T(Schema::Object(object))
    }
);

schema!(
    /// A text body: the metrics' exposition format, the CSV export, the viewer's HTML.
    MetricsText => RefOr::T(Schema::Object(with_type(Type::String, "Text.")))
);

schema!(
    /// `GET /openapi.json`'s answer: this document.
    OpenApiDocument => RefOr::T(Schema::Object(with_type(Type::Object, "An OpenAPI 3.1 document.")))
);

/// The values of `speaker`, as [`kiku_domain::analysis::parse_speaker`] reads them.
const SPEAKERS: [&str; 3] = ["any", "user", "customer"];

schema!(
    /// The call list's `speaker`: whose words `q` searches.
    SearchSpeaker => string_enum("Whose words `q` searches.", SPEAKERS)
);

schema!(
    /// An event an outgoing webhook can be sent, as [`EventKind::parse`] reads it.
    OutgoingWebhookEvent => string_enum(
        "An event sent to outgoing webhooks.",
        EventKind::ALL.map(EventKind::as_str),
    )
);

schema!(
    /// A CRM connection's `kind`, as [`DomainCrmKind::parse`] reads it.
    CrmKind => string_enum("The CRM.", DomainCrmKind::ALL.map(DomainCrmKind::as_str))
);

schema!(
    /// A CRM connection's `content`, as [`DomainCrmContent::parse`] reads it.
    CrmContent => string_enum(
        "What the record's body carries: every phrase as `m:ss (User) phrase` lines, or the summary's.",
        [DomainCrmContent::Transcript, DomainCrmContent::Summary].map(DomainCrmContent::as_str),
    )
);

schema!(
    /// What Slack rules and CRM connections react to: the one trigger there is.
    NotificationTrigger => string_enum("When it is sent.", ["speech_recognition_completed"])
);

schema!(
    /// A notification attempt's channel (`Target::channel` of the domain's jobs).
    AttemptChannel => string_enum("Where it went.", ["slack", "email", "crm"])
);

schema!(
    /// A notification attempt's outcome, as the job runner records it.
    AttemptOutcome => string_enum(
        "`retrying`: it failed and will be tried again.",
        ["delivered", "retrying", "failed"],
    )
);

schema!(
    /// The channel of one of a call's notifications.
    NotificationChannel => string_enum("Where it goes.", ["webhook", "slack", "email", "crm"])
);

schema!(
    /// How one of a call's notifications stands.
    NotificationOutcome => string_enum(
        "How it ended, or that it is still waiting.",
        ["delivered", "retrying", "failed", "pending", "skipped"],
    )
);

schema!(
    /// Where an audited action came from, as [`Via`] names it.
    AuditVia => string_enum("Where the action came from.", Via::ALL.map(Via::as_str))
);

schema!(
    /// Why a version of a call's result was made.
    VersionReason => string_enum(
        "`analysis`: the recording was analysed; `rescore`: the analysis settings changed; `swap`: a person swapped user and customer.",
        [DomainVersionReason::Analysis, DomainVersionReason::Rescore, DomainVersionReason::Swap].map(DomainVersionReason::as_str),
    )
);

schema!(
    /// An auto-tag rule's `speaker`.
    TagRuleSpeaker => string_enum("Whose words count: `user`, `customer` or `any` (either side).", SPEAKERS)
);

schema!(
    /// An auto-tag rule's `match`, as [`DomainKeywordMatch::parse`] reads it.
    KeywordMatch => string_enum(
        "`any`: the keywords' total count reaches `min_count`; `all`: each keyword's own count does.",
        [DomainKeywordMatch::Any, DomainKeywordMatch::All].map(DomainKeywordMatch::as_str),
    )
);

/// The export's encodings, as [`Encoding::parse`] reads them (it also takes spellings
/// such as `utf8` and `sjis`).
const ENCODINGS: [Encoding; 2] = [Encoding::Utf8, Encoding::ShiftJis];

schema!(
    /// The CSV export's `encoding`.
    ExportEncoding => string_enum("The CSV file's character encoding.", ENCODINGS.map(Encoding::charset))
);

schema!(
    /// `Error.code`, from [`ERROR_CODES`] (a test checks every `AppError` variant's is there).
    ErrorCode => string_enum("What went wrong, for programs; see the table of `Error`.", ERROR_CODES.iter().copied())
);

/// The schemas the operations' attributes do not pull in, for the document's components:
/// this module's (the handlers' attributes refer to them by name; utoipa registers the
/// bodies' schemas, not the parameters'), and `Error` with what it refers to (the
/// reusable error responses of `base.json` refer to it).
pub fn all() -> Vec<(String, RefOr<Schema>)> {
    fn one<T: utoipa::ToSchema>() -> (String, RefOr<Schema>) {
        (T::name().into_owned(), T::schema())
    }
    let mut all = vec![one::<ErrorBody>()];
    <ErrorBody as utoipa::ToSchema>::schemas(&mut all);
    all.extend([
        one::<CallStatus>(),
        one::<SortKey>(),
        one::<Flag>(),
        one::<SearchSpeaker>(),
        one::<TagRuleSpeaker>(),
        one::<KeywordMatch>(),
        one::<ExportEncoding>(),
    ]);
    all
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
