//! Two voices from one channel: speaker embeddings of short overlapping windows of speech
//! are split into two clusters (or judged to be one voice), labels are smoothed over time,
//! and turns are cut where the label changes. The embeddings come from
//! [`crate::speaker`]; this module is only the arithmetic on them.

use kiku_domain::metrics::Span;

use crate::speaker::cosine;

/// One voice split in two looks like this: centroids at least this close (cosine)…
/// Measured on generated calls: one voice split in two gives 0.91–0.95; two voices
/// 0.63–0.95 (similar voices overlap one voice's range, so closeness alone cannot tell).
const SAME_VOICE_COSINE: f32 = 0.85;
/// …and mean pitches within this ratio: one voice split in two 1.005–1.011, two voices
/// (similar ones included) 1.14 and more.
const SAME_VOICE_PITCH_RATIO: f64 = 1.06;
/// Without pitch (unvoiced speech), closeness alone decides.
const SAME_VOICE_COSINE_WITHOUT_PITCH: f32 = 0.92;
/// Windows at least this long (most are 1.5 s) place the clusters.
const STEADY_WINDOW_SECONDS: f64 = 1.0;
/// Labels are smoothed with a majority vote over this many neighbouring windows.
const SMOOTHING: usize = 5;

/// An embedding of the speech in `span`, cut from stretch `segment` of uninterrupted
/// speech (windows never cross a pause).
#[derive(Clone, Debug)]
pub struct Window {
    pub span: Span,
    pub segment: usize,
    pub embedding: Vec<f32>,
}

/// Who spoke when: turns of speaker 0 and speaker 1 (speaker 1 empty for one voice).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diarization {
    pub turns: [Vec<Span>; 2],
    /// Cosine similarity of the two clusters' centroids (1 when all windows fell in one).
    pub centroid_cosine: f32,
}

/// Labels `windows` (in time order) as speaker 0 or 1 and cuts the speech into turns.
/// Speaker 0 is whoever speaks first.
pub fn diarize(windows: &[Window]) -> Diarization {
    if windows.is_empty() {
        return Diarization::default();
    }
    let (labels, centroid_cosine) = two_means(windows);
    let mut labels = smooth(windows, &labels);
    if labels.first() == Some(&1) {
        labels.iter_mut().for_each(|l| *l = 1 - *l);
    }
    let mut turns: [Vec<Span>; 2] = [Vec::new(), Vec::new()];
    for (i, window) in windows.iter().enumerate() {
        // Overlapping windows share their overlap: each owns the time up to the midpoints.
        let start = match i.checked_sub(1).map(|p| &windows[p]) {
            Some(prev) if prev.span.end > window.span.start => {
                (window.span.start + prev.span.end) / 2.0
            }
            _ => window.span.start,
        };
        let end = match windows.get(i + 1) {
            Some(next) if next.span.start < window.span.end => {
                (next.span.start + window.span.end) / 2.0
            }
            _ => window.span.end,
        };
        let turn = Span::new(start, end);
        let own = &mut turns[labels[i]];
        match own.last_mut() {
            Some(last) if turn.start - last.end < 1e-6 => last.end = last.end.max(turn.end),
            _ => own.push(turn),
        }
    }
    Diarization {
        turns,
        centroid_cosine,
    }
}

/// Whether two clusters are one voice split in two (a single-speaker recording must not
/// invent a second speaker): close embeddings and the same pitch. `f0_hz` is each
/// cluster's mean pitch, when it has voiced speech.
pub fn is_one_voice(centroid_cosine: f32, f0_hz: [Option<f64>; 2]) -> bool {
    match f0_hz {
        [Some(a), Some(b)] if a > 0.0 && b > 0.0 => {
            centroid_cosine >= SAME_VOICE_COSINE && a.max(b) / a.min(b) < SAME_VOICE_PITCH_RATIO
        }
        _ => centroid_cosine >= SAME_VOICE_COSINE_WITHOUT_PITCH,
    }
}

/// k-means with k = 2 on cosine similarity, started from the two least similar windows.
fn two_means(windows: &[Window]) -> (Vec<usize>, f32) {
    let n = windows.len();
    if n < 2 {
        return (vec![0; n], 1.0);
    }
    // Short windows embed poorly: they are labelled, but seed and move no centroid (when
    // there are enough long ones), or an outlier pair of them splits the call wrongly.
    let long: Vec<bool> = windows
        .iter()
        .map(|w| w.span.len() >= STEADY_WINDOW_SECONDS)
        .collect();
    let steady = if long.iter().filter(|l| **l).count() >= 2 {
        long
    } else {
        vec![true; n]
    };
    let candidates: Vec<usize> = (0..n).filter(|&i| steady[i]).collect();
    let mut seed = (candidates[0], candidates[1], f32::MAX);
    // Comparing every window with a stride keeps this near-linear on long calls.
    let stride = (candidates.len() / 200).max(1);
    for (a, &i) in candidates.iter().enumerate().step_by(stride) {
        for &j in candidates[a + 1..].iter().step_by(stride) {
            let c = cosine(&windows[i].embedding, &windows[j].embedding);
            if c < seed.2 {
                seed = (i, j, c);
            }
        }
    }
    let mut centroids = [
        windows[seed.0].embedding.clone(),
        windows[seed.1].embedding.clone(),
    ];
    let mut labels = vec![0; n];
    for _ in 0..20 {
        let next: Vec<usize> = windows
            .iter()
            .map(|w| {
                usize::from(
                    cosine(&w.embedding, &centroids[1]) > cosine(&w.embedding, &centroids[0]),
                )
            })
            .collect();
        let settled = next == labels;
        labels = next;
        for (k, centroid) in centroids.iter_mut().enumerate() {
            let members: Vec<&Window> = windows
                .iter()
                .zip(&labels)
                .zip(&steady)
                .filter(|((_, l), s)| **l == k && **s)
                .map(|((w, _), _)| w)
                .collect();
            if members.is_empty() {
                continue;
            }
            let mut sum = vec![0.0f32; centroid.len()];
            for m in members {
                for (s, x) in sum.iter_mut().zip(&m.embedding) {
                    *s += x;
                }
            }
            *centroid = sum;
        }
        if settled {
            break;
        }
    }
    let counts = [
        labels.iter().filter(|l| **l == 0).count(),
        labels.iter().filter(|l| **l == 1).count(),
    ];
    if counts.contains(&0) {
        return (vec![0; n], 1.0);
    }
    (labels, cosine(&centroids[0], &centroids[1]))
}

