//! Recordings as files: what a browser can play as it is, and how a G.711 (μ-law or
//! A-law) WAV — what many PBXs record, and what browsers cannot play — reads as 16-bit
//! PCM, byte range by byte range, without decoding the whole file; and a recording's
//! redacted copy.

mod g711;
mod redact;

pub use g711::{pcm_header, G711Wav, Law, PCM_HEADER_BYTES};
pub use redact::{hide, pcm16_wav, PAD_SECONDS};
