//! Precision and recall of Kiku's personal-data detection, per kind, on generated call
//! transcripts in English and Japanese with planted personal data and look-alikes
//! (`bench/run quality`). The detector measured is `kiku_domain::pii::spans`, what the
//! server's redaction replaces.
//!
//! A planted item counts as found when every character of it lies in spans the detector
//! gave the same kind (a number read out over three phrases must be found in all three);
//! "hidden" counts it when the spans covering it are of any kind (what matters for
//! redaction). A detected span is correct when it overlaps planted data of its kind.

mod call;
mod en;
mod ja;
mod numbers;
mod read;
mod rng;
mod speak;

use std::collections::BTreeMap;
use std::ops::Range;

use clap::Parser;
use kiku_domain::pii::{self, PiiKind};

use call::{Builder, Call};
use rng::Rng;

#[derive(Parser)]
#[command(about = "PII detection precision and recall on generated calls")]
struct Args {
    /// Calls per language.
    #[arg(long, default_value_t = 150)]
    calls: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Examples of misses and false alarms listed per kind.
    #[arg(long, default_value_t = 3)]
    examples: usize,
}

fn generate(rng: &Rng, language: &'static str) -> Call {
    let mut b = Builder::new(language);
    let mut scenes: Vec<(bool, usize)> = Vec::new();
    let mut positives: Vec<usize> = (0..en::POSITIVE_SCENES).collect();
    rng.shuffle(&mut positives);
    scenes.extend(
        positives
            .into_iter()
            .take(rng.range(2, 4))
            .map(|s| (true, s)),
    );
    let mut negatives: Vec<usize> = (0..en::NEGATIVE_SCENES).collect();
    rng.shuffle(&mut negatives);
    scenes.extend(
        negatives
            .into_iter()
            .take(rng.range(2, 4))
            .map(|s| (false, s)),
    );
    rng.shuffle(&mut scenes);
    let names;
    if language == "ja" {
        let who = ja::people(rng);
        let space = if rng.chance(0.5) { " " } else { "" };
        names = vec![
            format!("{}{space}{}", who.agent_last, who.agent_first),
            format!("{}{space}{}", who.last, who.first),
        ];
        ja::opening(&mut b, rng, &who);
        for (positive, scene) in scenes {
            b.pause(25.0 * rng.unit());
            if positive {
                ja::positive(&mut b, rng, &who, scene);
            } else {
                ja::negative(&mut b, rng, scene);
            }
        }
        ja::closing(&mut b, rng, &who);
    } else {
        let who = en::people(rng);
        names = vec![
            format!("{} {}", who.agent_first, who.agent_last),
            format!("{} {}", who.first, who.last),
        ];
        en::opening(&mut b, rng, &who);
        for (positive, scene) in scenes {
            b.pause(25.0 * rng.unit());
            if positive {
                en::positive(&mut b, rng, &who, scene);
            } else {
                en::negative(&mut b, rng, scene);
            }
        }
        en::closing(&mut b, rng, &who);
    }
    b.finish(names)
}

#[derive(Default)]
struct Tally {
    planted: usize,
    found: usize,
    hidden: usize,
    detected: usize,
    correct: usize,
    misses: Vec<String>,
    false_alarms: Vec<String>,
}

fn covered(text: &str, piece: &Range<usize>, spans: &[&Range<usize>]) -> bool {
    text[piece.clone()].char_indices().all(|(i, c)| {
        let at = piece.start + i;
        c.is_whitespace() || spans.iter().any(|s| s.start <= at && at < s.end)
    })
}

