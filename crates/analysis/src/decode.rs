//! Decoding a recording by its content (WAV with PCM/float/μ-law/A-law, MP3, AAC in
//! M4A/MP4), keeping channels apart, within a sample cap, and with decoder panics turned
//! into errors so a hostile file fails one call, never the process.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use kiku_domain::AudioFileType;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

/// Decoded audio: one `Vec` of samples in -1..1 per channel, at the file's own rate.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedAudio {
    pub detected: AudioFileType,
    pub sample_rate: u32,
    pub channels: Vec<Vec<f32>>,
    /// Set when the recording ran past the cap and the rest was dropped.
    pub truncated: bool,
}

impl DecodedAudio {
    pub fn seconds(&self) -> f64 {
        let frames = self.channels.first().map_or(0, Vec::len);
        if self.sample_rate == 0 {
            0.0
        } else {
            frames as f64 / f64::from(self.sample_rate)
        }
    }

    /// All channels averaged into one (a MONAURAL call recorded on two channels).
    pub fn mixed_down(&self) -> Vec<f32> {
        let n = self.channels.len().max(1) as f32;
        let frames = self.channels.first().map_or(0, Vec::len);
        (0..frames)
            .map(|i| {
                self.channels
                    .iter()
                    .map(|c| c.get(i).copied().unwrap_or(0.0))
                    .sum::<f32>()
                    / n
            })
            .collect()
    }
}

/// Why a recording could not be decoded; each reads as the specific cause an operator
/// sees after the seed's generic failure message.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("the file is {detected}, not the declared {declared}")]
    WrongFormat {
        declared: AudioFileType,
        detected: String,
    },
    #[error("the file is not a recognised audio format")]
    Unrecognised,
    #[error("the file has no audio track")]
    NoAudio,
    #[error("the audio data is corrupt: {0}")]
    Corrupt(String),
    #[error("the recording holds no audio samples")]
    Empty,
    #[error("the decoder failed on this file")]
    DecoderPanicked,
}

/// How much audio is decoded at most, per channel, in seconds (derived by the caller
/// from the declared call duration and a global limit).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_seconds: f64,
    pub max_channels: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_seconds: 4.0 * 3600.0,
            max_channels: 2,
        }
    }
}

/// Decodes `bytes`, which the PBX declared as `declared`.
pub fn decode(
    bytes: Vec<u8>,
    declared: AudioFileType,
    limits: Limits,
) -> Result<DecodedAudio, DecodeError> {
    decode_source(Box::new(Cursor::new(bytes)), Some(declared), limits)
}

/// Decodes `bytes` of whatever supported format they hold (a local file has no declaration).
pub fn decode_any(bytes: Vec<u8>, limits: Limits) -> Result<DecodedAudio, DecodeError> {
    decode_source(Box::new(Cursor::new(bytes)), None, limits)
}

/// Decodes the recording in `file`, read as decoding goes (never whole into memory) and
/// no further than `limits` need; `declared` when the PBX declared its type.
pub fn decode_file(
    file: std::fs::File,
    declared: Option<AudioFileType>,
    limits: Limits,
) -> Result<DecodedAudio, DecodeError> {
    decode_source(Box::new(file), declared, limits)
}

fn decode_source(
    source: Box<dyn MediaSource>,
    declared: Option<AudioFileType>,
    limits: Limits,
) -> Result<DecodedAudio, DecodeError> {
    catch_unwind(AssertUnwindSafe(|| decode_inner(source, declared, limits)))
        .unwrap_or(Err(DecodeError::DecoderPanicked))
}

fn family(short_name: &str) -> Option<AudioFileType> {
    match short_name {
        "wave" => Some(AudioFileType::Wav),
        "mp3" => Some(AudioFileType::Mp3),
        "isomp4" => Some(AudioFileType::M4a),
        _ => None,
    }
}

fn decode_inner(
    source: Box<dyn MediaSource>,
    declared: Option<AudioFileType>,
    limits: Limits,
) -> Result<DecodedAudio, DecodeError> {
    let source = MediaSourceStream::new(source, Default::default());
    // No hint: the content decides, not the declared type.
    let mut format = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            source,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|_| DecodeError::Unrecognised)?;
    let short_name = format.format_info().short_name;
    let detected = family(short_name).ok_or(DecodeError::Unrecognised)?;
    if let Some(declared) = declared.filter(|d| *d != detected) {
        return Err(DecodeError::WrongFormat {
            declared,
            detected: detected.as_str().to_string(),
        });
    }
    let track = format
        .default_track(TrackType::Audio)
        .ok_or(DecodeError::NoAudio)?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or(DecodeError::NoAudio)?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;

    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut sample_rate = 0;
    let mut truncated = false;
    let mut planar: Vec<Vec<f32>> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A cut-off file ends early; what came before is kept, and the caller checks
            // the length against the call's duration.
            Err(SymphoniaError::IoError(_)) => break,
            Err(e) => return Err(DecodeError::Corrupt(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(DecodeError::Corrupt(e.to_string())),
        };
        let spec = buffer.spec();
        let count = spec.channels().count();
        if count == 0 || count > limits.max_channels {
            return Err(DecodeError::Corrupt(format!(
                "{count} channels (at most {} supported)",
                limits.max_channels
            )));
        }
        if sample_rate == 0 {
            sample_rate = spec.rate();
            channels = vec![Vec::new(); count];
        } else if spec.rate() != sample_rate || count != channels.len() {
            return Err(DecodeError::Corrupt(
                "the sample rate or channel count changes mid-stream".into(),
            ));
        }
        buffer.copy_to_vecs_planar::<f32>(&mut planar);
        let cap = (limits.max_seconds * f64::from(sample_rate)) as usize;
        for (out, chunk) in channels.iter_mut().zip(&planar) {
            let room = cap.saturating_sub(out.len());
            truncated |= chunk.len() > room;
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        if truncated {
            break;
        }
    }
    if channels.first().is_none_or(Vec::is_empty) {
        return Err(DecodeError::Empty);
    }
    Ok(DecodedAudio {
        detected,
        sample_rate,
        channels,
        truncated,
    })
}
