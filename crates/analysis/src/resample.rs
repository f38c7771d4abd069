//! Band-limited resampling of every channel to 16 kHz (windowed-sinc, via rubato), the
//! rate of the VAD and Whisper models. Phone audio at 8 kHz is upsampled the same way.

use rubato::{
    Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};

/// The rate every later step works at.
pub const TARGET_RATE: u32 = 16_000;
const CHUNK: usize = 4096;

#[derive(Debug, thiserror::Error)]
#[error("resampling failed: {0}")]
pub struct ResampleError(String);

fn err(e: impl std::fmt::Display) -> ResampleError {
    ResampleError(e.to_string())
}

/// `channels` (equal lengths, at `rate`) at [`TARGET_RATE`], aligned in time with the input.
pub fn to_target_rate(channels: &[Vec<f32>], rate: u32) -> Result<Vec<Vec<f32>>, ResampleError> {
    if rate == TARGET_RATE || channels.is_empty() {
        return Ok(channels.to_vec());
    }
    if rate == 0 {
        return Err(ResampleError("sample rate 0".into()));
    }
    let ratio = f64::from(TARGET_RATE) / f64::from(rate);
    let expected = (channels[0].len() as f64 * ratio).round() as usize;
    let delay = measured_delay(ratio)?;
    // A thread per channel: the filter is most of the time spent before voice activity.
    std::thread::scope(|scope| {
        let handles: Vec<_> = channels
            .iter()
            .map(|samples| scope.spawn(move || resample_one(samples, ratio, expected, delay)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ResampleError("the resampler crashed".into())))
            })
            .collect()
    })
}

/// One channel resampled by `ratio`: `expected` samples, the filter's `delay` cut off.
fn resample_one(
    samples: &[f32],
    ratio: f64,
    expected: usize,
    delay: usize,
) -> Result<Vec<f32>, ResampleError> {
    let mut resampler = new_resampler(ratio, 1)?;
    let mut out = vec![Vec::with_capacity(expected + delay + CHUNK)];
    run(&mut resampler, &[samples], &mut out, expected + delay)?;
    let mut channel = out.pop().unwrap_or_default();
    channel.drain(..delay.min(channel.len()));
    channel.truncate(expected);
    Ok(channel)
}

fn new_resampler(ratio: f64, channels: usize) -> Result<SincFixedIn<f32>, ResampleError> {
    let params = SincInterpolationParameters {
        sinc_len: 256,
        f_cutoff: 0.97,
        interpolation: SincInterpolationType::Linear,
        oversampling_factor: 128,
        window: WindowFunction::BlackmanHarris2,
    };
    SincFixedIn::<f32>::new(ratio, 1.0, params, CHUNK, channels).map_err(err)
}

/// The resampler's latency in output samples, measured with an impulse: the figure the
/// library reports did not match its output here, and a measured one cannot drift.
fn measured_delay(ratio: f64) -> Result<usize, ResampleError> {
    const AT: usize = 1024;
    let mut impulse = vec![0.0f32; CHUNK];
    impulse[AT] = 1.0;
    let mut out = vec![Vec::new()];
    let mut resampler = new_resampler(ratio, 1)?;
    run(
        &mut resampler,
        &[&impulse],
        &mut out,
        (CHUNK as f64 * ratio) as usize + 2 * CHUNK,
    )?;
    let peak = out[0]
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    Ok(peak.saturating_sub((AT as f64 * ratio).round() as usize))
}

/// Feeds all of `channels` and then silence until `out` holds at least `want` samples.
fn run(
    resampler: &mut SincFixedIn<f32>,
    channels: &[&[f32]],
    out: &mut [Vec<f32>],
    want: usize,
) -> Result<(), ResampleError> {
    let frames = channels[0].len();
    let mut start = 0;
    // Whole chunks, then the remainder, then silence until the filter's delay is flushed.
    while start < frames || out[0].len() < want {
        let end = (start + CHUNK).min(frames);
        let produced = if start < end {
            let slices: Vec<&[f32]> = channels.iter().map(|c| &c[start..end]).collect();
            if end - start == CHUNK {
                resampler.process(&slices, None)
            } else {
                resampler.process_partial(Some(&slices), None)
            }
        } else {
            resampler.process_partial::<&[f32]>(None, None)
        }
        .map_err(err)?;
        for (o, p) in out.iter_mut().zip(produced) {
            o.extend_from_slice(&p);
        }
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        (0..(rate as f32 * seconds) as usize)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    /// Correlation of `signal[range]` with the same stretch of an ideal 16 kHz tone:
    /// near 1 only when pitch and timing both survived.
    fn correlation(signal: &[f32], freq: f32, range: std::ops::Range<usize>) -> f32 {
        let reference = tone(freq, TARGET_RATE, 1.0);
        let (a, b) = (&signal[range.clone()], &reference[range]);
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    #[test]
    fn keeps_length_pitch_and_timing() {
        for rate in [8_000, 22_050, 44_100, 48_000] {
            let input = vec![tone(440.0, rate, 1.0), vec![0.0; rate as usize]];
            let out = to_target_rate(&input, rate).expect("resample");
            assert_eq!(out[0].len(), 16_000, "{rate}");
            let c = correlation(&out[0], 440.0, 200..15_800);
            assert!(c > 0.99, "{rate}: correlation {c}");
            assert!(
                out[1].iter().all(|s| s.abs() < 1e-3),
                "silent channel stays silent"
            );
        }
    }

    #[test]
    fn frequencies_above_the_new_nyquist_are_removed() {
        let input = vec![tone(6_000.0, 44_100, 1.0), tone(10_000.0, 44_100, 1.0)];
        let out = to_target_rate(&input, 44_100).expect("resample");
        let rms = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        assert!(rms(&out[0][500..15_500]) > 0.3, "6 kHz passes");
        assert!(
            rms(&out[1][500..15_500]) < 0.02,
            "10 kHz would alias; it is filtered"
        );
    }
}
