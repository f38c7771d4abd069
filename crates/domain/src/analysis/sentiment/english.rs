//! English: VADER (Hutto & Gilbert 2014, `vaderSentiment` 3.3.2, MIT) ported: its
//! lexicon, boosters and dampeners, negation within three words, "no", "least", ALL CAPS
//! emphasis, "but", and punctuation. Call-centre additions: acknowledgements and
//! politeness formulas ("okay", "sure", "please", "thank you", "sorry") count a quarter of
//! their valence, "I'd like" is a request, and a negated negative only leans positive.

use std::collections::HashMap;

use super::{emphasised, negated, punctuation_emphasis, LexiconError};

/// VADER's empirically derived constants.
const BOOST: f64 = 0.293;
const CAPS_BOOST: f64 = 0.733;

/// Words that negate the valence of a lexicon word up to three words after them.
const NEGATIONS: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

/// Degree adverbs: +1 boosts, −1 dampens.
const BOOSTERS: &[(&str, f64)] = &[
    ("absolutely", 1.0),
    ("amazingly", 1.0),
    ("awfully", 1.0),
    ("completely", 1.0),
    ("considerable", 1.0),
    ("considerably", 1.0),
    ("decidedly", 1.0),
    ("deeply", 1.0),
    ("enormous", 1.0),
    ("enormously", 1.0),
    ("entirely", 1.0),
    ("especially", 1.0),
    ("exceptional", 1.0),
    ("exceptionally", 1.0),
    ("extreme", 1.0),
    ("extremely", 1.0),
    ("fabulously", 1.0),
    ("fully", 1.0),
    ("greatly", 1.0),
    ("highly", 1.0),
    ("hugely", 1.0),
    ("incredible", 1.0),
    ("incredibly", 1.0),
    ("intensely", 1.0),
    ("major", 1.0),
    ("majorly", 1.0),
    ("more", 1.0),
    ("most", 1.0),
    ("particularly", 1.0),
    ("purely", 1.0),
    ("quite", 1.0),
    ("really", 1.0),
    ("remarkably", 1.0),
    ("so", 1.0),
    ("substantially", 1.0),
    ("thoroughly", 1.0),
    ("total", 1.0),
    ("totally", 1.0),
    ("tremendous", 1.0),
    ("tremendously", 1.0),
    ("uber", 1.0),
    ("unbelievably", 1.0),
    ("unusually", 1.0),
    ("utter", 1.0),
    ("utterly", 1.0),
    ("very", 1.0),
    ("almost", -1.0),
    ("barely", -1.0),
    ("hardly", -1.0),
    ("kinda", -1.0),
    ("less", -1.0),
    ("little", -1.0),
    ("marginal", -1.0),
    ("marginally", -1.0),
    ("occasional", -1.0),
    ("occasionally", -1.0),
    ("partly", -1.0),
    ("scarce", -1.0),
    ("scarcely", -1.0),
    ("slight", -1.0),
    ("slightly", -1.0),
    ("somewhat", -1.0),
    ("sorta", -1.0),
];

/// Acknowledgements and politeness formulas of calls: their feeling is the formula's, not
/// the speaker's, so they count this much of their lexicon valence.
const FORMULA_WEIGHT: f64 = 0.25;
const FORMULAS: &[&str] = &[
    "okay",
    "ok",
    "sure",
    "yes",
    "yeah",
    "yep",
    "alright",
    "right",
    "please",
    "thank",
    "thanks",
    "sorry",
    "apologise",
    "apologize",
    "apologies",
    "welcome",
    "help",
    "fine",
    "well",
    "hello",
    "hi",
    "bye",
    "goodbye",
    "care",
];

/// VADER's lexicon: lower-case token → mean valence (−4..4).
#[derive(Debug)]
pub struct EnglishLexicon {
    valences: HashMap<String, f64>,
}

