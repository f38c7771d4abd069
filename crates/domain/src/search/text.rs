//! Transcript text as the search index holds it, and free-text queries over it.
//!
//! One rule serves both databases and the snippets: text is *normalised* (full-width ASCII
//! folded, lower-cased, punctuation to spaces; no space between two Japanese/Chinese
//! characters, a space where such text meets Latin words or digits), and a query term
//! matches when its normalised form, padded with a space at each edge that is not
//! Japanese/Chinese, is a substring of the padded text. So Japanese matches any substring
//! (解約 finds 解約したい) and English matches whole words and phrases (`refund` does not
//! find `refunded`), case-insensitively. Neither side can contain `%`, `_` or `\`, so the
//! needle is also a plain SQL `LIKE '%…%'` pattern.

use thiserror::Error;

/// Longest `q` accepted, in characters: longer is refused, never searched slowly.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most terms (words or quoted phrases) in one query.
pub const MAX_TERMS: usize = 8;
/// Shortest term, in normalised characters.
pub const MIN_TERM_CHARS: usize = 2;

/// Written in a script without spaces between words: kana, CJK ideographs, half-width kana.
pub fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x3005..=0x3007 | 0x3040..=0x30FF | 0x31F0..=0x31FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF66..=0xFF9F | 0x20000..=0x2FA1F)
}

/// Full-width ASCII and the ideographic space to their plain forms.
fn fold(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// The normalised characters of `text`, each with the index of the source character it
/// came from (an inserted space points at the character after it).
pub(crate) fn normalise_mapped(text: &str) -> Vec<(char, usize)> {
    let mut out: Vec<(char, usize)> = Vec::with_capacity(text.len());
    let mut gap = false;
    for (i, c) in text.chars().enumerate() {
        let c = fold(c);
        if !c.is_alphanumeric() {
            gap = !out.is_empty();
            continue;
        }
        for lower in c.to_lowercase() {
            if let Some(&(last, _)) = out.last() {
                let scripts_differ = is_wide(last) != is_wide(lower);
                // A gap between two wide characters is punctuation inside a sentence
                // (解約、したい), not a word break.
                if scripts_differ || (gap && !(is_wide(last) && is_wide(lower))) {
                    out.push((' ', i));
                }
            }
            out.push((lower, i));
            gap = false;
        }
    }
    out
}

/// `text` normalised: words separated by one space, no space at either end.
pub fn normalise(text: &str) -> String {
    normalise_mapped(text).into_iter().map(|(c, _)| c).collect()
}

/// The searchable text of one speaker: each phrase padded with spaces, one per line, so no
/// needle (which never holds a line break) matches across two phrases.
pub fn index_body<'a>(phrases: impl IntoIterator<Item = &'a str>) -> String {
    let mut body = String::new();
    for phrase in phrases {
        let norm = normalise(phrase);
        if norm.is_empty() {
            continue;
        }
        if !body.is_empty() {
            body.push('\n');
        }
        body.push(' ');
        body.push_str(&norm);
        body.push(' ');
    }
    body
}

/// Separates the characters of [`pair_form`]. [`wide_pairs`] holds only wide characters
/// besides it, so it cannot be confused with text; a letter, so that PostgreSQL's pg_trgm
/// (which splits words at punctuation) keeps a run in pair form as one word.
pub const PAIR_MARK: char = 'x';

/// `text` with [`PAIR_MARK`] between every two characters (`解約` → `解x約`): each pair of
/// neighbours becomes a trigram, so a trigram index over this form finds two-character
/// substrings too.
pub fn pair_form(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (i, c) in text.chars().enumerate() {
        if i > 0 {
            out.push(PAIR_MARK);
        }
        out.push(c);
    }
    out
}

