//! The Kiku fields a kintone app's fields can be filled from, and an admin's mapping of
//! them to field codes of the app.

use std::collections::BTreeMap;

use super::InvalidCrm;

/// A fact of the call Kiku can put in a kintone field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KikuField {
    CallId,
    Title,
    /// When the call started, UTC (`2026-01-05T01:00:00Z`: kintone's DATETIME format).
    StartedAt,
    /// `inbound` or `outbound`, from the user's side.
    Direction,
    EventType,
    DurationSeconds,
    Caller,
    Callee,
    CallerNumber,
    CalleeNumber,
    /// The number of the party who is not the user.
    CustomerNumber,
    Score,
    /// `{public_url}/calls/{id}`.
    Link,
    /// The transcript or the summary, as the connection's `content` says.
    Body,
    Transcript,
    Summary,
}

impl KikuField {
    pub const ALL: [KikuField; 16] = [
        KikuField::CallId,
        KikuField::Title,
        KikuField::StartedAt,
        KikuField::Direction,
        KikuField::EventType,
        KikuField::DurationSeconds,
        KikuField::Caller,
        KikuField::Callee,
        KikuField::CallerNumber,
        KikuField::CalleeNumber,
        KikuField::CustomerNumber,
        KikuField::Score,
        KikuField::Link,
        KikuField::Body,
        KikuField::Transcript,
        KikuField::Summary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KikuField::CallId => "call_id",
            KikuField::Title => "title",
            KikuField::StartedAt => "started_at",
            KikuField::Direction => "direction",
            KikuField::EventType => "event_type",
            KikuField::DurationSeconds => "duration_seconds",
            KikuField::Caller => "caller",
            KikuField::Callee => "callee",
            KikuField::CallerNumber => "caller_number",
            KikuField::CalleeNumber => "callee_number",
            KikuField::CustomerNumber => "customer_number",
            KikuField::Score => "score",
            KikuField::Link => "link",
            KikuField::Body => "body",
            KikuField::Transcript => "transcript",
            KikuField::Summary => "summary",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// Kiku field → kintone field code; at least one, each code at most once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldMap(BTreeMap<KikuField, String>);

/// kintone's limit on a field code's length.
const MAX_CODE_CHARS: usize = 128;

impl FieldMap {
    pub fn parse(raw: &BTreeMap<String, String>) -> Result<Self, InvalidCrm> {
        let bad = |why: String| InvalidCrm::Field("field_map", why);
        if raw.is_empty() {
            return Err(bad("map at least one Kiku field to a field code".into()));
        }
        let mut out = BTreeMap::new();
        for (kiku, code) in raw {
            let field = KikuField::parse(kiku).ok_or_else(|| {
                let known: Vec<&str> = KikuField::ALL.iter().map(|f| f.as_str()).collect();
                bad(format!(
                    "{kiku:?} is not a Kiku field (one of {})",
                    known.join(", ")
                ))
            })?;
            let code = code.trim();
            if code.is_empty()
                || code.chars().count() > MAX_CODE_CHARS
                || code.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(bad(format!("{code:?} is not a kintone field code")));
            }
            if out.values().any(|c: &String| c == code) {
                return Err(bad(format!("field code {code:?} is mapped twice")));
            }
            out.insert(field, code.to_string());
        }
        Ok(Self(out))
    }

    pub fn iter(&self) -> impl Iterator<Item = (KikuField, &str)> {
        self.0.iter().map(|(f, c)| (*f, c.as_str()))
    }

    /// As the API shows it.
    pub fn to_raw(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(f, c)| (f.as_str().to_string(), c.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn field_maps_name_kiku_fields_and_field_codes() {
        let ok = FieldMap::parse(&map(&[("started_at", "通話日時"), ("body", " memo ")]))
            .expect("valid");
        assert_eq!(
            ok.to_raw(),
            map(&[("body", "memo"), ("started_at", "通話日時")])
        );
        for bad in [
            map(&[]),
            map(&[("colour", "x")]),
            map(&[("body", "")]),
            map(&[("body", "a b")]),
            map(&[("body", "x"), ("summary", "x")]),
        ] {
            assert!(FieldMap::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
