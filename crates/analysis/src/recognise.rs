//! Speech recognition with a CTranslate2 Whisper model (any faster-whisper-format
//! directory): our own log-mel front end, an explicit prompt, and Whisper's timestamp
//! tokens turned into segments. One call handles one chunk of at most 30 s.

use std::collections::HashMap;
use std::path::Path;

use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};

use crate::log_mel::FrontEnd;

/// Whisper's window: 30 s at 16 kHz.
pub const CHUNK_SAMPLES: usize = 480_000;
/// Chunks the model judges this likely to be silence yield no text (no hallucinations).
const NO_SPEECH_THRESHOLD: f32 = 0.6;

#[derive(Debug, thiserror::Error)]
pub enum RecogniseError {
    #[error("cannot load the speech model from {dir}: {reason}")]
    Load { dir: String, reason: String },
    #[error("speech recognition failed: {0}")]
    Generate(String),
}

/// Recognised text between two times (seconds from the start of the recording).
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// How the model runs.
#[derive(Clone, Copy, Debug)]
pub struct RecogniserOptions {
    /// Copies of the model's workers that run at once (one per channel), sharing weights.
    pub replicas: usize,
    pub threads_per_replica: usize,
    /// 1 is greedy decoding; faster-whisper's default is 5.
    pub beam_size: usize,
}

impl Default for RecogniserOptions {
    fn default() -> Self {
        Self {
            replicas: 1,
            threads_per_replica: 1,
            beam_size: 5,
        }
    }
}

pub struct Recogniser {
    whisper: Whisper,
    front_end: FrontEnd,
    bytes: HashMap<char, u8>,
    beam_size: usize,
}

impl Recogniser {
    /// Loads the model with int8 weights. `Recogniser` is `Sync`: up to `replicas` calls
    /// run in parallel from different threads.
    pub fn load(dir: &Path, options: RecogniserOptions) -> Result<Self, RecogniseError> {
        let config = Config {
            compute_type: ComputeType::INT8,
            device_indices: vec![0; options.replicas.max(1)],
            num_threads_per_replica: options.threads_per_replica.max(1),
            ..Default::default()
        };
        let whisper = Whisper::new(dir, config).map_err(|e| RecogniseError::Load {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            whisper,
            front_end: FrontEnd::new(),
            bytes: byte_decoder(),
            beam_size: options.beam_size.max(1),
        })
    }

    /// Whether the model knows more languages than English.
    pub fn is_multilingual(&self) -> bool {
        self.whisper.is_multilingual()
    }

    fn features(&self, samples: &[f32]) -> Result<(Vec<f32>, usize), RecogniseError> {
        let mut window = samples[..samples.len().min(CHUNK_SAMPLES)].to_vec();
        window.resize(CHUNK_SAMPLES, 0.0);
        let mel = self.front_end.compute(&window);
        Ok((mel.values, mel.frames))
    }

    /// The language spoken in up to 30 s of speech, as a Whisper code (`en`, `ja`, …):
    /// the token the model puts after `<|startoftranscript|>`. `en` for English-only models.
    pub fn detect_language(&self, samples: &[f32]) -> Result<String, RecogniseError> {
        if !self.whisper.is_multilingual() {
            return Ok("en".into());
        }
        let (mut values, frames) = self.features(samples)?;
        let view = StorageView::new(
            &[1, crate::log_mel::N_MELS, frames],
            &mut values,
            Device::CPU,
        )
        .map_err(|e| RecogniseError::Generate(e.to_string()))?;
        let results = self
            .whisper
            .detect_language(&view)
            .map_err(|e| RecogniseError::Generate(e.to_string()))?;
        // ct2rs keeps `DetectionResult`'s fields private; its Debug form is the only way
        // to read the best language token (`<|ja|>`), listed first.
        let best = results
            .first()
            .and_then(|r| r.first())
            .map(|d| format!("{d:?}"))
            .unwrap_or_default();
        best.split("<|")
            .nth(1)
            .and_then(|rest| rest.split("|>").next())
            .filter(|code| {
                (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase())
            })
            .map(str::to_string)
            .ok_or_else(|| RecogniseError::Generate("the model named no language".into()))
    }

