//! The call list's CSV export as rows of cells (CSV syntax and encoding are the writer's):
//! MiiTel's list columns, the call type's wording, protection against formula injection.

use std::borrow::Cow;

use super::{ringing_seconds, talk_seconds};
use crate::analysis::Report;
use crate::{datetime, CallData, CallId, CallStatus, EventType, Side};

/// The columns before the keywords', in order.
pub const COLUMNS: [&str; 19] = [
    "call_type",
    "call_id",
    "call_data_id",
    "user_name",
    "from_number",
    "to_number",
    "dial_begin",
    "call_begin",
    "call_end",
    "ringing_seconds",
    "call_duration_seconds",
    "status",
    "score",
    "talk_listen_ratio",
    "silences_per_minute",
    "overlaps_per_minute",
    "rallies_per_minute",
    "speech_rate_difference",
    "tags",
];

/// The header: [`COLUMNS`], then `keyword:<keyword>` for each registered keyword.
pub fn header(keywords: &[String]) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(
            keywords
                .iter()
                .map(|k| safe_cell(&format!("keyword:{k}")).into_owned()),
        )
        .collect()
}

/// One call of the export.
pub struct ExportCall<'a> {
    pub id: CallId,
    pub data: &'a CallData,
    pub status: CallStatus,
    /// The name of the company user on the call, as registered.
    pub user_name: Option<&'a str>,
    /// The current result's report.
    pub report: Option<&'a Report>,
    /// Tags auto-tag rules gave the call, after the PBX's in the tags cell.
    pub auto_tags: &'a [String],
}

/// The row of `call` under [`header`]`(keywords)`: text cells made safe, numbers as
/// numbers, blanks where there is nothing (no answer, no result).
pub fn row(call: &ExportCall<'_>, keywords: &[String]) -> Vec<String> {
    let d = call.data;
    let text = |t: &str| safe_cell(t).into_owned();
    let number = |side| {
        d.participant(side)
            .map_or(String::new(), |p| text(&p.number))
    };
    let figure = |v: f64| format!("{}", (v * 100.0).round() / 100.0);
    let r = call.report;
    let metric = |f: fn(&Report) -> Option<f64>| r.and_then(f).map_or(String::new(), figure);
    let mut cells = vec![
        call_type_label(d.event_type, d.is_answered()),
        call.id.to_string(),
        text(&d.call_data_id),
        call.user_name.map_or(String::new(), text),
        number(Side::From),
        number(Side::To),
        datetime::format(d.call_starts_at),
        d.call_answered_at.map_or(String::new(), datetime::format),
        datetime::format(d.call_ends_at),
        figure(ringing_seconds(d)),
        figure(talk_seconds(d).unwrap_or(0.0)),
        call.status.as_str().to_string(),
        metric(|r| Some(r.score)),
        metric(|r| Some(r.tlr)),
        metric(|r| Some(r.silences_per_minute)),
        metric(|r| Some(r.overlaps_per_minute)),
        metric(|r| Some(r.rallies_per_minute)),
        metric(|r| r.speech_rate_difference),
        text(
            &d.tags
                .iter()
                .chain(call.auto_tags)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    for keyword in keywords {
        cells.push(r.map_or(String::new(), |r| {
            let k = keyword.to_lowercase();
            r.keywords
                .iter()
                .filter(|hit| hit.keyword.to_lowercase() == k)
                .count()
                .to_string()
        }));
    }
    cells
}

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
    fn rows_follow_the_header_and_protect_text_cells() {
        let body = serde_json::json!({"call_data": [{
            "call_data_id": "=HYPERLINK(\"x\")", "audio_file_type": "wav", "event_type": "INCOMING_CALL",
            "call_starts_at": "2024-01-01T09:00:00+09:00", "call_answered_at": null,
            "call_ends_at": "2024-01-01T09:00:20+09:00",
            "participants": [
                {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": "+81311112222", "name": null},
                {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322223333", "name": null}
            ],
            "tags": [{"value": "-vip"}, {"value": "解約"}]
        }]});
        let data = crate::call_data::parse_batch(&body)
            .expect("valid")
            .remove(0);
        let keywords = vec!["解約".to_string()];
        let call = ExportCall {
            id: CallId::new(),
            data: &data,
            status: CallStatus::AwaitingUpload,
            user_name: Some("@Sato"),
            report: None,
            auto_tags: &["churn risk".to_string()],
        };
        let cells = row(&call, &keywords);
        assert_eq!(cells.len(), header(&keywords).len());
        assert_eq!(cells[0], "incoming (no answer)");
        assert_eq!(cells[2], "'=HYPERLINK(\"x\")");
        assert_eq!(
            (cells[3].as_str(), cells[4].as_str()),
            ("'@Sato", "'+81311112222")
        );
        assert_eq!(
            (cells[7].as_str(), cells[9].as_str(), cells[10].as_str()),
            ("", "20", "0")
        );
        assert_eq!(cells[12], "", "no result, no score");
        assert_eq!(cells[18], "'-vip, 解約, churn risk");
        assert_eq!(cells[19], "");
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
