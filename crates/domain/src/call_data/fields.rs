//! Reading fields out of untrusted JSON while collecting every problem with its path.

use serde_json::{Map, Value};

use super::Problem;

/// The problems found in one call, with the call's position and id for reporting.
pub(super) struct Report<'a> {
    pub index: usize,
    pub call_data_id: Option<String>,
    pub problems: &'a mut Vec<Problem>,
}

impl Report<'_> {
    pub fn add(&mut self, path: impl AsRef<str>, reason: impl Into<String>) {
        self.problems.push(Problem {
            index: Some(self.index),
            call_data_id: self.call_data_id.clone(),
            path: format!("call_data[{}]{}", self.index, path.as_ref()),
            reason: reason.into(),
        });
    }

    /// A required string field, at most `max_chars` long.
    pub fn string(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        max_chars: usize,
    ) -> Option<String> {
        match obj.get(key) {
            None => self.add(format!(".{key}"), "required"),
            Some(Value::String(s)) => return self.checked_len(key, s, 1, max_chars),
            Some(_) => self.add(format!(".{key}"), "must be a string"),
        }
        None
    }

    /// A string-or-null field; `""` means none. `Err` when the value is unusable.
    pub fn optional_string(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        max_chars: usize,
    ) -> Result<Option<String>, ()> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => self.checked_len(key, s, 1, max_chars).map(Some).ok_or(()),
            Some(_) => {
                self.add(format!(".{key}"), "must be a string or null");
                Err(())
            }
        }
    }

    /// A required enum given as a string.
    pub fn enumerated<T: std::fmt::Display>(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        prefix: &str,
        parse: fn(&str) -> Option<T>,
        allowed: &[T],
    ) -> Option<T> {
        let path = format!("{prefix}.{key}");
        match obj.get(key) {
            None => self.add(path, "required"),
            Some(Value::String(s)) => match parse(s) {
                Some(v) => return Some(v),
                None => {
                    let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
                    self.add(path, format!("must be one of {}", names.join(", ")))
                }
            },
            Some(_) => self.add(path, "must be a string"),
        }
        None
    }

    fn checked_len(&mut self, key: &str, s: &str, min: usize, max: usize) -> Option<String> {
        let n = s.chars().count();
        if n < min || n > max {
            self.add(
                format!(".{key}"),
                format!("must be {min} to {max} characters long"),
            );
            return None;
        }
        Some(s.to_string())
    }
}

/// `(^[+*#0-9][0-9]*$)|(^Anonymous$)`, the vendor schema's pattern for phone numbers.
pub(super) fn is_valid_number(number: &str) -> bool {
    if number == "Anonymous" {
        return true;
    }
    let mut chars = number.chars();
    matches!(chars.next(), Some('+' | '*' | '#' | '0'..='9')) && chars.all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_valid_number;

    #[test]
    fn numbers_follow_the_vendor_pattern() {
        for ok in ["05011112222", "+81501111", "*1", "#", "0", "Anonymous"] {
            assert!(is_valid_number(ok), "{ok}");
        }
        for bad in ["", "anonymous", "050-1111", "12a", "++1", " 1", "１２"] {
            assert!(!is_valid_number(bad), "{bad}");
        }
    }
}
