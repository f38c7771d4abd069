//! The speaker encoder against resemblyzer 0.1.4 itself: `fixtures/speaker_reference.json`
//! holds the embeddings that resemblyzer's `VoiceEncoder().embed_utterance` gave for the
//! same 16 kHz samples (espeak-ng clips, decoded and resampled here), with the samples'
//! sha256 so that a change in their generation is caught rather than compared against the
//! wrong reference. `fixtures/make_speaker_reference.py` says how to re-make it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use kiku_analysis::decode::{decode, Limits};
use kiku_analysis::resample::to_target_rate;
use kiku_analysis::speaker::{cosine, SpeakerEncoder, N_MELS};
use kiku_analysis::testing::test_speaker_encoder;
use kiku_domain::AudioFileType;

struct Clip {
    name: &'static str,
    voice: &'static str,
    pitch: u8,
    text: &'static str,
}

/// Two sentences in one voice, and the second sentence in another voice. (espeak-ng's
/// voices that differ only in pitch or accent, such as en-us and en-gb, sound alike to the
/// encoder: on one sentence they score higher than one voice on two sentences. The `+f5`
/// variant has other formants.)
const CLIPS: [Clip; 3] = [
    Clip {
        name: "us_low_weather",
        voice: "en-us",
        pitch: 30,
        text: "The weather was calm, so we walked along the river to the old mill.",
    },
    Clip {
        name: "us_low_contract",
        voice: "en-us",
        pitch: 30,
        text: "Please send the signed contract back to our office by Friday.",
    },
    Clip {
        name: "us_f5_contract",
        voice: "en-us+f5",
        pitch: 60,
        text: "Please send the signed contract back to our office by Friday.",
    },
];

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/speaker_reference.json")).expect("fixture json")
}

/// espeak-ng's rendering of `clip`, decoded and resampled to 16 kHz.
fn samples(clip: &Clip, work: &Path) -> Vec<f32> {
    let wav = work.join(format!("{}.wav", clip.name));
    let status = Command::new("espeak-ng")
        .args(["-v", clip.voice, "-p", &clip.pitch.to_string(), "-w"])
        .arg(&wav)
        .arg(clip.text)
        .status()
        .expect("espeak-ng (scripts/setup installs it)");
    assert!(status.success(), "espeak-ng failed");
    let audio = decode(
        std::fs::read(&wav).expect("wav"),
        AudioFileType::Wav,
        Limits::default(),
    )
    .expect("decode");
    to_target_rate(&audio.channels, audio.sample_rate)
        .expect("resample")
        .swap_remove(0)
}

fn le_bytes(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn sha256(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum output");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Every clip's samples, made once per test binary; checked against the fixture's sha256.
fn clips() -> &'static [Vec<f32>] {
    static CLIP_SAMPLES: OnceLock<Vec<Vec<f32>>> = OnceLock::new();
    CLIP_SAMPLES.get_or_init(|| {
        let work = tempfile::tempdir().expect("tempdir");
        let reference = reference();
        CLIPS
            .iter()
            .enumerate()
            .map(|(i, clip)| {
                let samples = samples(clip, work.path());
                let expected = &reference["clips"][i];
                assert_eq!(expected["name"], clip.name);
                assert_eq!(
                    sha256(&le_bytes(&samples)),
                    expected["sha256"].as_str().expect("sha256"),
                    "{}: the generated samples differ from those the reference was made from \
                     (espeak-ng {}, resampling or decoding changed?); re-make it with \
                     tests/fixtures/make_speaker_reference.py",
                    clip.name,
                    reference["espeak_ng"]
                );
                samples
            })
            .collect()
    })
}

/// The Rust embedding of every clip, made once per test binary.
fn embeddings(encoder: &SpeakerEncoder) -> &'static [Vec<f32>] {
    static EMBEDDINGS: OnceLock<Vec<Vec<f32>>> = OnceLock::new();
    EMBEDDINGS.get_or_init(|| {
        clips()
            .iter()
            .map(|s| encoder.embed_utterance(s).expect("embedding"))
            .collect()
    })
}

fn encoder() -> Option<&'static SpeakerEncoder> {
    static ENCODER: OnceLock<SpeakerEncoder> = OnceLock::new();
    let path = test_speaker_encoder()?;
    Some(ENCODER.get_or_init(|| SpeakerEncoder::load(&path).expect("speaker encoder")))
}

