//! Keyset cursors: where a page ended (its sort value and call id), so the next page starts
//! right after it however many calls arrive meanwhile.

use std::fmt::Write;

use super::SortKey;
use crate::CallId;

/// The last call of a page, under its sort.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cursor {
    pub sort: SortKey,
    /// The sort value of the last call: `starts_at` and `duration` in ms, `score` as is
    /// (-1 for calls without one).
    pub value: SortValue,
    pub call: CallId,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SortValue {
    Int(i64),
    Float(f64),
}

impl Cursor {
    /// Opaque to clients: hex of `sort:value:call_id`.
    pub fn encode(&self) -> String {
        let value = match self.value {
            SortValue::Int(v) => v.to_string(),
            // Rust prints the shortest text that reads back as the same f64.
            SortValue::Float(v) => format!("{v:?}"),
        };
        let plain = format!("{}:{value}:{}", self.sort.as_str(), self.call);
        plain.bytes().fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }

    /// `None` for anything [`Self::encode`] did not make.
    pub fn decode(text: &str) -> Option<Cursor> {
        if text.len() > 200 {
            return None;
        }
        let bytes = hex::decode(text).ok()?;
        let plain = String::from_utf8(bytes).ok()?;
        let mut parts = plain.splitn(3, ':');
        let sort = SortKey::parse(parts.next()?)?;
        let value = parts.next()?;
        let call = parts.next()?.parse().ok()?;
        let value = match sort {
            SortKey::Score => SortValue::Float(value.parse().ok().filter(|v: &f64| v.is_finite())?),
            SortKey::StartsAt | SortKey::Duration => SortValue::Int(value.parse().ok()?),
        };
        Some(Cursor { sort, value, call })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn garbage_is_not_a_cursor() {
        for bad in [
            "",
            "zz",
            "6869",
            &"00".repeat(300),
            "73636f72653a6e616e3a78",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn cursors_read_back(int in any::<i64>(), float in -1e9f64..1e9, pick in 0usize..3) {
            let sort = [SortKey::StartsAt, SortKey::Score, SortKey::Duration][pick];
            let value = if sort == SortKey::Score { SortValue::Float(float) } else { SortValue::Int(int) };
            let cursor = Cursor { sort, value, call: CallId::new() };
            prop_assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
    }
}