/// Majority vote over a centred run of [`SMOOTHING`] windows of the same stretch of speech
/// (a blip of one or two windows inside a turn is noise, not a turn). The vote stops at
/// pauses: a short reply between two long turns of the other voice is a turn of its own.
fn smooth(windows: &[Window], labels: &[usize]) -> Vec<usize> {
    let half = SMOOTHING / 2;
    (0..labels.len())
        .map(|i| {
            let same = |j: &usize| windows[*j].segment == windows[i].segment;
            let from = (i.saturating_sub(half)..i).find(same).unwrap_or(i);
            let to = (i + 1..(i + half + 1).min(labels.len()))
                .rev()
                .find(same)
                .map_or(i + 1, |j| j + 1);
            let ones = labels[from..to].iter().filter(|l| **l == 1).count();
            match (ones * 2).cmp(&(to - from)) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => 0,
                // A tie (an even run cut by a pause) keeps the window's own label.
                std::cmp::Ordering::Equal => labels[i],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit vector near `axis` with a little per-window wobble.
    fn voice(axis: usize, i: usize) -> Vec<f32> {
        let mut v = vec![0.05f32; 8];
        v[axis] = 1.0;
        v[(i % 3) + 4] += 0.2;
        v
    }

    fn windows(labels: &[usize]) -> Vec<Window> {
        labels
            .iter()
            .enumerate()
            .map(|(i, &l)| Window {
                span: Span::new(i as f64 * 0.75, i as f64 * 0.75 + 1.5),
                segment: 0,
                embedding: voice(l, i),
            })
            .collect()
    }

    #[test]
    fn two_voices_become_two_speakers_with_turns_at_the_changes() {
        let truth = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1];
        let d = diarize(&windows(&truth));
        assert!(d.centroid_cosine < 0.5);
        // The first voice is speaker 0 whatever its cluster.
        assert_eq!(d.turns[0].len(), 2);
        assert_eq!(d.turns[1].len(), 1);
        // Windows 4–8 are the second voice; each owns its time up to the midpoints of the
        // overlaps with its neighbours: (3.0 + 3.75) / 2 to (6.75 + 7.5) / 2.
        assert_eq!(d.turns[1], vec![Span::new(3.375, 7.125)]);
        let speech: f64 = d.turns.iter().flatten().map(Span::len).sum();
        assert!(
            (speech - (12.0 * 0.75 + 1.5)).abs() < 1e-9,
            "turns cover the speech once"
        );
    }

    #[test]
    fn one_voice_is_close_embeddings_and_the_same_pitch() {
        assert!(is_one_voice(0.95, [Some(82.0), Some(82.7)]));
        assert!(is_one_voice(0.91, [Some(124.4), Some(123.0)]));
        // Similar voices: as close as one voice, but pitched apart.
        assert!(!is_one_voice(0.95, [Some(87.4), Some(112.2)]));
        assert!(!is_one_voice(0.7, [Some(100.0), Some(101.0)]));
        assert!(is_one_voice(0.93, [Some(100.0), None]));
        assert!(!is_one_voice(0.9, [None, None]));
    }

    #[test]
    fn a_one_window_blip_is_smoothed_away() {
        let d = diarize(&windows(&[0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]));
        assert_eq!(d.turns[0].len(), 1, "{d:?}");
        assert_eq!(d.turns[1].len(), 1, "{d:?}");
    }

    #[test]
    fn a_short_reply_between_pauses_is_its_own_turn() {
        // "Yes." (one window, its own stretch of speech) between two long turns.
        let mut w = windows(&[0, 0, 0, 0, 1, 0, 0, 0, 0]);
        for (i, window) in w.iter_mut().enumerate() {
            window.segment = match i {
                0..=3 => 0,
                4 => 1,
                _ => 2,
            };
        }
        let d = diarize(&w);
        assert_eq!(d.turns[1].len(), 1, "{d:?}");
        assert_eq!(d.turns[0].len(), 2, "{d:?}");
    }

    #[test]
    fn short_outlier_windows_do_not_place_the_clusters() {
        let mut w = windows(&[0, 0, 0, 0, 1, 1, 1, 1]);
        // Two 0.4 s scraps, unlike anything else and unlike each other.
        for (i, axis) in [(2, 6), (6, 7)] {
            w[i].span = Span::new(w[i].span.start, w[i].span.start + 0.4);
            w[i].embedding = vec![0.0; 8];
            w[i].embedding[axis] = 1.0;
        }
        let (labels, _) = two_means(&w);
        assert_eq!(labels[0], labels[3]);
        assert_eq!(labels[4], labels[7]);
        assert_ne!(labels[0], labels[4], "{labels:?}");
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert_eq!(diarize(&[]), Diarization::default());
    }
}
