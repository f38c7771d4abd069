//! Speaker embeddings: the GE2E speaker encoder of resemblyzer 0.1.4 (`pretrained.pt`,
//! converted at install time to `encoder.safetensors` by `scripts/install-models`), run
//! without PyTorch.
//!
//! Front end, as resemblyzer's `wav_to_mel_spectrogram` (librosa's `melspectrogram`
//! defaults): 16 kHz, 25 ms periodic Hann windows every 10 ms (n_fft 400, hop 160), centred
//! with zero padding (librosa ≥ 0.10 pads with zeros), power spectrum (not log), 40
//! Slaney-normalised Slaney-scale mel filters from 0 to 8 kHz; `1 + len / 160` frames.
//!
//! Network: a 3-layer LSTM (40 → 256 → 256 → 256; PyTorch's gate order i, f, g, o, each
//! gate's bias `bias_ih + bias_hh`), then ReLU(linear(final hidden state of the last
//! layer)), L2-normalised: a 256-d embedding with non-negative entries.
//!
//! An utterance is embedded as resemblyzer's `embed_utterance` does: partial utterances
//! of 160 frames (1.6 s) every 77 frames (rate 1.3 per second), the last one kept when at
//! least 75 % of it holds audio (zero-padded), always at least one; the partials'
//! embeddings are averaged and L2-normalised again.
//!
//! resemblyzer's `preprocess_wav` is not part of `embed_utterance` (nor is it of
//! resemblyzer's, which expects preprocessed audio): its resampling and its cutting of
//! long silences (WebRTC VAD, smoothed and dilated) are for the caller, who gives 16 kHz
//! speech already cut to voice activity (`vad.rs`); its volume step is
//! [`normalize_volume`], kept separate so that `embed_utterance` matches resemblyzer's on
//! the same samples. Apply it first: the network takes power, not log, mel bands, so level
//! matters — the same clip 20 dB quieter scored a cosine of only 0.76 with itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::log_mel::slaney_mel_filters;

/// Mel bands per frame.
pub const N_MELS: usize = 40;
/// Frames per partial utterance (1.6 s).
pub const PARTIAL_FRAMES: usize = 160;
/// Samples per frame step (10 ms at 16 kHz).
pub const HOP: usize = 160;
/// Length of an embedding.
pub const EMBEDDING_SIZE: usize = 256;

const N_FFT: usize = 400;
const SAMPLE_RATE: f64 = 16_000.0;
const HIDDEN: usize = 256;
const GATES: usize = 4 * HIDDEN;
const LAYERS: usize = 3;
/// resemblyzer's `embed_utterance` defaults.
const PARTIALS_PER_SECOND: f64 = 1.3;
const MIN_COVERAGE: f64 = 0.75;
/// Sequences run together at most, which bounds the memory a long recording takes
/// (~1 MB of input projections per sequence of 160 frames).
const MAX_BATCH: usize = 16;
/// A header larger than this is not one we wrote.
const MAX_HEADER: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    #[error("cannot read the speaker encoder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the speaker encoder {path} is not a valid safetensors file: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("the speaker encoder {path} has no tensor {name}")]
    Missing { path: PathBuf, name: String },
    #[error(
        "tensor {name} of the speaker encoder is {dtype} {shape:?}, expected F32 {expected:?}"
    )]
    Shape {
        name: String,
        dtype: String,
        shape: Vec<usize>,
        expected: Vec<usize>,
    },
}

/// Eight consecutive values: vectors and matrix rows are kept as lanes, which the compiler
/// turns into SIMD arithmetic (and which keep unoptimised test builds tolerably fast).
type Lane = [f32; 8];
const HIDDEN_LANES: usize = HIDDEN / 8;

/// One LSTM layer, row-major weights as PyTorch stores them, in lanes.
struct Layer {
    /// Lanes per input vector.
    input: usize,
    /// [GATES × input lanes]
    w_ih: Vec<Lane>,
    /// [GATES × HIDDEN lanes]
    w_hh: Vec<Lane>,
    /// bias_ih + bias_hh, [GATES]
    bias: Vec<f32>,
}

