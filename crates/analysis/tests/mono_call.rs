//! MONAURAL calls through the whole engine with the real models: the two voices of a
//! generated call separated, words given to the right voice, one voice never split in two.

use kiku_analysis::pipeline::{Engine, EngineOptions, Recording};
use kiku_analysis::testing::{
    stereo_call, test_model_dir, test_speaker_encoder, Line, SUPPORT_CALL, SUPPORT_VOICES,
};
use kiku_domain::analysis::{Language, Transcript};
use kiku_domain::metrics::timeline::{intersect, merge, total};
use kiku_domain::{AudioFileType, ChannelType};

fn engine() -> Option<Engine> {
    let model = test_model_dir()?;
    let encoder = test_speaker_encoder()?;
    let options = EngineOptions {
        threads: 2,
        beam_size: 1,
        speaker_encoder: Some(encoder),
        ..Default::default()
    };
    Some(Engine::load(&model, options).expect("models"))
}

fn analyse(engine: &Engine, wav: Vec<u8>) -> Transcript {
    use std::io::{Seek, Write};
    let mut audio = tempfile::tempfile().expect("temp file");
    audio.write_all(&wav).expect("write");
    audio.rewind().expect("rewind");
    let recording = Recording {
        audio,
        declared: Some(AudioFileType::Wav),
        channel_type: ChannelType::Monaural,
        call_seconds: None,
        language: Language::Auto,
        vocabulary: Vec::new(),
    };
    engine.analyse(recording, &|_| true).expect("analysis")
}

#[test]
fn two_voices_on_one_channel_are_told_apart() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let call = stereo_call(dir.path(), SUPPORT_VOICES, SUPPORT_CALL, 1.0).expect("call");
    let t = analyse(&engine, call.mono_wav);
    assert!(t.overlaps_estimated);
    // Speaker 0 is whoever spoke first: the agent (voice 0) here.
    let speech: f64 = call.turns.iter().map(|t| total(&merge(t))).sum();
    let agreed: f64 = (0..2)
        .map(|s| total(&intersect(&merge(&t.speech[s]), &merge(&call.turns[s]))))
        .sum();
    let accuracy = agreed / speech;
    assert!(
        accuracy > 0.85,
        "time given to the right voice: {accuracy:.2}"
    );
    for (speaker, words) in [(0, ["router", "account"]), (1, ["internet", "goodbye"])] {
        let said: String = t
            .utterances
            .iter()
            .filter(|u| u.speaker == speaker)
            .map(|u| u.text.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        for w in words {
            assert!(said.contains(w), "speaker {speaker} said {w:?}: {said}");
        }
    }
    let (low, high) = (t.voices[0].expect("f0"), t.voices[1].expect("f0"));
    assert!(
        high.f0_mean_hz > low.f0_mean_hz * 1.2,
        "{low:?} vs {high:?}"
    );
}

#[test]
fn one_voice_is_not_split_in_two() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let monologue: Vec<Line> = SUPPORT_CALL
        .iter()
        .map(|l| Line {
            speaker: 0,
            gap: 0.6,
            ..*l
        })
        .collect();
    let call = stereo_call(dir.path(), SUPPORT_VOICES, &monologue, 1.0).expect("call");
    let t = analyse(&engine, call.mono_wav);
    assert!(t.speech[1].is_empty(), "{:?}", t.speech[1]);
    assert!(t.utterances.iter().all(|u| u.speaker == 0));
}
