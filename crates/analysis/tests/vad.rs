//! Voice activity on real synthetic speech (espeak-ng), through decode and resampling:
//! spans within 0.3 s of where the speech was put.

use std::process::Command;

use kiku_analysis::decode::{decode, Limits};
use kiku_analysis::resample::{to_target_rate, TARGET_RATE};
use kiku_analysis::vad::{speech_spans, VadSettings};
use kiku_domain::metrics::Span;
use kiku_domain::AudioFileType;

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (installed by scripts/setup): {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two espeak-ng sentences 2.5 s apart after 1 s of silence, the second `second_db` dB
/// louder (negative: quieter); the 16 kHz samples and where each sentence lies.
fn two_sentences(second_db: f64) -> (Vec<f32>, [(f64, f64); 2]) {
    let dir = tempfile::tempdir().expect("dir");
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let mut parts = Vec::new();
    for (i, text) in [
        "Hello, this is Daniel from Kiku support.",
        "Thank you for waiting, your order has shipped today.",
    ]
    .iter()
    .enumerate()
    {
        let raw = p(&format!("raw{i}.wav"));
        run("espeak-ng", &["-v", "en-us", "-w", &raw, text]);
        // Trim espeak's own leading and trailing silence so the speech starts where we put it.
        let trimmed = p(&format!("t{i}.wav"));
        let gain = if i == 1 { second_db } else { 0.0 }.to_string();
        run(
            "sox",
            &[
                "-V1", &raw, "-r", "16000", "-c", "1", &trimmed, "silence", "1", "0.02", "0.5%",
                "reverse", "silence", "1", "0.02", "0.5%", "reverse", "gain", &gain,
            ],
        );
        let seconds: f64 = run("soxi", &["-D", &trimmed])
            .trim()
            .parse()
            .expect("duration");
        parts.push((trimmed, seconds));
    }
    let gap = p("gap.wav");
    run(
        "sox",
        &[
            "-V1", "-n", "-r", "16000", "-c", "1", &gap, "trim", "0", "2.5",
        ],
    );
    let lead = p("lead.wav");
    run(
        "sox",
        &[
            "-V1", "-n", "-r", "16000", "-c", "1", &lead, "trim", "0", "1.0",
        ],
    );
    let call = p("call.wav");
    run(
        "sox",
        &["-V1", &lead, &parts[0].0, &gap, &parts[1].0, &lead, &call],
    );

    let audio = decode(
        std::fs::read(&call).expect("read"),
        AudioFileType::Wav,
        Limits::default(),
    )
    .expect("decode");
    let mono = to_target_rate(&audio.channels, audio.sample_rate)
        .expect("resample")
        .remove(0);
    assert_eq!(TARGET_RATE, 16_000);
    let first = (1.0, 1.0 + parts[0].1);
    let second = (first.1 + 2.5, first.1 + 2.5 + parts[1].1);
    (mono, [first, second])
}

fn assert_near(spans: &[Span], expected: &[(f64, f64)]) {
    assert_eq!(
        spans.len(),
        expected.len(),
        "{spans:?}, expected {expected:?}"
    );
    for (span, (start, end)) in spans.iter().zip(expected) {
        assert!(
            (span.start - start).abs() < 0.3 && (span.end - end).abs() < 0.3,
            "{span:?} vs {start}..{end}"
        );
    }
}

#[test]
fn finds_the_turns_of_a_generated_call() {
    let (mono, turns) = two_sentences(0.0);
    assert_near(&speech_spans(&mono, VadSettings::default()), &turns);
    // Two voices at one level are both the party's.
    assert_near(&speech_spans(&mono, VadSettings::one_party()), &turns);
}

#[test]
fn on_a_one_party_channel_a_voice_far_below_the_party_is_background() {
    // A neighbour 24 dB down, as office babble behind an agent's headset.
    let (mono, turns) = two_sentences(-24.0);
    assert_near(&speech_spans(&mono, VadSettings::default()), &turns);
    assert_near(&speech_spans(&mono, VadSettings::one_party()), &turns[..1]);
    // 8 dB down is the party, speaking more softly.
    let (mono, turns) = two_sentences(-8.0);
    assert_near(&speech_spans(&mono, VadSettings::one_party()), &turns);
}
