//! Snippets: the phrases of a call where a text query hit, with the hits marked, so a UI
//! can show them and jump to the moment.

use serde::Serialize;

use super::text::{normalise_mapped, TextQuery};
use crate::analysis::{Phrase, Role};

/// Snippets per call, at most.
pub const MAX_SNIPPETS: usize = 5;
/// Characters of a phrase shown around its first hit.
const WINDOW_CHARS: usize = 120;
const BEFORE_HIT_CHARS: usize = 40;

/// One phrase with a hit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snippet {
    pub speaker: Role,
    /// Seconds from the start of the recording.
    pub start_at: f64,
    /// The phrase (cut to a window around the first hit, `…` marking a cut), HTML-escaped,
    /// each hit inside `<mark>`…`</mark>`.
    pub text: String,
}

/// The phrases of `phrases` (in order) where a term of `query` occurs, said by `speaker`
/// (any when `None`); at most [`MAX_SNIPPETS`].
pub fn snippets(phrases: &[Phrase], query: &TextQuery, speaker: Option<Role>) -> Vec<Snippet> {
    phrases
        .iter()
        .filter(|p| speaker.is_none_or(|s| s == p.role))
        .filter_map(|p| {
            let hits = hits(&p.text, query);
            (!hits.is_empty()).then(|| Snippet {
                speaker: p.role,
                start_at: p.start,
                text: marked(&p.text, &hits),
            })
        })
        .take(MAX_SNIPPETS)
        .collect()
}

/// Character ranges of `text` (start inclusive, end exclusive) where a term occurs, merged
/// and in order.
fn hits(text: &str, query: &TextQuery) -> Vec<(usize, usize)> {
    let norm = normalise_mapped(text);
    let total = text.chars().count();
    // The padded form a term's needle is looked for in, with the source index of each char.
    let mut chars = vec![' '];
    let mut origin = vec![0];
    for (c, i) in &norm {
        chars.push(*c);
        origin.push(*i);
    }
    chars.push(' ');
    origin.push(total);
    let mut ranges = Vec::new();
    for term in &query.terms {
        let needle: Vec<char> = term.needle().chars().collect();
        let lead = usize::from(needle.first() == Some(&' '));
        let trail = usize::from(needle.last() == Some(&' '));
        let mut at = 0;
        while at + needle.len() <= chars.len() {
            if chars[at..at + needle.len()] == needle[..] {
                let first = origin[at + lead];
                let last = origin[at + needle.len() - 1 - trail];
                ranges.push((first, last + 1));
                at += needle.len().max(1);
            } else {
                at += 1;
            }
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

fn marked(text: &str, hits: &[(usize, usize)]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let first = hits.first().map_or(0, |h| h.0);
    let from = if chars.len() > WINDOW_CHARS {
        first.saturating_sub(BEFORE_HIT_CHARS)
    } else {
        0
    };
    let to = (from + WINDOW_CHARS).min(chars.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    for (i, c) in chars.iter().enumerate().take(to).skip(from) {
        if hits.iter().any(|h| h.0 == i) {
            out.push_str("<mark>");
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(*c),
        }
        // A hit that runs past the window is closed at its edge.
        if hits
            .iter()
            .any(|h| h.1 == i + 1 || (i + 1 == to && h.0 <= i && h.1 > to))
        {
            out.push_str("</mark>");
        }
    }
    if to < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(role: Role, start: f64, text: &str) -> Phrase {
        Phrase {
            order: 0,
            role,
            start,
            end: start + 1.0,
            text: text.into(),
            text_without_fillers: text.into(),
            filler_count: 0,
            in_summary: false,
            words: vec![],
            sentiment: None,
        }
    }

    fn q(text: &str) -> TextQuery {
        TextQuery::parse(text).expect("query")
    }

    #[test]
    fn marks_each_hit_in_the_original_spelling() {
        let phrases = [
            phrase(Role::User, 1.0, "How can I help?"),
            phrase(Role::Customer, 3.5, "I'd like a Refund <now>, a REFUND!"),
        ];
        let got = snippets(&phrases, &q("refund"), None);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].speaker, Role::Customer);
        assert_eq!(got[0].start_at, 3.5);
        assert_eq!(
            got[0].text,
            "I'd like a <mark>Refund</mark> &lt;now&gt;, a <mark>REFUND</mark>!"
        );
        assert!(snippets(&phrases, &q("refund"), Some(Role::User)).is_empty());
    }

    #[test]
    fn japanese_hits_and_long_phrases_are_windowed() {
        let long = format!("{}解約したいです{}", "あ".repeat(100), "い".repeat(100));
        let got = snippets(&[phrase(Role::Customer, 0.0, &long)], &q("解約"), None);
        let text = &got[0].text;
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        assert!(text.contains("<mark>解約</mark>したい"), "{text}");
        let across = snippets(
            &[phrase(Role::User, 0.0, "解約、したい")],
            &q("解約したい"),
            None,
        );
        assert_eq!(across[0].text, "<mark>解約、したい</mark>");
    }

    #[test]
    fn at_most_a_few_snippets_per_call() {
        let many: Vec<Phrase> = (0..20)
            .map(|i| phrase(Role::User, f64::from(i), "refund"))
            .collect();
        assert_eq!(snippets(&many, &q("refund"), None).len(), MAX_SNIPPETS);
    }
}