fn score(call: &Call, tallies: &mut BTreeMap<PiiKind, Tally>) {
    let names = pii::names_to_find(call.names.iter().map(String::as_str));
    let found = pii::spans(&call.transcript, &names);
    let utterances = &call.transcript.utterances;
    for planted in &call.truth {
        if planted.pieces.is_empty() {
            continue;
        }
        let tally = tallies.entry(planted.kind).or_default();
        tally.planted += 1;
        let covered_by = |same_kind: bool| {
            planted.pieces.iter().all(|(u, piece)| {
                let spans: Vec<&Range<usize>> = found[*u]
                    .iter()
                    .filter(|(_, k)| !same_kind || *k == planted.kind)
                    .map(|(r, _)| r)
                    .collect();
                covered(&utterances[*u].text, piece, &spans)
            })
        };
        if covered_by(true) {
            tally.found += 1;
        } else {
            let said: Vec<&str> = planted
                .pieces
                .iter()
                .map(|(u, _)| utterances[*u].text.as_str())
                .collect();
            tally.misses.push(said.join(" ⏎ "));
        }
        if covered_by(false) {
            tally.hidden += 1;
        }
    }
    for (u, spans) in found.iter().enumerate() {
        for (range, kind) in spans {
            let tally = tallies.entry(*kind).or_default();
            tally.detected += 1;
            let right = call.truth.iter().any(|p| {
                p.kind == *kind
                    && p.pieces
                        .iter()
                        .any(|(pu, r)| *pu == u && r.start < range.end && range.start < r.end)
            });
            if right {
                tally.correct += 1;
            } else {
                let text = &utterances[u].text;
                tally
                    .false_alarms
                    .push(format!("{} ⟶ «{}»", text, &text[range.clone()]));
            }
        }
    }
}

fn ratio(n: usize, d: usize) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.3}", n as f64 / d as f64)
    }
}

fn table(title: &str, tallies: &BTreeMap<PiiKind, Tally>) {
    println!("**{title}**\n");
    println!(
        "| kind | planted | found | recall | hidden (any kind) | detected | correct | precision |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let empty = Tally::default();
    let mut all = (0, 0, 0, 0, 0);
    for kind in PiiKind::ALL {
        let t = tallies.get(&kind).unwrap_or(&empty);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            kind.placeholder().trim_matches(['[', ']']),
            t.planted,
            t.found,
            ratio(t.found, t.planted),
            ratio(t.hidden, t.planted),
            t.detected,
            t.correct,
            ratio(t.correct, t.detected)
        );
        all = (
            all.0 + t.planted,
            all.1 + t.found,
            all.2 + t.hidden,
            all.3 + t.detected,
            all.4 + t.correct,
        );
    }
    println!(
        "| **all** | {} | {} | {} | {} | {} | {} | {} |\n",
        all.0,
        all.1,
        ratio(all.1, all.0),
        ratio(all.2, all.0),
        all.3,
        all.4,
        ratio(all.4, all.3)
    );
}

fn main() {
    let args = Args::parse();
    let rng = Rng::new(args.seed);
    let mut by_language: Vec<(&str, BTreeMap<PiiKind, Tally>)> = Vec::new();
    let mut total: BTreeMap<PiiKind, Tally> = BTreeMap::new();
    let mut phrases = 0;
    for language in ["en", "ja"] {
        let mut tallies = BTreeMap::new();
        for _ in 0..args.calls {
            let call = generate(&rng, language);
            phrases += call.transcript.utterances.len();
            score(&call, &mut tallies);
            score(&call, &mut total);
        }
        by_language.push((language, tallies));
    }
    println!(
        "{} calls per language (seed {}), {} phrases in all.\n",
        args.calls, args.seed, phrases
    );
    table("English and Japanese", &total);
    for (language, tallies) in &by_language {
        table(
            if *language == "en" {
                "English"
            } else {
                "Japanese"
            },
            tallies,
        );
    }
    if args.examples > 0 {
        println!(
            "**Examples** (the first {} per kind; ⏎ separates phrases)\n",
            args.examples
        );
        for kind in PiiKind::ALL {
            let Some(t) = total.get(&kind) else { continue };
            let name = kind.placeholder().trim_matches(['[', ']']);
            for miss in t.misses.iter().take(args.examples) {
                println!("- {name} missed: {miss}");
            }
            for alarm in t.false_alarms.iter().take(args.examples) {
                println!("- {name} false alarm: {alarm}");
            }
        }
    }
}
