//! Stretches of joined speech, as faster-whisper's VAD filter makes them: the spans of a
//! channel are joined back to back (the silence between them dropped), so the model never
//! sees long silence (where it hallucinates). The recogniser reads a stretch through in
//! Whisper's 30 s windows, each starting where the text before it was complete. Times in
//! a stretch map back to the recording.

use kiku_domain::metrics::Span;

/// Silence put between joined spans: Whisper drops or merges sentences that follow each
/// other without a pause.
pub const JOINT_GAP_SECONDS: f64 = 0.4;

/// One stretch: the recording's spans it holds, in order, and where each starts inside it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stretch {
    pieces: Vec<(Span, f64)>,
}

impl Stretch {
    pub fn seconds(&self) -> f64 {
        self.pieces.last().map_or(0.0, |(s, at)| at + s.len())
    }

    /// Speech in the stretch after stretch time `t`.
    pub fn speech_after(&self, t: f64) -> f64 {
        self.pieces
            .iter()
            .map(|(s, at)| (at + s.len() - t.max(*at)).max(0.0))
            .sum()
    }

    /// Speech in the stretch, without the gaps between its pieces.
    pub fn speech_seconds(&self) -> f64 {
        self.pieces.iter().map(|(s, _)| s.len()).sum()
    }

    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        self.pieces.iter().map(|(s, _)| s)
    }

    /// The stretch's samples taken from 16 kHz `samples` of the recording.
    pub fn samples(&self, samples: &[f32], rate: f64) -> Vec<f32> {
        let mut out = Vec::new();
        for (span, at) in &self.pieces {
            out.resize(((at * rate) as usize).max(out.len()), 0.0);
            let from = ((span.start * rate) as usize).min(samples.len());
            let to = ((span.end * rate) as usize).clamp(from, samples.len());
            out.extend_from_slice(&samples[from..to]);
        }
        out
    }

    /// The recording's span holding stretch time `t` (the later one at a joint).
    pub fn span_at(&self, t: f64) -> Span {
        self.pieces
            .iter()
            .rev()
            .find(|(_, at)| t >= *at)
            .or(self.pieces.first())
            .map_or(Span::new(t, t), |(span, _)| *span)
    }

    /// Where a word aligned to start at stretch time `t` starts: in a joint's silence it
    /// starts with the next piece, because the aligner starts the first word after a
    /// pause early, and no word is said in the silence Kiku put there.
    pub fn word_start(&self, t: f64) -> f64 {
        self.pieces
            .windows(2)
            .find(|pair| {
                let (earlier, at) = pair[0];
                t >= at + earlier.len() && t < pair[1].1
            })
            .map_or(t, |pair| pair[1].1)
    }

    /// The recording time of `t` seconds into the stretch. A time at a joint belongs to the
    /// later piece when `starting` (a segment begins there), to the earlier one otherwise.
    pub fn to_recording(&self, t: f64, starting: bool) -> f64 {
        let mut best = None;
        for (span, at) in &self.pieces {
            let inside = if starting {
                t >= *at
            } else {
                t > *at || best.is_none()
            };
            if inside {
                best = Some((span, at));
            }
        }
        best.map_or(t, |(span, at)| (span.start + (t - at)).min(span.end))
    }
}

/// Speech heard around a span's edges: the VAD's spans are tight (its timing metrics need
/// them so), and Whisper cut off at a word's last sound or fed short pauses spliced
/// out mis-hears more; it gets a little more of the edges and the short pauses back.
pub const HEARD_PAD_SECONDS: f64 = 0.2;
/// Pauses shorter than this stay in the audio the model hears.
pub const HEARD_BRIDGE_SECONDS: f64 = 1.5;

/// What the model is given of a channel whose speech is `speech` (sorted, disjoint) in
/// a recording of `duration` seconds: each span widened by [`HEARD_PAD_SECONDS`], and
/// pauses shorter than [`HEARD_BRIDGE_SECONDS`] kept.
pub fn heard(speech: &[Span], duration: f64) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for span in speech {
        let wide = Span::new(
            (span.start - HEARD_PAD_SECONDS).max(0.0),
            (span.end + HEARD_PAD_SECONDS).min(duration),
        );
        match out.last_mut() {
            Some(last) if wide.start - last.end < HEARD_BRIDGE_SECONDS => {
                last.end = wide.end.max(last.end);
            }
            _ => out.push(wide),
        }
    }
    out
}

