//! How far a diarization is from the truth, as diarization benchmarks measure it.

use kiku_domain::metrics::Span;

const FRAME_SECONDS: f64 = 0.01;

/// Diarization error rate of `hypothesis` against `reference` (each: the speech of speaker
/// 0 and 1): (missed + false alarm + confused speech) / reference speech, on 10 ms frames,
/// under the better of the two speaker mappings. Frames within `collar` seconds of a
/// reference boundary, and frames where the reference has both speaking, are not scored
/// (the usual conventions: boundaries are fuzzy, and two labels cannot both be right).
pub fn diarization_error_rate(
    reference: &[Vec<Span>; 2],
    hypothesis: &[Vec<Span>; 2],
    collar: f64,
) -> f64 {
    let end = reference
        .iter()
        .chain(hypothesis)
        .flatten()
        .map(|s| s.end)
        .fold(0.0, f64::max);
    let frames = (end / FRAME_SECONDS).ceil() as usize;
    let mut scored = vec![true; frames];
    for s in reference.iter().flatten() {
        for edge in [s.start, s.end] {
            let (a, b) = (frame(edge - collar), frame(edge + collar).min(frames));
            scored[a.min(frames)..b].iter_mut().for_each(|f| *f = false);
        }
    }
    let speaking = |spans: &[Span]| {
        let mut on = vec![false; frames];
        for s in spans {
            let (a, b) = (frame(s.start).min(frames), frame(s.end).min(frames));
            on[a..b].iter_mut().for_each(|f| *f = true);
        }
        on
    };
    let r = [speaking(&reference[0]), speaking(&reference[1])];
    let h = [speaking(&hypothesis[0]), speaking(&hypothesis[1])];
    let (mut speech, mut errors) = (0usize, [0usize; 2]);
    for i in (0..frames).filter(|&i| scored[i] && !(r[0][i] && r[1][i])) {
        let ref_count = usize::from(r[0][i]) + usize::from(r[1][i]);
        let hyp_count = usize::from(h[0][i]) + usize::from(h[1][i]);
        speech += ref_count;
        for (mapping, error) in errors.iter_mut().enumerate() {
            // mapping 0: hypothesis speaker k is reference speaker k; 1: swapped.
            let correct = (0..2).filter(|&k| r[k][i] && h[k ^ mapping][i]).count();
            *error += ref_count.max(hyp_count) - correct;
        }
    }
    if speech == 0 {
        return 0.0;
    }
    errors[0].min(errors[1]) as f64 / speech as f64
}

fn frame(t: f64) -> usize {
    (t.max(0.0) / FRAME_SECONDS).round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(list: &[(f64, f64)]) -> Vec<Span> {
        list.iter().map(|&(a, b)| Span::new(a, b)).collect()
    }

    #[test]
    fn a_perfect_or_swapped_answer_scores_zero() {
        let truth = [spans(&[(0.0, 2.0), (4.0, 5.0)]), spans(&[(2.5, 3.5)])];
        assert_eq!(diarization_error_rate(&truth, &truth, 0.0), 0.0);
        let swapped = [truth[1].clone(), truth[0].clone()];
        assert_eq!(diarization_error_rate(&truth, &swapped, 0.0), 0.0);
    }

    #[test]
    fn misses_false_alarms_and_confusion_add_up() {
        let truth = [spans(&[(0.0, 4.0)]), spans(&[(6.0, 10.0)])];
        // 1 s of speaker 1 given to speaker 0, 1 s missed, 1 s of silence called speech.
        let answer = [
            spans(&[(0.0, 4.0), (6.0, 7.0)]),
            spans(&[(8.0, 10.0), (4.5, 5.5)]),
        ];
        let der = diarization_error_rate(&truth, &answer, 0.0);
        assert!((der - 3.0 / 8.0).abs() < 0.01, "{der}");
    }

    #[test]
    fn the_collar_and_overlaps_are_not_scored() {
        let truth = [spans(&[(0.0, 4.0)]), spans(&[(3.0, 8.0)])];
        // Wrong by 0.2 s at each edge and silent in the overlap: all forgiven.
        let answer = [spans(&[(0.0, 2.8)]), spans(&[(4.2, 8.2)])];
        let der = diarization_error_rate(&truth, &answer, 0.25);
        assert!(der < 0.01, "{der}");
    }
}
