//! Rules of the call list's CSV export that are not CSV syntax: the call type's wording and
//! protection against formula injection.

use std::borrow::Cow;

use crate::EventType;

/// A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or
/// carriage return before one) gets a leading `'`, which spreadsheets show as text.
pub fn safe_cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// MiiTel's call type column: the direction, and "(no answer)" for an unanswered call.
pub fn call_type_label(event: EventType, answered: bool) -> String {
    let kind = match event {
        EventType::OutgoingCall => "outgoing",
        EventType::OutgoingTransfer => "outgoing transfer",
        EventType::IncomingCall => "incoming",
        EventType::AutomaticTransfer => "automatic transfer",
        EventType::Extension => "extension",
        EventType::ExtensionTransfer => "extension transfer",
        EventType::AutomaticRecord => "automatic record",
    };
    if answered {
        kind.to_string()
    } else {
        format!("{kind} (no answer)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_looking_cells_are_quoted_as_text() {
        for (given, shown) in [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+81311112222", "'+81311112222"),
            ("-1", "'-1"),
            ("@cmd", "'@cmd"),
            ("\t=1", "'\t=1"),
            ("plain", "plain"),
            ("解約 = cancel", "解約 = cancel"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(given), shown);
        }
    }

    #[test]
    fn unanswered_calls_say_so() {
        assert_eq!(
            call_type_label(EventType::IncomingCall, false),
            "incoming (no answer)"
        );
        assert_eq!(call_type_label(EventType::OutgoingCall, true), "outgoing");
    }
}
