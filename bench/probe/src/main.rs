//! Kiku's MONAURAL diarization on its own, timed, for `bench/run mono`: the steps
//! `kiku analyze --mono` runs before and after recognition to tell the two voices apart,
//! without the recognition.
//!
//! `probe diarize FILE...` loads the speaker encoder once, then for each file: reads it,
//! decodes it (`decode::decode_any`), mixes the channels down, resamples to 16 kHz, finds
//! speech (`vad::speech_spans`) and diarizes it (`mono::diarize_speech`). Prints one JSON
//! object: `{"encoder", "model_load_s", "calls": [{"file", "audio_s", "read_s",
//! "decode_s", "resample_s", "vad_s", "diarize_s", "total_s", "centroid_cosine",
//! "turns": [[[start, end], ...], [[start, end], ...]]}, ...]}`; speaker 0 speaks first.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kiku_analysis::decode::{decode_any, Limits};
use kiku_analysis::mono::diarize_speech;
use kiku_analysis::resample::{to_target_rate, TARGET_RATE};
use kiku_analysis::speaker::SpeakerEncoder;
use kiku_analysis::vad::{speech_spans, VadSettings};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "probe", about = "Kiku's MONAURAL diarization alone, timed")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Who speaks when in each FILE (WAV, MP3 or M4A; channels are mixed down).
    Diarize {
        /// Recordings to diarize, one after the other with the same encoder.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The speaker encoder (default: $KIKU_DATA_DIR/models/speaker-encoder/encoder.safetensors).
        #[arg(long)]
        encoder: Option<PathBuf>,
        /// Diarize the first file once, untimed and unreported, before the others.
        #[arg(long)]
        warmup: bool,
    },
}

fn main() -> Result<()> {
    match Args::parse().command {
        Command::Diarize {
            files,
            encoder,
            warmup,
        } => {
            let path = match encoder {
                Some(path) => path,
                None => {
                    let data = std::env::var_os("KIKU_DATA_DIR")
                        .context("pass --encoder PATH or set KIKU_DATA_DIR")?;
                    Path::new(&data).join("models/speaker-encoder/encoder.safetensors")
                }
            };
            let t0 = Instant::now();
            let encoder = SpeakerEncoder::load(&path)
                .with_context(|| format!("loading the speaker encoder {}", path.display()))?;
            let model_load_s = t0.elapsed().as_secs_f64();
            if warmup {
                if let Some(first) = files.first() {
                    diarize(&encoder, first)?;
                }
            }
            let calls = files
                .iter()
                .map(|file| diarize(&encoder, file))
                .collect::<Result<Vec<_>>>()?;
            let out = json!({
                "encoder": path.display().to_string(),
                "model_load_s": model_load_s,
                "calls": calls,
            });
            println!("{out}");
            Ok(())
        }
    }
}

/// One file through decode → mix-down → resample → VAD → diarization, each step timed.
fn diarize(encoder: &SpeakerEncoder, file: &Path) -> Result<Value> {
    let t0 = Instant::now();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let t1 = Instant::now();
    let decoded = decode_any(bytes, Limits::default())
        .with_context(|| format!("decoding {}", file.display()))?;
    let mixed = decoded.mixed_down();
    let t2 = Instant::now();
    let mut resampled = to_target_rate(&[mixed], decoded.sample_rate)?;
    let Some(samples) = resampled.pop() else {
        bail!("{}: no audio after resampling", file.display());
    };
    let t3 = Instant::now();
    let spans = speech_spans(&samples, VadSettings::default());
    let t4 = Instant::now();
    let d = diarize_speech(encoder, &samples, &spans);
    let t5 = Instant::now();
    let turns: Vec<Vec<[f64; 2]>> = d
        .turns
        .iter()
        .map(|t| t.iter().map(|s| [round(s.start), round(s.end)]).collect())
        .collect();
    let secs = |a: Instant, b: Instant| (b - a).as_secs_f64();
    Ok(json!({
        "file": file.file_name().map(|n| n.to_string_lossy().into_owned()),
        "audio_s": samples.len() as f64 / f64::from(TARGET_RATE),
        "read_s": secs(t0, t1),
        "decode_s": secs(t1, t2),
        "resample_s": secs(t2, t3),
        "vad_s": secs(t3, t4),
        "diarize_s": secs(t4, t5),
        "total_s": secs(t0, t5),
        "centroid_cosine": d.centroid_cosine,
        "turns": turns,
    }))
}

fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}
