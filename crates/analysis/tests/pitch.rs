//! F0 statistics: exact on synthetic harmonic signals, silent on noise and silence, limited
//! to the spans it is given, and ordered right on real (espeak-ng) low and high voices.

use std::f64::consts::TAU;
use std::process::Command;

use kiku_analysis::decode::{decode, Limits};
use kiku_analysis::pitch::{pitch_stats, PitchStats};
use kiku_analysis::resample::to_target_rate;
use kiku_analysis::vad::{speech_spans, VadSettings};
use kiku_domain::metrics::timeline::Span;
use kiku_domain::AudioFileType;

const RATE: f64 = 16_000.0;

/// A voice-like tone: F0 `f0(t)` with harmonics falling off as 1/k (a soft sawtooth),
/// the second one strongest after F0 as in real vowels.
fn harmonic(seconds: f64, f0: impl Fn(f64) -> f64) -> Vec<f32> {
    let mut phase = 0.0;
    (0..(seconds * RATE) as usize)
        .map(|i| {
            phase += TAU * f0(i as f64 / RATE) / RATE;
            let s: f64 = (1..=8).map(|k| (k as f64 * phase).sin() / k as f64).sum();
            (0.2 * s) as f32
        })
        .collect()
}

/// Uniform white noise from a fixed xorshift seed.
fn noise(seconds: f64, amplitude: f32) -> Vec<f32> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..(seconds * RATE) as usize)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            amplitude * ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
        })
        .collect()
}

fn all(samples: &[f32]) -> Vec<Span> {
    vec![Span::new(0.0, samples.len() as f64 / RATE)]
}

#[test]
fn steady_tones_within_two_percent() {
    for f0 in [100.0, 150.0, 220.0] {
        let x = harmonic(2.0, |_| f0);
        let stats = pitch_stats(&x, &all(&x)).expect("voiced");
        let error = (stats.mean_hz - f0).abs() / f0;
        println!("{f0} Hz: {stats:?}, error {:.3} %", error * 100.0);
        assert!(error < 0.02, "{f0} Hz: {stats:?}");
        assert!(stats.std_dev_hz < 0.02 * f0, "{f0} Hz: {stats:?}");
        assert!(stats.voiced_frames > 150, "{f0} Hz: {stats:?}");
    }
}

#[test]
fn a_glide_spreads() {
    let x = harmonic(2.0, |t| 100.0 + 50.0 * t);
    let stats = pitch_stats(&x, &all(&x)).expect("voiced");
    println!("glide 100→200 Hz: {stats:?}");
    // A linear glide has σ = range/√12 ≈ 29 Hz around 150 Hz.
    assert!((stats.mean_hz - 150.0).abs() < 5.0, "{stats:?}");
    assert!(stats.std_dev_hz > 20.0, "{stats:?}");
}

#[test]
fn octave_jumps_are_dropped() {
    // 0.2 s an octave up, as a tracker's octave error would read: not part of the voice.
    let mut x = harmonic(1.8, |_| 150.0);
    x.extend(harmonic(0.2, |_| 300.0));
    let stats = pitch_stats(&x, &all(&x)).expect("voiced");
    assert!((stats.mean_hz - 150.0).abs() < 3.0, "{stats:?}");
    assert!(stats.std_dev_hz < 3.0, "{stats:?}");
}

#[test]
fn noise_silence_and_nothing_are_unvoiced() {
    let n = noise(3.0, 0.3);
    assert_eq!(pitch_stats(&n, &all(&n)), None);
    let quiet = vec![0.0f32; 48_000];
    assert_eq!(pitch_stats(&quiet, &all(&quiet)), None);
    assert_eq!(pitch_stats(&[], &[Span::new(0.0, 10.0)]), None);
    let x = harmonic(1.0, |_| 150.0);
    assert_eq!(pitch_stats(&x, &[]), None);
}

#[test]
fn only_the_spans_count() {
    // 1 s at 120 Hz, 1 s of silence, 1 s at 240 Hz: each span sees only its own tone.
    let mut x = harmonic(1.0, |_| 120.0);
    x.extend(vec![0.0f32; 16_000]);
    x.extend(harmonic(1.0, |_| 240.0));
    let first = pitch_stats(&x, &[Span::new(0.0, 1.0)]).expect("first");
    let last = pitch_stats(&x, &[Span::new(1.5, 3.0)]).expect("last");
    assert!((first.mean_hz - 120.0).abs() < 2.4, "{first:?}");
    assert!((last.mean_hz - 240.0).abs() < 4.8, "{last:?}");
    assert_eq!(pitch_stats(&x, &[Span::new(1.05, 1.95)]), None);
}

fn espeak_voice(dir: &std::path::Path, pitch: &str) -> PitchStats {
    let path = dir.join(format!("p{pitch}.wav"));
    let text = "Thank you for calling. Your order was shipped this morning, \
                and it should arrive by Friday afternoon.";
    let out = Command::new("espeak-ng")
        .args(["-v", "en-us", "-p", pitch, "-w"])
        .arg(&path)
        .arg(text)
        .output()
        .unwrap_or_else(|e| panic!("espeak-ng (installed by scripts/setup): {e}"));
    assert!(
        out.status.success(),
        "espeak-ng: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&path).expect("wav");
    let audio = decode(bytes, AudioFileType::Wav, Limits::default()).expect("decode");
    let channels = to_target_rate(&audio.channels, audio.sample_rate).expect("resample");
    let samples = channels.first().expect("one channel");
    let spans = speech_spans(samples, VadSettings::default());
    assert!(!spans.is_empty(), "pitch {pitch}: no speech found");
    let stats = pitch_stats(samples, &spans).expect("voiced speech");
    println!("espeak-ng -p {pitch}: {stats:?}");
    assert!(
        (60.0..=400.0).contains(&stats.mean_hz),
        "pitch {pitch}: {stats:?}"
    );
    assert!(stats.voiced_frames > 50, "pitch {pitch}: {stats:?}");
    stats
}

#[test]
fn espeak_high_voice_is_higher_than_low_voice() {
    let dir = tempfile::tempdir().expect("dir");
    let low = espeak_voice(dir.path(), "20");
    let high = espeak_voice(dir.path(), "80");
    assert!(
        high.mean_hz > 1.3 * low.mean_hz,
        "low {low:?}, high {high:?}"
    );
    // Intonation, not a monotone: some spread, but nowhere near octave-error scatter.
    for s in [low, high] {
        assert!(
            s.std_dev_hz > 1.0 && s.std_dev_hz < 0.35 * s.mean_hz,
            "{s:?}"
        );
    }
}
