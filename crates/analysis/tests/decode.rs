//! Decoding real files made with sox and ffmpeg (`scripts/setup` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

use kiku_analysis::decode::{decode, decode_any, DecodeError, DecodedAudio, Limits};
use kiku_domain::AudioFileType;

/// A 1 s stereo call at 44.1 kHz: a 440 Hz tone on the left, silence on the right.
fn source(dir: &Path) -> PathBuf {
    let path = dir.join("source.wav");
    run(
        "sox",
        &[
            "-n",
            "-r",
            "44100",
            "-c",
            "2",
            "-b",
            "16",
            path.to_str().expect("utf-8"),
            "synth",
            "1",
            "sine",
            "440",
            "remix",
            "1",
            "0",
        ],
    );
    path
}

fn run(tool: &str, args: &[&str]) {
    let status = Command::new(tool)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{tool} (installed by scripts/setup): {e}"));
    assert!(status.success(), "{tool} {args:?}");
}

fn convert(dir: &Path, name: &str, sox_args: &[&str]) -> Vec<u8> {
    let src = source(dir);
    let out = dir.join(name);
    let mut args = vec!["-V1", src.to_str().expect("utf-8")];
    args.extend_from_slice(sox_args);
    args.push(out.to_str().expect("utf-8"));
    run("sox", &args);
    std::fs::read(out).expect("read")
}

