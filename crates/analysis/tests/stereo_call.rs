//! A generated two-voice stereo call through the whole engine with the real model, then
//! through the report: words per role, silence and overlap positions, talk ratio, score.
//! Plus every way a recording can be refused.

use kiku_analysis::pipeline::{AnalysisError, Engine, EngineOptions, Recording};
use kiku_analysis::testing::{
    stereo_call, test_model_dir, wav_16bit, SUPPORT_CALL, SUPPORT_VOICES,
};
use kiku_domain::analysis::{report, AnalysisSettings, Language, Role, Roles};
use kiku_domain::metrics::timeline::{intersect, merge, total};
use kiku_domain::metrics::{ScoreRule, Span};
use kiku_domain::{AudioFileType, ChannelType, Side};

fn engine(model: &std::path::Path) -> Engine {
    let options = EngineOptions {
        threads: 2,
        beam_size: 1,
        ..Default::default()
    };
    Engine::load(model, options).expect("model")
}

/// The engine reads recordings from files.
fn file(bytes: &[u8]) -> std::fs::File {
    use std::io::{Seek, Write};
    let mut file = tempfile::tempfile().expect("temp file");
    file.write_all(bytes).expect("write");
    file.rewind().expect("rewind");
    file
}

fn recording(audio: Vec<u8>, declared: AudioFileType, call_seconds: Option<f64>) -> Recording {
    Recording {
        audio: file(&audio),
        declared: Some(declared),
        channel_type: ChannelType::Stereo,
        call_seconds,
        language: Language::Auto,
        vocabulary: Vec::new(),
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate of `heard` against `said` (word-level edit distance).
fn wer(said: &str, heard: &str) -> f64 {
    let (a, b) = (words(said), words(heard));
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, wa) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, wb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(wa != wb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()] as f64 / a.len().max(1) as f64
}

fn close(a: Span, b: Span) -> bool {
    (a.start - b.start).abs() <= 0.3 && (a.end - b.end).abs() <= 0.3
}

#[test]
fn a_generated_stereo_call_is_transcribed_per_role_with_its_metrics() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let call = stereo_call(dir.path(), SUPPORT_VOICES, SUPPORT_CALL, 1.0).expect("generated call");
    let engine = engine(&model);
    let transcript = engine
        .analyse(
            recording(call.wav.clone(), AudioFileType::Wav, Some(call.seconds)),
            &|_| true,
        )
        .expect("analysis");
    assert_eq!(transcript.language, "en", "detected");

    // The user is on the left (speaker 0).
    let roles = Roles {
        user_speaker: 0,
        user_side: Side::From,
        confidence: 1.0,
        basis: "test".into(),
    };
    let r = report(&transcript, &roles, &AnalysisSettings::default());
    for (role, speaker) in [(Role::User, 0), (Role::Customer, 1)] {
        let heard: Vec<&str> = r
            .phrases
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.text.as_str())
            .collect();
        let said = call.texts[speaker].join(" ");
        let error = wer(&said, &heard.join(" "));
        assert!(
            error <= 0.15,
            "{role:?}: WER {error:.2}\nsaid:  {said}\nheard: {heard:?}"
        );
    }

    // Ground truth from the construction.
    let truth = kiku_domain::metrics::Timeline {
        user: call.turns[0].clone(),
        customer: call.turns[1].clone(),
        duration: call.seconds,
    };
    let silences = truth.silences();
    let overlaps = truth.overlaps();
    assert_eq!(
        (silences.len(), overlaps.len()),
        (1, 1),
        "the script has one of each"
    );
    assert_eq!(r.silences.len(), 1, "{:?} vs {silences:?}", r.silences);
    assert!(
        close(r.silences[0], silences[0]),
        "{:?} vs {silences:?}",
        r.silences
    );
    assert_eq!(r.overlaps.len(), 1, "{:?} vs {overlaps:?}", r.overlaps);
    assert!(
        close(r.overlaps[0], overlaps[0]),
        "{:?} vs {overlaps:?}",
        r.overlaps
    );
    let true_tlr = truth.talk_ratio().expect("speech");
    assert!(
        (r.tlr - true_tlr).abs() <= 0.05,
        "tlr {} vs {true_tlr}",
        r.tlr
    );
    assert!(total(&intersect(&merge(&transcript.speech[0]), &call.turns[1])) < 2.0);

    // The product's score, by hand from the reported figures: 50 + 0 (under 5 min)
    // − (tlr % − 40) − 10 × overlaps/min − 10 × silences/min.
    let minutes = r.duration_seconds / 60.0;
    let by_hand =
        (50.0 - (r.tlr * 100.0 - 40.0) - 10.0 / minutes - 10.0 / minutes).clamp(0.0, 100.0);
    assert!((r.score - by_hand).abs() < 1e-6, "{} vs {by_hand}", r.score);
    assert_eq!(
        ScoreRule::default().duration_points(r.duration_seconds),
        0.0
    );

    // Word timings: every utterance has them, in order, inside the utterance, spelling it;
    // "goodbye" lies inside the last line as it was placed.
    for u in &transcript.utterances {
        assert!(!u.words.is_empty(), "{u:?}");
        let spelled: Vec<&str> = u.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words(&spelled.join(" ")), words(&u.text));
        assert!(
            u.words.windows(2).all(|w| w[0].start <= w[1].start),
            "{u:?}"
        );
        assert!(
            u.words
                .iter()
                .all(|w| w.start >= u.start - 0.3 && w.end <= u.end + 0.3),
            "{u:?}"
        );
        // Each word carries the model's confidence, a probability.
        assert!(
            u.words
                .iter()
                .all(|w| w.probability.is_some_and(|p| p > 0.0 && p <= 1.0)),
            "{u:?}"
        );
    }
    // A clearly spoken call is heard with confidence, on the whole.
    let heard: Vec<f64> = transcript
        .utterances
        .iter()
        .flat_map(|u| &u.words)
        .filter_map(|w| w.probability)
        .collect();
    let mean = heard.iter().sum::<f64>() / heard.len() as f64;
    assert!(mean > 0.5, "mean word probability {mean}");
    let goodbye = transcript
        .utterances
        .iter()
        .flat_map(|u| &u.words)
        .find(|w| w.text.to_lowercase().starts_with("goodbye"))
        .expect("goodbye");
    let last = *call.turns[1].last().expect("last line");
    assert!(
        goodbye.start >= last.start && goodbye.end <= last.end + 0.3,
        "{goodbye:?} vs {last:?}"
    );

    // The low voice is the user's.
    let (user_f0, customer_f0) = (
        r.user.f0_mean_hz.expect("f0"),
        r.customer.f0_mean_hz.expect("f0"),
    );
    assert!(customer_f0 > user_f0 * 1.2, "{user_f0} vs {customer_f0}");
    assert!(r.phrases.iter().any(|p| p.in_summary));
}

