//! Text rules of the report: counting speech units, finding keywords, and choosing the
//! phrases of the extractive summary.

use std::collections::{HashMap, HashSet};

/// Languages written without spaces between words: speech rate counts characters there.
pub fn counts_characters(language: &str) -> bool {
    matches!(language, "ja" | "zh" | "yue" | "th" | "lo" | "my" | "km")
}

/// Characters (letters and digits) or words in `text`.
pub fn speech_units(text: &str, by_characters: bool) -> usize {
    if by_characters {
        text.chars().filter(|c| c.is_alphanumeric()).count()
    } else {
        text.split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .count()
    }
}

/// Case-insensitive occurrences of `keyword` in `text`, as character offsets. A keyword
/// edge that is a letter or digit of a spaced script must meet a word boundary ("price"
/// is not in "priceless").
pub fn keyword_offsets(text: &str, keyword: &str) -> Vec<usize> {
    let text = text.to_lowercase();
    let keyword = keyword.trim().to_lowercase();
    if keyword.is_empty() {
        return Vec::new();
    }
    let bounded = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let needs_start = bounded(keyword.chars().next());
    let needs_end = bounded(keyword.chars().last());
    text.match_indices(&keyword)
        .filter(|(at, _)| {
            let before = text[..*at].chars().next_back();
            let after = text[at + keyword.len()..].chars().next();
            !((needs_start && bounded(before)) || (needs_end && bounded(after)))
        })
        .map(|(at, _)| text[..at].chars().count())
        .collect()
}

#[cfg(test)]
fn keyword_count(text: &str, keyword: &str) -> usize {
    keyword_offsets(text, keyword).len()
}

/// Content tokens for the summary: character bigrams where words are not spaced,
/// lower-cased words of four letters or more otherwise (a crude but language-free way
/// to skip function words).
fn tokens(text: &str, by_characters: bool) -> Vec<String> {
    if by_characters {
        let chars: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
        chars.windows(2).map(|w| w.iter().collect()).collect()
    } else {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4)
            .map(str::to_lowercase)
            .collect()
    }
}

/// Which phrases go into the summary: those whose content recurs most in the call
/// (centroid-style scoring), about a third of them, at least three, in call order.
/// Phrases too short to carry content (a "yes", a greeting) are never chosen.
pub fn summary_choice(phrases: &[&str], by_characters: bool) -> Vec<bool> {
    let token_lists: Vec<Vec<String>> = phrases.iter().map(|p| tokens(p, by_characters)).collect();
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for list in &token_lists {
        for t in list.iter().collect::<HashSet<_>>() {
            *frequency.entry(t.as_str()).or_default() += 1;
        }
    }
    let min_tokens = if by_characters { 6 } else { 2 };
    let mut scored: Vec<(usize, f64)> = token_lists
        .iter()
        .enumerate()
        .filter(|(_, list)| list.len() >= min_tokens)
        .map(|(i, list)| {
            let distinct: HashSet<&str> = list.iter().map(String::as_str).collect();
            let weight: f64 = distinct
                .iter()
                .map(|t| frequency.get(t).copied().unwrap_or(0) as f64)
                .sum();
            (i, weight / (distinct.len() as f64).sqrt())
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let keep = phrases.len().div_ceil(3).max(3);
    let mut chosen = vec![false; phrases.len()];
    for (i, _) in scored.into_iter().take(keep) {
        chosen[i] = true;
    }
    chosen
}

/// `m:ss`, as MiiTel writes transcript times.
pub fn clock(seconds: f64) -> String {
    let total = seconds.max(0.0).floor() as u64;
    format!("{}:{:02}", total / 60, total % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units_by_language() {
        assert_eq!(speech_units("Hello there, how are you ?", false), 5);
        assert_eq!(speech_units("お世話になります。", true), 8);
        assert!(counts_characters("ja") && !counts_characters("en"));
    }

    #[test]
    fn keywords_match_whole_words_in_spaced_scripts() {
        assert_eq!(
            keyword_count("The price, the PRICE and priceless", "price"),
            2
        );
        assert_eq!(keyword_count("見積をお送りします。見積書も", "見積"), 2);
        assert_eq!(keyword_count("anything", ""), 0);
        assert_eq!(keyword_count("call me at 5 pm", "5 pm"), 1);
    }

    #[test]
    fn summary_prefers_recurring_content_and_skips_short_phrases() {
        let phrases = [
            "yes",
            "I am calling about the delivery schedule for your order",
            "okay",
            "The delivery schedule moved because the order changed",
            "thanks",
            "Your order delivery arrives on Friday afternoon",
            "bye",
        ];
        let chosen = summary_choice(&phrases, false);
        assert_eq!(chosen, [false, true, false, true, false, true, false]);
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(0.4), "0:00");
        assert_eq!(clock(65.9), "1:05");
        assert_eq!(clock(3725.0), "62:05");
    }

    proptest! {
        #[test]
        fn summary_never_panics_and_keeps_length(phrases in proptest::collection::vec(".{0,40}", 0..30), chars: bool) {
            let refs: Vec<&str> = phrases.iter().map(String::as_str).collect();
            let chosen = summary_choice(&refs, chars);
            prop_assert_eq!(chosen.len(), refs.len());
        }

        #[test]
        fn keyword_count_never_panics(text in ".{0,60}", kw in ".{0,8}") {
            let _ = keyword_count(&text, &kw);
        }
    }
}
