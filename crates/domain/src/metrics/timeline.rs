//! Who spoke when, as two sets of speech spans, and the metrics derived from them.

use serde::{Deserialize, Serialize};

/// A stretch of time in seconds from the start of the recording; `start ≤ end`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start: f64,
    pub end: f64,
}

impl Span {
    pub fn new(start: f64, end: f64) -> Self {
        Self {
            start: start.min(end),
            end: end.max(start),
        }
    }

    pub fn len(&self) -> f64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() <= 0.0
    }
}

/// Silences longer than this count (MiiTel: more than 3 s where nobody speaks).
pub const SILENCE_MIN_SECONDS: f64 = 3.0;
/// Overlaps longer than this count (MiiTel: both speaking for more than 1 s).
pub const OVERLAP_MIN_SECONDS: f64 = 1.0;

/// The speech of the user and of the customer over a call of `duration` seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub user: Vec<Span>,
    pub customer: Vec<Span>,
    pub duration: f64,
}

/// Sorted, disjoint spans covering the same time as `spans`.
pub fn merge(spans: &[Span]) -> Vec<Span> {
    let mut sorted: Vec<Span> = spans
        .iter()
        .copied()
        .filter(|s| !s.is_empty() && s.start.is_finite() && s.end.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<Span> = Vec::with_capacity(sorted.len());
    for span in sorted {
        match out.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => out.push(span),
        }
    }
    out
}

pub fn total(spans: &[Span]) -> f64 {
    merge(spans).iter().map(Span::len).sum()
}

/// Where both sets speak at once.
pub fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (a, b) = (merge(a), merge(b));
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            out.push(Span { start, end });
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

impl Timeline {
    pub fn speech(&self) -> Vec<Span> {
        merge(&[self.user.as_slice(), self.customer.as_slice()].concat())
    }

    /// User speaking time over both parties' speaking time; `None` when nobody spoke.
    pub fn talk_ratio(&self) -> Option<f64> {
        let (user, customer) = (total(&self.user), total(&self.customer));
        (user + customer > 0.0).then(|| user / (user + customer))
    }

    /// Gaps of more than [`SILENCE_MIN_SECONDS`] with nobody speaking, between the first
    /// and the last speech of the call (ringing before and hanging up after do not count).
    pub fn silences(&self) -> Vec<Span> {
        self.speech()
            .windows(2)
            .map(|w| Span {
                start: w[0].end,
                end: w[1].start,
            })
            .filter(|gap| gap.len() > SILENCE_MIN_SECONDS)
            .collect()
    }

    /// Stretches of more than [`OVERLAP_MIN_SECONDS`] where both speak.
    pub fn overlaps(&self) -> Vec<Span> {
        intersect(&self.user, &self.customer)
            .into_iter()
            .filter(|o| o.len() > OVERLAP_MIN_SECONDS)
            .collect()
    }

    /// Speaker switches: the number of times consecutive speech (ordered by start) changes
    /// hands.
    pub fn rally_count(&self) -> usize {
        let mut turns: Vec<(f64, bool)> =
            merge(&self.user).iter().map(|s| (s.start, true)).collect();
        turns.extend(merge(&self.customer).iter().map(|s| (s.start, false)));
        turns.sort_by(|a, b| a.0.total_cmp(&b.0));
        turns.windows(2).filter(|w| w[0].1 != w[1].1).count()
    }

    /// Longest time one party held the floor: its consecutive spans joined across pauses
    /// that are not silences (≤ 3 s) and in which the other party did not speak.
    pub fn longest_monologue(own: &[Span], other: &[Span]) -> f64 {
        let own = merge(own);
        let other = merge(other);
        let mut best: f64 = 0.0;
        let mut current: Option<Span> = None;
        for span in own {
            current = match current {
                Some(run)
                    if span.start - run.end <= SILENCE_MIN_SECONDS
                        && !other
                            .iter()
                            .any(|o| o.start < span.start && o.end > run.end) =>
                {
                    Some(Span {
                        start: run.start,
                        end: span.end,
                    })
                }
                Some(run) => {
                    best = best.max(run.len());
                    Some(span)
                }
                None => Some(span),
            };
        }
        best.max(current.map_or(0.0, |r| r.len()))
    }

    pub fn per_minute(&self, count: usize) -> f64 {
        if self.duration <= 0.0 {
            0.0
        } else {
            count as f64 * 60.0 / self.duration
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(start: f64, end: f64) -> Span {
        Span::new(start, end)
    }

    /// user 0–5, customer 4–10 (1 s overlap, not counted), silence 10–14.5,
    /// user 14.5–20, customer 18–25 (2 s overlap), user 25–26.
    fn call() -> Timeline {
        Timeline {
            user: vec![s(0.0, 5.0), s(14.5, 20.0), s(25.0, 26.0)],
            customer: vec![s(4.0, 10.0), s(18.0, 25.0)],
            duration: 30.0,
        }
    }

    #[test]
    fn metrics_of_a_known_call() {
        let t = call();
        assert_eq!(t.silences(), vec![s(10.0, 14.5)]);
        assert_eq!(t.overlaps(), vec![s(18.0, 20.0)]);
        assert_eq!(t.rally_count(), 4);
        let tlr = t.talk_ratio().expect("speech");
        assert!((tlr - 11.5 / 24.5).abs() < 1e-9);
        assert_eq!(Timeline::longest_monologue(&t.customer, &t.user), 7.0);
        assert!((t.per_minute(1) - 2.0).abs() < 1e-9);
        assert_eq!(Timeline::default().talk_ratio(), None);
    }

    #[test]
    fn a_pause_without_the_other_party_continues_a_monologue() {
        let own = [s(0.0, 10.0), s(12.0, 20.0), s(25.0, 30.0)];
        assert_eq!(
            Timeline::longest_monologue(&own, &[]),
            20.0,
            "2 s pause joins, 5 s silence splits"
        );
        assert_eq!(
            Timeline::longest_monologue(&own, &[s(10.5, 11.0)]),
            10.0,
            "an interjection splits"
        );
    }

    fn spans() -> impl Strategy<Value = Vec<Span>> {
        proptest::collection::vec(
            (0.0f64..100.0, 0.0f64..10.0).prop_map(|(a, l)| Span::new(a, a + l)),
            0..12,
        )
    }

    proptest! {
        #[test]
        fn derived_metrics_stay_consistent(user in spans(), customer in spans()) {
            let t = Timeline { user: user.clone(), customer: customer.clone(), duration: 120.0 };
            let overlap = total(&intersect(&user, &customer));
            // Inclusion–exclusion: speech = user + customer − overlap.
            prop_assert!((total(&t.speech()) - (total(&user) + total(&customer) - overlap)).abs() < 1e-6);
            if let Some(r) = t.talk_ratio() { prop_assert!((0.0..=1.0).contains(&r)); }
            for gap in t.silences() {
                prop_assert!(gap.len() > SILENCE_MIN_SECONDS);
                prop_assert!(t.speech().iter().all(|sp| sp.end <= gap.start || sp.start >= gap.end));
            }
            for o in t.overlaps() { prop_assert!(o.len() > OVERLAP_MIN_SECONDS); }
            prop_assert!(Timeline::longest_monologue(&user, &customer) <= total(&[Span::new(0.0, 120.0)]) + 1e-9);
            let swapped = Timeline { user: customer, customer: user, duration: 120.0 };
            prop_assert_eq!(swapped.rally_count(), t.rally_count());
            prop_assert_eq!(swapped.overlaps(), t.overlaps());
        }
    }
}
