//! Call data as a PBX reports it, once validated: every value here obeys the rules.

mod fields;
mod parse;
mod user_id_rule;
#[cfg(feature = "openapi")]
pub mod wire;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ids::UserId;

pub use parse::{parse_batch, Problem, MAX_CALLS_PER_BATCH};
pub use user_id_rule::user_id_required;

macro_rules! wire_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Case-insensitive, as PBXs are not consistent about case.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(text))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // By hand: the derive does not see a `serde(rename)` built by this macro.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                wire_enum_schema(&[$($doc),*], Self::ALL.iter().map(|v| v.as_str()))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

/// A wire enum's schema: its spellings, and its doc comment as the description.
#[cfg(feature = "openapi")]
fn wire_enum_schema<'a>(
    doc: &[&str],
    values: impl Iterator<Item = &'a str>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{Object, SchemaType, Type};
    let mut object = Object::with_type(SchemaType::Type(Type::String));
    let lines: Vec<&str> = doc.iter().map(|line| line.trim()).collect();
    object.description = Some(lines.join("\n"));
    object.enum_values = Some(values.map(Into::into).collect());
    object.into()
}

wire_enum!(
    /// The recording's container/codec family as declared by the PBX.
    AudioFileType { M4a = "m4a", Mp3 = "mp3", Wav = "wav" }
);
wire_enum!(
    /// Kind of call.
    ///
    /// | value | meaning |
    /// |---|---|
    /// | `OUTGOING_CALL` | external outgoing call |
    /// | `OUTGOING_TRANSFER` | external transfer |
    /// | `INCOMING_CALL` | external incoming call |
    /// | `AUTOMATIC_TRANSFER` | automatic forwarding |
    /// | `EXTENSION` | extension call to a user |
    /// | `EXTENSION_TRANSFER` | internal transfer to a user |
    /// | `AUTOMATIC_RECORD` | answering machine |
    EventType {
        OutgoingCall = "OUTGOING_CALL",
        OutgoingTransfer = "OUTGOING_TRANSFER",
        IncomingCall = "INCOMING_CALL",
        AutomaticTransfer = "AUTOMATIC_TRANSFER",
        Extension = "EXTENSION",
        ExtensionTransfer = "EXTENSION_TRANSFER",
        AutomaticRecord = "AUTOMATIC_RECORD",
    }
);
wire_enum!(
    /// Whether each party has a channel of its own. `STEREO`: one party per channel.
    /// `MONAURAL`: both parties on one channel (Kiku separates the voices).
    ChannelType { Stereo = "STEREO", Monaural = "MONAURAL" }
);
wire_enum!(
    /// The calling (`FROM`) or called (`TO`) party.
    Side { From = "FROM", To = "TO" }
);
wire_enum!(
    /// The stereo channel a party was recorded on.
    StereoChannel { Left = "left", Right = "right" }
);

/// One party of the call. No field other than these five is allowed. The vendor schema requires all five; Kiku also accepts `miitel_user_id` and `name` left out (same as `null`). Enum values are matched case-insensitively.
///
/// In a `STEREO` call the participant with `stereo_lr: left` is the left channel. A `STEREO` call whose participants both say `left` (vendor sample 1) is accepted; the channel assignment is then decided by Kiku's documented rule and the call history carries the flag `stereo_channels_ambiguous`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// Caller (`FROM`) or callee (`TO`).
    #[serde(rename = "type")]
    pub side: Side,
    /// Channel of this party in a stereo recording.
    pub stereo_lr: StereoChannel,
    /// The Kiku **user ID** of the company-side party (copy it from the user list), or
    /// `null` for an outside party. When given it must name a user of this company whose
    /// *Use Incoming Webhook* permission is on. Whether it is required depends on
    /// `event_type` (see `CallData`).
    pub miitel_user_id: Option<UserId>,
    /// Phone number or extension, or `Anonymous`.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "(^[+*#0-9][0-9]*$)|(^Anonymous$)",
            examples("05011112222", "Anonymous")
        )
    )]
    pub number: String,
    /// Display name, if known.
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub name: Option<String>,
}

/// One validated call from an Incoming Webhook batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallData {
    pub call_data_id: String,
    pub audio_file_type: AudioFileType,
    pub event_type: EventType,
    pub group_name: Option<String>,
    pub queue_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub call_starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub call_answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub call_ends_at: OffsetDateTime,
    pub circuit_number: Option<String>,
    pub audio_channel_type: ChannelType,
    /// Exactly one `FROM` and one `TO`, in the order the PBX sent them.
    pub participants: Vec<Participant>,
    pub tags: Vec<String>,
    /// Fields the vendor format allows beyond the documented ones, kept as sent.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl CallData {
    pub fn is_answered(&self) -> bool {
        self.call_answered_at.is_some()
    }

    pub fn participant(&self, side: Side) -> Option<&Participant> {
        self.participants.iter().find(|p| p.side == side)
    }

    /// A STEREO call whose parties claim the same channel (vendor sample1 does this).
    /// Kiku then records FROM on the left and TO on the right; see [`Self::channel_of`].
    pub fn stereo_channels_ambiguous(&self) -> bool {
        self.audio_channel_type == ChannelType::Stereo
            && self.participants.len() == 2
            && self.participants[0].stereo_lr == self.participants[1].stereo_lr
    }

    /// The channel a party's voice is on: as declared, or by the documented rule
    /// (FROM left, TO right) when the declaration is ambiguous.
    pub fn channel_of(&self, side: Side) -> Option<StereoChannel> {
        if self.stereo_channels_ambiguous() {
            return Some(match side {
                Side::From => StereoChannel::Left,
                Side::To => StereoChannel::Right,
            });
        }
        self.participant(side).map(|p| p.stereo_lr)
    }

    /// Every user id the call names, with the participant's position.
    pub fn referenced_users(&self) -> impl Iterator<Item = (usize, UserId)> + '_ {
        self.participants
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.miitel_user_id.map(|id| (i, id)))
    }

    /// Canonical JSON of the validated call: equal calls give equal text, whatever the
    /// spelling they arrived in (`+0900` vs `+09:00`, `group_name` vs `groupname`).
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Content fingerprint for idempotency: same content, same fingerprint.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.canonical_json())
    }
}

/// The fingerprint of an already computed [`CallData::canonical_json`].
pub fn fingerprint_of(canonical_json: &str) -> String {
    hex::encode(Sha256::digest(canonical_json.as_bytes()))
}

#[cfg(test)]
mod tests;
