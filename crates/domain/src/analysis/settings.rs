//! What a company's admins choose about analysis: the language, keywords, the vocabulary
//! the recogniser is told about, score rule and the redaction of personal data.

use serde::{Deserialize, Serialize};

use crate::metrics::ScoreRule;

pub const MAX_KEYWORDS: usize = 500;
pub const MAX_KEYWORD_CHARS: usize = 100;
/// Whisper reads at most 223 tokens of prompt; a few hundred words already fill it.
pub const MAX_VOCABULARY: usize = 200;

/// Recognition language: detected per call, or fixed (a Whisper code such as `ja`, `en`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Language {
    #[default]
    Auto,
    Fixed(String),
}

impl TryFrom<String> for Language {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let code = text.trim().to_ascii_lowercase();
        if code == "auto" {
            return Ok(Language::Auto);
        }
        // Whisper's codes are two or three lowercase letters (`en`, `ja`, `haw`).
        if (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Language::Fixed(code))
        } else {
            Err(format!(
                "language must be \"auto\" or a language code such as \"ja\" or \"en\", not {text:?}"
            ))
        }
    }
}

impl From<Language> for String {
    fn from(language: Language) -> String {
        match language {
            Language::Auto => "auto".into(),
            Language::Fixed(code) => code,
        }
    }
}

/// A company's analysis settings; the default is the product's. A `PUT` replaces the whole
/// object; a field left out takes its default. Unknown fields are refused (400
/// `malformed_json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnalysisSettings {
    /// `auto` (detected per call) or a Whisper language code of two or three letters such
    /// as `ja` or `en` (read case-insensitively, spaces trimmed); anything else is refused
    /// with 400. Applies to calls analysed after the change.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, default = "auto", examples("auto", "ja")))]
    pub language: Language,
    /// Words counted per speaker in every call, case-insensitively (a keyword edge that is
    /// an ASCII letter or digit must meet a word boundary). Each 1–100 characters after
    /// trimming; repeats ignoring case count once.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub keywords: Vec<String>,
    /// The company's own words (product, place and people's names, jargon) the recogniser
    /// is told to expect: with the keywords and the participants' names from the call data
    /// they head Whisper's prompt in every window of calls analysed after the change
    /// (docs/analysis.md, *Vocabulary*). Each 1–100 characters after trimming; repeats
    /// ignoring case count once.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 200))]
    pub vocabulary: Vec<String>,
    #[serde(default)]
    pub score_rule: ScoreRule,
    /// Replace personal data (card, phone and My Number numbers, postal codes, e-mail
    /// addresses, dates of birth, the parties' names) in the transcripts of calls analysed
    /// from now on, before they are stored or sent anywhere.
    #[serde(default)]
    pub redact_personal_data: bool,
    /// With `redact_personal_data`: also hide the redacted stretches in the recording,
    /// in a stored redacted copy that is then the one served.
    #[serde(default)]
    pub redact_audio: AudioRedaction,
    /// Keep the original recording (not served) once its redacted copy is stored; off:
    /// delete it.
    #[serde(default = "keep_by_default")]
    pub keep_original_recording: bool,
    /// Have the operator's language model write minutes of each call analysed (or
    /// swapped) from now on, sent as `call_summarization_completed` (docs/analysis.md,
    /// *Minutes*). Refused while the server has no `minutes_url`. The model reads the
    /// transcript as stored: redacted when `redact_personal_data` is on.
    #[serde(default)]
    pub write_minutes: bool,
}

fn keep_by_default() -> bool {
    true
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            language: Language::default(),
            keywords: Vec::new(),
            vocabulary: Vec::new(),
            score_rule: ScoreRule::default(),
            redact_personal_data: false,
            redact_audio: AudioRedaction::default(),
            keep_original_recording: true,
            write_minutes: false,
        }
    }
}

/// What replaces personal data in a recording.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AudioRedaction {
    /// The recording is left as it is.
    #[default]
    Off,
    Silence,
    /// A 1 kHz beep, so a listener hears that something was cut.
    Tone,
}