/// The GE2E speaker encoder's weights.
pub struct SpeakerEncoder {
    layers: Vec<Layer>,
    /// [EMBEDDING_SIZE × HIDDEN lanes]
    linear_w: Vec<Lane>,
    linear_b: Vec<f32>,
    /// Batches of windows run on this many threads.
    threads: usize,
}

impl std::fmt::Debug for SpeakerEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeakerEncoder")
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

impl SpeakerEncoder {
    /// Runs on at most `threads` threads (default: one per core).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Loads `encoder.safetensors` as `scripts/install-models` writes it.
    pub fn load(path: &Path) -> Result<Self, SpeakerError> {
        let bytes = std::fs::read(path).map_err(|source| SpeakerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let tensors = Tensors::parse(path, &bytes)?;
        let mut layers = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let input = if l == 0 { N_MELS } else { HIDDEN };
            let bias_ih = tensors.get(&format!("lstm.bias_ih_l{l}"), &[GATES])?;
            let bias_hh = tensors.get(&format!("lstm.bias_hh_l{l}"), &[GATES])?;
            layers.push(Layer {
                input: input / 8,
                w_ih: lanes(&tensors.get(&format!("lstm.weight_ih_l{l}"), &[GATES, input])?),
                w_hh: lanes(&tensors.get(&format!("lstm.weight_hh_l{l}"), &[GATES, HIDDEN])?),
                bias: bias_ih.iter().zip(&bias_hh).map(|(a, b)| a + b).collect(),
            });
        }
        Ok(Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            layers,
            linear_w: lanes(&tensors.get("linear.weight", &[EMBEDDING_SIZE, HIDDEN])?),
            linear_b: tensors.get("linear.bias", &[EMBEDDING_SIZE])?,
        })
    }

    /// 256-d L2-normalised embedding of 16 kHz mono speech (resemblyzer's
    /// `embed_utterance` on already-trimmed speech). Like resemblyzer, audio shorter than
    /// one partial (1.6 s) is zero-padded to one, so any non-empty input has an embedding,
    /// though below about a second it says little about the voice. `None` for empty input
    /// or when the result is not finite (non-finite samples).
    pub fn embed_utterance(&self, samples: &[f32]) -> Option<Vec<f32>> {
        if samples.is_empty() {
            return None;
        }
        let starts = partial_starts(samples.len());
        let last = starts.last().copied().unwrap_or(0);
        let padded_len = (last + PARTIAL_FRAMES) * HOP;
        let mel = if padded_len > samples.len() {
            let mut padded = samples.to_vec();
            padded.resize(padded_len, 0.0);
            Self::mel_frames(&padded)
        } else {
            Self::mel_frames(samples)
        };
        let partials: Vec<&[[f32; N_MELS]]> = starts
            .iter()
            .filter_map(|&s| mel.get(s..s + PARTIAL_FRAMES))
            .collect();
        let mut mean = vec![0.0f32; EMBEDDING_SIZE];
        for embedding in self.forward(&partials) {
            for (m, e) in mean.iter_mut().zip(embedding) {
                *m += e;
            }
        }
        let norm = l2_norm(&mean);
        if !norm.is_finite() || norm == 0.0 {
            return None;
        }
        Some(mean.iter().map(|m| m / norm).collect())
    }

    /// Embedding of one window of frames (for sliding-window diarization): the network on
    /// `mel` as one sequence, L2-normalised (all zeros if the ReLU left nothing).
    /// resemblyzer's partials are `PARTIAL_FRAMES` long.
    pub fn embed_frames(&self, mel: &[[f32; N_MELS]]) -> Vec<f32> {
        self.forward(&[mel]).pop().unwrap_or_default()
    }

    /// Embeddings of several windows of frames, in order: the same as [`Self::embed_frames`]
    /// on each (windows of equal length run as one batch, a little faster).
    pub fn embed_windows(&self, windows: &[&[[f32; N_MELS]]]) -> Vec<Vec<f32>> {
        self.forward(windows)
    }

    /// resemblyzer's mel spectrogram of 16 kHz mono `samples`: `1 + len / 160` frames of 40
    /// power mel bands (not log).
    pub fn mel_frames(samples: &[f32]) -> Vec<[f32; N_MELS]> {
        let front = MelFrontEnd::shared();
        let frames = 1 + samples.len() / HOP;
        let bins = N_FFT / 2 + 1;
        let pad = N_FFT / 2;
        let mut buffer = vec![Complex::new(0.0f32, 0.0); N_FFT];
        let mut power = vec![0.0f32; bins];
        let mut out = Vec::with_capacity(frames);
        for t in 0..frames {
            // Frame t covers samples [t·hop − n_fft/2, t·hop + n_fft/2), zeros outside.
            let first = t * HOP;
            for (i, (b, w)) in buffer.iter_mut().zip(&front.window).enumerate() {
                let x = (first + i)
                    .checked_sub(pad)
                    .and_then(|at| samples.get(at))
                    .copied()
                    .unwrap_or(0.0);
                *b = Complex::new(x * w, 0.0);
            }
            front.fft.process(&mut buffer);
            for (p, c) in power.iter_mut().zip(&buffer[..bins]) {
                *p = c.norm_sqr();
            }
            let mut frame = [0.0f32; N_MELS];
            for (value, filter) in frame.iter_mut().zip(&front.filters) {
                *value = power[filter.first..]
                    .iter()
                    .zip(&filter.weights)
                    .map(|(p, w)| p * w)
                    .sum();
            }
            out.push(frame);
        }
        out
    }

    /// The network on each sequence: ReLU(linear(last hidden state)), L2-normalised.
    fn forward(&self, sequences: &[&[[f32; N_MELS]]]) -> Vec<Vec<f32>> {
        // Sequences of equal length run together, a batch at a time on each thread.
        let mut by_length: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, s) in sequences.iter().enumerate() {
            by_length.entry(s.len()).or_default().push(i);
        }
        let batches: Vec<(usize, &[usize])> = by_length
            .iter()
            .flat_map(|(steps, same)| same.chunks(MAX_BATCH).map(|m| (*steps, m)))
            .collect();
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            while let Some(&(steps, members)) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                done.extend(self.forward_batch(sequences, steps, members));
            }
            done
        };
        let threads = self.threads.min(batches.len()).max(1);
        let mut out = vec![Vec::new(); sequences.len()];
        std::thread::scope(|scope| {
            let workers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mine = work();
            for (m, embedding) in workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .chain(mine)
            {
                out[m] = embedding;
            }
        });
        out
    }

    /// The network on `sequences[m]` for each of `members`, all `steps` long: each
    /// member's index and embedding.
    fn forward_batch(
        &self,
        sequences: &[&[[f32; N_MELS]]],
        steps: usize,
        members: &[usize],
    ) -> Vec<(usize, Vec<f32>)> {
        let batch = members.len();
        // x[t][b][feature], contiguous.
        let mut x: Vec<Lane> = Vec::with_capacity(steps * batch * N_MELS / 8);
        let inputs: Vec<&[[f32; N_MELS]]> = members.iter().map(|&m| sequences[m]).collect();
        for t in 0..steps {
            for frames in &inputs {
                x.extend(lanes(&frames[t]));
            }
        }
        let mut h = vec![[0.0f32; 8]; batch * HIDDEN_LANES];
        for layer in &self.layers {
            let (outputs, last) = layer.run(&x, steps, batch);
            x = outputs;
            h = last;
        }
        members
            .iter()
            .enumerate()
            .map(|(b, &m)| (m, self.head(&h[b * HIDDEN_LANES..(b + 1) * HIDDEN_LANES])))
            .collect()
    }

    fn head(&self, hidden: &[Lane]) -> Vec<f32> {
        let raw: Vec<f32> = self
            .linear_w
            .chunks_exact(HIDDEN_LANES)
            .zip(&self.linear_b)
            .map(|(row, b)| (dot(row, hidden) + b).max(0.0))
            .collect();
        let norm = l2_norm(&raw);
        if norm > 0.0 {
            raw.iter().map(|v| v / norm).collect()
        } else {
            raw
        }
    }
}