#[test]
fn mel_frames_match_librosa() {
    let reference = reference();
    let mel_ref = &reference["mel"];
    let clip = CLIPS
        .iter()
        .position(|c| mel_ref["clip"] == c.name)
        .expect("mel clip");
    let mel = SpeakerEncoder::mel_frames(&clips()[clip]);
    assert_eq!(
        mel.len() as u64,
        mel_ref["frame_count"].as_u64().expect("count")
    );
    let first = mel_ref["first_frame"].as_u64().expect("first") as usize;
    let frames = mel_ref["frames"].as_array().expect("frames");
    assert!(!frames.is_empty());
    for (t, expected) in frames.iter().enumerate() {
        let expected: Vec<f32> = expected
            .as_array()
            .expect("frame")
            .iter()
            .filter_map(|v| v.as_f64())
            .map(|v| v as f32)
            .collect();
        assert_eq!(expected.len(), N_MELS);
        let actual = &mel[first + t];
        let scale = expected.iter().copied().fold(0.0f32, f32::max);
        for (m, (a, e)) in actual.iter().zip(&expected).enumerate() {
            assert!(
                (a - e).abs() <= 1e-4 * scale + 1e-7,
                "frame {} band {m}: {a} vs librosa {e}",
                first + t
            );
        }
    }
}

#[test]
fn embeddings_match_resemblyzer() {
    let Some(encoder) = encoder() else { return };
    let reference = reference();
    for (i, (clip, embedding)) in CLIPS.iter().zip(embeddings(encoder)).enumerate() {
        let expected: Vec<f32> = reference["clips"][i]["embedding"]
            .as_array()
            .expect("embedding")
            .iter()
            .filter_map(|v| v.as_f64())
            .map(|v| v as f32)
            .collect();
        assert_eq!(embedding.len(), 256);
        assert_eq!(expected.len(), 256);
        let similarity = cosine(embedding, &expected);
        let largest = embedding
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!(
            "{}: cosine with resemblyzer {similarity:.7}, largest difference {largest:.1e}",
            clip.name
        );
        assert!(similarity >= 0.99, "{}: cosine {similarity}", clip.name);
        let norm: f32 = embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
}

#[test]
fn voices_are_told_apart() {
    let Some(encoder) = encoder() else { return };
    let e = embeddings(encoder);
    let same_voice = cosine(&e[0], &e[1]);
    let other_voice_same_text = cosine(&e[1], &e[2]);
    let other_voice_other_text = cosine(&e[0], &e[2]);
    eprintln!(
        "same voice, two sentences {same_voice:.3}; two voices, one sentence \
         {other_voice_same_text:.3}; two voices, two sentences {other_voice_other_text:.3}"
    );
    assert!(
        same_voice > other_voice_same_text + 0.1 && same_voice > other_voice_other_text + 0.1,
        "same voice {same_voice}, other voice {other_voice_same_text} / {other_voice_other_text}"
    );
}

#[test]
fn a_window_of_frames_and_short_input() {
    let Some(encoder) = encoder() else { return };
    let mel = SpeakerEncoder::mel_frames(&clips()[0]);
    let window = encoder.embed_frames(&mel[..160.min(mel.len())]);
    assert_eq!(window.len(), 256);
    // One 1.6 s window of a voice is close to the whole utterance of that voice.
    assert!(cosine(&window, &embeddings(encoder)[0]) > 0.9);
    assert!(window.iter().all(|&x| x >= 0.0));
    // Several windows at once give what one at a time gives.
    let windows: Vec<&[[f32; N_MELS]]> = vec![&mel[..160], &mel[40..200], &mel[10..110]];
    for (batched, one) in encoder.embed_windows(&windows).iter().zip(&windows) {
        assert!(cosine(batched, &encoder.embed_frames(one)) > 0.99999);
    }
    assert!(encoder.embed_utterance(&[]).is_none());
    assert!(encoder.embed_utterance(&[f32::NAN; 8000]).is_none());
    assert!(encoder.embed_utterance(&clips()[0][..4000]).is_some());
}

/// Writes the clips' samples (f32 little-endian) and `clips.json` into the folder
/// `KIKU_SPEAKER_DUMP`, for `make_speaker_reference.py`. It reads no fixture.
#[test]
#[ignore = "makes the input of fixtures/make_speaker_reference.py"]
fn dump_samples() {
    let dir =
        std::path::PathBuf::from(std::env::var_os("KIKU_SPEAKER_DUMP").expect("KIKU_SPEAKER_DUMP"));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut listed = Vec::new();
    for clip in &CLIPS {
        let samples = samples(clip, &dir);
        std::fs::write(dir.join(format!("{}.f32", clip.name)), le_bytes(&samples)).expect("write");
        listed.push(serde_json::json!({
            "name": clip.name,
            "voice": clip.voice,
            "pitch": clip.pitch,
            "text": clip.text,
            "samples": samples.len(),
        }));
    }
    std::fs::write(
        dir.join("clips.json"),
        serde_json::to_string_pretty(&listed).expect("json"),
    )
    .expect("write");
}
