//! MONAURAL calls: both voices on one channel. Speech is cut into overlapping 1.5 s
//! windows, each embedded by the speaker encoder, the embeddings clustered into two voices
//! ([`crate::diarize`]), and recognised words handed to the voice speaking at their time —
//! so a phrase is split where the speaker changes inside it.

use kiku_domain::analysis::{Utterance, Word};
use kiku_domain::metrics::timeline::intersect;
use kiku_domain::metrics::Span;

use crate::diarize::{self, Diarization, Window};
use crate::pipeline::utterance_of_words;
use crate::speaker::{normalize_volume, SpeakerEncoder, N_MELS};

/// Speaker windows: 1.5 s (150 frames of 10 ms), every 0.75 s.
const WINDOW_FRAMES: usize = 150;
const HOP_FRAMES: usize = 75;
/// Spans shorter than this carry too little voice to embed on their own.
const MIN_WINDOW_FRAMES: usize = 40;
const FRAME_SECONDS: f64 = 0.01;

/// Who spoke when in 16 kHz `samples` whose speech is `spans`.
pub fn diarize_speech(encoder: &SpeakerEncoder, samples: &[f32], spans: &[Span]) -> Diarization {
    // The encoder's embeddings drift with loudness: level the recording once, as a whole.
    let mut levelled = samples.to_vec();
    normalize_volume(&mut levelled);
    let mel = SpeakerEncoder::mel_frames(&levelled);
    drop(levelled);
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for span in spans {
        let first = (span.start / FRAME_SECONDS) as usize;
        let last = ((span.end / FRAME_SECONDS) as usize).min(mel.len());
        if last <= first || last - first < MIN_WINDOW_FRAMES {
            continue;
        }
        let mut start = first;
        loop {
            let end = (start + WINDOW_FRAMES).min(last);
            ranges.push((start, end));
            if end == last {
                break;
            }
            start = (start + HOP_FRAMES).min(last.saturating_sub(WINDOW_FRAMES).max(first));
        }
    }
    let frames: Vec<&[[f32; N_MELS]]> = ranges.iter().map(|&(a, b)| &mel[a..b]).collect();
    let embeddings = encoder.embed_windows(&frames);
    let windows: Vec<Window> = ranges
        .iter()
        .zip(embeddings)
        .map(|(&(a, b), embedding)| Window {
            span: Span::new(a as f64 * FRAME_SECONDS, b as f64 * FRAME_SECONDS),
            embedding,
        })
        .collect();
    let mut d = diarize::diarize(&windows);
    // Turns hold speech only; short spans that had no window join the nearest turn.
    for turn in &mut d.turns {
        *turn = intersect(turn, spans);
    }
    for span in spans {
        let covered: f64 = d
            .turns
            .iter()
            .flat_map(|t| intersect(t, &[*span]))
            .map(|s| s.len())
            .sum();
        if covered + 1e-6 < span.len() {
            let speaker = nearest_speaker(&d, span.start);
            let missing = subtract(*span, &d.turns);
            d.turns[speaker].extend(missing);
            d.turns[speaker].sort_by(|a, b| a.start.total_cmp(&b.start));
        }
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

/// The parts of `span` no turn covers.
fn subtract(span: Span, turns: &[Vec<Span>; 2]) -> Vec<Span> {
    let mut covered: Vec<Span> = turns.iter().flat_map(|t| intersect(t, &[span])).collect();
    covered.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out = Vec::new();
    let mut at = span.start;
    for c in covered {
        if c.start > at {
            out.push(Span::new(at, c.start));
        }
        at = at.max(c.end);
    }
    if at < span.end {
        out.push(Span::new(at, span.end));
    }
    out
}

/// The speaker at time `t`: the turn holding it, else the nearest.
fn speaker_at(d: &Diarization, t: f64) -> usize {
    for (speaker, turns) in d.turns.iter().enumerate() {
        if turns.iter().any(|s| s.start <= t && t <= s.end) {
            return speaker;
        }
    }
    nearest_speaker(d, t)
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
            let speaker = speaker_at(d, (w.start + w.end) / 2.0);
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
        Word {
            start,
            end: start + 0.4,
            text: text.into(),
        }
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
