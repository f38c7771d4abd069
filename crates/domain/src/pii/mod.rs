//! Personal data in transcripts: found ([`detect`]) and replaced by a placeholder such as
//! `[card number]` in the phrases and their word timings, before anything is stored or
//! sent, when the company has redaction on.

mod detect;
mod digits;

use std::collections::BTreeMap;
use std::ops::Range;

pub use detect::{find, Finding, PiiKind};

use crate::analysis::{Transcript, Utterance};

/// Phrases of one speaker further apart than this are not one number read out in pieces.
const READ_OUT_GAP_SECONDS: f64 = 5.0;
/// How far back what was said tells what a number is ("Could I have your card number?").
const CONTEXT_BEFORE_SECONDS: f64 = 20.0;

/// The names to look for: each full name and its parts (family and given name). A
/// Japanese name written without a space (「山田太郎」) is also looked for as its first
/// two characters and the rest, the commonest split of family and given name; in a
/// transcript the family name alone is what is said most (「山田様」).
pub fn names_to_find<'a>(full_names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for full in full_names {
        let full = full.trim();
        let mut parts: Vec<String> = full
            .split([' ', '\u{3000}'])
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if let [one] = parts.as_slice() {
            let chars: Vec<char> = one.chars().collect();
            if (3..=5).contains(&chars.len()) && chars.iter().all(|c| !c.is_ascii()) {
                let (family, given) = chars.split_at(2);
                parts.push(family.iter().collect());
                parts.push(given.iter().collect());
            }
        }
        if parts.len() > 1 && !full.is_ascii() {
            // The name as a transcript writes it, without the space.
            parts.push(parts.concat());
        }
        for name in std::iter::once(full.to_string()).chain(parts) {
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The spans of personal data in each utterance of `transcript` (one list per utterance,
/// sorted, overlaps joined): what [`redact`] replaces.
pub fn spans(transcript: &Transcript, names: &[String]) -> Vec<Vec<(Range<usize>, PiiKind)>> {
    let utterances = &transcript.utterances;
    let mut ranges: Vec<Vec<(Range<usize>, PiiKind)>> = vec![Vec::new(); utterances.len()];
    for group in speaker_groups(utterances) {
        let texts: Vec<&str> = group.iter().map(|&i| utterances[i].text.as_str()).collect();
        let context = context_of(utterances, &group);
        for finding in find(&texts, &context, names) {
            ranges[group[finding.phrase]].push((finding.range, finding.kind));
        }
    }
    utterances
        .iter()
        .zip(ranges)
        .map(|(u, found)| merged(&u.text, found))
        .collect()
}

/// `transcript` with the personal data in its phrases replaced; how many spans of each
/// kind were replaced.
pub fn redact(transcript: &Transcript, names: &[String]) -> (Transcript, BTreeMap<PiiKind, usize>) {
    let found = spans(transcript, names);
    let mut counts = BTreeMap::new();
    let mut redacted = transcript.clone();
    for (utterance, spans) in redacted.utterances.iter_mut().zip(found) {
        if spans.is_empty() {
            continue;
        }
        for (_, kind) in &spans {
            *counts.entry(*kind).or_insert(0) += 1;
        }
        redact_words(utterance, &spans);
        utterance.text = replaced(&utterance.text, &spans);
    }
    (redacted, counts)
}

/// Indices of the utterances, grouped into runs of one speaker's consecutive phrases.
fn speaker_groups(utterances: &[Utterance]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut open: [Option<usize>; 2] = [None, None]; // each speaker's current group
    for (i, u) in utterances.iter().enumerate() {
        let speaker = u.speaker.min(1);
        let continues = open[speaker].is_some_and(|g| {
            let last = groups[g][groups[g].len() - 1];
            u.start - utterances[last].end <= READ_OUT_GAP_SECONDS
        });
        match open[speaker] {
            Some(g) if continues => groups[g].push(i),
            _ => {
                groups.push(vec![i]);
                open[speaker] = Some(groups.len() - 1);
            }
        }
    }
    groups
}

/// For each phrase of `group`: what either party said from shortly before it began up to
/// its start.
fn context_of(utterances: &[Utterance], group: &[usize]) -> Vec<String> {
    group
        .iter()
        .map(|&i| {
            let from = utterances[i].start - CONTEXT_BEFORE_SECONDS;
            utterances[..i]
                .iter()
                .filter(|u| u.start >= from)
                .map(|u| u.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The spans sorted, overlaps joined, and neighbours of one kind with only spacing or
/// punctuation between them joined ("4111 1111" is one card number, not two).
fn merged(text: &str, mut found: Vec<(Range<usize>, PiiKind)>) -> Vec<(Range<usize>, PiiKind)> {
    found.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out: Vec<(Range<usize>, PiiKind)> = Vec::new();
    for (range, kind) in found {
        if let Some((last, last_kind)) = out.last_mut() {
            let between = text
                .get(last.end.min(range.start)..range.start)
                .unwrap_or("");
            let only_spacing = between.chars().all(|c| {
                c.is_whitespace() || c.is_ascii_punctuation() || "、。・ーの－".contains(c)
            });
            if range.start < last.end || (*last_kind == kind && only_spacing) {
                last.end = last.end.max(range.end);
                continue;
            }
        }
        out.push((range, kind));
    }
    out
}

fn replaced(text: &str, spans: &[(Range<usize>, PiiKind)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, kind) in spans {
        out.push_str(&text[at..range.start]);
        out.push_str(kind.placeholder());
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Word timings follow the phrase: a word inside a replaced span becomes the placeholder
/// (the first of the span) or goes (the rest). Words that cannot be placed in the phrase's
/// text are all dropped rather than risk keeping what was redacted.
fn redact_words(utterance: &mut Utterance, spans: &[(Range<usize>, PiiKind)]) {
    let mut placed = Vec::with_capacity(utterance.words.len());
    let mut from = 0;
    for word in &utterance.words {
        let needle = word.text.trim();
        match utterance
            .text
            .get(from..)
            .and_then(|rest| rest.find(needle))
        {
            Some(at) if !needle.is_empty() => {
                placed.push(from + at..from + at + needle.len());
                from += at + needle.len();
            }
            _ => {
                utterance.words.clear();
                return;
            }
        }
    }
    // Each span's placeholder word in `words`, stretched over the words it replaces.
    let mut placeholder: Vec<Option<usize>> = vec![None; spans.len()];
    let mut words: Vec<crate::analysis::Word> = Vec::with_capacity(utterance.words.len());
    for (mut word, range) in std::mem::take(&mut utterance.words).into_iter().zip(placed) {
        let span = spans
            .iter()
            .position(|(s, _)| s.start < range.end && range.start < s.end);
        match span {
            None => words.push(word),
            Some(i) => match placeholder[i] {
                Some(w) => words[w].end = words[w].end.max(word.end),
                None => {
                    placeholder[i] = Some(words.len());
                    word.text = format!(" {}", spans[i].1.placeholder());
                    word.probability = None;
                    words.push(word);
                }
            },
        }
    }
    utterance.words = words;
}

/// A stretch of one speaker's speech (voice activity) up to this long that overlaps a
/// replaced word is hidden whole: word timings can be seconds off, speech stretches are
/// not.
const WHOLE_STRETCH_SECONDS: f64 = 8.0;

/// When the personal data replaced in `redacted` (a transcript from [`redact`]) was said,
/// to hide it in the recording: the times of its placeholder words (the whole phrase
/// where the phrase has no word timings), and the speaker's short stretches of speech
/// that overlap them.
pub fn redacted_times(redacted: &Transcript) -> Vec<(f64, f64)> {
    let is_placeholder = |text: &str| PiiKind::ALL.iter().any(|k| text.contains(k.placeholder()));
    let mut times = Vec::new();
    for u in &redacted.utterances {
        if !is_placeholder(&u.text) {
            continue;
        }
        let mut words: Vec<(f64, f64)> = u
            .words
            .iter()
            .filter(|w| is_placeholder(&w.text))
            .map(|w| (w.start, w.end))
            .collect();
        if words.is_empty() {
            words.push((u.start, u.end));
        }
        let speech = redacted
            .speech
            .get(u.speaker)
            .map_or(&[][..], Vec::as_slice);
        for &(start, end) in &words {
            times.extend(
                speech
                    .iter()
                    .filter(|s| s.start < end && start < s.end)
                    .filter(|s| s.end - s.start <= WHOLE_STRETCH_SECONDS)
                    .map(|s| (s.start, s.end)),
            );
        }
        times.extend(words);
    }
    times
}

#[cfg(test)]
mod tests;
