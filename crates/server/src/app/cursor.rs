//! The cursor of a log listed newest first (outgoing deliveries, notification attempts):
//! `<attempted_at unix ms>_<row id>` of the last row of a page, opaque to clients.

use std::fmt::Display;
use std::str::FromStr;

use time::OffsetDateTime;

use super::AppError;

pub fn encode(at: OffsetDateTime, id: impl Display) -> String {
    format!("{}_{id}", at.unix_timestamp_nanos() / 1_000_000)
}

pub fn decode<I: FromStr>(text: &str) -> Result<(OffsetDateTime, I), AppError> {
    let bad = || AppError::InvalidRequest("before is not a cursor this API handed out".into());
    let (ms, id) = text.split_once('_').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    let at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|_| bad())?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_a_forged_one_is_refused() {
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let text = encode(at, 42u32);
        assert_eq!(decode::<u32>(&text).expect("reads"), (at, 42));
        for bad in ["", "12", "x_1", "1_x"] {
            assert!(decode::<u32>(bad).is_err(), "{bad}");
        }
    }
}
