//! Generated phone calls for tests and benchmarks (feature `test-support`): espeak-ng
//! speaks a script in two voices, each on its own channel, at known times.

use std::path::{Path, PathBuf};
use std::process::Command;

use kiku_domain::metrics::Span;
use kiku_domain::AudioFileType;

use crate::decode::{decode, Limits};

mod mono_set;
mod scoring;

pub use mono_set::{encode, Encoding, MonoCase, MONO_CASES};
pub use scoring::diarization_error_rate;

/// The speech model for tests (`KIKU_TEST_WHISPER_DIR`, installed by `scripts/test`);
/// `None` (the test skips) when unset, unless `KIKU_TEST_REQUIRE_MODEL=1` makes that fail.
pub fn test_model_dir() -> Option<PathBuf> {
    test_model_path("KIKU_TEST_WHISPER_DIR")
}

/// The speaker encoder for tests (`KIKU_TEST_SPEAKER_ENCODER`: the `encoder.safetensors`
/// that `scripts/test` installs); `None` or a failure as for [`test_model_dir`].
pub fn test_speaker_encoder() -> Option<PathBuf> {
    test_model_path("KIKU_TEST_SPEAKER_ENCODER")
}

/// The sentiment lexicons' folder for tests (`KIKU_TEST_SENTIMENT_DIR`, installed by
/// `scripts/test`); `None` or a failure as for [`test_model_dir`].
pub fn test_sentiment_dir() -> Option<PathBuf> {
    test_model_path("KIKU_TEST_SENTIMENT_DIR")
}

fn test_model_path(variable: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var("KIKU_TEST_REQUIRE_MODEL").as_deref() == Ok("1") => {
            panic!("KIKU_TEST_REQUIRE_MODEL=1 but {variable} is not set")
        }
        None => {
            eprintln!("skipped: set {variable} (scripts/test does)");
            None
        }
    }
}

/// One line of the script: who says it, and when — `gap` seconds after the previous
/// line ended (negative: it starts before the other finishes, an overlap).
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub speaker: usize,
    pub gap: f64,
    pub text: &'static str,
}

/// An espeak-ng voice: `-v` name and `-p` pitch (0–99), optionally shifted afterwards
/// by sox (`shift_cents`, 0 for none) — the same voice made higher, as a similar voice.
#[derive(Clone, Copy, Debug)]
pub struct EspeakVoice {
    pub name: &'static str,
    pub pitch: u8,
    pub shift_cents: i16,
}

/// A generated call: a 16-bit stereo WAV (speaker 0 left) and where each line landed.
pub struct GeneratedCall {
    pub wav: Vec<u8>,
    /// The same call on one channel (both voices mixed), as a MONAURAL PBX records it.
    pub mono_wav: Vec<u8>,
    pub rate: u32,
    pub seconds: f64,
    /// Per speaker, the span of each line (speech only; espeak's silence is trimmed).
    pub turns: [Vec<Span>; 2],
    pub texts: [Vec<String>; 2],
}

/// Renders `lines` with `voices`, starting 0.5 s in and ending `tail` seconds after the last.
pub fn stereo_call(
    work: &Path,
    voices: [EspeakVoice; 2],
    lines: &[Line],
    tail: f64,
) -> Result<GeneratedCall, String> {
    let mut rate = 0;
    let mut placed: Vec<(usize, usize, Vec<f32>)> = Vec::new();
    let mut turns: [Vec<Span>; 2] = [Vec::new(), Vec::new()];
    let mut texts: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut cursor = 0.5;
    for (i, line) in lines.iter().enumerate() {
        let speaker = line.speaker.min(1);
        let (samples, line_rate) = speak(work, voices[speaker], line.text, i)?;
        rate = line_rate;
        let start = if i == 0 {
            cursor
        } else {
            (cursor + line.gap).max(0.0)
        };
        let seconds = samples.len() as f64 / f64::from(rate);
        placed.push((speaker, (start * f64::from(rate)) as usize, samples));
        turns[speaker].push(Span::new(start, start + seconds));
        texts[speaker].push(line.text.to_string());
        cursor = start + seconds;
    }
    let frames = ((cursor + tail) * f64::from(rate)) as usize;
    let mut channels = [vec![0.0f32; frames], vec![0.0f32; frames]];
    for (speaker, at, samples) in placed {
        for (out, s) in channels[speaker][at.min(frames)..].iter_mut().zip(samples) {
            *out += s;
        }
    }
    let mixed: Vec<f32> = channels[0]
        .iter()
        .zip(&channels[1])
        .map(|(a, b)| a + b)
        .collect();
    Ok(GeneratedCall {
        wav: wav_16bit(&channels, rate),
        mono_wav: wav_16bit(&[mixed], rate),
        rate,
        seconds: frames as f64 / f64::from(rate),
        turns,
        texts,
    })
}