fn ffmpeg(dir: &Path, name: &str, codec: &[&str]) -> Vec<u8> {
    let src = source(dir);
    let out = dir.join(name);
    let mut args = vec![
        "-loglevel",
        "error",
        "-y",
        "-i",
        src.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(codec);
    args.push(out.to_str().expect("utf-8"));
    run("ffmpeg", &args);
    std::fs::read(out).expect("read")
}

fn energy(samples: &[f32]) -> f64 {
    samples
        .iter()
        .map(|s| f64::from(*s) * f64::from(*s))
        .sum::<f64>()
        / samples.len().max(1) as f64
}

fn assert_call(audio: &DecodedAudio, rate: u32) {
    assert_eq!(audio.sample_rate, rate);
    assert_eq!(audio.channels.len(), 2, "channels stay apart");
    assert!((audio.seconds() - 1.0).abs() < 0.1, "{} s", audio.seconds());
    let (left, right) = (energy(&audio.channels[0]), energy(&audio.channels[1]));
    assert!(
        left > 0.1 && right < 0.001,
        "tone on the left only: {left} / {right}"
    );
}

#[test]
fn wav_in_every_sample_format() {
    let dir = tempfile::tempdir().expect("dir");
    for (name, args, rate) in [
        ("s16.wav", vec!["-b", "16"], 44100),
        ("s24.wav", vec!["-b", "24"], 44100),
        ("s32.wav", vec!["-b", "32"], 44100),
        ("u8.wav", vec!["-b", "8", "-e", "unsigned-integer"], 44100),
        ("f32.wav", vec!["-b", "32", "-e", "floating-point"], 44100),
        ("ulaw.wav", vec!["-r", "8000", "-e", "mu-law"], 8000),
        ("alaw.wav", vec!["-r", "8000", "-e", "a-law"], 8000),
    ] {
        let audio = decode(
            convert(dir.path(), name, &args),
            AudioFileType::Wav,
            Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_call(&audio, rate);
    }
}

#[test]
fn mp3_and_aac_in_m4a() {
    let dir = tempfile::tempdir().expect("dir");
    let mp3 = ffmpeg(
        dir.path(),
        "call.mp3",
        &["-c:a", "libmp3lame", "-b:a", "64k"],
    );
    assert_call(
        &decode(mp3, AudioFileType::Mp3, Limits::default()).expect("mp3"),
        44100,
    );
    let m4a = ffmpeg(dir.path(), "call.m4a", &["-c:a", "aac", "-b:a", "64k"]);
    assert_call(
        &decode(m4a, AudioFileType::M4a, Limits::default()).expect("m4a"),
        44100,
    );
}

#[test]
fn the_content_decides_not_the_declared_type() {
    let dir = tempfile::tempdir().expect("dir");
    let wav = convert(dir.path(), "a.wav", &[]);
    assert_eq!(
        decode(wav, AudioFileType::Mp3, Limits::default()),
        Err(DecodeError::WrongFormat {
            declared: AudioFileType::Mp3,
            detected: "wav".into()
        })
    );
    assert_eq!(
        decode(
            b"definitely not audio".repeat(100),
            AudioFileType::Wav,
            Limits::default()
        ),
        Err(DecodeError::Unrecognised)
    );
    assert_eq!(
        decode(Vec::new(), AudioFileType::Wav, Limits::default()),
        Err(DecodeError::Unrecognised)
    );
}

#[test]
fn truncated_files_keep_what_they_have_and_caps_hold() {
    let dir = tempfile::tempdir().expect("dir");
    let mp3 = ffmpeg(dir.path(), "call.mp3", &["-c:a", "libmp3lame"]);
    let half = decode(
        mp3[..mp3.len() / 2].to_vec(),
        AudioFileType::Mp3,
        Limits::default(),
    )
    .expect("half an mp3");
    assert!(
        half.seconds() < 0.7 && half.seconds() > 0.2,
        "{}",
        half.seconds()
    );
    let wav = convert(dir.path(), "a.wav", &[]);
    let capped = decode(
        wav.clone(),
        AudioFileType::Wav,
        Limits {
            max_seconds: 0.25,
            ..Limits::default()
        },
    )
    .expect("capped");
    assert!(capped.truncated && capped.seconds() <= 0.25 + 1e-9);
    assert_eq!(
        decode(wav[..44].to_vec(), AudioFileType::Wav, Limits::default()),
        Err(DecodeError::Empty)
    );
    let mono_only = Limits {
        max_channels: 1,
        ..Limits::default()
    };
    assert!(matches!(
        decode(wav, AudioFileType::Wav, mono_only),
        Err(DecodeError::Corrupt(_))
    ));
}

/// Damaged files of every kind: an error or a result, never a crash or a hang.
#[test]
fn mangled_files_never_crash() {
    let dir = tempfile::tempdir().expect("dir");
    let files = [
        (convert(dir.path(), "a.wav", &[]), AudioFileType::Wav),
        (
            ffmpeg(dir.path(), "a.mp3", &["-c:a", "libmp3lame"]),
            AudioFileType::Mp3,
        ),
        (
            ffmpeg(dir.path(), "a.m4a", &["-c:a", "aac"]),
            AudioFileType::M4a,
        ),
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (bytes, kind) in &files {
        for _ in 0..150 {
            let mut mangled = bytes.clone();
            for _ in 0..(1 + next() % 8) {
                let at = (next() % mangled.len() as u64) as usize;
                mangled[at] = (next() & 0xff) as u8;
            }
            if next() % 4 == 0 {
                mangled.truncate((next() % mangled.len() as u64) as usize);
            }
            let limits = Limits {
                max_seconds: 5.0,
                ..Limits::default()
            };
            if let Ok(audio) = decode(mangled, *kind, limits) {
                assert!(audio.seconds() <= 5.0 + 1e-9);
            }
        }
    }
}

/// Found by `scripts/fuzz` (target `audio`): a WAV declaring 65,535 channels (its block
/// size overflows), and an M4A whose sample table (`stts`) counts sum past `u32`. The
/// decoder library overflows on both: it panics where overflow checks are on (debug
/// builds), which `decode` must turn into an error for this one call.
#[test]
fn header_values_that_overflow_fail_the_call_not_the_process() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (name, kind) in [
        ("fuzz-fmt-overflow.wav", AudioFileType::Wav),
        ("fuzz-stts-overflow.m4a", AudioFileType::M4a),
    ] {
        let file = std::fs::read(fixtures.join(name)).expect("fixture");
        for result in [
            decode(file.clone(), kind, Limits::default()),
            decode_any(file, Limits::default()),
        ] {
            match result {
                Ok(audio) => assert_call_shape(&audio),
                Err(e) => assert!(!e.to_string().is_empty(), "{name}"),
            }
        }
    }
}

/// What the analysis relies on from any decoded file: a rate and equally long channels.
fn assert_call_shape(audio: &DecodedAudio) {
    assert!(audio.sample_rate > 0);
    let frames = audio.channels.first().map_or(0, Vec::len);
    assert!(frames > 0 && audio.channels.iter().all(|c| c.len() == frames));
}
