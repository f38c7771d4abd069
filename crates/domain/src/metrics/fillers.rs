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

fn strip_english(phrase: &str) -> (String, usize) {
    let mut count = 0;
    let kept: Vec<&str> = phrase
        .split(' ')
        .filter(|word| {
            let bare: String = word
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase();
            let filler = !bare.is_empty() && ENGLISH.contains(&bare.as_str());
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
            if let Some(f) = JAPANESE.iter().find(|f| rest.starts_with(**f)) {
                count += 1;
                rest = rest[f.len()..].trim_start_matches(['ー', '~', '〜']);
                rest = rest.strip_prefix('、').unwrap_or(rest);
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
