//! The front end against faster-whisper's own feature extractor on the same signal
//! (reference values in `fixtures/log_mel_reference.json`, made with faster-whisper 1.2.1).

use kiku_analysis::log_mel::{FrontEnd, N_MELS};

#[test]
fn matches_faster_whisper() {
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/log_mel_reference.json")).expect("json");
    let expected: Vec<f32> = reference["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(|v| v.as_f64())
        .map(|v| v as f32)
        .collect();
    let signal: Vec<f32> = (0..8000)
        .map(|i| {
            let t = f64::from(i) / 16_000.0;
            (0.3 * (2.0 * std::f64::consts::PI * (300.0 + 2000.0 * t) * t).sin()
                + 0.05 * (2.0 * std::f64::consts::PI * 3100.0 * t).sin()) as f32
        })
        .collect();
    let mel = FrontEnd::new().compute(&signal);
    assert_eq!(
        mel.frames as u64,
        reference["frames"].as_u64().expect("frames")
    );
    assert_eq!(mel.values.len(), N_MELS * mel.frames);
    let worst = mel
        .values
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 2e-3, "largest difference {worst}");
}
