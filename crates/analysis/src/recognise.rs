//! Speech recognition with a CTranslate2 Whisper model (any faster-whisper-format
//! directory): our own log-mel front end, an explicit prompt, and Whisper's timestamp
//! tokens turned into segments. One call handles one chunk of at most 30 s.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};
use kiku_domain::analysis::counts_characters;

use crate::fallback::{self, Attempt, Verdict};
use crate::log_mel::{FrontEnd, HOP};
use crate::tokenizer::{byte_chars, Tokenizer};
use crate::words;

/// Whisper's window: 30 s at 16 kHz.
pub const CHUNK_SAMPLES: usize = 480_000;
/// The token before the previous text in a prompt.
const START_OF_PREVIOUS: &str = "<|startofprev|>";
/// At most this many tokens of previous text go into a prompt (half of Whisper's 448
/// positions, less the marker), as faster-whisper does.
const MAX_CONTEXT_TOKENS: usize = 223;

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
    /// Word timings from the model's alignment; empty when it gave none.
    pub words: Vec<TimedWord>,
}

/// A word with its times (seconds) and the model's confidence in it.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedWord {
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// The mean probability of the word's tokens, as faster-whisper reports it.
    pub probability: f64,
}

/// What one chunk decoded to.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub segments: Vec<Segment>,
    /// When the model's last segment had no closing timestamp (the chunk cut a sentence),
    /// it is left out, and decoding should go on from here (seconds into the chunk), as
    /// faster-whisper does. `None`: the output is complete.
    pub resume_at: Option<f64>,
    /// The tokens of the segments kept (text and timestamps), to condition the next chunk on.
    pub tokens: Vec<String>,
    /// The temperature the text was decoded at: 0 for beam search, more when beam search
    /// looped or was unsure and the text was sampled instead ([`fallback`]).
    pub temperature: f32,
    /// Every decoding attempt, in order (more than one when the fallback ran).
    pub attempts: Vec<Attempt>,
}

/// The text one decoding attempt kept: its tokens (timestamps included) and their ids.
struct Hypothesis {
    attempt: Attempt,
    tokens: Vec<String>,
    ids: Vec<usize>,
}

/// Where the model runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ComputeDevice {
    #[default]
    Cpu,
    /// An NVIDIA GPU by its CUDA index: needs a build that links a CTranslate2 with CUDA
    /// (the `prebuilt` engine) and CUDA 12's cuBLAS and cuDNN 9 where the loader finds them.
    Cuda(i32),
}

impl std::str::FromStr for ComputeDevice {
    type Err = String;

    /// `cpu`, `cuda` (the first GPU) or `cuda:N`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<i32>().ok())
                .filter(|n| (0..64).contains(n))
                .map(Self::Cuda)
                .ok_or_else(|| format!("{other:?} is no device: cpu, cuda or cuda:N")),
        }
    }
}

/// How the model runs.
#[derive(Clone, Copy, Debug)]
pub struct RecogniserOptions {
    /// Copies of the model's workers that run at once (one per lane), sharing weights.
    pub replicas: usize,
    pub threads_per_replica: usize,
    /// 1 is greedy decoding; faster-whisper's default is 5.
    pub beam_size: usize,
    pub device: ComputeDevice,
}

impl Default for RecogniserOptions {
    fn default() -> Self {
        Self {
            replicas: 1,
            threads_per_replica: 1,
            beam_size: 5,
            device: ComputeDevice::Cpu,
        }
    }
}

pub struct Recogniser {
    whisper: Whisper,
    front_end: FrontEnd,
    bytes: HashMap<char, u8>,
    /// Ids of the special tokens (`<|…|>`), for the alignment's prompt.
    special_ids: HashMap<String, usize>,
    /// `None` when the model folder has no `tokenizer.json`: then no vocabulary prompt.
    tokenizer: Option<Tokenizer>,
    beam_size: usize,
}

