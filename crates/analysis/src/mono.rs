//! MONAURAL calls: both voices on one channel. Speech is cut into overlapping 1.5 s
//! windows, each embedded by the speaker encoder, the embeddings clustered into two voices
//! ([`crate::diarize`]), and recognised words handed to the voice speaking at their time —
//! so a phrase is split where the speaker changes inside it.

use kiku_domain::analysis::{Utterance, Word};
use kiku_domain::metrics::timeline::{intersect, total};
use kiku_domain::metrics::Span;

use crate::diarize::{self, Diarization, Window};
use crate::pipeline::utterance_of_words;
use crate::pitch::pitch_stats;
use crate::speaker::{normalize_volume, SpeakerEncoder, N_MELS};
use crate::vad::{speech_spans, VadSettings};

/// Speaker windows: 1.5 s (150 frames of 10 ms), every 0.75 s.
const WINDOW_FRAMES: usize = 150;
const HOP_FRAMES: usize = 75;
/// Spans shorter than this carry too little voice to embed on their own.
const MIN_WINDOW_FRAMES: usize = 40;
const FRAME_SECONDS: f64 = 0.01;
/// Gaps this small between turns are float rounding, not uncovered speech.
const SLIVER_SECONDS: f64 = 1e-6;
/// Stretches of speech windows are cut from (and smoothing stays within).
const SEGMENT_VAD: VadSettings = VadSettings {
    min_speech: 0.1,
    min_silence: 0.12,
    pad: 0.03,
    background_db: None,
};

/// Who spoke when in 16 kHz `samples` whose speech is `spans`.
pub fn diarize_speech(encoder: &SpeakerEncoder, samples: &[f32], spans: &[Span]) -> Diarization {
    // The encoder's embeddings drift with loudness: level the recording once, as a whole.
    let mut levelled = samples.to_vec();
    normalize_volume(&mut levelled);
    let mel = SpeakerEncoder::mel_frames(&levelled);
    drop(levelled);
    // Windows come from stretches between even short pauses: two parties' turns are often
    // less than half a second apart, too close for the recogniser's speech spans to part.
    let segments = intersect(&speech_spans(samples, SEGMENT_VAD), spans);
    let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
    for (segment, span) in segments.iter().enumerate() {
        let first = (span.start / FRAME_SECONDS) as usize;
        let last = ((span.end / FRAME_SECONDS) as usize).min(mel.len());
        if last <= first || last - first < MIN_WINDOW_FRAMES {
            continue;
        }
        let mut start = first;
        loop {
            let end = (start + WINDOW_FRAMES).min(last);
            ranges.push((start, end, segment));
            if end == last {
                break;
            }
            start = (start + HOP_FRAMES).min(last.saturating_sub(WINDOW_FRAMES).max(first));
        }
    }
    let frames: Vec<&[[f32; N_MELS]]> = ranges.iter().map(|&(a, b, _)| &mel[a..b]).collect();
    let embeddings = encoder.embed_windows(&frames);
    let windows: Vec<Window> = ranges
        .iter()
        .zip(embeddings)
        .map(|(&(a, b, segment), embedding)| Window {
            span: Span::new(a as f64 * FRAME_SECONDS, b as f64 * FRAME_SECONDS),
            segment,
            embedding,
        })
        .collect();
    let mut d = diarize::diarize(&windows);
    let f0 = |turns: &[Span]| pitch_stats(samples, turns).map(|p| p.mean_hz);
    if diarize::is_one_voice(d.centroid_cosine, [f0(&d.turns[0]), f0(&d.turns[1])]) {
        d.turns = [d.turns.concat(), Vec::new()];
    }
    // Turns hold speech only (`intersect` also sorts them); short spans that had no window
    // join the nearest turn.
    for turn in &mut d.turns {
        *turn = intersect(turn, spans);
    }
    for span in spans {
        let missing = subtract(*span, &d.turns);
        if !missing.is_empty() {
            let speaker = nearest_speaker(&d, span.start);
            d.turns[speaker].extend(missing);
        }
    }
    for turn in &mut d.turns {
        turn.sort_by(|a, b| a.start.total_cmp(&b.start));
    }
    d
}

/// The speaker whose turn is closest in time to `t`.
fn nearest_speaker(d: &Diarization, t: f64) -> usize {
    let distance = |turns: &[Span]| {
        turns
            .iter()
            .map(|s| {
                if t < s.start {
                    s.start - t
                } else if t > s.end {
                    t - s.end
                } else {
                    0.0
                }
            })
            .fold(f64::INFINITY, f64::min)
    };
    usize::from(distance(&d.turns[1]) < distance(&d.turns[0]))
}

