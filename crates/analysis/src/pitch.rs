//! F0 (pitch) statistics of one speaker with YIN (de Cheveigné & Kawahara, 2002): the
//! cumulative mean normalised difference on 40 ms frames every 10 ms, only inside the
//! speaker's speech spans. Octave errors are dropped against the speaker's median F0.

use std::f64::consts::TAU;
use std::sync::Arc;

use kiku_domain::metrics::timeline::{merge, Span};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

const INPUT_RATE: f64 = 16_000.0;
/// Analysis rate: F0 and its first harmonics sit far below 4 kHz, and half the rate is
/// half the work.
const RATE: f64 = 8_000.0;
/// 40 ms.
const FRAME: usize = 320;
/// 10 ms.
const HOP: usize = 80;
/// 400 Hz.
const MIN_LAG: usize = 20;
/// Just past 60 Hz (133.3 samples), so the minimum there can still be interpolated.
const MAX_LAG: usize = 135;
/// The difference is summed over this many samples, so that every lag stays inside the frame.
const WINDOW: usize = FRAME - MAX_LAG;
/// YIN's aperiodicity threshold: frames whose best dip is shallower are unvoiced.
const THRESHOLD: f64 = 0.2;
/// About −50 dBFS RMS: quieter frames are line noise, whatever their shape.
const FLOOR_RMS: f64 = 0.003;
/// Frames 20 dB below the speaker's loud frames (breaths, echo) are not judged.
const RELATIVE_GATE: f64 = 0.1;
const MIN_VOICED: usize = 10;
/// Octave errors land at exactly half or double the median; real intonation rarely
/// strays that far, so anything beyond ¾ octave is dropped.
const MAX_OCTAVES_FROM_MEDIAN: f64 = 0.75;

/// F0 statistics of one speaker's voiced speech.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PitchStats {
    /// Mean F0 in Hz over voiced frames.
    pub mean_hz: f64,
    /// Standard deviation of F0 in Hz over voiced frames (what MiiTel calls `variance`;
    /// its samples are in that range, e.g. f0 116.9 / variance 22.8).
    pub std_dev_hz: f64,
    /// Number of voiced 10 ms frames the numbers come from.
    pub voiced_frames: usize,
}

/// Pitch of 16 kHz mono `samples`, looking only inside `spans` (seconds). `None` when
/// fewer than 10 frames are voiced.
pub fn pitch_stats(samples: &[f32], spans: &[Span]) -> Option<PitchStats> {
    let taps = lowpass_taps();
    let at = |t: f64| ((t * INPUT_RATE).round().max(0.0) as usize).min(samples.len());
    let regions: Vec<Vec<f64>> = merge(spans)
        .iter()
        .filter_map(|s| samples.get(at(s.start)..at(s.end)))
        .map(|x| decimate(x, &taps))
        .collect();
    let frames: Vec<&[f64]> = regions
        .iter()
        .flat_map(|r| r.windows(FRAME).step_by(HOP))
        .collect();
    let levels: Vec<f64> = frames
        .iter()
        .map(|f| (dot(f, f) / FRAME as f64).sqrt())
        .collect();
    let mut sorted = levels.clone();
    sorted.sort_by(f64::total_cmp);
    let loud = sorted.get(sorted.len() * 95 / 100).copied().unwrap_or(0.0);
    let gate = FLOOR_RMS.max(RELATIVE_GATE * loud);
    let mut yin = Yin::new();
    let mut f0: Vec<f64> = frames
        .iter()
        .zip(&levels)
        .filter(|(_, level)| **level >= gate)
        .filter_map(|(f, _)| yin.period(f))
        .map(|lag| RATE / lag)
        .collect();
    f0.sort_by(f64::total_cmp);
    let median = *f0.get(f0.len() / 2)?;
    f0.retain(|f| (f / median).log2().abs() <= MAX_OCTAVES_FROM_MEDIAN);
    if f0.len() < MIN_VOICED {
        return None;
    }
    let n = f0.len() as f64;
    let mean = f0.iter().sum::<f64>() / n;
    let var = f0.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / n;
    Some(PitchStats {
        mean_hz: mean,
        std_dev_hz: var.sqrt(),
        voiced_frames: f0.len(),
    })
}

/// Σ a·b in four independent lanes, which the compiler can vectorise (a plain sum it
/// may not reorder); this and the FFTs are most of the time.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    for (x, y) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for ((l, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *l += x * y;
        }
    }
    let tail = a.len() / 4 * 4;
    let rest: f64 = a.iter().zip(b).skip(tail).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f64>() + rest
}

