//! Times Kiku's decoder alone, for `bench/run analyze`'s decode-speed table: read the
//! file, decode it by its content (`decode::decode_any`), resample every channel to
//! 16 kHz (`resample::to_target_rate`): what `kiku analyze` does before voice activity.
//!
//!     cargo run --release -p kiku-analysis --no-default-features --features dnnl \
//!         --example decode_speed -- FILE [REPEAT]
//!
//! Prints `{"decode_s": best seconds of REPEAT runs (default 3), "audio_s": duration}`.

use std::time::Instant;

use kiku_analysis::decode::{decode_any, Limits};
use kiku_analysis::resample::{to_target_rate, TARGET_RATE};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: decode_speed FILE [REPEAT]")?;
    let repeat: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let limits = Limits {
        max_seconds: 4.0 * 3600.0,
        max_channels: 2,
    };
    let mut best = f64::INFINITY;
    let mut audio_s = 0.0;
    for _ in 0..repeat.max(1) {
        let t0 = Instant::now();
        let bytes = std::fs::read(&path)?;
        let audio = decode_any(bytes, limits)?;
        let channels = to_target_rate(&audio.channels, audio.sample_rate)?;
        best = best.min(t0.elapsed().as_secs_f64());
        audio_s = channels.first().map_or(0, Vec::len) as f64 / f64::from(TARGET_RATE);
    }
    println!("{{\"decode_s\": {best:.4}, \"audio_s\": {audio_s:.3}}}");
    Ok(())
}