/// The parts of `span` no turn covers (slivers of float rounding left out).
fn subtract(span: Span, turns: &[Vec<Span>; 2]) -> Vec<Span> {
    let mut covered: Vec<Span> = turns.iter().flat_map(|t| intersect(t, &[span])).collect();
    covered.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out = Vec::new();
    let mut at = span.start;
    for c in covered {
        if c.start - at > SLIVER_SECONDS {
            out.push(Span::new(at, c.start));
        }
        at = at.max(c.end);
    }
    if span.end - at > SLIVER_SECONDS {
        out.push(Span::new(at, span.end));
    }
    out
}

/// The speaker whose turn holds time `t`.
fn holder(d: &Diarization, t: f64) -> Option<usize> {
    (0..2).find(|&speaker| d.turns[speaker].iter().any(|s| s.start <= t && t <= s.end))
}

/// The speaker at time `t`: the turn holding it, else the nearest.
fn speaker_at(d: &Diarization, t: f64) -> usize {
    holder(d, t).unwrap_or_else(|| nearest_speaker(d, t))
}

/// The speaker of a word spoken from `start` to `end`. Whisper's alignment stretches the
/// first word after a pause back over the silence, often into the other voice's last
/// word, while it places a word's end well: the end decides, then where most of the word
/// lies, then nearness.
fn speaker_of_word(d: &Diarization, start: f64, end: f64) -> usize {
    const END_MARGIN: f64 = 0.05;
    if let Some(speaker) = holder(d, (end - END_MARGIN).max(start)) {
        return speaker;
    }
    let word = [Span::new(start, end)];
    let spoken = |speaker: usize| total(&intersect(&d.turns[speaker], &word));
    let (first, second) = (spoken(0), spoken(1));
    if first + second > 0.0 {
        return usize::from(second > first);
    }
    nearest_speaker(d, (start + end) / 2.0)
}

/// Recognised utterances (all on one channel) given to the two voices: word by word where
/// word timings exist (an utterance is split where the voice changes), else by its middle.
pub fn assign(utterances: Vec<Utterance>, d: &Diarization, joiner: &str) -> Vec<Utterance> {
    let mut out = Vec::new();
    for u in utterances {
        if u.words.is_empty() {
            let speaker = speaker_at(d, (u.start + u.end) / 2.0);
            out.push(Utterance { speaker, ..u });
            continue;
        }
        let mut groups: Vec<(usize, Vec<Word>)> = Vec::new();
        for w in u.words {
            let speaker = speaker_of_word(d, w.start, w.end);
            match groups.last_mut() {
                Some((s, words)) if *s == speaker => words.push(w),
                _ => groups.push((speaker, vec![w])),
            }
        }
        out.extend(
            groups
                .into_iter()
                .filter_map(|(speaker, words)| utterance_of_words(speaker, words, joiner)),
        );
    }
    out.sort_by(|a, b| a.start.total_cmp(&b.start));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(start: f64, text: &str) -> Word {
        Word::new(start, start + 0.4, text)
    }

    #[test]
    fn an_utterance_is_split_where_the_voice_changes() {
        let d = Diarization {
            turns: [vec![Span::new(0.0, 2.0)], vec![Span::new(2.0, 4.0)]],
            centroid_cosine: 0.3,
        };
        let u = Utterance {
            speaker: 0,
            start: 0.0,
            end: 4.0,
            text: "Hello there. Hi!".into(),
            words: vec![word(0.1, "Hello"), word(0.8, "there."), word(2.5, "Hi!")],
        };
        let out = assign(vec![u], &d, " ");
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].speaker, out[0].text.as_str()), (0, "Hello there."));
        assert_eq!((out[1].speaker, out[1].text.as_str()), (1, "Hi!"));
        let no_words = Utterance {
            speaker: 0,
            start: 2.2,
            end: 3.8,
            text: "Hm.".into(),
            words: vec![],
        };
        assert_eq!(assign(vec![no_words], &d, " ")[0].speaker, 1);
    }

    #[test]
    fn a_word_stretched_back_over_a_pause_belongs_to_whoever_ends_it() {
        let d = Diarization {
            turns: [vec![Span::new(0.0, 1.0)], vec![Span::new(1.6, 3.0)]],
            centroid_cosine: 0.3,
        };
        // "Hello?" by speaker 0, then speaker 1's "Yes," aligned from 0.8 s.
        assert_eq!(speaker_of_word(&d, 0.8, 1.9), 1);
        assert_eq!(speaker_of_word(&d, 0.2, 0.9), 0);
        // Ending in the pause: where most of it was said.
        assert_eq!(speaker_of_word(&d, 0.7, 1.3), 0);
    }

    #[test]
    fn uncovered_speech_is_subtracted() {
        let turns = [vec![Span::new(1.0, 2.0)], vec![Span::new(3.0, 4.0)]];
        assert_eq!(
            subtract(Span::new(0.0, 5.0), &turns),
            vec![
                Span::new(0.0, 1.0),
                Span::new(2.0, 3.0),
                Span::new(4.0, 5.0)
            ]
        );
    }
}
