//! Auto-tag rules (MiiTel's 自動付与): a tag added to a call whose current result has its
//! keywords said often enough, by one side or either. Pure rules: what a rule may be and
//! whether a report matches it.

use crate::analysis::text::keyword_offsets;
use crate::analysis::{Report, Role};

pub const MAX_KEYWORDS: usize = 50;
pub const MAX_KEYWORD_CHARS: usize = 100;
pub const MAX_NAME_CHARS: usize = 100;
/// As the PBX's tag values (product.md §3).
pub const MAX_TAG_CHARS: usize = 512;
pub const MAX_MIN_COUNT: u32 = 1000;

/// How the keywords' counts meet the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeywordMatch {
    /// The keywords' total count reaches `min_count`.
    Any,
    /// Each keyword's own count reaches `min_count`.
    All,
}

impl KeywordMatch {
    pub fn as_str(self) -> &'static str {
        match self {
            KeywordMatch::Any => "any",
            KeywordMatch::All => "all",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [KeywordMatch::Any, KeywordMatch::All]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// What an admin sets on a rule, checked by [`TagRuleSpec::validate`].
#[derive(Clone, Debug, PartialEq)]
pub struct TagRuleSpec {
    pub name: String,
    /// Matched as the company keywords are: case-insensitive, whole words in spaced scripts.
    pub keywords: Vec<String>,
    pub keyword_match: KeywordMatch,
    /// At least 1.
    pub min_count: u32,
    /// `None`: either side's words count.
    pub speaker: Option<Role>,
    pub tag: String,
    /// Off: calls analysed from now on are not tagged by it (tags it gave stay).
    pub enabled: bool,
}

/// Why a rule was refused; shown to the admin as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTagRule {
    #[error("name must be 1 to {MAX_NAME_CHARS} characters")]
    Name,
    #[error("keywords must be 1 to {MAX_KEYWORDS} different words or phrases of 1 to {MAX_KEYWORD_CHARS} characters")]
    Keywords,
    #[error("min_count must be 1 to {MAX_MIN_COUNT}")]
    MinCount,
    #[error("tag must be 1 to {MAX_TAG_CHARS} characters")]
    Tag,
}

impl TagRuleSpec {
    /// Trims the texts, drops repeated keywords (case-insensitively) and checks the rest.
    pub fn validate(mut self) -> Result<Self, InvalidTagRule> {
        self.name = self.name.trim().to_string();
        if !(1..=MAX_NAME_CHARS).contains(&self.name.chars().count()) {
            return Err(InvalidTagRule::Name);
        }
        let mut keywords: Vec<String> = Vec::new();
        for k in &self.keywords {
            let k = k.trim();
            if !(1..=MAX_KEYWORD_CHARS).contains(&k.chars().count()) {
                return Err(InvalidTagRule::Keywords);
            }
            if !keywords
                .iter()
                .any(|known| known.to_lowercase() == k.to_lowercase())
            {
                keywords.push(k.to_string());
            }
        }
        if keywords.is_empty() || keywords.len() > MAX_KEYWORDS {
            return Err(InvalidTagRule::Keywords);
        }
        self.keywords = keywords;
        if !(1..=MAX_MIN_COUNT).contains(&self.min_count) {
            return Err(InvalidTagRule::MinCount);
        }
        self.tag = self.tag.trim().to_string();
        if !(1..=MAX_TAG_CHARS).contains(&self.tag.chars().count()) {
            return Err(InvalidTagRule::Tag);
        }
        Ok(self)
    }

    /// How often each keyword was said by the rule's side in `report`, in keyword order.
    pub fn counts(&self, report: &Report) -> Vec<usize> {
        let phrases: Vec<&str> = report
            .phrases
            .iter()
            .filter(|p| self.speaker.is_none_or(|side| p.role == side))
            .map(|p| p.text.as_str())
            .collect();
        self.keywords
            .iter()
            .map(|k| phrases.iter().map(|p| keyword_offsets(p, k).len()).sum())
            .collect()
    }

    /// Whether the rule tags a call with this result.
    pub fn matches(&self, report: &Report) -> bool {
        let counts = self.counts(report);
        let min = self.min_count as usize;
        match self.keyword_match {
            KeywordMatch::Any => counts.iter().sum::<usize>() >= min,
            KeywordMatch::All => !counts.is_empty() && counts.iter().all(|&n| n >= min),
        }
    }
}

#[cfg(test)]
mod tests;