impl AnalysisSettings {
    /// Refuses settings that cannot be applied, with the reason.
    pub fn validate(&self) -> Result<(), String> {
        check_words(&self.keywords, MAX_KEYWORDS, "keyword")?;
        check_words(&self.vocabulary, MAX_VOCABULARY, "vocabulary word")?;
        if self.redact_audio != AudioRedaction::Off && !self.redact_personal_data {
            return Err(
                "redact_audio hides what redact_personal_data finds: turn that on too".into(),
            );
        }
        self.score_rule
            .validate()
            .map_err(|e| format!("score_rule: {e}"))
    }

    /// The keywords trimmed, without repeats (compared case-insensitively).
    pub fn normalised_keywords(&self) -> Vec<String> {
        distinct(&self.keywords)
    }

    /// What the recogniser is told to expect in a call: the vocabulary, the keywords and
    /// `names` (the participants' names from the call data), in that order, trimmed,
    /// without repeats.
    pub fn recognition_vocabulary(&self, names: &[String]) -> Vec<String> {
        let all: Vec<String> = self
            .vocabulary
            .iter()
            .chain(&self.keywords)
            .chain(names)
            .cloned()
            .collect();
        distinct(&all)
    }
}

/// At most `max` words, each 1 to [`MAX_KEYWORD_CHARS`] characters once trimmed.
fn check_words(words: &[String], max: usize, what: &str) -> Result<(), String> {
    if words.len() > max {
        return Err(format!("at most {max} {what}s"));
    }
    match words
        .iter()
        .find(|w| w.trim().is_empty() || w.chars().count() > MAX_KEYWORD_CHARS)
    {
        Some(bad) => Err(format!(
            "{what} {bad:?} must be 1 to {MAX_KEYWORD_CHARS} characters"
        )),
        None => Ok(()),
    }
}

/// `words` trimmed, blanks dropped, without repeats (compared case-insensitively), in order.
fn distinct(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words {
        let w = w.trim();
        if !w.is_empty() && !out.iter().any(|o| o.to_lowercase() == w.to_lowercase()) {
            out.push(w.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_accepts_auto_and_codes_only() {
        let parse = |t: &str| Language::try_from(t.to_string());
        assert_eq!(parse("AUTO"), Ok(Language::Auto));
        assert_eq!(parse(" ja "), Ok(Language::Fixed("ja".into())));
        assert!(parse("japanese").is_err());
        assert!(parse("e1").is_err());
        assert!(parse("").is_err());
        let json: AnalysisSettings = serde_json::from_str(r#"{"language":"en"}"#).expect("json");
        assert_eq!(json.language, Language::Fixed("en".into()));
        assert!(serde_json::from_str::<AnalysisSettings>(r#"{"language":"x"}"#).is_err());
    }

    #[test]
    fn keywords_are_checked() {
        let mut s = AnalysisSettings {
            keywords: vec![
                "見積".into(),
                " 見積 ".into(),
                "Price".into(),
                "price".into(),
            ],
            ..Default::default()
        };
        assert!(s.validate().is_ok());
        assert_eq!(s.normalised_keywords(), vec!["見積", "Price"]);
        s.keywords.push("  ".into());
        assert!(s.validate().is_err());
        s.keywords = vec!["x".repeat(101)];
        assert!(s.validate().is_err());
    }

    #[test]
    fn vocabulary_is_checked_and_joins_keywords_and_names() {
        let mut s: AnalysisSettings =
            serde_json::from_str(r#"{"keywords":["Quillbox"]}"#).expect("json");
        assert!(
            s.vocabulary.is_empty(),
            "settings stored before it have none"
        );
        s.vocabulary = vec!["Zentrix".into(), " quillbox ".into(), "ソラリンク".into()];
        assert!(s.validate().is_ok());
        assert_eq!(
            s.recognition_vocabulary(&["Maya Lindqvist".into(), " ".into(), "zentrix".into()]),
            vec!["Zentrix", "quillbox", "ソラリンク", "Maya Lindqvist"]
        );
        s.vocabulary.push(String::new());
        assert!(s.validate().is_err());
        s.vocabulary = vec!["x".repeat(101)];
        assert!(s.validate().is_err());
        s.vocabulary = vec!["w".into(); MAX_VOCABULARY + 1];
        assert!(s.validate().is_err());
    }
}
