//! Recognition with the real default model (installed by `scripts/test` and named by
//! `KIKU_TEST_WHISPER_DIR`) on speech made with espeak-ng, through the whole front end.

use std::process::Command;

use kiku_analysis::decode::{decode, Limits};
use kiku_analysis::recognise::{Recogniser, RecogniserOptions};
use kiku_analysis::resample::to_target_rate;
use kiku_analysis::testing::test_model_dir;
use kiku_analysis::vad::{speech_spans, VadSettings};
use kiku_domain::AudioFileType;

fn options() -> RecogniserOptions {
    RecogniserOptions {
        replicas: 1,
        threads_per_replica: 2,
        beam_size: 1,
        ..Default::default()
    }
}

fn speech(dir: &std::path::Path, text: &str, lead_seconds: &str) -> Vec<f32> {
    let raw = dir.join("raw.wav");
    let out = dir.join("speech.wav");
    assert!(Command::new("espeak-ng")
        .args(["-v", "en-us", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng")
        .success());
    // Silence first, so timestamps must be offset correctly.
    assert!(Command::new("sox")
        .arg("-V1")
        .arg(&raw)
        .arg(&out)
        .args(["pad", lead_seconds])
        .status()
        .expect("sox")
        .success());
    let audio = decode(
        std::fs::read(out).expect("read"),
        AudioFileType::Wav,
        Limits::default(),
    )
    .expect("decode");
    to_target_rate(&audio.channels, audio.sample_rate)
        .expect("resample")
        .remove(0)
}

#[test]
fn transcribes_generated_english_speech_with_timestamps() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let samples = speech(
        dir.path(),
        "Hello, this is Daniel from Kiku support. Your order has shipped today.",
        "2",
    );
    let recogniser = Recogniser::load(&model, options()).expect("model");
    // Whisper's first timestamp is unreliable after silence, so chunks start where the VAD
    // heard speech, as the pipeline does.
    let spans = speech_spans(&samples, VadSettings::default());
    let from = (spans[0].start * 16_000.0) as usize;
    let segments = recogniser
        .transcribe_chunk(&samples[from..], 10.0 + spans[0].start, "en", &[], &[])
        .expect("transcribe")
        .segments;
    let text: String = segments
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    for word in ["hello", "daniel", "support", "order", "shipped", "today"] {
        assert!(text.contains(word), "{word:?} missing from {text:?}");
    }
    let seconds = samples.len() as f64 / 16_000.0;
    assert!(
        segments[0].start >= 10.0 + 1.5,
        "speech starts after 2 s of silence: {segments:?}"
    );
    assert!(
        segments
            .iter()
            .all(|s| s.start <= s.end && s.end <= 10.0 + seconds + 0.01),
        "{segments:?}"
    );
}

#[test]
fn beam_search_that_repeats_itself_is_sampled_again() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let recogniser = Recogniser::load(&model, options()).expect("model");
    // Ordinary speech: beam search's text is kept.
    let samples = speech(dir.path(), "Your order has shipped today.", "0.5");
    let decoded = recogniser
        .transcribe_chunk(&samples, 0.0, "en", &[], &[])
        .expect("transcribe");
    assert_eq!(decoded.attempts.len(), 1, "{decoded:?}");
    assert_eq!(decoded.temperature, 0.0);
    // The same words over and over: beam search's text compresses as a loop does, so the
    // window is sampled again at a higher temperature.
    let samples = speech(dir.path(), &"thank you, ".repeat(12), "0.5");
    let decoded = recogniser
        .transcribe_chunk(&samples, 0.0, "en", &[], &[])
        .expect("transcribe");
    let first = decoded.attempts.first().expect("an attempt");
    assert!(
        first.temperature == 0.0 && first.compression_ratio > 2.4,
        "{decoded:?}"
    );
    assert!(
        decoded.attempts.len() > 1 && decoded.attempts[1].temperature > 0.0,
        "{decoded:?}"
    );
    assert!(!decoded.segments.is_empty(), "the speech still yields text");
}

#[test]
fn silence_yields_no_text() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let recogniser = Recogniser::load(&model, options()).expect("model");
    let silence = vec![0.0f32; 16_000 * 5];
    let decoded = recogniser
        .transcribe_chunk(&silence, 0.0, "en", &[], &[])
        .expect("transcribe");
    assert_eq!(decoded.segments, vec![]);
    assert!(decoded.tokens.is_empty(), "{decoded:?}");
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let err = Recogniser::load(std::path::Path::new("/nonexistent/model"), options())
        .err()
        .expect("error");
    assert!(err.to_string().contains("/nonexistent/model"), "{err}");
}

#[test]
fn the_vocabulary_in_the_prompt_spells_names_the_model_does_not_know() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let recogniser = Recogniser::load(&model, options()).expect("model");
    let words: Vec<String> = ["Dmitri", "Okonkwo", "Meshlink"]
        .iter()
        .map(|w| w.to_string())
        .collect();
    let vocabulary = recogniser.vocabulary_tokens(&words, "en");
    // The model's own BPE, as Hugging Face's tokenizers library encodes " Dmitri, Okonkwo,
    // Meshlink" with this tokenizer.json (faster-whisper's hotwords).
    assert_eq!(
        vocabulary,
        ["ĠD", "mit", "ri", ",", "ĠOk", "on", "k", "wo", ",", "ĠM", "esh", "link"]
    );
    let samples = speech(
        dir.path(),
        "Dmitri Okonkwo called about the Meshlink extender.",
        "0.5",
    );
    let text = |vocabulary: &[String]| {
        recogniser
            .transcribe_chunk(&samples, 0.0, "en", vocabulary, &[])
            .expect("transcribe")
            .segments
            .iter()
            .map(|s| s.text.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let plain = text(&[]);
    assert!(
        !plain.contains("dmitri") && !plain.contains("okonkwo"),
        "without the vocabulary the model does not know the names: {plain:?}"
    );
    let told = text(&vocabulary);
    for word in ["dmitri", "okonkwo", "meshlink", "extender"] {
        assert!(told.contains(word), "{word:?} missing from {told:?}");
    }
}