#[test]
fn every_unusable_recording_is_refused_with_its_cause() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let engine = engine(&model);
    let call = stereo_call(dir.path(), SUPPORT_VOICES, &SUPPORT_CALL[..2], 0.5).expect("call");
    let refuse = |audio: Vec<u8>, declared, call_seconds| match engine
        .analyse(recording(audio, declared, call_seconds), &|_| true)
    {
        Err(e @ AnalysisError::BadRecording(_)) => {
            assert!(e.is_permanent());
            e.to_string()
        }
        other => panic!("expected a refusal, got {other:?}"),
    };
    let wrong = refuse(call.wav.clone(), AudioFileType::Mp3, None);
    assert!(wrong.contains("not the declared mp3"), "{wrong}");
    let corrupt = refuse(
        b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk".to_vec(),
        AudioFileType::Wav,
        None,
    );
    assert!(
        corrupt.contains("not a recognised audio format") || corrupt.contains("corrupt"),
        "{corrupt}"
    );
    let mut truncated = call.wav.clone();
    truncated.truncate(44 + 4 * 8_000);
    let short = refuse(truncated, AudioFileType::Wav, Some(call.seconds));
    assert!(short.contains("only 0.4 s"), "{short}");
    // A minute-long call whose upload holds a few seconds.
    let cut = call.wav[..call.wav.len() / 3].to_vec();
    let partial = refuse(cut, AudioFileType::Wav, Some(60.0));
    assert!(partial.contains("but the call lasted"), "{partial}");
    let silence = wav_16bit(&[vec![0.0; 16_000 * 5], vec![0.0; 16_000 * 5]], 16_000);
    let quiet = refuse(silence, AudioFileType::Wav, Some(5.0));
    assert!(quiet.contains("no speech"), "{quiet}");
    let mono = wav_16bit(&[vec![0.0; 16_000 * 5]], 16_000);
    let one = refuse(mono, AudioFileType::Wav, None);
    assert!(one.contains("1 channel"), "{one}");
}

#[test]
fn the_caller_can_stop_an_analysis() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let call = stereo_call(dir.path(), SUPPORT_VOICES, SUPPORT_CALL, 0.5).expect("call");
    let result = engine(&model).analyse(recording(call.wav, AudioFileType::Wav, None), &|_| false);
    assert!(matches!(result, Err(AnalysisError::Stopped)), "{result:?}");
}