impl Layer {
    /// Runs the layer over `x` ([steps][batch][input]); returns every step's hidden state
    /// ([steps][batch][HIDDEN]) and the last one ([batch][HIDDEN]).
    fn run(&self, x: &[Lane], steps: usize, batch: usize) -> (Vec<Lane>, Vec<Lane>) {
        let columns = steps * batch;
        // Input projections of every step at once: pre[column][gate].
        let mut pre: Vec<f32> = Vec::with_capacity(columns * GATES);
        for _ in 0..columns {
            pre.extend_from_slice(&self.bias);
        }
        matmul_add(&self.w_ih, self.input, x, &mut pre);
        let mut h = vec![[0.0f32; 8]; batch * HIDDEN_LANES];
        let mut c = vec![0.0f32; batch * HIDDEN];
        let mut outputs = Vec::with_capacity(columns * HIDDEN_LANES);
        for t in 0..steps {
            let gates = &mut pre[t * batch * GATES..(t + 1) * batch * GATES];
            matmul_add(&self.w_hh, HIDDEN_LANES, &h, gates);
            for ((g, cb), hb) in gates
                .chunks_exact(GATES)
                .zip(c.chunks_exact_mut(HIDDEN))
                .zip(h.chunks_exact_mut(HIDDEN_LANES))
            {
                let (i, rest) = g.split_at(HIDDEN);
                let (f, rest) = rest.split_at(HIDDEN);
                let (gg, o) = rest.split_at(HIDDEN);
                for (k, (cell, hidden)) in cb.iter_mut().zip(hb.as_flattened_mut()).enumerate() {
                    *cell = sigmoid(f[k]) * *cell + sigmoid(i[k]) * gg[k].tanh();
                    *hidden = sigmoid(o[k]) * cell.tanh();
                }
            }
            outputs.extend_from_slice(&h);
        }
        (outputs, h)
    }
}