/// Hann-windowed sinc low-pass at 3.4 kHz (telephone band edge), unit gain at DC.
fn lowpass_taps() -> Vec<f64> {
    const TAPS: usize = 31;
    let cutoff = 3_400.0 / INPUT_RATE;
    let mid = (TAPS / 2) as f64;
    let raw: Vec<f64> = (0..TAPS)
        .map(|k| {
            let arg = TAU * cutoff * (k as f64 - mid);
            let sinc = if arg == 0.0 { 1.0 } else { arg.sin() / arg };
            sinc * (0.5 - 0.5 * (TAU * k as f64 / (TAPS - 1) as f64).cos())
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.iter().map(|h| h / sum).collect()
}

/// Low-pass and keep every other sample; NaN and infinities count as silence.
fn decimate(x: &[f32], taps: &[f64]) -> Vec<f64> {
    let half = taps.len() / 2;
    let mut padded = vec![0.0; x.len() + 2 * half];
    for (p, s) in padded[half..].iter_mut().zip(x) {
        *p = if s.is_finite() { f64::from(*s) } else { 0.0 };
    }
    padded
        .windows(taps.len())
        .step_by(2)
        .map(|w| dot(w, taps))
        .collect()
}

/// YIN on one frame, with the lag correlation done by FFT (direct sums are ~100× slower).
struct Yin {
    fft: Arc<dyn Fft<f64>>,
    ifft: Arc<dyn Fft<f64>>,
    buf: Vec<Complex<f64>>,
    spec: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    cmnd: Vec<f64>,
}

impl Yin {
    fn new() -> Self {
        let mut planner = FftPlanner::new();
        let fft = planner.plan_fft_forward(FRAME);
        let ifft = planner.plan_fft_inverse(FRAME);
        let scratch_len = fft
            .get_inplace_scratch_len()
            .max(ifft.get_inplace_scratch_len());
        Self {
            fft,
            ifft,
            buf: vec![Complex::default(); FRAME],
            spec: vec![Complex::default(); FRAME],
            scratch: vec![Complex::default(); scratch_len],
            cmnd: vec![1.0; MAX_LAG + 1],
        }
    }

    /// The period of `frame` in samples, or `None` when it is not periodic enough.
    fn period(&mut self, frame: &[f64]) -> Option<f64> {
        // The window (zero-padded) and the whole frame as one complex signal: one FFT
        // yields both spectra, and their cross-spectrum gives Σ w[j]·x[j+τ] for every τ.
        for (j, (z, x)) in self.buf.iter_mut().zip(frame).enumerate() {
            *z = Complex::new(if j < WINDOW { *x } else { 0.0 }, *x);
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        for (k, s) in self.spec.iter_mut().enumerate() {
            let z = self.buf[k];
            let mirror = self.buf[(FRAME - k) % FRAME].conj();
            let window = (z + mirror) * 0.5;
            let whole = (z - mirror) * Complex::new(0.0, -0.5);
            *s = window.conj() * whole;
        }
        self.ifft
            .process_with_scratch(&mut self.spec, &mut self.scratch);
        // d(τ) = Σ (x[j] − x[j+τ])² = energy at 0 + energy at τ − 2·correlation(τ);
        // d'(τ) = d(τ) / mean of d(1..=τ), YIN's normalisation against the lag-0 dip.
        let head = frame.get(..WINDOW)?;
        let energy0 = dot(head, head);
        let mut energy = energy0;
        let mut running = 0.0;
        for tau in 1..=MAX_LAG {
            let (out, inn) = (frame.get(tau - 1)?, frame.get(tau + WINDOW - 1)?);
            energy += inn * inn - out * out;
            let corr = self.spec[tau].re / FRAME as f64;
            let d = (energy0 + energy - 2.0 * corr).max(0.0);
            running += d;
            self.cmnd[tau] = if running > 0.0 {
                d * tau as f64 / running
            } else {
                1.0
            };
        }
        // The first dip under the threshold, followed to its bottom: the shortest period,
        // which keeps YIN off sub-harmonics.
        let mut tau = (MIN_LAG..MAX_LAG).find(|&t| self.cmnd[t] < THRESHOLD)?;
        while tau + 1 < MAX_LAG && self.cmnd[tau + 1] < self.cmnd[tau] {
            tau += 1;
        }
        let (y0, y1, y2) = (self.cmnd[tau - 1], self.cmnd[tau], self.cmnd[tau + 1]);
        let curve = y0 - 2.0 * y1 + y2;
        let shift = if curve > 0.0 {
            (0.5 * (y0 - y2) / curve).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        Some(tau as f64 + shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_difference_matches_the_direct_sum() {
        let frame: Vec<f64> = (0..FRAME)
            .map(|i| (i as f64 * 0.37).sin() + 0.3 * (i as f64 * 1.9).cos())
            .collect();
        let mut yin = Yin::new();
        yin.period(&frame);
        let direct = |tau: usize| -> f64 {
            (0..WINDOW)
                .map(|j| (frame[j] - frame[j + tau]).powi(2))
                .sum()
        };
        let mut running = 0.0;
        for tau in 1..=MAX_LAG {
            running += direct(tau);
            let expected = direct(tau) * tau as f64 / running;
            assert!((yin.cmnd[tau] - expected).abs() < 1e-9, "lag {tau}");
        }
    }

    #[test]
    fn a_pure_tone_gives_its_period() {
        let frame: Vec<f64> = (0..FRAME)
            .map(|i| (TAU * 137.0 * i as f64 / RATE).sin())
            .collect();
        let lag = Yin::new().period(&frame).expect("voiced");
        assert!((RATE / lag - 137.0).abs() < 0.5, "{}", RATE / lag);
    }

    #[test]
    fn short_and_nan_input_is_unvoiced() {
        let second = [Span::new(0.0, 1.0)];
        assert!(pitch_stats(&[0.1; 100], &second).is_none());
        assert!(pitch_stats(&[f32::NAN; 16_000], &second).is_none());
        assert!(pitch_stats(&[f32::INFINITY; 16_000], &second).is_none());
        assert!(pitch_stats(&[0.5; 16_000], &[Span::new(f64::NAN, 1.0)]).is_none());
    }
}
