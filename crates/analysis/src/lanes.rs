//! Recognition work shared out between the model's parallel workers. A channel's
//! stretches of speech are decoded in order, each conditioned on the text before it; so a
//! lane is a list of runs of consecutive stretches. One lane per channel leaves a core
//! idle once the quieter party's channel is done; instead the stretches of all channels
//! are laid end to end and cut into lanes of equal work, which breaks the conditioning at
//! most once per lane.

use std::ops::Range;

/// What a stretch costs beyond its length, in seconds of audio: its last window is mostly
/// short, and the encoder always runs on a full 30 s window, whatever speech it holds.
pub const WINDOW_OVERHEAD_SECONDS: f64 = 10.0;

/// Consecutive stretches of one channel, decoded in order by one worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub channel: usize,
    pub stretches: Range<usize>,
}

/// Splits the stretches of every channel (`costs[channel][stretch]`) into at most
/// `lanes` lanes of about equal cost, each a list of runs. Every stretch is in exactly one run.
pub fn plan(costs: &[Vec<f64>], lanes: usize) -> Vec<Vec<Run>> {
    let total: f64 = costs.iter().flatten().sum();
    let lanes = lanes.max(1);
    let mut out: Vec<Vec<Run>> = vec![Vec::new()];
    let mut done = 0.0;
    for (channel, stretches) in costs.iter().enumerate() {
        let mut run_start = 0;
        for (i, cost) in stretches.iter().enumerate() {
            // A new lane starts where the work done so far is nearest its share.
            let target = total * out.len() as f64 / lanes as f64;
            if out.len() < lanes && done + cost / 2.0 > target && done > 0.0 {
                if i > run_start {
                    push(&mut out, channel, run_start..i);
                }
                run_start = i;
                out.push(Vec::new());
            }
            done += cost;
        }
        if stretches.len() > run_start {
            push(&mut out, channel, run_start..stretches.len());
        }
    }
    out.retain(|lane| !lane.is_empty());
    out
}

fn push(lanes: &mut [Vec<Run>], channel: usize, stretches: Range<usize>) {
    if let Some(lane) = lanes.last_mut() {
        lane.push(Run { channel, stretches });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cost(lane: &[Run], costs: &[Vec<f64>]) -> f64 {
        lane.iter()
            .map(|r| costs[r.channel][r.stretches.clone()].iter().sum::<f64>())
            .sum()
    }

    #[test]
    fn a_busy_channel_is_split_and_a_quiet_one_shares_its_lane() {
        let costs = vec![vec![1.0; 6], vec![1.0; 2]];
        let plan = plan(&costs, 2);
        assert_eq!(
            plan,
            [
                vec![Run {
                    channel: 0,
                    stretches: 0..4
                }],
                vec![
                    Run {
                        channel: 0,
                        stretches: 4..6
                    },
                    Run {
                        channel: 1,
                        stretches: 0..2
                    }
                ],
            ]
        );
    }

    #[test]
    fn equal_channels_keep_their_conditioning_whole() {
        let costs = vec![vec![2.0; 5], vec![2.0; 5]];
        let plan = plan(&costs, 2);
        assert_eq!(plan.len(), 2);
        assert!(plan.iter().all(|lane| lane.len() == 1));
    }

    #[test]
    fn one_lane_or_no_work() {
        let costs = vec![vec![1.0; 3], vec![1.0; 2]];
        assert_eq!(plan(&costs, 1).len(), 1);
        assert_eq!(plan(&costs, 1)[0].len(), 2);
        assert!(plan(&[vec![], vec![]], 2).is_empty());
    }

    proptest! {
        #[test]
        fn every_stretch_once_and_lanes_balanced(
            costs in proptest::collection::vec(
                proptest::collection::vec(1.0f64..40.0, 0..30), 1..3),
            lanes in 1usize..4,
        ) {
            let plan = plan(&costs, lanes);
            prop_assert!(plan.len() <= lanes);
            let mut seen: Vec<Vec<usize>> = costs.iter().map(|c| vec![0; c.len()]).collect();
            for run in plan.iter().flatten() {
                prop_assert!(!run.stretches.is_empty());
                for i in run.stretches.clone() {
                    seen[run.channel][i] += 1;
                }
            }
            prop_assert!(seen.iter().flatten().all(|n| *n == 1));
            // No lane exceeds its share by more than the dearest stretch.
            let total: f64 = costs.iter().flatten().sum();
            let dearest = costs.iter().flatten().copied().fold(0.0, f64::max);
            for lane in &plan {
                prop_assert!(cost(lane, &costs) <= total / lanes as f64 + dearest + 1e-9);
            }
        }
    }
}