/// `values` (a multiple of 8 long) as lanes.
fn lanes(values: &[f32]) -> Vec<Lane> {
    values
        .chunks_exact(8)
        .map(|c| {
            let mut lane = [0.0f32; 8];
            lane.copy_from_slice(c);
            lane
        })
        .collect()
}

/// `out[j][r] += matrix[r] · vectors[j]` for a row-major matrix of `width` lanes per row
/// and vectors of `width` lanes; `out` holds one row of results per vector. (Blocking
/// rows or vectors measured no faster here: the dot product's arithmetic is the limit.)
fn matmul_add(matrix: &[Lane], width: usize, vectors: &[Lane], out: &mut [f32]) {
    let rows = matrix.len() / width;
    for (v, o) in vectors.chunks_exact(width).zip(out.chunks_exact_mut(rows)) {
        for (o, row) in o.iter_mut().zip(matrix.chunks_exact(width)) {
            *o += dot(row, v);
        }
    }
}

/// A dot product in eight independent lanes, which the compiler turns into SIMD
/// arithmetic. (A second set of lanes was 8 % faster optimised but far slower in the
/// unoptimised builds tests use.)
fn dot(a: &[Lane], b: &[Lane]) -> f32 {
    let mut s = [0.0f32; 8];
    for (x, y) in a.iter().zip(b) {
        s = [
            s[0] + x[0] * y[0],
            s[1] + x[1] * y[1],
            s[2] + x[2] * y[2],
            s[3] + x[3] * y[3],
            s[4] + x[4] * y[4],
            s[5] + x[5] * y[5],
            s[6] + x[6] * y[6],
            s[7] + x[7] * y[7],
        ];
    }
    s.iter().sum()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn l2_norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// resemblyzer's `normalize_volume(wav, -30, increase_only=True)`: speech quieter than
/// −30 dBFS (RMS, full scale 1.0) is amplified to it; louder speech and silence are left
/// as they are. For diarization, normalise the recording's speech once, not each window.
pub fn normalize_volume(samples: &mut [f32]) {
    const TARGET_DBFS: f64 = -30.0;
    if samples.is_empty() {
        return;
    }
    let mean_square = samples
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / samples.len() as f64;
    let dbfs = 10.0 * mean_square.log10();
    let change = TARGET_DBFS - dbfs;
    if !change.is_finite() || change <= 0.0 {
        return;
    }
    let gain = 10f64.powf(change / 20.0) as f32;
    for s in samples {
        *s *= gain;
    }
}

/// Cosine similarity of two embeddings; 0 when either is all zeros. Extra entries of the
/// longer one are ignored.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (na, nb) = (l2_norm(a), l2_norm(b));
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (na * nb)
}

