//! A phrase of the call page's transcript in pieces: fillers dimmed, keyword hits marked,
//! and every word with its times, so the page can highlight the word being played and
//! a click on a word plays from it.

use kiku_domain::analysis::Word;
use kiku_domain::metrics::fillers;

/// A run of a phrase's text.
#[derive(Debug, PartialEq)]
pub struct Piece {
    pub text: String,
    /// `""`, `"filler"` or `"keyword"` (the CSS class).
    pub kind: &'static str,
    /// The start and end (seconds) of the word this run belongs to; `None` between
    /// words and for phrases without word timings.
    pub at: Option<(f64, f64)>,
}

/// `text` in pieces; `words` (the phrase's word timings, in order) split the pieces at
/// word edges. Joined, the pieces' texts are `text`.
pub fn pieces(text: &str, words: &[Word], keywords: &[String]) -> Vec<Piece> {
    let found = word_ranges(text, words);
    let mut out = Vec::new();
    let mut pos = 0;
    for (piece, kind) in marked(text, keywords) {
        let end = pos + piece.len();
        // Word edges inside this piece cut it.
        let mut cuts: Vec<usize> = found
            .iter()
            .flat_map(|(from, to, _)| [*from, *to])
            .filter(|c| *c > pos && *c < end)
            .collect();
        cuts.push(end);
        cuts.sort_unstable();
        cuts.dedup();
        let mut from = pos;
        for to in cuts {
            let at = found
                .iter()
                .find(|(s, e, _)| *s <= from && to <= *e)
                .map(|(_, _, at)| *at);
            out.push(Piece {
                text: text[from..to].to_string(),
                kind,
                at,
            });
            from = to;
        }
        pos = end;
    }
    out
}

/// Where each word's text lies in `text` (byte ranges, in order), with its times. A word
/// not found after the previous one (a redacted or re-spelt text) is left out.
fn word_ranges(text: &str, words: &[Word]) -> Vec<(usize, usize, (f64, f64))> {
    let mut out = Vec::new();
    let mut cursor = 0;
    for w in words {
        let word = w.text.trim();
        if word.is_empty() {
            continue;
        }
        if let Some(i) = text[cursor..].find(word) {
            let from = cursor + i;
            cursor = from + word.len();
            out.push((from, cursor, (w.start, w.end)));
        }
    }
    out
}

/// `text` in runs: fillers, keyword hits and the rest.
fn marked(text: &str, keywords: &[String]) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for (piece, filler) in fillers::marked(text) {
        if filler {
            out.push((piece, "filler"));
            continue;
        }
        let mut rest = piece.as_str();
        while !rest.is_empty() {
            // The earliest hit of any keyword (as character offset and length).
            let hit = keywords
                .iter()
                .filter_map(|k| {
                    let first = *kiku_domain::analysis::text::keyword_offsets(rest, k).first()?;
                    Some((first, k.trim().chars().count()))
                })
                .min();
            let Some((first, chars)) = hit else {
                out.push((rest.to_string(), ""));
                break;
            };
            let start: usize = rest.chars().take(first).map(char::len_utf8).sum();
            let len: usize = rest[start..].chars().take(chars).map(char::len_utf8).sum();
            if start > 0 {
                out.push((rest[..start].to_string(), ""));
            }
            out.push((rest[start..start + len].to_string(), "keyword"));
            rest = &rest[start + len..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(start: f64, text: &str) -> Word {
        Word::new(start, start + 0.4, text)
    }

    fn joined(pieces: &[Piece]) -> String {
        pieces.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn keyword_hits_and_fillers_are_marked_and_nothing_is_lost() {
        let got = pieces(
            "um the refund for the router",
            &[],
            &["router".into(), "refund".into()],
        );
        assert_eq!(joined(&got), "um the refund for the router");
        let marked: Vec<(&str, &str)> = got
            .iter()
            .filter(|p| !p.kind.is_empty())
            .map(|p| (p.text.as_str(), p.kind))
            .collect();
        assert_eq!(
            marked,
            vec![
                ("um", "filler"),
                ("refund", "keyword"),
                ("router", "keyword")
            ]
        );
        assert!(got.iter().all(|p| p.at.is_none()), "no words, no times");
        let ja = pieces("えー、解約したいです", &[], &["解約".into()]);
        assert!(
            ja.iter().any(|p| p.text == "解約" && p.kind == "keyword"),
            "{ja:?}"
        );
    }

    #[test]
    fn every_word_carries_its_times_across_marks() {
        let text = "um the Zentrix Pro router";
        let words = [
            word(1.0, " um"),
            word(1.5, " the"),
            word(2.0, " Zentrix"),
            word(2.5, " Pro"),
            word(3.0, " router"),
        ];
        let got = pieces(text, &words, &["Zentrix Pro".into()]);
        assert_eq!(joined(&got), text);
        let timed: Vec<(&str, &str, f64)> = got
            .iter()
            .filter_map(|p| Some((p.text.as_str(), p.kind, p.at?.0)))
            .collect();
        assert_eq!(
            timed,
            vec![
                ("um", "filler", 1.0),
                ("the", "", 1.5),
                ("Zentrix", "keyword", 2.0),
                ("Pro", "keyword", 2.5),
                ("router", "", 3.0),
            ]
        );
        // Japanese words are written without spaces.
        let ja = pieces(
            "解約したいです",
            &[word(0.0, "解約"), word(0.5, "したい"), word(0.9, "です")],
            &["解約".into()],
        );
        assert_eq!(joined(&ja), "解約したいです");
        assert_eq!(ja.len(), 3, "{ja:?}");
        assert_eq!(ja[1].at, Some((0.5, 0.9)));
    }

    #[test]
    fn words_the_text_does_not_hold_are_left_out() {
        // Redacted text: the card digits are gone, the words around them keep their times.
        let text = "my card is [card number] thanks";
        let words = [
            word(0.0, " my"),
            word(0.3, " card"),
            word(0.6, " is"),
            word(1.0, " 4111"),
            word(2.0, " thanks"),
        ];
        let got = pieces(text, &words, &[]);
        assert_eq!(joined(&got), text);
        let thanks = got.iter().find(|p| p.text == "thanks").expect("thanks");
        assert_eq!(thanks.at, Some((2.0, 2.4)));
        assert!(got
            .iter()
            .any(|p| p.text.contains("[card number]") && p.at.is_none()));
    }
}
