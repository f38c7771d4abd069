//! Datetimes as PBXs send them: RFC 3339, also with offsets written `+0900`.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parses an RFC 3339 datetime with an explicit offset, also accepting `+hhmm` offsets
/// without a colon (the vendor's own sample writes `2023-11-27T15:22:33+0900`).
pub fn parse_lenient(text: &str) -> Result<OffsetDateTime, String> {
    let normalised = insert_offset_colon(text);
    OffsetDateTime::parse(normalised.as_deref().unwrap_or(text), &Rfc3339).map_err(|_| {
        "must be an RFC 3339 datetime with an offset, e.g. 2023-11-27T15:22:33+09:00".to_string()
    })
}

/// Formats as RFC 3339, keeping the offset the value carries.
pub fn format(value: OffsetDateTime) -> String {
    value
        .format(&Rfc3339)
        .unwrap_or_else(|_| value.unix_timestamp().to_string())
}

/// `…+0900` → `…+09:00`; `None` when the text does not end in a colon-less offset.
fn insert_offset_colon(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    if n < 5 {
        return None;
    }
    let (sign, digits) = (bytes[n - 5], &bytes[n - 4..]);
    let has_time = text.contains('T') || text.contains('t');
    if has_time && (sign == b'+' || sign == b'-') && digits.iter().all(u8::is_ascii_digit) {
        Some(format!("{}:{}", &text[..n - 2], &text[n - 2..]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_offset_spellings_as_the_same_instant() {
        let a = parse_lenient("2023-11-27T15:22:33+0900").expect("colon-less offset");
        let b = parse_lenient("2023-11-27T15:22:33+09:00").expect("rfc3339 offset");
        let c = parse_lenient("2023-11-27T06:22:33Z").expect("zulu");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(format(a), "2023-11-27T15:22:33+09:00");
    }

    #[test]
    fn rejects_missing_offsets_and_garbage() {
        for bad in [
            "2023-11-27T15:22:33",
            "2023-11-27",
            "yesterday",
            "",
            "2023-13-27T15:22:33+09:00",
        ] {
            assert!(parse_lenient(bad).is_err(), "{bad}");
        }
    }
}
