//! The call list's query parameters, parsed into a [`CallSearch`]: every value checked,
//! every refusal naming its parameter.

use thiserror::Error;
use time::OffsetDateTime;

use super::cursor::Cursor;
use super::text::TextQuery;
use super::{Flag, SortKey};
use crate::analysis::Role;
use crate::{datetime, CallStatus, EventType, UserId};

/// Calls per page: the default and the most.
pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;
/// Values of one multi-valued parameter, at most, and characters of one value.
const MAX_VALUES: usize = 50;
const MAX_VALUE_CHARS: usize = 200;
/// Digits a phone number filter needs: fewer would match too much to mean anything.
pub const MIN_NUMBER_DIGITS: usize = 4;

/// Which calls to list, and in what order. Filters are ANDed; the values of a multi-valued
/// one are ORed; an empty list or `None` means any.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSearch {
    pub text: Option<TextQuery>,
    /// Whose words `text` must be in; `None`: either party's.
    pub speaker: Option<Role>,
    pub users: Vec<UserId>,
    pub event_types: Vec<EventType>,
    pub statuses: Vec<CallStatus>,
    pub tags: Vec<String>,
    /// Digits only; matches a FROM or TO number ending with them.
    pub number: Option<String>,
    pub group_name: Option<String>,
    pub queue_name: Option<String>,
    /// `call_starts_at`: `from` inclusive, `to` exclusive.
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub answered: Option<bool>,
    /// Talk time (answer to end) in seconds, inclusive.
    pub min_duration: Option<u32>,
    pub max_duration: Option<u32>,
    /// The current result's score, inclusive; calls without one never match a bound.
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    /// Lower-cased registered keywords, at least one of which was said.
    pub keywords: Vec<String>,
    pub flags: Vec<Flag>,
    pub sort: SortKey,
    pub cursor: Option<Cursor>,
    pub per_page: u32,
}

impl Default for CallSearch {
    /// Every call, newest first, a page of [`DEFAULT_PER_PAGE`].
    fn default() -> Self {
        Self {
            text: None,
            speaker: None,
            users: Vec::new(),
            event_types: Vec::new(),
            statuses: Vec::new(),
            tags: Vec::new(),
            number: None,
            group_name: None,
            queue_name: None,
            from: None,
            to: None,
            answered: None,
            min_duration: None,
            max_duration: None,
            min_score: None,
            max_score: None,
            keywords: Vec::new(),
            flags: Vec::new(),
            sort: SortKey::StartsAt,
            cursor: None,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// A parameter that cannot be used, and why.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{parameter}: {reason}")]
pub struct ParamError {
    pub parameter: String,
    pub reason: String,
}

fn bad(parameter: &str, reason: impl Into<String>) -> ParamError {
    ParamError {
        parameter: parameter.to_string(),
        reason: reason.into(),
    }
}

impl CallSearch {
    /// The parameters allowed beside the filters, e.g. `encoding` for the CSV export.
    pub fn parse(pairs: &[(String, String)], extra: &[&str]) -> Result<Self, ParamError> {
        let mut s = CallSearch::default();
        let mut cursor_text = None;
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            let key = key.as_str();
            if value.chars().count() > MAX_VALUE_CHARS && key != "q" {
                return Err(bad(key, format!("at most {MAX_VALUE_CHARS} characters")));
            }
            let single = !matches!(
                key,
                "user_id" | "event_type" | "status" | "tag" | "keyword" | "flag"
            );
            if single && seen.contains(&key) {
                return Err(bad(key, "given more than once"));
            }
            seen.push(key);
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key {
                "q" => s.text = Some(TextQuery::parse(value).map_err(|e| bad(key, e.to_string()))?),
                "speaker" => {
                    s.speaker = crate::analysis::parse_speaker(value)
                        .ok_or_else(|| bad(key, "must be user, customer or any"))?;
                }
                "user_id" => push_each(&mut s.users, key, value, |v| v.parse().ok())?,
                "event_type" => push_each(&mut s.event_types, key, value, EventType::parse)?,
                "status" => push_each(&mut s.statuses, key, value, CallStatus::parse)?,
                "flag" => push_each(&mut s.flags, key, value, Flag::parse)?,
                "tag" => push_one(&mut s.tags, key, value.to_string())?,
                "keyword" => push_one(&mut s.keywords, key, value.to_lowercase())?,
                "number" => {
                    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                    if digits.len() < MIN_NUMBER_DIGITS
                        || value
                            .chars()
                            .any(|c| !(c.is_ascii_digit() || "+-() ".contains(c)))
                    {
                        return Err(bad(
                            key,
                            format!(
                                "must be a phone number or its last {MIN_NUMBER_DIGITS}+ digits"
                            ),
                        ));
                    }
                    s.number = Some(digits);
                }
                "group_name" => s.group_name = Some(value.to_string()),
                "queue_name" => s.queue_name = Some(value.to_string()),
                "from" | "to" => {
                    let t = datetime::parse_lenient(value)
                        .map_err(|e| bad(key, format!("must be an RFC 3339 datetime ({e})")))?;
                    *if key == "from" {
                        &mut s.from
                    } else {
                        &mut s.to
                    } = Some(t);
                }
                "answered" => {
                    s.answered = Some(match value {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad(key, "must be true or false")),
                    })
                }
                "min_duration" | "max_duration" => {
                    let n = value
                        .parse::<u32>()
                        .map_err(|_| bad(key, "must be a whole number of seconds"))?;
                    *if key == "min_duration" {
                        &mut s.min_duration
                    } else {
                        &mut s.max_duration
                    } = Some(n);
                }
                "min_score" | "max_score" => {
                    let n = value
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| bad(key, "must be a number"))?;
                    *if key == "min_score" {
                        &mut s.min_score
                    } else {
                        &mut s.max_score
                    } = Some(n);
                }
                "sort" => {
                    s.sort = SortKey::parse(value)
                        .ok_or_else(|| bad(key, "must be starts_at, score or duration"))?
                }
                "cursor" => cursor_text = Some(value),
                "per_page" => {
                    s.per_page = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                        .ok_or_else(|| bad(key, format!("must be 1 to {MAX_PER_PAGE}")))?
                }
                other if extra.contains(&other) => {}
                other => return Err(bad(other, "unknown parameter")),
            }
        }
        if let Some(text) = cursor_text {
            let cursor =
                Cursor::decode(text).ok_or_else(|| bad("cursor", "not a cursor this list gave"))?;
            if cursor.sort != s.sort {
                return Err(bad("cursor", "was made for another sort"));
            }
            s.cursor = Some(cursor);
        }
        if s.speaker.is_some() && s.text.is_none() {
            return Err(bad("speaker", "needs q"));
        }
        Ok(s)
    }
}