    /// Transcribes up to 30 s of 16 kHz mono `samples` that start `offset` seconds into the
    /// recording. `language` is a Whisper code (`en`, `ja`, …); ignored by English-only models.
    pub fn transcribe_chunk(
        &self,
        samples: &[f32],
        offset: f64,
        language: &str,
    ) -> Result<Vec<Segment>, RecogniseError> {
        let (mut values, frames) = self.features(samples)?;
        let view = StorageView::new(
            &[1, crate::log_mel::N_MELS, frames],
            &mut values,
            Device::CPU,
        )
        .map_err(|e| RecogniseError::Generate(e.to_string()))?;
        let mut prompt = vec!["<|startoftranscript|>".to_string()];
        if self.whisper.is_multilingual() {
            prompt.push(format!("<|{language}|>"));
            prompt.push("<|transcribe|>".to_string());
        }
        let options = WhisperOptions {
            beam_size: self.beam_size,
            return_no_speech_prob: true,
            ..Default::default()
        };
        let results = self
            .whisper
            .generate(&view, &[prompt], &options)
            .map_err(|e| RecogniseError::Generate(e.to_string()))?;
        let Some(result) = results.into_iter().next() else {
            return Ok(Vec::new());
        };
        if result.no_speech_prob > NO_SPEECH_THRESHOLD {
            return Ok(Vec::new());
        }
        let chunk_seconds = samples.len().min(CHUNK_SAMPLES) as f64 / 16_000.0;
        let tokens = result.sequences.into_iter().next().unwrap_or_default();
        Ok(self.segments(&tokens, offset, chunk_seconds))
    }

    /// Text between timestamp tokens becomes one segment; text without a closing timestamp
    /// ends at the chunk's end.
    fn segments(&self, tokens: &[String], offset: f64, chunk_seconds: f64) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut start: Option<f64> = None;
        let mut text: Vec<u8> = Vec::new();
        let mut flush = |start: f64, end: f64, text: &mut Vec<u8>| {
            let words = String::from_utf8_lossy(text).trim().to_string();
            if !words.is_empty() {
                out.push(Segment {
                    start: offset + start,
                    end: offset + end.min(chunk_seconds),
                    text: words,
                });
            }
            text.clear();
        };
        for token in tokens {
            if let Some(t) = token
                .strip_prefix("<|")
                .and_then(|t| t.strip_suffix("|>"))
                .and_then(|t| t.parse::<f64>().ok())
            {
                match start {
                    Some(s) if !text.is_empty() => {
                        flush(s, t, &mut text);
                        start = None;
                    }
                    _ => start = Some(t),
                }
            } else if !token.starts_with("<|") {
                text.extend(token.chars().filter_map(|c| self.bytes.get(&c).copied()));
            }
        }
        if let Some(s) = start {
            flush(s, chunk_seconds, &mut text);
        }
        out
    }
}

/// GPT-2 byte-level BPE: the printable character standing for each byte in the vocabulary.
fn byte_decoder() -> HashMap<char, u8> {
    let mut bytes: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars = bytes.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !bytes.contains(&b) {
            bytes.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    bytes
        .into_iter()
        .zip(chars)
        .filter_map(|(b, c)| Some((char::from_u32(c)?, u8::try_from(b).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_tokens_decode_to_utf8() {
        let map = byte_decoder();
        assert_eq!(map.len(), 256);
        assert_eq!(map.get(&'Ġ'), Some(&b' '));
        // "こ" is E3 81 93 in UTF-8, written as three byte characters.
        let token: String = [0xE3u8, 0x81, 0x93]
            .iter()
            .map(|b| {
                map.iter()
                    .find(|(_, v)| *v == b)
                    .map(|(c, _)| *c)
                    .unwrap_or('?')
            })
            .collect();
        let back: Vec<u8> = token.chars().filter_map(|c| map.get(&c).copied()).collect();
        assert_eq!(String::from_utf8_lossy(&back), "こ");
    }
}