/// espeak-ng's rendering of `text`, with leading and trailing silence cut by sox.
fn speak(work: &Path, voice: EspeakVoice, text: &str, n: usize) -> Result<(Vec<f32>, u32), String> {
    let raw = work.join(format!("line{n}.wav"));
    let trimmed = work.join(format!("line{n}-trimmed.wav"));
    run(Command::new("espeak-ng")
        .args(["-v", voice.name, "-p", &voice.pitch.to_string(), "-w"])
        .arg(&raw)
        .arg(text))?;
    run(Command::new("sox")
        .arg("-V1")
        .arg(&raw)
        .arg(&trimmed)
        .args([
            "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
        ])
        .args(
            (voice.shift_cents != 0)
                .then(|| ["pitch".to_string(), voice.shift_cents.to_string()])
                .into_iter()
                .flatten(),
        ))?;
    let bytes = std::fs::read(&trimmed).map_err(|e| e.to_string())?;
    let audio = decode(bytes, AudioFileType::Wav, Limits::default()).map_err(|e| e.to_string())?;
    let rate = audio.sample_rate;
    Ok((audio.channels.into_iter().next().unwrap_or_default(), rate))
}

pub(crate) fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| {
        format!(
            "cannot run {:?} ({e}); scripts/setup installs espeak-ng and sox",
            command.get_program()
        )
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed: {status}", command.get_program()))
    }
}

/// A canonical 16-bit PCM WAV of `channels` (interleaved on write).
pub fn wav_16bit(channels: &[Vec<f32>], rate: u32) -> Vec<u8> {
    let count = channels.len().max(1) as u16;
    let frames = channels.first().map_or(0, Vec::len);
    let data_len = (frames * usize::from(count) * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(count) * 2).to_le_bytes());
    out.extend_from_slice(&(count * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        for channel in channels {
            let s = channel.get(i).copied().unwrap_or(0.0).clamp(-1.0, 1.0);
            out.extend_from_slice(&((s * 32767.0) as i16).to_le_bytes());
        }
    }
    out
}

/// The user (speaker 0, left): a low American voice; the customer: a high British one.
pub const SUPPORT_VOICES: [EspeakVoice; 2] = [
    EspeakVoice {
        name: "en-us",
        pitch: 30,
        shift_cents: 0,
    },
    EspeakVoice {
        name: "en-gb",
        pitch: 80,
        shift_cents: 0,
    },
];

/// A short support call with a 4.5 s silence (after line 3) and a 1.5 s overlap
/// (line 5 starts before line 4 ends).
pub const SUPPORT_CALL: &[Line] = &[
    Line {
        speaker: 0,
        gap: 0.0,
        text: "Hello, this is Daniel from the support team. How can I help you today?",
    },
    Line {
        speaker: 1,
        gap: 0.6,
        text: "Hi Daniel, my internet connection keeps dropping every evening.",
    },
    Line {
        speaker: 0,
        gap: 0.5,
        text: "I am sorry to hear that. Let me check your account.",
    },
    Line {
        speaker: 0,
        gap: 4.5,
        text: "Thank you for waiting. I can see a problem with your router.",
    },
    Line {
        speaker: 1,
        gap: -1.5,
        text: "So what should I do now?",
    },
    Line {
        speaker: 0,
        gap: 0.6,
        text: "We will send you a new router tomorrow morning.",
    },
    Line {
        speaker: 1,
        gap: 0.5,
        text: "Great, thank you very much. Goodbye.",
    },
];
