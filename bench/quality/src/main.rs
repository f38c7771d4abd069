//! Analysis quality benchmarks. Each subcommand scores one part of the analysis against
//! labelled data kept in bench/quality/ and prints a Markdown report.
//!
//! - `sentiment`: phrase sentiment (positive / negative / neutral) on the labelled lines
//!   `sentiment-en.tsv` and `sentiment-ja.tsv`, Kiku's rules against the lexicon-only
//!   baseline (the sum of the lexicon's valences, no rules, no neutral band).

mod sentiment;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    part: Part,
}

#[derive(Subcommand)]
enum Part {
    /// Sentiment accuracy and macro-F1 per language.
    Sentiment {
        /// The folder of the labelled lines (`sentiment-en.tsv`, `sentiment-ja.tsv`).
        #[arg(long)]
        data: PathBuf,
        /// The lexicons as `scripts/install-models` installs them (`models/sentiment`).
        #[arg(long)]
        lexicons: PathBuf,
    },
}

fn main() {
    let args = Args::parse();
    let result = match args.part {
        Part::Sentiment { data, lexicons } => sentiment::run(&data, &lexicons),
    };
    match result {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("quality: {e}");
            std::process::exit(1);
        }
    }
}
