//! Voice activity per channel with the WebRTC VAD (a GMM over sub-band energies, not an
//! energy threshold), turned into speech spans: short blips dropped, short pauses bridged,
//! edges padded so recognition does not clip word onsets.

use kiku_domain::metrics::timeline::{merge, Span};
use webrtc_vad::{SampleRate, Vad, VadMode};

const RATE: usize = 16_000;
/// 30 ms, the longest frame the VAD takes.
const FRAME: usize = RATE * 30 / 1000;

/// How decisions become spans (seconds).
#[derive(Clone, Copy, Debug)]
pub struct VadSettings {
    /// Speech shorter than this is noise (a click, a breath).
    pub min_speech: f64,
    /// Pauses shorter than this stay inside one span.
    pub min_silence: f64,
    /// Added before and after each span.
    pub pad: f64,
}

impl Default for VadSettings {
    fn default() -> Self {
        Self {
            min_speech: 0.25,
            min_silence: 0.3,
            pad: 0.1,
        }
    }
}

/// Speech spans of 16 kHz mono `samples`.
pub fn speech_spans(samples: &[f32], settings: VadSettings) -> Vec<Span> {
    let mut vad = Vad::new_with_rate_and_mode(SampleRate::Rate16kHz, VadMode::Aggressive);
    let frame_seconds = FRAME as f64 / RATE as f64;
    let mut raw: Vec<Span> = Vec::new();
    let mut pcm = vec![0i16; FRAME];
    for (i, frame) in samples.chunks_exact(FRAME).enumerate() {
        for (p, s) in pcm.iter_mut().zip(frame) {
            *p = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
        }
        if vad.is_voice_segment(&pcm).unwrap_or(false) {
            let start = i as f64 * frame_seconds;
            match raw.last_mut() {
                Some(last) if (last.end - start).abs() < 1e-9 => last.end = start + frame_seconds,
                _ => raw.push(Span::new(start, start + frame_seconds)),
            }
        }
    }
    let mut bridged: Vec<Span> = Vec::new();
    for span in raw {
        match bridged.last_mut() {
            Some(last) if span.start - last.end < settings.min_silence => last.end = span.end,
            _ => bridged.push(span),
        }
    }
    let duration = samples.len() as f64 / RATE as f64;
    let padded: Vec<Span> = bridged
        .into_iter()
        .filter(|s| s.len() >= settings.min_speech)
        .map(|s| {
            Span::new(
                (s.start - settings.pad).max(0.0),
                (s.end + settings.pad).min(duration),
            )
        })
        .collect();
    merge(&padded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_a_steady_hum_are_not_speech() {
        let silence = vec![0.0f32; RATE * 3];
        assert!(speech_spans(&silence, VadSettings::default()).is_empty());
        let hum: Vec<f32> = (0..RATE * 3)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 50.0 / RATE as f32).sin() * 0.01)
            .collect();
        assert!(speech_spans(&hum, VadSettings::default()).is_empty());
    }
}