impl Recogniser {
    /// Loads the model with int8 weights (computing in float16 on a GPU, as faster-whisper's
    /// `int8_float16`). `Recogniser` is `Sync`: up to `replicas` calls run in parallel from
    /// different threads.
    pub fn load(dir: &Path, options: RecogniserOptions) -> Result<Self, RecogniseError> {
        let (device, index, compute_type) = match options.device {
            ComputeDevice::Cpu => (Device::CPU, 0, ComputeType::INT8),
            ComputeDevice::Cuda(index) => (Device::CUDA, index, ComputeType::INT8_FLOAT16),
        };
        let config = Config {
            device,
            compute_type,
            device_indices: vec![index; options.replicas.max(1)],
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
            special_ids: special_ids(dir),
            tokenizer: Tokenizer::load(dir),
            beam_size: options.beam_size.max(1),
        })
    }

    /// The prompt tokens that tell the model which words to expect: `words` joined as
    /// the language writes a list (`, `; `、` where words are not spaced), at most
    /// [`MAX_CONTEXT_TOKENS`], as faster-whisper's `hotwords` are. Empty without words or
    /// without the model's tokenizer.
    pub fn vocabulary_tokens(&self, words: &[String], language: &str) -> Vec<String> {
        let (Some(tokenizer), false) = (&self.tokenizer, words.is_empty()) else {
            return Vec::new();
        };
        let joiner = if counts_characters(language) {
            "、"
        } else {
            ", "
        };
        let mut tokens = tokenizer.encode(&format!(" {}", words.join(joiner)));
        tokens.truncate(MAX_CONTEXT_TOKENS);
        tokens
    }

    /// Whether the model knows more languages than English.
    pub fn is_multilingual(&self) -> bool {
        self.whisper.is_multilingual()
    }

    /// Whisper's encoder output for up to 30 s of `samples` (padded with silence).
    fn encode(&self, samples: &[f32]) -> Result<StorageView<'static>, RecogniseError> {
        let mut window = samples[..samples.len().min(CHUNK_SAMPLES)].to_vec();
        window.resize(CHUNK_SAMPLES, 0.0);
        let mut mel = self.front_end.compute(&window);
        let view = StorageView::new(
            &[1, crate::log_mel::N_MELS, mel.frames],
            &mut mel.values,
            Device::CPU,
        )
        .map_err(failed)?;
        self.whisper.encode(&view, false).map_err(failed)
    }

    /// The language spoken in up to 30 s of speech, as a Whisper code (`en`, `ja`, …):
    /// the token the model puts after `<|startoftranscript|>`. `en` for English-only models.
    pub fn detect_language(&self, samples: &[f32]) -> Result<String, RecogniseError> {
        if !self.whisper.is_multilingual() {
            return Ok("en".into());
        }
        let encoded = self.encode(samples)?;
        let results = self
            .whisper
            .detect_language(&encoded)
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
    /// `vocabulary` ([`Self::vocabulary_tokens`]) comes first in the prompt of every chunk,
    /// where faster-whisper puts its `hotwords`. `context` is what the previous chunks of
    /// the same voice decoded to ([`Decoded::tokens`], oldest first): the model is
    /// conditioned on its last tokens, as Whisper and faster-whisper do
    /// (`condition_on_previous_text`).
    pub fn transcribe_chunk(
        &self,
        samples: &[f32],
        offset: f64,
        language: &str,
        vocabulary: &[String],
        context: &[String],
    ) -> Result<Decoded, RecogniseError> {
        // Encoded once, for both decoding and word alignment.
        let encoded = self.encode(samples)?;
        let mut start = vec!["<|startoftranscript|>".to_string()];
        if self.whisper.is_multilingual() {
            start.push(format!("<|{language}|>"));
            start.push("<|transcribe|>".to_string());
        }
        let mut prompt = Vec::new();
        if (!context.is_empty() || !vocabulary.is_empty())
            && self.special_ids.contains_key(START_OF_PREVIOUS)
        {
            prompt.push(START_OF_PREVIOUS.to_string());
            prompt.extend_from_slice(vocabulary);
            prompt.extend_from_slice(&context[context.len().saturating_sub(MAX_CONTEXT_TOKENS)..]);
        }
        prompt.extend_from_slice(&start);
        let content = samples.len().min(CHUNK_SAMPLES);
        let chunk_seconds = content as f64 / 16_000.0;
        let mut attempts = Vec::new();
        let Some(Hypothesis {
            attempt,
            mut tokens,
            mut ids,
        }) = self.generate(&encoded, prompt, &mut attempts)?
        else {
            return Ok(Decoded {
                segments: Vec::new(),
                resume_at: None,
                tokens: Vec::new(),
                temperature: 0.0,
                attempts,
            });
        };
        let resume_at = complete_until(&tokens).map(|(keep, at)| {
            tokens.truncate(keep);
            ids.truncate(keep);
            at.min(chunk_seconds)
        });
        let mut segments = segments(&self.bytes, &tokens, offset, chunk_seconds);
        let words = self.words(&encoded, &start, &tokens, &ids, content / HOP, language);
        for (segment, range) in &mut segments {
            segment.words = words
                .iter()
                .filter(|(r, _)| range.contains(&r.start))
                .map(|(_, w)| TimedWord {
                    start: offset + w.start.min(chunk_seconds),
                    end: offset + w.end.min(chunk_seconds),
                    ..w.clone()
                })
                .collect();
        }
        Ok(Decoded {
            segments: segments.into_iter().map(|(s, _)| s).collect(),
            resume_at,
            tokens: if segments_have_text(&tokens) {
                tokens
            } else {
                Vec::new()
            },
            temperature: attempt.temperature,
            attempts,
        })
    }

    /// Decodes `encoded` after `prompt` by beam search, falling back to sampling at rising
    /// temperatures while the text loops or is unlikely ([`fallback`]). The attempt kept
    /// with its tokens and their ids; `None` when the window holds no speech. Every
    /// attempt is added to `attempts`.
    fn generate(
        &self,
        encoded: &StorageView,
        prompt: Vec<String>,
        attempts: &mut Vec<Attempt>,
    ) -> Result<Option<Hypothesis>, RecogniseError> {
        let prompts = [prompt];
        let mut retried: Vec<Hypothesis> = Vec::new();
        for temperature in fallback::TEMPERATURES {
            let options = if temperature == 0.0 {
                WhisperOptions {
                    beam_size: self.beam_size,
                    return_no_speech_prob: true,
                    return_scores: true,
                    ..Default::default()
                }
            } else {
                WhisperOptions {
                    beam_size: 1,
                    num_hypotheses: fallback::BEST_OF,
                    sampling_topk: 0,
                    sampling_temperature: temperature,
                    return_no_speech_prob: true,
                    return_scores: true,
                    ..Default::default()
                }
            };
            let results = self
                .whisper
                .generate(encoded, &prompts, &options)
                .map_err(failed)?;
            let Some(result) = results.into_iter().next() else {
                return Ok(None);
            };
            // Hypotheses come best first.
            let tokens = result.sequences.into_iter().next().unwrap_or_default();
            let ids = result.sequences_ids.into_iter().next().unwrap_or_default();
            let score = result.scores.first().copied().unwrap_or(f32::NEG_INFINITY);
            let attempt = Attempt {
                temperature,
                avg_log_prob: f64::from(score),
                compression_ratio: fallback::compression_ratio(
                    text_of(&self.bytes, &tokens).trim(),
                ),
                no_speech_prob: f64::from(result.no_speech_prob),
            };
            attempts.push(attempt);
            let hypothesis = Hypothesis {
                attempt,
                tokens,
                ids,
            };
            match attempt.verdict() {
                Verdict::Silence => return Ok(None),
                Verdict::Accept => return Ok(Some(hypothesis)),
                Verdict::Retry => retried.push(hypothesis),
            }
        }
        let judged: Vec<Attempt> = retried.iter().map(|h| h.attempt).collect();
        Ok(fallback::best(&judged).map(|i| retried.swap_remove(i)))
    }

    /// Word timings of the text tokens (ranges index the text tokens only), through the
    /// model's cross-attention alignment. None when the model cannot align.
    fn words(
        &self,
        encoded: &StorageView,
        prompt: &[String],
        tokens: &[String],
        ids: &[usize],
        frames: usize,
        language: &str,
    ) -> Vec<(Range<usize>, TimedWord)> {
        let Some(start): Option<Vec<usize>> = prompt
            .iter()
            .map(|t| self.special_ids.get(t).copied())
            .collect()
        else {
            return Vec::new();
        };
        let (text_ids, text_bytes): (Vec<usize>, Vec<Vec<u8>>) = tokens
            .iter()
            .zip(ids)
            .filter(|(t, _)| !t.starts_with("<|"))
            .map(|(t, id)| {
                (
                    *id,
                    t.chars()
                        .filter_map(|c| self.bytes.get(&c).copied())
                        .collect(),
                )
            })
            .unzip();
        if text_ids.is_empty() {
            return Vec::new();
        }
        let Ok(aligned) = self.whisper.align(
            encoded,
            &start,
            std::slice::from_ref(&text_ids),
            &[frames.max(1)],
            7,
        ) else {
            return Vec::new();
        };
        let Some(result) = aligned.into_iter().next() else {
            return Vec::new();
        };
        let path: Vec<(usize, usize)> = result
            .alignments
            .iter()
            .filter_map(|a| {
                Some((
                    usize::try_from(a.token_x).ok()?,
                    usize::try_from(a.frame_x).ok()?,
                ))
            })
            .collect();
        let times = words::token_times(&path, text_ids.len());
        words::group(&text_bytes, counts_characters(language))
            .into_iter()
            .map(|(range, text)| {
                let word = TimedWord {
                    start: times[range.start],
                    end: times[range.end].max(times[range.start]),
                    text,
                    probability: words::probability(&result.text_token_probs, range.clone()),
                };
                (range, word)
            })
            .collect()
    }
}