/// The runs of two or more wide characters of an index body, each in [`pair_form`], one
/// per line: what a term of two wide characters (the only kind shorter than a trigram:
/// other terms are padded with spaces) is looked for in.
pub fn wide_pairs(body: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().nth(1).is_some() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&pair_form(run));
        }
        run.clear();
    };
    for c in body.chars() {
        if is_wide(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One word or quoted phrase of a query, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// The normalised term, padded with a space at each non-wide edge.
    needle: String,
}

impl Term {
    fn new(text: &str) -> Option<Self> {
        let core = normalise(text);
        let first = core.chars().next()?;
        let last = core.chars().last().unwrap_or(first);
        let mut needle = String::with_capacity(core.len() + 2);
        if !is_wide(first) {
            needle.push(' ');
        }
        needle.push_str(&core);
        if !is_wide(last) {
            needle.push(' ');
        }
        Some(Term { needle })
    }

    /// What must occur in an index body (see [`index_body`]).
    pub fn needle(&self) -> &str {
        &self.needle
    }

    /// `LIKE` pattern equivalent to [`Self::matches`].
    pub fn like_pattern(&self) -> String {
        format!("%{}%", self.needle)
    }

    /// The needle in [`pair_form`], for a term too short for a trigram (see [`wide_pairs`]).
    pub fn pair_needle(&self) -> String {
        pair_form(&self.needle)
    }

    /// Whether a trigram index over plain text can find it (three characters or more).
    pub fn indexable(&self) -> bool {
        self.needle.chars().count() >= 3
    }

    /// Whether the term occurs in an index body.
    pub fn matches(&self, body: &str) -> bool {
        body.contains(&self.needle)
    }

    fn core_chars(&self) -> usize {
        self.needle.trim_matches(' ').chars().count()
    }
}

/// A parsed `q`: every term must occur (AND).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextQuery {
    pub terms: Vec<Term>,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TextQueryError {
    #[error("at most {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("at most {MAX_TERMS} words or phrases")]
    TooManyTerms,
    #[error("needs a word or phrase of at least {MIN_TERM_CHARS} characters")]
    Empty,
}

impl TextQuery {
    /// Words separated by spaces, or phrases in double quotes (an unclosed quote runs to
    /// the end). One-character words next to longer ones are dropped as noise.
    pub fn parse(q: &str) -> Result<Self, TextQueryError> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(TextQueryError::TooLong);
        }
        let mut raw: Vec<&str> = Vec::new();
        let mut rest = q;
        while let Some(start) = rest.find('"') {
            raw.extend(rest[..start].split_whitespace());
            let after = &rest[start + 1..];
            match after.find('"') {
                Some(end) => {
                    raw.push(&after[..end]);
                    rest = &after[end + 1..];
                }
                None => {
                    raw.push(after);
                    rest = "";
                }
            }
        }
        raw.extend(rest.split_whitespace());
        let mut terms: Vec<Term> = raw.into_iter().filter_map(Term::new).collect();
        terms.dedup();
        let long: Vec<Term> = terms
            .iter()
            .filter(|t| t.core_chars() >= MIN_TERM_CHARS)
            .cloned()
            .collect();
        if long.is_empty() {
            return Err(TextQueryError::Empty);
        }
        if long.len() > MAX_TERMS {
            return Err(TextQueryError::TooManyTerms);
        }
        Ok(TextQuery { terms: long })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(text: &str) -> TextQuery {
        TextQuery::parse(text).expect("query")
    }

    fn found(query: &str, phrase: &str) -> bool {
        let body = index_body([phrase]);
        q(query).terms.iter().all(|t| t.matches(&body))
    }

    #[test]
    fn japanese_matches_any_substring_across_punctuation() {
        assert!(found("解約", "解約したいのですが"));
        assert!(found("エアコン", "エアコンが壊れました。"));
        assert!(found("解約したい", "解約、したい"));
        assert!(found("ｚｏｏｍ", "Zoomの設定"));
        assert!(found("zoomの", "ZOOMの設定"));
        assert!(!found("解約", "契約したい"));
    }

    #[test]
    fn english_matches_whole_words_and_quoted_phrases_ignoring_case() {
        assert!(found("refund", "I'd like a REFUND, please."));
        assert!(!found("refund", "It was refunded."));
        assert!(found("\"a refund\"", "I'd like a refund"));
        assert!(found("refund please", "Please, a refund"));
        assert!(!found("\"refund please\"", "Please, a refund"));
    }

    #[test]
    fn phrases_do_not_join_across_utterances() {
        let body = index_body(["a refund", "please wait"]);
        assert!(!q("\"refund please\"").terms[0].matches(&body));
        assert!(q("refund please").terms.iter().all(|t| t.matches(&body)));
    }

    #[test]
    fn two_wide_characters_are_found_in_the_wide_pairs() {
        assert_eq!(pair_form("解約"), "解x約");
        let body = index_body(["解約したい zoom", "a refund", "円"]);
        assert_eq!(wide_pairs(&body), "解x約xしxたxい");
        let short = &q("約し").terms[0];
        assert!(!short.indexable());
        assert!(wide_pairs(&body).contains(&short.pair_needle()));
        assert!(q("refund").terms[0].indexable() && q("3時").terms[0].indexable());
    }

    #[test]
    fn bad_queries_are_refused() {
        assert_eq!(
            TextQuery::parse(&"あ".repeat(10_000)),
            Err(TextQueryError::TooLong)
        );
        assert_eq!(TextQuery::parse("  \"\" , "), Err(TextQueryError::Empty));
        assert_eq!(TextQuery::parse("a"), Err(TextQueryError::Empty));
        assert_eq!(
            TextQuery::parse("aa bb cc dd ee ff gg hh ii"),
            Err(TextQueryError::TooManyTerms)
        );
        assert_eq!(q("a refund").terms.len(), 1, "one-letter words are noise");
    }

    #[test]
    fn needles_are_safe_like_patterns() {
        let t = &q("100% off_sale \\x").terms;
        assert!(t
            .iter()
            .all(|t| !t.like_pattern()[1..t.like_pattern().len() - 1].contains(['%', '_', '\\'])));
    }

    proptest! {
        // Any two or more characters cut from a Japanese phrase find it.
        #[test]
        fn every_japanese_substring_finds_its_phrase(
            phrase in "[ぁ-んァ-ン一-龥、。]{2,30}",
            start in 0usize..30, len in 2usize..10,
        ) {
            let chars: Vec<char> = phrase.chars().collect();
            let start = start % chars.len();
            let piece: String = chars[start..(start + len).min(chars.len())].iter().collect();
            prop_assume!(normalise(&piece).chars().count() >= 2);
            prop_assert!(found(&piece, &phrase), "{piece} in {phrase}");
            let term = &q(&piece).terms[0];
            if !term.indexable() {
                prop_assert!(wide_pairs(&index_body([phrase.as_str()])).contains(&term.pair_needle()));
            }
        }

        // A word of a phrase finds it whatever its case and the punctuation around it.
        #[test]
        fn every_english_word_finds_its_phrase(words in proptest::collection::vec("[a-zA-Z]{2,8}", 1..8), pick in 0usize..8) {
            let phrase = words.join(", ");
            let word = &words[pick % words.len()];
            prop_assert!(found(&word.to_uppercase(), &phrase));
        }
    }
}