/// Packs `spans` (sorted, disjoint) into stretches of at most `max_seconds`; a span longer
/// than that is cut into pieces.
pub fn stretches(spans: &[Span], max_seconds: f64) -> Vec<Stretch> {
    let mut out: Vec<Stretch> = Vec::new();
    let mut current = Stretch { pieces: Vec::new() };
    for span in spans {
        let mut rest = *span;
        while !rest.is_empty() {
            let gap = if current.pieces.is_empty() {
                0.0
            } else {
                JOINT_GAP_SECONDS
            };
            let room = max_seconds - current.seconds() - gap;
            if room < 0.5 || (rest.len() > room && rest.len() <= max_seconds && room < 5.0) {
                // Start a fresh stretch rather than splitting a turn for a little room.
                out.push(std::mem::replace(
                    &mut current,
                    Stretch { pieces: Vec::new() },
                ));
                continue;
            }
            let take = rest.len().min(room);
            let at = current.seconds() + gap;
            current
                .pieces
                .push((Span::new(rest.start, rest.start + take), at));
            rest = Span::new(rest.start + take, rest.end);
        }
    }
    if !current.pieces.is_empty() {
        out.push(current);
    }
    out.retain(|w| !w.pieces.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spans_are_joined_with_a_gap_and_map_back() {
        let spans = [Span::new(2.0, 7.0), Span::new(20.0, 24.0)];
        let w = stretches(&spans, 30.0);
        assert_eq!(w.len(), 1);
        // 5 s, a 0.4 s gap, 4 s.
        assert_eq!(w[0].seconds(), 9.4);
        assert_eq!(w[0].speech_seconds(), 9.0);
        assert_eq!(w[0].speech_after(0.0), 9.0);
        assert!(
            (w[0].speech_after(4.0) - 5.0).abs() < 1e-9,
            "1 s of the first, all the second"
        );
        assert_eq!(w[0].speech_after(9.4), 0.0);
        assert_eq!(w[0].to_recording(1.0, true), 3.0);
        assert_eq!(
            w[0].to_recording(5.4, true),
            20.0,
            "the later turn starts after the gap"
        );
        assert_eq!(
            w[0].to_recording(5.2, false),
            7.0,
            "a time in the gap ends the earlier turn"
        );
        assert_eq!(w[0].to_recording(8.4, false), 23.0);
        // A word aligned into the gap is the later piece's first word.
        assert_eq!(w[0].word_start(5.1), 5.4);
        assert_eq!(w[0].word_start(4.9), 4.9);
        assert_eq!(w[0].word_start(6.0), 6.0);
        assert_eq!(w[0].span_at(5.4), Span::new(20.0, 24.0));
        assert_eq!(w[0].span_at(0.0), Span::new(2.0, 7.0));
        let samples: Vec<f32> = (1..=16_000 * 30).map(|i| i as f32).collect();
        let audio = w[0].samples(&samples, 16_000.0);
        assert_eq!(audio.len(), 16_000 * 94 / 10);
        assert_eq!(audio[16_000 * 5 + 100], 0.0, "silence in the gap");
        assert_eq!(audio[16_000 * 54 / 10], 20.0 * 16_000.0 + 1.0);
    }

    #[test]
    fn long_speech_is_cut_and_turns_are_not_split_for_a_little_room() {
        let w = stretches(&[Span::new(0.0, 70.0)], 30.0);
        assert_eq!(
            w.iter().map(Stretch::seconds).collect::<Vec<_>>(),
            [30.0, 30.0, 10.0]
        );
        let w = stretches(&[Span::new(0.0, 27.0), Span::new(30.0, 40.0)], 30.0);
        assert_eq!(w.len(), 2, "the 10 s turn goes whole into the next stretch");
    }

    #[test]
    fn the_model_hears_the_edges_and_the_short_pauses() {
        let speech = [
            Span::new(0.1, 2.0),
            Span::new(2.5, 4.0),
            Span::new(6.0, 7.0),
            Span::new(9.8, 9.95),
        ];
        let expected = [(0.0, 4.2), (5.8, 7.2), (9.6, 10.0)];
        let got = heard(&speech, 10.0);
        assert_eq!(got.len(), expected.len(), "{got:?}");
        for (g, (start, end)) in got.iter().zip(expected) {
            assert!(
                (g.start - start).abs() < 1e-9 && (g.end - end).abs() < 1e-9,
                "{got:?}"
            );
        }
        assert!(heard(&[], 10.0).is_empty());
    }

    proptest! {
        #[test]
        fn heard_speech_holds_all_speech_and_stays_in_the_recording(
            raw in proptest::collection::vec((0.0f64..600.0, 0.01f64..80.0), 0..40)
        ) {
            let speech = kiku_domain::metrics::timeline::merge(
                &raw.iter().map(|(s, l)| Span::new(*s, (s + l).min(700.0))).collect::<Vec<_>>(),
            );
            let wide = heard(&speech, 700.0);
            prop_assert!(wide.windows(2).all(|p| p[1].start - p[0].end >= HEARD_BRIDGE_SECONDS));
            prop_assert!(wide.iter().all(|w| w.start >= 0.0 && w.end <= 700.0));
            prop_assert!(speech.iter().all(|s| wide.iter().any(|w| w.start <= s.start && s.end <= w.end)));
        }

        #[test]
        fn stretches_cover_every_span_within_the_limit(
            raw in proptest::collection::vec((0.0f64..600.0, 0.01f64..80.0), 0..40)
        ) {
            let spans = kiku_domain::metrics::timeline::merge(
                &raw.iter().map(|(s, l)| Span::new(*s, s + l)).collect::<Vec<_>>(),
            );
            let w = stretches(&spans, 30.0);
            let covered: f64 = w.iter().map(Stretch::speech_seconds).sum();
            let total: f64 = spans.iter().map(Span::len).sum();
            prop_assert!((covered - total).abs() < 1e-6);
            prop_assert!(w.iter().all(|w| w.seconds() <= 30.0 + 1e-9));
        }
    }
}