/// Text between timestamp tokens becomes one segment; text after the last one ends at the
/// chunk's end. Each segment comes with the range of text tokens (counted without specials) it holds.
fn segments(
    bytes: &HashMap<char, u8>,
    tokens: &[String],
    offset: f64,
    chunk_seconds: f64,
) -> Vec<(Segment, Range<usize>)> {
    let mut out = Vec::new();
    let mut start = 0.0;
    let mut text: Vec<u8> = Vec::new();
    let mut seen = 0;
    let mut first = 0;
    let mut flush = |start: f64, end: f64, text: &mut Vec<u8>, range: Range<usize>| {
        let words = String::from_utf8_lossy(text).trim().to_string();
        if !words.is_empty() {
            let segment = Segment {
                start: offset + start,
                end: offset + end.clamp(start, chunk_seconds),
                text: words,
                words: Vec::new(),
            };
            out.push((segment, range));
        }
        text.clear();
    };
    // Every timestamp closes the text before it and starts the next segment, so text
    // between single (unpaired) timestamps is kept too.
    for token in tokens {
        if let Some(t) = timestamp(token) {
            flush(start, t, &mut text, first..seen);
            start = t;
            first = seen;
        } else if !token.starts_with("<|") {
            text.extend(token.chars().filter_map(|c| bytes.get(&c).copied()));
            seen += 1;
        }
    }
    flush(start, chunk_seconds, &mut text, first..seen);
    out
}