fn push_one<T>(list: &mut Vec<T>, key: &str, value: T) -> Result<(), ParamError> {
    if list.len() >= MAX_VALUES {
        return Err(bad(key, format!("at most {MAX_VALUES} values")));
    }
    list.push(value);
    Ok(())
}

/// A comma-separated list of values of a closed set.
fn push_each<T: PartialEq>(
    list: &mut Vec<T>,
    key: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<(), ParamError> {
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v = parse(part).ok_or_else(|| bad(key, format!("{part:?} is not a known value")))?;
        if !list.contains(&v) {
            push_one(list, key, v)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> Result<CallSearch, ParamError> {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CallSearch::parse(&pairs, &["encoding"])
    }

    fn refused(query: &[(&str, &str)]) -> String {
        parse(query).expect_err("refused").parameter
    }

    #[test]
    fn filters_combine_and_repeat() {
        let s = parse(&[
            ("status", "completed,failed"),
            ("status", "queued"),
            ("tag", "a,b"),
            ("tag", "c"),
            ("number", "+81 (3) 1111-2222"),
            ("answered", "false"),
            ("sort", "score"),
            ("encoding", "shift_jis"),
        ])
        .expect("valid");
        assert_eq!(s.statuses.len(), 3);
        assert_eq!(
            s.tags,
            vec!["a,b", "c"],
            "tags may hold commas: repeat the parameter"
        );
        assert_eq!(s.number.as_deref(), Some("81311112222"));
        assert_eq!((s.answered, s.sort), (Some(false), SortKey::Score));
        assert_eq!(s.per_page, DEFAULT_PER_PAGE);
    }

    #[test]
    fn every_bad_value_names_its_parameter() {
        let long = "x".repeat(10_000);
        for (query, parameter) in [
            (vec![("status", "done")], "status"),
            (vec![("colour", "red")], "colour"),
            (vec![("q", long.as_str())], "q"),
            (vec![("tag", long.as_str())], "tag"),
            (vec![("cursor", "nonsense")], "cursor"),
            (vec![("number", "123")], "number"),
            (vec![("number", "abcd1234")], "number"),
            (vec![("min_score", "NaN")], "min_score"),
            (vec![("per_page", "0")], "per_page"),
            (vec![("speaker", "user")], "speaker"),
            (vec![("sort", "sideways")], "sort"),
            (vec![("from", "yesterday")], "from"),
            (vec![("answered", "yes")], "answered"),
            (vec![("flag", "shiny")], "flag"),
            (vec![("user_id", "bob")], "user_id"),
            (vec![("group_name", "a"), ("group_name", "b")], "group_name"),
        ] {
            assert_eq!(refused(&query), parameter, "{query:?}");
        }
    }

    #[test]
    fn a_cursor_belongs_to_its_sort() {
        let cursor = Cursor {
            sort: SortKey::Score,
            value: super::super::cursor::SortValue::Float(50.0),
            call: crate::CallId::new(),
        };
        let text = cursor.encode();
        assert_eq!(refused(&[("cursor", &text)]), "cursor");
        let ok = parse(&[("cursor", &text), ("sort", "score")]).expect("same sort");
        assert_eq!(ok.cursor, Some(cursor));
    }
}
