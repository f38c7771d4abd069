//! A recording's redacted copy: the stretches where personal data was said replaced by
//! silence or a tone, written as a 16-bit PCM WAV (whatever the original's format: the
//! copy is made from the decoded samples).

use super::pcm_header;
use crate::analysis::AudioRedaction;

/// Word timings are the recogniser's estimate; this much either side is hidden too.
pub const PAD_SECONDS: f64 = 0.25;
/// The tone's pitch and level (-20 dBFS: audible, not loud).
const TONE_HZ: f64 = 1000.0;
const TONE_LEVEL: f32 = 0.1;

/// Replaces `spans` (seconds, padded by [`PAD_SECONDS`]) in every channel of `channels`
/// (samples at `sample_rate`) with silence or the tone. `Off` changes nothing.
pub fn hide(
    channels: &mut [Vec<f32>],
    sample_rate: u32,
    spans: &[(f64, f64)],
    how: AudioRedaction,
) {
    if how == AudioRedaction::Off || sample_rate == 0 {
        return;
    }
    let rate = f64::from(sample_rate);
    for &(start, end) in spans {
        let first = ((start - PAD_SECONDS).max(0.0) * rate) as usize;
        let last = ((end + PAD_SECONDS).max(0.0) * rate).ceil() as usize;
        for samples in channels.iter_mut() {
            let to = last.min(samples.len());
            for (i, sample) in samples.iter_mut().enumerate().take(to).skip(first) {
                *sample = match how {
                    AudioRedaction::Tone => {
                        TONE_LEVEL
                            * (std::f64::consts::TAU * TONE_HZ * i as f64 / rate).sin() as f32
                    }
                    _ => 0.0,
                };
            }
        }
    }
}

/// `channels` (equal lengths; a shorter one is padded with silence) as a 16-bit PCM WAV.
pub fn pcm16_wav(channels: &[Vec<f32>], sample_rate: u32) -> Vec<u8> {
    let frames = channels.iter().map(Vec::len).max().unwrap_or(0);
    let count = u16::try_from(channels.len()).unwrap_or(u16::MAX);
    let data_len = frames as u64 * u64::from(count) * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(&pcm_header(count, sample_rate, data_len));
    for frame in 0..frames {
        for samples in channels {
            let s = samples.get(frame).copied().unwrap_or(0.0).clamp(-1.0, 1.0);
            out.extend_from_slice(&((s * 32767.0).round() as i16).to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(samples: &[f32]) -> f32 {
        samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32
    }

    #[test]
    fn spans_are_silenced_or_toned_and_the_rest_kept() {
        let rate = 8000;
        let speech: Vec<f32> = (0..rate * 4)
            .map(|i| ((i % 50) as f32 / 50.0) - 0.5)
            .collect();
        let mut silenced = vec![speech.clone(), speech.clone()];
        hide(
            &mut silenced,
            rate as u32,
            &[(1.0, 2.0)],
            AudioRedaction::Silence,
        );
        let r = rate as usize;
        // 0.75 s to 2.25 s is hidden in both channels; before and after untouched.
        for ch in &silenced {
            assert_eq!(energy(&ch[r * 3 / 4 + 1..r * 9 / 4 - 1]), 0.0);
            assert_eq!(ch[..r / 2], speech[..r / 2]);
            assert_eq!(ch[r * 5 / 2..], speech[r * 5 / 2..]);
        }
        let mut toned = vec![speech.clone()];
        hide(&mut toned, rate as u32, &[(1.0, 2.0)], AudioRedaction::Tone);
        let tone = energy(&toned[0][r..2 * r]);
        assert!(
            (tone - 0.005).abs() < 0.001,
            "a sine of 0.1 has energy 0.005: {tone}"
        );
        let mut kept = vec![speech.clone()];
        hide(&mut kept, rate as u32, &[(1.0, 2.0)], AudioRedaction::Off);
        assert_eq!(kept[0], speech);
        // Spans past the end or before the start are cut to the recording.
        hide(
            &mut kept,
            rate as u32,
            &[(-3.0, 0.1), (3.9, 99.0)],
            AudioRedaction::Silence,
        );
        assert_eq!(kept[0].len(), speech.len());
    }

    #[test]
    fn wav_of_samples() {
        let wav = pcm16_wav(&[vec![0.0, 1.0, -1.0], vec![0.5]], 16000);
        assert_eq!(wav.len(), 44 + 3 * 2 * 2);
        assert_eq!(&wav[..4], b"RIFF");
        let samples: Vec<i16> = wav[44..]
            .chunks(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(samples, [0, 16384, 32767, 0, -32767, 0]);
    }
}