/// The text of `tokens` (special tokens left out).
fn text_of(bytes: &HashMap<char, u8>, tokens: &[String]) -> String {
    let raw: Vec<u8> = tokens
        .iter()
        .filter(|t| !t.starts_with("<|"))
        .flat_map(|t| t.chars().filter_map(|c| bytes.get(&c).copied()))
        .collect();
    String::from_utf8_lossy(&raw).into_owned()
}

/// The time of a timestamp token (`<|1.24|>`), `None` for every other token.
fn timestamp(token: &str) -> Option<f64> {
    token
        .strip_prefix("<|")
        .and_then(|t| t.strip_suffix("|>"))
        .and_then(|t| t.parse::<f64>().ok())
}

/// Where the complete part of the model's output ends, when its last segment is
/// unfinished: the output has closed segments (a timestamp pair ends one and starts the
/// next) but does not end on a timestamp. Then `(tokens to keep, seconds they cover)`: up to
/// the last pair, whose first timestamp ends the last complete segment. faster-whisper's
/// rule; `None` keeps everything.
fn complete_until(tokens: &[String]) -> Option<(usize, f64)> {
    let is_ts = |i: usize| timestamp(&tokens[i]).is_some();
    let n = tokens.len();
    if n >= 2 && is_ts(n - 1) && !is_ts(n - 2) {
        return None; // a single timestamp at the end: nothing is unfinished
    }
    let last_pair = (1..n).rev().find(|&i| is_ts(i) && is_ts(i - 1))?;
    let at = timestamp(&tokens[last_pair - 1])?;
    (at > 0.0).then_some((last_pair, at))
}

