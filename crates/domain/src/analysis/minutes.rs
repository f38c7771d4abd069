//! Minutes: an abstractive summary of a call, written by a language model the operator
//! runs behind the OpenAI-compatible chat API (docs/analysis.md, *Minutes*). This module
//! is the pure part: the conversation the model is given, made from a stored report (so
//! a redacted transcript stays redacted), and the check of what it answers. Sending it is
//! the server's job.

use super::{Phrase, Report, Role};

/// The most transcript sent: small local models have small context windows, and a
/// call's opening and close say most of what minutes need.
pub const MAX_TRANSCRIPT_CHARS: usize = 12_000;
/// The most of an answer kept.
pub const MAX_MINUTES_CHARS: usize = 4_000;

/// One message of a chat completion request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system` or `user`.
    pub role: &'static str,
    pub content: String,
}

/// What the model is asked: the instructions in the call's language, then the transcript
/// as `Agent:`/`Customer:` lines (担当者/お客様 for Japanese).
pub fn minutes_request(report: &Report) -> Vec<ChatMessage> {
    let japanese = report.language == "ja";
    let (instructions, user, customer, cut) = if japanese {
        (JAPANESE, "担当者", "お客様", "（以下省略）")
    } else {
        (
            ENGLISH,
            "Agent",
            "Customer",
            "(the rest of the call is left out)",
        )
    };
    let mut transcript = String::new();
    for phrase in &report.phrases {
        let text = said(phrase);
        if text.is_empty() {
            continue;
        }
        let who = match phrase.role {
            Role::User => user,
            Role::Customer => customer,
        };
        let line = format!("{who}: {text}\n");
        if transcript.chars().count() + line.chars().count() > MAX_TRANSCRIPT_CHARS {
            transcript.push_str(cut);
            transcript.push('\n');
            break;
        }
        transcript.push_str(&line);
    }
    vec![
        ChatMessage {
            role: "system",
            content: instructions.to_string(),
        },
        ChatMessage {
            role: "user",
            content: transcript,
        },
    ]
}

/// Whether there is anything to write minutes of.
pub fn has_speech(report: &Report) -> bool {
    report.phrases.iter().any(|p| !said(p).is_empty())
}

/// The minutes in the model's answer: trimmed, without a Markdown fence around them, at
/// most [`MAX_MINUTES_CHARS`]; an empty answer is refused with the reason.
pub fn minutes_from_answer(answer: &str) -> Result<String, String> {
    let mut text = answer.trim();
    if let Some(inner) = text.strip_prefix("```") {
        // The fence's first line may name a language.
        let inner = inner.split_once('\n').map_or("", |(_, rest)| rest);
        text = inner.strip_suffix("```").unwrap_or(inner).trim();
    }
    if text.is_empty() {
        return Err("the language model answered with no text".into());
    }
    Ok(text.chars().take(MAX_MINUTES_CHARS).collect())
}

fn said(phrase: &Phrase) -> &str {
    match phrase.text_without_fillers.trim() {
        "" => phrase.text.trim(),
        clean => clean,
    }
}

const ENGLISH: &str = "You write the minutes of a phone call between a company's agent and a \
customer. Use only what the transcript says. Answer in English, in exactly this form:\n\
Topic:\n<one line>\n\n\
Key points:\n- <point>\n\n\
Next steps:\n- <who does what, and when>\n\n\
Write \"Unknown\" under a heading the call does not answer.";

const JAPANESE: &str = "あなたは会社の担当者とお客様の電話の議事録を書きます。\
書き起こしにあることだけを使い、日本語で、次の形式どおりに答えてください。\n\
【議題】\n（一行）\n\n\
【重要なポイント】\n- （要点）\n\n\
【今後取るべき方針】\n- （誰が何をいつまでに）\n\n\
通話から分からない項目には「不明」と書いてください。";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{report, AnalysisSettings, Roles, Transcript, Utterance};

    fn call(language: &str, lines: &[(usize, &str)]) -> Report {
        let utterances = lines
            .iter()
            .enumerate()
            .map(|(i, (speaker, text))| Utterance {
                speaker: *speaker,
                start: i as f64 * 3.0,
                end: i as f64 * 3.0 + 2.5,
                text: (*text).to_string(),
                words: Vec::new(),
            })
            .collect();
        let transcript = Transcript {
            language: language.into(),
            duration_seconds: lines.len() as f64 * 3.0,
            utterances,
            ..Transcript::default()
        };
        let roles = Roles {
            user_speaker: 0,
            user_side: crate::Side::From,
            confidence: 1.0,
            basis: "test".into(),
        };
        report(&transcript, &roles, &AnalysisSettings::default())
    }

    #[test]
    fn the_request_gives_the_transcript_by_role_in_the_call_language() {
        let english = call(
            "en",
            &[
                (0, "Thank you for calling."),
                (1, "Um, my router is broken."),
            ],
        );
        let messages = minutes_request(&english);
        assert_eq!(messages[0].role, "system");
        assert!(messages[0].content.contains("Next steps:"));
        assert_eq!(messages[1].role, "user");
        assert_eq!(
            messages[1].content,
            "Agent: Thank you for calling.\nCustomer: my router is broken.\n"
        );

        let japanese = call(
            "ja",
            &[(0, "お電話ありがとうございます。"), (1, "注文の確認です。")],
        );
        let messages = minutes_request(&japanese);
        assert!(messages[0].content.contains("【今後取るべき方針】"));
        assert!(messages[1]
            .content
            .starts_with("担当者: お電話ありがとうございます。\nお客様: 注文の確認です。"));
    }

    #[test]
    fn a_long_call_is_cut_at_a_line_with_a_mark() {
        let long = "word ".repeat(200);
        let lines: Vec<(usize, &str)> = (0..100).map(|i| (i % 2, long.as_str())).collect();
        let messages = minutes_request(&call("en", &lines));
        let sent = &messages[1].content;
        assert!(sent.chars().count() <= MAX_TRANSCRIPT_CHARS + 60);
        assert!(sent.ends_with("(the rest of the call is left out)\n"));
        assert!(sent.lines().all(|l| l.starts_with("Agent: ")
            || l.starts_with("Customer: ")
            || l.starts_with('(')));
    }

    #[test]
    fn answers_are_trimmed_unfenced_capped_and_never_empty() {
        assert_eq!(
            minutes_from_answer("  Topic:\nA router.\n ").as_deref(),
            Ok("Topic:\nA router.")
        );
        assert_eq!(
            minutes_from_answer("```markdown\nTopic:\nA router.\n```").as_deref(),
            Ok("Topic:\nA router.")
        );
        assert!(minutes_from_answer(" \n ").is_err());
        assert!(minutes_from_answer("```\n```").is_err());
        let long = "あ".repeat(MAX_MINUTES_CHARS + 10);
        assert_eq!(
            minutes_from_answer(&long).map(|m| m.chars().count()),
            Ok(MAX_MINUTES_CHARS)
        );
    }

    #[test]
    fn a_call_with_no_words_has_nothing_to_summarise() {
        assert!(!has_speech(&call("en", &[(0, " ")])));
        assert!(has_speech(&call("en", &[(0, "Hello.")])));
    }
}
