//! Whisper's log-mel front end, as Whisper defines it: 16 kHz, 25 ms Hann windows every
//! 10 ms (n_fft 400, hop 160, centred with reflection), power spectrum, 80 Slaney mel
//! filters up to 8 kHz, log10, floor at the clip's maximum − 8, then (x + 4) / 4.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

pub const N_FFT: usize = 400;
pub const HOP: usize = 160;
pub const N_MELS: usize = 80;
const SAMPLE_RATE: f64 = 16_000.0;

/// Log-mel features, mel-major: `values[mel * frames + frame]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogMel {
    pub frames: usize,
    pub values: Vec<f32>,
}

/// Computes the features of 16 kHz mono `samples` (one frame per 10 ms).
pub struct FrontEnd {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    filters: Vec<Vec<f32>>,
}

impl Default for FrontEnd {
    fn default() -> Self {
        Self::new()
    }
}

impl FrontEnd {
    pub fn new() -> Self {
        // Periodic Hann window, as torch.hann_window(400).
        let window = (0..N_FFT)
            .map(|n| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32
            })
            .collect();
        Self {
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
            window,
            filters: slaney_mel_filters(N_MELS),
        }
    }

    pub fn compute(&self, samples: &[f32]) -> LogMel {
        let padded = reflect_pad(samples, N_FFT / 2);
        // torch.stft(center=True) yields 1 + len/hop frames; Whisper drops the last.
        let frames = samples.len() / HOP;
        let bins = N_FFT / 2 + 1;
        let mut power = vec![0.0f32; bins];
        let mut buffer = vec![Complex::new(0.0f32, 0.0); N_FFT];
        let mut values = vec![0.0f32; N_MELS * frames];
        for t in 0..frames {
            let frame = &padded[t * HOP..t * HOP + N_FFT];
            for ((b, x), w) in buffer.iter_mut().zip(frame).zip(&self.window) {
                *b = Complex::new(x * w, 0.0);
            }
            self.fft.process(&mut buffer);
            for (p, c) in power.iter_mut().zip(&buffer[..bins]) {
                *p = c.norm_sqr();
            }
            for (m, filter) in self.filters.iter().enumerate() {
                let energy: f32 = filter.iter().zip(&power).map(|(f, p)| f * p).sum();
                values[m * frames + t] = energy.max(1e-10).log10();
            }
        }
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in &mut values {
            *v = ((*v).max(max - 8.0) + 4.0) / 4.0;
        }
        LogMel { frames, values }
    }
}

/// numpy's `reflect` padding (the edge sample is not repeated); zeros where the clip is
/// too short to reflect.
fn reflect_pad(samples: &[f32], pad: usize) -> Vec<f32> {
    let n = samples.len();
    let at = |i: isize| -> f32 {
        let reflected = if i < 0 {
            -i
        } else if i >= n as isize {
            2 * (n as isize - 1) - i
        } else {
            i
        };
        usize::try_from(reflected)
            .ok()
            .and_then(|r| samples.get(r))
            .copied()
            .unwrap_or(0.0)
    };
    (-(pad as isize)..(n + pad) as isize).map(at).collect()
}

/// Slaney-style mel scale (librosa's default): linear below 1 kHz, logarithmic above.
pub(crate) fn hz_to_mel(hz: f64) -> f64 {
    let (f_sp, min_log_hz, min_log_mel, logstep) =
        (200.0 / 3.0, 1000.0, 15.0, (6.4f64).ln() / 27.0);
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

pub(crate) fn mel_to_hz(mel: f64) -> f64 {
    let (f_sp, min_log_hz, min_log_mel, logstep) =
        (200.0 / 3.0, 1000.0, 15.0, (6.4f64).ln() / 27.0);
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// librosa.filters.mel(sr=16000, n_fft=400, n_mels): Slaney scale, Slaney norm; one row
/// of weights over the FFT bins per band. Whisper uses 80 bands, the speaker encoder 40.
pub(crate) fn slaney_mel_filters(n_mels: usize) -> Vec<Vec<f32>> {
    let bins = N_FFT / 2 + 1;
    let fft_freqs: Vec<f64> = (0..bins)
        .map(|i| i as f64 * SAMPLE_RATE / N_FFT as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    (0..n_mels)
        .map(|m| {
            let (left, centre, right) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
            let norm = 2.0 / (right - left);
            fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - left) / (centre - left);
                    let upper = (right - f) / (right - centre);
                    (lower.min(upper).max(0.0) * norm) as f32
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_range() {
        let samples: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.1).sin() * 0.3).collect();
        let mel = FrontEnd::new().compute(&samples);
        assert_eq!(mel.frames, 100);
        assert_eq!(mel.values.len(), 80 * 100);
        let max = mel.values.iter().copied().fold(f32::MIN, f32::max);
        let min = mel.values.iter().copied().fold(f32::MAX, f32::min);
        assert!(
            max - min <= 2.0 + 1e-6,
            "dynamic range is clamped to 8 log10 units (2 after scaling)"
        );
    }

    #[test]
    fn a_tone_lands_in_its_mel_band() {
        let samples: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let mel = FrontEnd::new().compute(&samples);
        let band_energy = |m: usize| mel.values[m * mel.frames + 50];
        let loudest = (0..N_MELS)
            .max_by(|a, b| band_energy(*a).total_cmp(&band_energy(*b)))
            .unwrap_or(0);
        let centre_hz = mel_to_hz(
            hz_to_mel(0.0) + (hz_to_mel(8000.0) - hz_to_mel(0.0)) * (loudest + 1) as f64 / 81.0,
        );
        assert!(
            (centre_hz - 1000.0).abs() < 80.0,
            "band {loudest} centred at {centre_hz} Hz"
        );
    }
}