/// Whether `tokens` hold any text (not only special tokens).
fn segments_have_text(tokens: &[String]) -> bool {
    tokens.iter().any(|t| !t.starts_with("<|"))
}

fn failed(e: impl std::fmt::Display) -> RecogniseError {
    RecogniseError::Generate(e.to_string())
}

/// Ids of the model's special tokens, from its vocabulary (`vocabulary.txt`, one token per
/// line, or `vocabulary.json`, a list); empty when neither reads.
fn special_ids(dir: &Path) -> HashMap<String, usize> {
    let tokens: Vec<String> = match std::fs::read_to_string(dir.join("vocabulary.txt")) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(_) => std::fs::read_to_string(dir.join("vocabulary.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default(),
    };
    tokens
        .into_iter()
        .enumerate()
        .filter(|(_, t)| t.starts_with("<|") && t.ends_with("|>"))
        .map(|(id, t)| (t, id))
        .collect()
}

/// GPT-2 byte-level BPE: the byte each character of the vocabulary stands for.
fn byte_decoder() -> HashMap<char, u8> {
    byte_chars().into_iter().zip(0..=u8::MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timestamp_closes_a_segment() {
        let map = byte_decoder();
        let tokens: Vec<String> = [
            "<|0.00|>", "ĠHello", "<|1.00|>", "<|1.00|>", "ĠPaired", "<|2.00|>", "ĠSingle",
            "<|3.00|>", "ĠTail",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let got: Vec<(f64, f64, String, Range<usize>)> = segments(&map, &tokens, 10.0, 4.0)
            .into_iter()
            .map(|(s, r)| (s.start, s.end, s.text, r))
            .collect();
        assert_eq!(
            got,
            vec![
                (10.0, 11.0, "Hello".into(), 0..1),
                (11.0, 12.0, "Paired".into(), 1..2),
                (12.0, 13.0, "Single".into(), 2..3),
                (13.0, 14.0, "Tail".into(), 3..4),
            ]
        );
    }

    #[test]
    fn an_unfinished_last_segment_is_left_out() {
        let tokens = |t: &[&str]| t.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        // Closed segments, then text the chunk cut off: keep up to the last pair.
        assert_eq!(
            complete_until(&tokens(&[
                "<|0.00|>", "ĠHello", "<|1.00|>", "<|1.20|>", "ĠCut", "Ġoff"
            ])),
            Some((3, 1.0))
        );
        // A single timestamp at the end: complete.
        assert_eq!(
            complete_until(&tokens(&[
                "<|0.00|>", "ĠHello", "<|1.00|>", "<|1.20|>", "ĠEnd", "<|2.00|>"
            ])),
            None
        );
        // No closed segment to go back to: keep everything.
        assert_eq!(
            complete_until(&tokens(&["<|0.00|>", "ĠHello", "Ġthere"])),
            None
        );
        assert_eq!(complete_until(&tokens(&["ĠHello"])), None);
    }

    #[test]
    fn devices_are_named_as_configured() {
        assert_eq!("cpu".parse(), Ok(ComputeDevice::Cpu));
        assert_eq!("cuda".parse(), Ok(ComputeDevice::Cuda(0)));
        assert_eq!("cuda:1".parse(), Ok(ComputeDevice::Cuda(1)));
        for bad in ["gpu", "cuda:", "cuda:-1", "cuda:x", ""] {
            assert!(bad.parse::<ComputeDevice>().is_err(), "{bad}");
        }
    }

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
