//! Text to Whisper's tokens, for prompts: GPT-2 byte-level BPE read from the model's
//! `tokenizer.json` (its vocabulary and merges). Tokens come out as the vocabulary spells
//! them (`Ġ` for a space), the form CTranslate2 takes in a prompt.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

pub struct Tokenizer {
    /// Merge rank of each pair of symbols (lower merges first).
    ranks: HashMap<(String, String), usize>,
    vocab: HashMap<String, usize>,
    /// The vocabulary's character for each byte.
    chars: [char; 256],
}

impl Tokenizer {
    /// The BPE of the model folder's `tokenizer.json`; `None` when it is missing or not a
    /// byte-level BPE.
    pub fn load(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join("tokenizer.json")).ok()?;
        let doc: Value = serde_json::from_str(&text).ok()?;
        let model = doc.get("model")?;
        let vocab: HashMap<String, usize> = model
            .get("vocab")?
            .as_object()?
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), usize::try_from(v.as_u64()?).ok()?)))
            .collect();
        // Merges are "a b" strings in older files, ["a", "b"] pairs in newer ones.
        let ranks = model
            .get("merges")?
            .as_array()?
            .iter()
            .filter_map(|m| match m {
                Value::String(s) => {
                    let (a, b) = s.split_once(' ')?;
                    Some((a.to_string(), b.to_string()))
                }
                Value::Array(pair) => Some((
                    pair.first()?.as_str()?.to_string(),
                    pair.get(1)?.as_str()?.to_string(),
                )),
                _ => None,
            })
            .enumerate()
            .map(|(rank, pair)| (pair, rank))
            .collect();
        Some(Self {
            ranks,
            vocab,
            chars: byte_chars(),
        })
    }

    /// The tokens of `text`, as the model would have read it.
    pub fn encode(&self, text: &str) -> Vec<String> {
        pieces(text)
            .into_iter()
            .flat_map(|piece| self.bpe(piece))
            .filter(|t| self.vocab.contains_key(t))
            .collect()
    }

    /// One pre-tokenised piece merged pair by pair, lowest rank first.
    fn bpe(&self, piece: &str) -> Vec<String> {
        let mut symbols: Vec<String> = piece
            .bytes()
            .map(|b| self.chars[usize::from(b)].to_string())
            .collect();
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| {
                    self.ranks
                        .get(&(w[0].clone(), w[1].clone()))
                        .map(|r| (*r, i))
                })
                .min();
            let Some((_, i)) = best else {
                return symbols;
            };
            let next = symbols.remove(i + 1);
            symbols[i].push_str(&next);
        }
    }
}

/// GPT-2's pre-tokenisation: contractions, then runs of letters, of digits or of other
/// symbols, each with the space before it; spaces before a space stay on their own.
fn pieces(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Kind {
        Letter,
        Digit,
        Space,
        Other,
    }
    let kind = |c: char| {
        if c.is_alphabetic() {
            Kind::Letter
        } else if c.is_numeric() {
            Kind::Digit
        } else if c.is_whitespace() {
            Kind::Space
        } else {
            Kind::Other
        }
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |(at, _)| *at);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c == '\'' {
            let rest = &text[start..];
            if let Some(n) = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
                .iter()
                .find(|s| rest.starts_with(*s))
                .map(|s| s.len())
            {
                out.push(&text[start..start + n]);
                i += text[start..start + n].chars().count();
                continue;
            }
        }
        let mut j = i;
        // A single space joins the run after it.
        if c == ' '
            && chars
                .get(i + 1)
                .is_some_and(|(_, n)| kind(*n) != Kind::Space)
        {
            j += 1;
        }
        let k = kind(chars[j].1);
        if k == Kind::Space {
            // Spaces, all but the last when a word follows (it starts that word).
            let mut e = j;
            while e < chars.len() && kind(chars[e].1) == Kind::Space {
                e += 1;
            }
            if e < chars.len() && e - j > 1 && chars[e - 1].1 == ' ' {
                e -= 1;
            }
            out.push(&text[start..end_of(e)]);
            i = e;
            continue;
        }
        let mut e = j + 1;
        while e < chars.len() && kind(chars[e].1) == k {
            e += 1;
        }
        out.push(&text[start..end_of(e)]);
        i = e;
    }
    out
}

/// GPT-2 byte-level BPE: the printable character standing for each byte.
pub(crate) fn byte_chars() -> [char; 256] {
    let printable = |b: u32| {
        (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
    };
    let mut chars = ['\0'; 256];
    let mut extra = 0;
    for b in 0..256u32 {
        let c = if printable(b) {
            b
        } else {
            extra += 1;
            255 + extra
        };
        chars[b as usize] = char::from_u32(c).unwrap_or('\0');
    }
    chars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_follow_gpt2() {
        assert_eq!(
            pieces("Hello, Zentrix-500 isn't  here"),
            vec!["Hello", ",", " Zentrix", "-", "500", " isn", "'t", " ", " here"]
        );
        assert_eq!(
            pieces(" ソラリンク、ルミナスハブ"),
            vec![" ソラリンク", "、", "ルミナスハブ"]
        );
    }

    #[test]
    fn bytes_map_as_gpt2_does() {
        let chars = byte_chars();
        assert_eq!(chars[usize::from(b' ')], 'Ġ');
        assert_eq!(chars[usize::from(b'a')], 'a');
        assert_eq!(chars[usize::from(b'\n')], 'Ċ');
    }
}