/// First frame of each partial utterance of `n_samples` samples, as resemblyzer's
/// `compute_partial_slices(n_samples, rate=1.3, min_coverage=0.75)`.
fn partial_starts(n_samples: usize) -> Vec<usize> {
    let n_frames = (n_samples + 1).div_ceil(HOP);
    let step = (SAMPLE_RATE / PARTIALS_PER_SECOND / HOP as f64).round() as usize;
    let steps = (n_frames + step + 1).saturating_sub(PARTIAL_FRAMES).max(1);
    let mut starts: Vec<usize> = (0..steps).step_by(step).collect();
    if let Some(&last) = starts.last() {
        let coverage = (n_samples as f64 - (last * HOP) as f64) / (PARTIAL_FRAMES * HOP) as f64;
        if coverage < MIN_COVERAGE && starts.len() > 1 {
            starts.pop();
        }
    }
    starts
}

/// One mel filter: its non-zero weights from FFT bin `first` on.
struct MelFilter {
    first: usize,
    weights: Vec<f32>,
}

struct MelFrontEnd {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    filters: Vec<MelFilter>,
}

impl MelFrontEnd {
    fn shared() -> &'static Self {
        static FRONT: OnceLock<MelFrontEnd> = OnceLock::new();
        FRONT.get_or_init(|| Self {
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
            // scipy.signal.get_window("hann", 400, fftbins=True): periodic.
            window: (0..N_FFT)
                .map(|n| {
                    (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
                        as f32
                })
                .collect(),
            filters: mel_filters(),
        })
    }
}

/// librosa.filters.mel(sr=16000, n_fft=400, n_mels=40), each band kept as its non-zero
/// run of weights.
fn mel_filters() -> Vec<MelFilter> {
    slaney_mel_filters(N_MELS)
        .into_iter()
        .map(|dense| {
            let first = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
            let end = dense
                .iter()
                .rposition(|&w| w > 0.0)
                .map_or(first, |last| last + 1);
            MelFilter {
                first,
                weights: dense[first..end].to_vec(),
            }
        })
        .collect()
}

/// The tensors of a safetensors file: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}` (offsets into the data that
/// follows), then the data.
struct Tensors<'a> {
    path: &'a Path,
    header: serde_json::Map<String, serde_json::Value>,
    data: &'a [u8],
}

