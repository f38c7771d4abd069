//! A submitted form (or query) read as its pairs: for forms whose fields repeat (several
//! users, call types) or are named from data (a kintone field map's rows).

use std::str::FromStr;

use serde::Deserialize;

use crate::app::AppError;

/// The first value of `key`, `""` when absent.
pub fn value_of<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn value(&self, key: &str) -> &str {
        value_of(&self.0, key)
    }

    /// Every value of `key` (checkboxes sharing a name), in the form's order.
    pub fn values(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A checkbox: ticked when sent at all.
    pub fn ticked(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The value trimmed, `None` when empty.
    pub fn given(&self, key: &str) -> Option<String> {
        Some(self.value(key).trim().to_string()).filter(|v| !v.is_empty())
    }

    /// A number, `None` when empty; a refusal naming the field when it does not read.
    pub fn number<T: FromStr>(&self, key: &str) -> Result<Option<T>, AppError> {
        self.given(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| AppError::InvalidRequest(format!("{key}: {v:?} is not a number")))
            })
            .transpose()
    }

    /// Non-empty lines of a text area, trimmed.
    pub fn lines(&self, key: &str) -> Vec<String> {
        self.value(key)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_reads_repeats_ticks_numbers_and_lines() {
        let pairs = [
            ("a", "1"),
            ("a", "2"),
            ("on", "on"),
            ("n", " 7 "),
            ("bad", "x"),
            ("text", " one\n\ntwo "),
        ];
        let f = Fields(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        assert_eq!(f.values("a"), vec!["1", "2"]);
        assert!(f.ticked("on") && !f.ticked("off"));
        assert_eq!(f.number::<u32>("n").expect("number"), Some(7));
        assert_eq!(f.number::<u32>("missing").expect("absent"), None);
        assert!(f.number::<u32>("bad").is_err());
        assert_eq!(f.lines("text"), vec!["one", "two"]);
    }
}
