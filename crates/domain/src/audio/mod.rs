//! Recordings as files: what a browser can play as it is, and how a G.711 (μ-law or
//! A-law) WAV — what many PBXs record, and what browsers cannot play — reads as 16-bit
//! PCM, byte range by byte range, without decoding the whole file.

mod g711;

pub use g711::{pcm_header, G711Wav, Law, PCM_HEADER_BYTES};