impl<'a> Tensors<'a> {
    fn parse(path: &'a Path, bytes: &'a [u8]) -> Result<Self, SpeakerError> {
        let format = |reason: &str| SpeakerError::Format {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let (len, rest) = bytes
            .split_first_chunk::<8>()
            .ok_or_else(|| format("shorter than its header length"))?;
        let len = u64::from_le_bytes(*len);
        if len > MAX_HEADER || len > rest.len() as u64 {
            return Err(format("header length out of range"));
        }
        let (header, data) = rest.split_at(len as usize);
        let header: serde_json::Value = serde_json::from_slice(header)
            .map_err(|e| format(&format!("header is not JSON: {e}")))?;
        let serde_json::Value::Object(header) = header else {
            return Err(format("header is not a JSON object"));
        };
        Ok(Self { path, header, data })
    }

    /// The F32 tensor `name`, which must have `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, SpeakerError> {
        let entry = self.header.get(name).ok_or_else(|| SpeakerError::Missing {
            path: self.path.to_path_buf(),
            name: name.to_string(),
        })?;
        let dtype = entry["dtype"].as_str().unwrap_or("?").to_string();
        let found: Vec<usize> = entry["shape"]
            .as_array()
            .map(|dims| {
                dims.iter()
                    .map(|d| d.as_u64().map_or(usize::MAX, |d| d as usize))
                    .collect()
            })
            .unwrap_or_default();
        if dtype != "F32" || found != shape {
            return Err(SpeakerError::Shape {
                name: name.to_string(),
                dtype,
                shape: found,
                expected: shape.to_vec(),
            });
        }
        let offsets: Vec<u64> = entry["data_offsets"]
            .as_array()
            .map(|o| o.iter().filter_map(serde_json::Value::as_u64).collect())
            .unwrap_or_default();
        let bytes = match offsets[..] {
            [begin, end] => usize::try_from(begin)
                .ok()
                .zip(usize::try_from(end).ok())
                .and_then(|(b, e)| self.data.get(b..e)),
            _ => None,
        };
        let numel: usize = shape.iter().product();
        match bytes {
            Some(bytes) if bytes.len() == numel * 4 => Ok(bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            _ => Err(SpeakerError::Format {
                path: self.path.to_path_buf(),
                reason: format!("the data of {name} is out of range"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_mel::{hz_to_mel, mel_to_hz};

    #[test]
    fn partials_follow_resemblyzer() {
        // compute_partial_slices(n, 1.3, 0.75) in resemblyzer 0.1.4, by hand:
        // n_frames = ceil((n + 1) / 160); steps = max(1, n_frames − 160 + 77 + 1).
        assert_eq!(partial_starts(1), vec![0]);
        assert_eq!(partial_starts(16_000), vec![0]);
        // 2 s: n_frames 201, steps 119 → [0, 77]; the second covers (32000 − 12320) / 25600
        // = 0.77 ≥ 0.75, kept.
        assert_eq!(partial_starts(32_000), vec![0, 77]);
        // 1.9 s: n_frames 191, steps 109 → [0, 77]; coverage 0.71, dropped.
        assert_eq!(partial_starts(30_400), vec![0]);
        // 5 s: n_frames 501, steps 419 → [0, 77, …, 385]; coverage of 385: 0.72, dropped.
        assert_eq!(partial_starts(80_000), vec![0, 77, 154, 231, 308]);
    }

    #[test]
    fn mel_frame_count_and_a_tone() {
        let samples: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let mel = SpeakerEncoder::mel_frames(&samples);
        assert_eq!(mel.len(), 101);
        let frame = mel[50];
        let loudest = (0..N_MELS)
            .max_by(|a, b| frame[*a].total_cmp(&frame[*b]))
            .unwrap_or(0);
        let centre = mel_to_hz(
            hz_to_mel(0.0) + (hz_to_mel(8000.0) - hz_to_mel(0.0)) * (loudest + 1) as f64 / 41.0,
        );
        assert!(
            (centre - 1000.0).abs() < 150.0,
            "band {loudest} at {centre} Hz"
        );
        // Parseval, roughly: a unit sine's power spectrum through the filters is large.
        assert!(frame[loudest] > 1.0);
        assert!(SpeakerEncoder::mel_frames(&[]).len() == 1);
    }

    #[test]
    fn filters_are_slaney_normalised() {
        // Slaney norm: each triangle's area (in Hz) is 1, so weight × bin width sums to ~1.
        for filter in mel_filters() {
            let area: f32 =
                filter.weights.iter().sum::<f32>() * (SAMPLE_RATE as f32 / N_FFT as f32);
            assert!((area - 1.0).abs() < 0.2, "area {area}");
        }
    }

    #[test]
    fn quiet_speech_is_raised_to_minus_30_dbfs() {
        let dbfs = |s: &[f32]| {
            10.0 * (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).log10()
        };
        let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.05).sin()).collect();
        let mut quiet: Vec<f32> = tone.iter().map(|x| x * 0.001).collect();
        normalize_volume(&mut quiet);
        assert!((dbfs(&quiet) + 30.0).abs() < 1e-3, "{}", dbfs(&quiet));
        let mut loud = tone.clone();
        normalize_volume(&mut loud);
        assert_eq!(loud, tone, "louder than -30 dBFS: unchanged");
        let mut silence = vec![0.0f32; 100];
        normalize_volume(&mut silence);
        assert_eq!(silence, vec![0.0f32; 100]);
        normalize_volume(&mut []);
    }

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn malformed_files_are_refused() {
        let path = Path::new("x.safetensors");
        assert!(matches!(
            Tensors::parse(path, b"\x01\x00"),
            Err(SpeakerError::Format { .. })
        ));
        let mut bytes = 1_000u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        assert!(Tensors::parse(path, &bytes).is_err());
        let header = br#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0u8; 8]);
        let tensors = Tensors::parse(path, &bytes).expect("header");
        assert!(matches!(
            tensors.get("a", &[2]),
            Err(SpeakerError::Format { .. })
        ));
        assert!(matches!(
            tensors.get("a", &[3]),
            Err(SpeakerError::Shape { .. })
        ));
        assert!(matches!(
            tensors.get("b", &[2]),
            Err(SpeakerError::Missing { .. })
        ));
    }
}
