//! Reading a number out: in one breath or in pieces over several phrases, with fillers.

use crate::call::{p, t, Builder};
use crate::rng::Rng;
use crate::speak::{say_groups, Form};

/// `speaker` says `before`, the number (`groups` in `form`, planted as `entity`), then
/// `after`; a third of the time in 2–4 phrases with short pauses and `fillers` between.
#[allow(clippy::too_many_arguments)]
pub fn read_out(
    b: &mut Builder,
    rng: &Rng,
    speaker: usize,
    before: &str,
    entity: usize,
    groups: &[String],
    form: Form,
    after: &str,
    fillers: &[&str],
) {
    if groups.len() < 2 || !rng.chance(0.35) {
        let said = say_groups(rng, groups, form);
        b.say(rng, speaker, vec![t(before), p(entity, said), t(after)]);
        return;
    }
    let phrases = rng.range(2, groups.len().min(4));
    // Split the groups into `phrases` non-empty chunks.
    let mut cuts: Vec<usize> = (1..groups.len()).collect();
    rng.shuffle(&mut cuts);
    let mut cuts: Vec<usize> = cuts.into_iter().take(phrases - 1).collect();
    cuts.sort_unstable();
    let mut from = 0;
    for (i, to) in cuts.into_iter().chain([groups.len()]).enumerate() {
        let said = say_groups(rng, &groups[from..to], form);
        let mut pieces = Vec::new();
        if i == 0 {
            pieces.push(t(before));
        } else if rng.chance(0.4) {
            pieces.push(t(rng.pick(fillers)));
        }
        pieces.push(p(entity, said));
        if to == groups.len() {
            pieces.push(t(after));
            b.go_on(rng, speaker, pieces);
        } else if i == 0 {
            b.say(rng, speaker, pieces);
        } else {
            b.go_on(rng, speaker, pieces);
        }
        from = to;
    }
}
