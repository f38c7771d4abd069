//! Word timings from Whisper's token alignment: tokens grouped into words (a leading
//! space starts a word; in unspaced scripts every complete character is one), each word
//! timed from the frame where the alignment reaches its first token to where it reaches
//! the next word's.

use std::ops::Range;

/// Whisper's encoder frames per second (hop 160 at 16 kHz, stride 2).
pub const FRAMES_PER_SECOND: f64 = 50.0;

/// Text tokens (their bytes) grouped into words: token ranges and the word's text.
pub fn group(tokens: &[Vec<u8>], by_characters: bool) -> Vec<(Range<usize>, String)> {
    let mut out: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    for (i, bytes) in tokens.iter().enumerate() {
        let starts_word = match out.last() {
            None => true,
            Some((_, current)) if by_characters => std::str::from_utf8(current).is_ok(),
            Some(_) => bytes.first() == Some(&b' '),
        };
        match out.last_mut() {
            Some((range, current)) if !starts_word => {
                range.end = i + 1;
                current.extend_from_slice(bytes);
            }
            _ => out.push((i..i + 1, bytes.clone())),
        }
    }
    out.into_iter()
        .map(|(range, bytes)| (range, String::from_utf8_lossy(&bytes).trim().to_string()))
        .filter(|(_, text)| !text.is_empty())
        .collect()
}

/// The time (seconds) at which the alignment path first reaches each text token, plus one
/// more entry for the end of the last one. `path` holds `(token, frame)` steps in order.
pub fn token_times(path: &[(usize, usize)], tokens: usize) -> Vec<f64> {
    let mut times = vec![f64::NAN; tokens + 1];
    for &(token, frame) in path {
        if token <= tokens && times[token].is_nan() {
            times[token] = frame as f64 / FRAMES_PER_SECOND;
        }
    }
    // Tokens the path skipped take the next known time.
    let mut next = path
        .last()
        .map_or(0.0, |&(_, f)| f as f64 / FRAMES_PER_SECOND);
    for t in times.iter_mut().rev() {
        if t.is_nan() {
            *t = next;
        } else {
            next = *t;
        }
    }
    times
}

/// A word's probability: the mean of its tokens' (0 when the alignment gave none).
pub fn probability(token_probs: &[f32], tokens: Range<usize>) -> f64 {
    let probs = token_probs.get(tokens).unwrap_or_default();
    if probs.is_empty() {
        return 0.0;
    }
    probs.iter().map(|&p| f64::from(p)).sum::<f64>() / probs.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_as_probable_as_its_tokens_on_average() {
        let probs = [0.9, 0.5, 0.7, 0.2];
        assert!((probability(&probs, 1..3) - 0.6).abs() < 1e-6);
        assert!((probability(&probs, 3..4) - 0.2).abs() < 1e-6);
        // Fewer probabilities than tokens: none to average.
        assert_eq!(probability(&probs, 3..6), 0.0);
        assert_eq!(probability(&[], 0..1), 0.0);
    }

    fn bytes(tokens: &[&str]) -> Vec<Vec<u8>> {
        tokens.iter().map(|t| t.as_bytes().to_vec()).collect()
    }

    #[test]
    fn spaces_start_words_and_characters_stand_alone() {
        let words = group(&bytes(&[" Hello", ",", " wor", "ld", "."]), false);
        let texts: Vec<&str> = words.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["Hello,", "world."]);
        assert_eq!(words[1].0, 2..5);
        // "お世話" with 世 split across two tokens: E4 B8 / 96.
        let split = vec![
            "お".as_bytes().to_vec(),
            vec![0xE4, 0xB8],
            vec![0x96],
            "話".as_bytes().to_vec(),
        ];
        let texts: Vec<String> = group(&split, true).into_iter().map(|(_, t)| t).collect();
        assert_eq!(texts, ["お", "世", "話"]);
    }

    #[test]
    fn times_come_from_the_first_step_on_each_token() {
        let path = [(0, 0), (0, 1), (1, 5), (1, 6), (2, 9), (3, 20)];
        assert_eq!(token_times(&path, 3), vec![0.0, 0.1, 0.18, 0.4]);
        // A token the path never visits takes the next time.
        assert_eq!(token_times(&[(0, 0), (2, 10)], 2), vec![0.0, 0.2, 0.2]);
        assert_eq!(token_times(&[], 1), vec![0.0, 0.0]);
    }
}
