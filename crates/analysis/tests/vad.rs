//! Voice activity on real synthetic speech (espeak-ng), through decode and resampling:
//! spans within 0.3 s of where the speech was put.

use std::process::Command;

use kiku_analysis::decode::{decode, Limits};
use kiku_analysis::resample::{to_target_rate, TARGET_RATE};
use kiku_analysis::vad::{speech_spans, VadSettings};
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

#[test]
fn finds_the_turns_of_a_generated_call() {
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
        run(
            "sox",
            &[
                "-V1", &raw, "-r", "16000", "-c", "1", &trimmed, "silence", "1", "0.02", "0.5%",
                "reverse", "silence", "1", "0.02", "0.5%", "reverse",
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
    let spans = speech_spans(&mono, VadSettings::default());
    let first = (1.0, 1.0 + parts[0].1);
    let second = (first.1 + 2.5, first.1 + 2.5 + parts[1].1);
    assert_eq!(
        spans.len(),
        2,
        "{spans:?}, expected {first:?} and {second:?}"
    );
    for (span, (start, end)) in spans.iter().zip([first, second]) {
        assert!(
            (span.start - start).abs() < 0.3 && (span.end - end).abs() < 0.3,
            "{span:?} vs {start}..{end}"
        );
    }
    assert_eq!(TARGET_RATE, 16_000);
}
