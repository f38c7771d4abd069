//! Filler words (えー, あの, えっと, um, uh, …): counted per phrase, and each phrase kept
//! without them (`phrase_nofiller`).

/// Japanese fillers, longest first so `えーっと` wins over `えー`.
const JAPANESE: &[&str] = &[
    "えーっと",
    "ええっと",
    "えーと",
    "ええと",
    "えっと",
    "あのー",
    "あのう",
    "うーん",
    "えーー",
    "えー",
    "あー",
    "あっ",
    "あの",
    "まあ",
    "まぁ",
    "ええ",
];
/// English fillers, matched as whole words.
const ENGLISH: &[&str] = &[
    "um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "mm",
];

const JA_BREAKS: &[char] = &['、', '。', '！', '？', ' ', '　', ',', '.', '!', '?'];

/// A phrase with its fillers taken out, and how many there were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithoutFillers {
    pub text: String,
    pub count: usize,
}

/// Removes fillers: English ones as whole words, Japanese ones where a phrase or clause
/// starts (after 、。 or a space), which is where speakers put them.
pub fn strip(phrase: &str) -> WithoutFillers {
    let (text, en) = strip_english(phrase);
    let (text, ja) = strip_japanese(&text);
    WithoutFillers {
        text,
        count: en + ja,
    }
}

/// The phrase in pieces, each a filler or not, in order (for showing fillers dimmed).
/// The same rules as [`strip`].
pub fn marked(phrase: &str) -> Vec<(String, bool)> {
    let mut pieces: Vec<(String, bool)> = Vec::new();
    let mut push = |text: &str, filler: bool| match pieces.last_mut() {
        Some((last, f)) if *f == filler => last.push_str(text),
        _ => pieces.push((text.to_string(), filler)),
    };
    for (i, word) in phrase.split(' ').enumerate() {
        if i > 0 {
            push(" ", false);
        }
        if english_filler(word) {
            push(word, true);
            continue;
        }
        // A word starts after a space: a clause start.
        let (mut rest, mut at_break) = (word, true);
        while let Some(c) = rest.chars().next() {
            if at_break {
                if let Some(len) = japanese_filler(rest) {
                    push(&rest[..len], true);
                    rest = &rest[len..];
                    continue;
                }
            }
            at_break = JA_BREAKS.contains(&c);
            push(&rest[..c.len_utf8()], false);
            rest = &rest[c.len_utf8()..];
        }
    }
    pieces
}

fn english_filler(word: &str) -> bool {
    let bare: String = word
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    !bare.is_empty() && ENGLISH.contains(&bare.as_str())
}

/// The length of the Japanese filler `rest` starts with, with the lengthening and the
/// comma after it.
fn japanese_filler(rest: &str) -> Option<usize> {
    let filler = JAPANESE.iter().find(|f| rest.starts_with(**f))?;
    let after = rest[filler.len()..].trim_start_matches(['ー', '~', '〜']);
    let after = after.strip_prefix('、').unwrap_or(after);
    Some(rest.len() - after.len())
}

fn strip_english(phrase: &str) -> (String, usize) {
    let mut count = 0;
    let kept: Vec<&str> = phrase
        .split(' ')
        .filter(|word| {
            let filler = english_filler(word);
            count += usize::from(filler);
            !filler
        })
        .collect();
    if count == 0 {
        return (phrase.to_string(), 0);
    }
    (kept.join(" ").trim().to_string(), count)
}

fn strip_japanese(phrase: &str) -> (String, usize) {
    let mut out = String::with_capacity(phrase.len());
    let mut rest = phrase;
    let mut count = 0;
    let mut at_break = true;
    while let Some(c) = rest.chars().next() {
        if at_break {
            if let Some(len) = japanese_filler(rest) {
                count += 1;
                rest = &rest[len..];
                continue;
            }
        }
        at_break = JA_BREAKS.contains(&c);
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_pieces_are_the_phrase_with_its_fillers_flagged() {
        let pieces = marked("Um, I think uh yes");
        let joined: String = pieces.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(joined, "Um, I think uh yes");
        let fillers: Vec<&str> = pieces
            .iter()
            .filter(|(_, f)| *f)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(fillers, vec!["Um,", "uh"]);
        let ja = marked("えーっと、解約したいです。あの、はい");
        let fillers: Vec<&str> = ja
            .iter()
            .filter(|(_, f)| *f)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(fillers, vec!["えーっと、", "あの、"]);
        let kept: String = ja
            .iter()
            .filter(|(_, f)| !*f)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(kept, strip("えーっと、解約したいです。あの、はい").text);
    }

    #[test]
    fn japanese_fillers_at_clause_starts() {
        assert_eq!(
            strip("あっそうだったんですね。わかりました。"),
            WithoutFillers {
                text: "そうだったんですね。わかりました。".into(),
                count: 1
            }
        );
        assert_eq!(
            strip("えーっと、あのー、見積もりの件です"),
            WithoutFillers {
                text: "見積もりの件です".into(),
                count: 2
            }
        );
        assert_eq!(
            strip("お世話になります。"),
            WithoutFillers {
                text: "お世話になります。".into(),
                count: 0
            }
        );
        assert_eq!(
            strip("それはまあいいです").count,
            0,
            "not at a clause start"
        );
    }

    #[test]
    fn english_fillers_as_whole_words() {
        assert_eq!(
            strip("Um, I think, uh, yes"),
            WithoutFillers {
                text: "I think, yes".into(),
                count: 2
            }
        );
        assert_eq!(strip("the drum umbrella").count, 0);
    }
}