impl EnglishLexicon {
    /// Reads `vader_lexicon.txt`: `token<TAB>mean<TAB>sd<TAB>ratings` per line.
    pub fn parse(text: &str) -> Result<Self, LexiconError> {
        let mut valences = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(token), Some(mean)) = (fields.next(), fields.next()) else {
                return Err(LexiconError::Line {
                    line: i + 1,
                    problem: "expected a token and its valence".into(),
                });
            };
            let mean: f64 = mean.trim().parse().map_err(|_| LexiconError::Line {
                line: i + 1,
                problem: format!("valence {mean:?} is not a number"),
            })?;
            valences.insert(token.to_lowercase(), mean);
        }
        if valences.is_empty() {
            return Err(LexiconError::Empty);
        }
        Ok(EnglishLexicon { valences })
    }

    fn get(&self, token: &str) -> Option<f64> {
        self.valences.get(token).copied()
    }

    /// The baseline: the sum of the lexicon valences of the words, nothing else.
    pub fn plain_sum(&self, text: &str) -> f64 {
        tokens(text)
            .iter()
            .filter_map(|t| self.get(&t.to_lowercase()))
            .sum()
    }

    /// The phrase's summed valence with VADER's rules and the call-centre ones.
    pub fn valence(&self, text: &str) -> f64 {
        let words = tokens(text);
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let caps_differ = {
            let caps = words.iter().filter(|w| is_upper(w)).count();
            caps > 0 && caps < words.len()
        };
        let mut sentiments: Vec<f64> = Vec::with_capacity(words.len());
        for (i, word) in lower.iter().enumerate() {
            let is_kind_of = word == "kind" && lower.get(i + 1).is_some_and(|n| n == "of");
            if booster(word).is_some() || is_kind_of {
                sentiments.push(0.0);
                continue;
            }
            sentiments.push(self.word_valence(&words, &lower, i, caps_differ));
        }
        if let Some(but) = lower.iter().position(|w| w == "but") {
            for (i, s) in sentiments.iter_mut().enumerate() {
                if i < but {
                    *s *= 0.5;
                } else if i > but {
                    *s *= 1.5;
                }
            }
        }
        let sum: f64 = sentiments.iter().sum();
        emphasised(sum, punctuation_emphasis(text))
    }

    fn word_valence(&self, words: &[&str], lower: &[String], i: usize, caps_differ: bool) -> f64 {
        let word = &lower[i];
        let Some(base) = self.get(word) else {
            return 0.0;
        };
        // "no" before another lexicon word negates it rather than counting itself.
        if word == "no" && lower.get(i + 1).is_some_and(|n| self.get(n).is_some()) {
            return 0.0;
        }
        let mut valence = base;
        // "I'd like", "would like": a request.
        if word == "like" && i > 0 && (lower[i - 1] == "would" || lower[i - 1].ends_with("'d")) {
            return 0.0;
        }
        let after_no = (i > 0 && lower[i - 1] == "no")
            || (i > 1 && lower[i - 2] == "no")
            || (i > 2 && lower[i - 3] == "no" && matches!(lower[i - 1].as_str(), "or" | "nor"));
        if after_no {
            valence = negated(valence);
        }
        if caps_differ && is_upper(words[i]) {
            valence += CAPS_BOOST * valence.signum();
        }
        for back in 0..3 {
            if i <= back {
                break;
            }
            let before = i - back - 1;
            if self.get(&lower[before]).is_some() {
                continue;
            }
            let mut scalar = booster(&lower[before]).unwrap_or(0.0) * valence.signum();
            if scalar != 0.0 && caps_differ && is_upper(words[before]) {
                scalar += CAPS_BOOST * valence.signum();
            }
            scalar *= [1.0, 0.95, 0.9][back];
            valence += scalar;
            valence = negation_check(valence, lower, back, i);
        }
        // "least": "the least happy" negates; "at least" does not.
        if i > 0
            && lower[i - 1] == "least"
            && (i < 2 || !matches!(lower[i - 2].as_str(), "at" | "very"))
        {
            valence = negated(valence);
        }
        // A formula is the formula's feeling, unless negated ("that doesn't help").
        let negated_here = valence.signum() != base.signum();
        if FORMULAS.contains(&word.as_str()) && !negated_here {
            valence *= FORMULA_WEIGHT;
        }
        valence
    }
}

/// VADER's negation look-back for the word `back + 1` places before `i`.
fn negation_check(valence: f64, lower: &[String], back: usize, i: usize) -> f64 {
    let before = &lower[i - back - 1];
    match back {
        0 if is_negation(before) => negated(valence),
        1 if lower[i - 2] == "never" && matches!(lower[i - 1].as_str(), "so" | "this") => {
            valence * 1.25
        }
        1 if lower[i - 2] == "without" && lower[i - 1] == "doubt" => valence,
        1 if is_negation(before) => negated(valence),
        2 if lower[i - 3] == "never" && matches!(lower[i - 2].as_str(), "so" | "this")
            || matches!(lower[i - 1].as_str(), "so" | "this") =>
        {
            valence * 1.25
        }
        2 if lower[i - 3] == "without" && (lower[i - 2] == "doubt" || lower[i - 1] == "doubt") => {
            valence
        }
        2 if is_negation(before) => negated(valence),
        _ => valence,
    }
}

fn is_negation(word: &str) -> bool {
    NEGATIONS.contains(&word) || word.contains("n't")
}

fn booster(word: &str) -> Option<f64> {
    BOOSTERS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, sign)| sign * BOOST)
}

fn is_upper(word: &str) -> bool {
    word.chars().any(char::is_alphabetic) && !word.chars().any(char::is_lowercase)
}

/// Whitespace-separated words with leading and trailing punctuation taken off, unless that
/// leaves two characters or fewer that are not letters (an emoticon such as ":)" stays whole).
fn tokens(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .map(|w| {
            let stripped = w.trim_matches(|c: char| c.is_ascii_punctuation());
            // VADER keeps short tokens whole for emoticons; "No," and "ok." are words.
            let word = stripped.chars().all(char::is_alphabetic) && !stripped.is_empty();
            if stripped.chars().count() <= 2 && !word {
                w
            } else {
                stripped
            }
        })
        .collect()
}
