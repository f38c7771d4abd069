//! What the Rust benchmarks that drive a `kiku` binary share (`#[path]`-included by
//! bench/deliveries and bench/fanout): its CLI, its memory, and an analysed result to
//! store as if recognition had made it.

#![allow(dead_code)] // each including benchmark uses part of it

use std::path::Path;
use std::process::Command;

use kiku_domain::analysis::{report, AnalysisSettings, Roles, Transcript, Utterance};
use kiku_domain::metrics::Span;
use kiku_domain::Side;
use kiku_storage::NewAnalysis;
use serde_json::Value;

/// Runs `kiku` with `env` and `cli`; its JSON output.
pub fn kiku_cli(kiku: &Path, env: &[(&str, String)], cli: &[&str]) -> Value {
    let out = Command::new(kiku)
        .args(cli)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run kiku");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "kiku {cli:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A `/proc/{pid}/status` line in KiB (`VmRSS:`, `VmHWM:`); 0 when it cannot be read.
pub fn proc_kib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with(field))?.to_string();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .unwrap_or(0.0)
}

/// A four-minute call's result: 40 utterances of `text` in `language`, the two speakers
/// taking turns, speaker 0 the user on the FROM side.
pub fn analysed(language: &str, text: &str) -> NewAnalysis {
    let transcript = Transcript {
        format: 1,
        duration_seconds: 240.0,
        language: language.into(),
        speech: [
            vec![Span::new(0.0, 60.0), Span::new(120.0, 180.0)],
            vec![Span::new(61.0, 119.0), Span::new(181.0, 239.0)],
        ],
        voices: [None, None],
        utterances: (0..40)
            .map(|i| {
                let start = f64::from(i) * 6.0;
                Utterance {
                    speaker: i as usize % 2,
                    start,
                    end: start + 5.5,
                    text: text.into(),
                    words: vec![],
                }
            })
            .collect(),
        overlaps_estimated: false,
        truncated: false,
    };
    let roles = Roles {
        user_speaker: 0,
        user_side: Side::From,
        confidence: 1.0,
        basis: "bench".into(),
    };
    let made = report(&transcript, &roles, &AnalysisSettings::default());
    NewAnalysis {
        engine: "bench".into(),
        transcript: serde_json::to_string(&transcript).expect("json"),
        roles: serde_json::to_string(&roles).expect("json"),
        report: serde_json::to_string(&made).expect("json"),
        write_minutes: false,
    }
}
