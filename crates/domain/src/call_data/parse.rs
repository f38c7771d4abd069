//! Turning an untrusted `{"call_data": [...]}` body into validated calls, or into the
//! full list of problems (every one, with its index, call id and JSON path).

use serde::Serialize;
use serde_json::{Map, Value};

use super::fields::{is_valid_number, Report};
use super::user_id_rule::{requirement_reason, user_id_required};
use super::{AudioFileType, CallData, ChannelType, EventType, Participant, Side, StereoChannel};
use crate::datetime::parse_lenient;
use crate::ids::UserId;

/// Upper bound on calls in one request, so one request cannot hold the database for long.
pub const MAX_CALLS_PER_BATCH: usize = 1000;
const MAX_TEXT: usize = 255;
const MAX_TAG: usize = 512;
const MAX_TAGS: usize = 100;

pub(super) const CALL_FIELDS: &[&str] = &[
    "call_data_id",
    "audio_file_type",
    "event_type",
    "groupname",
    "group_name",
    "queue_name",
    "call_starts_at",
    "call_answered_at",
    "call_ends_at",
    "circuit_number",
    "audio_channel_type",
    "participants",
    "tags",
];
pub(super) const PARTICIPANT_FIELDS: &[&str] =
    &["type", "stereo_lr", "miitel_user_id", "number", "name"];

/// One thing wrong with a request, located precisely. Fields in alphabetical order, the
/// order the API has always sent them in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// That call's `call_data_id`, `null` when it has none.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub call_data_id: Option<String>,
    /// Index of the call in `call_data`; `null` for a problem with the body as a whole
    /// (then `path` is e.g. `call_data`).
    #[cfg_attr(feature = "openapi", schema(required))]
    pub index: Option<usize>,
    /// JSON path of the offending value, e.g. `call_data[3].participants[0].miitel_user_id`.
    pub path: String,
    pub reason: String,
}

/// Validates a whole batch. All calls are valid, or every problem is returned.
pub fn parse_batch(body: &Value) -> Result<Vec<CallData>, Vec<Problem>> {
    let whole = |path: &str, reason: &str| {
        vec![Problem {
            index: None,
            call_data_id: None,
            path: path.into(),
            reason: reason.into(),
        }]
    };
    let Value::Object(top) = body else {
        return Err(whole("$", "must be an object with a call_data array"));
    };
    if let Some(key) = top.keys().find(|k| k.as_str() != "call_data") {
        return Err(whole(key, "unknown field"));
    }
    let calls = match top.get("call_data") {
        Some(Value::Array(calls)) => calls,
        Some(_) => return Err(whole("call_data", "must be an array")),
        None => return Err(whole("call_data", "required")),
    };
    if calls.is_empty() {
        return Err(whole("call_data", "must hold at least one call"));
    }
    if calls.len() > MAX_CALLS_PER_BATCH {
        return Err(whole(
            "call_data",
            &format!("must hold at most {MAX_CALLS_PER_BATCH} calls"),
        ));
    }
    let mut problems = Vec::new();
    let parsed: Vec<Option<CallData>> = calls
        .iter()
        .enumerate()
        .map(|(i, call)| parse_call(i, call, &mut problems))
        .collect();
    check_duplicates(&parsed, &mut problems);
    if problems.is_empty() {
        Ok(parsed.into_iter().flatten().collect())
    } else {
        Err(problems)
    }
}

fn parse_call(index: usize, value: &Value, problems: &mut Vec<Problem>) -> Option<CallData> {
    let call_data_id = value
        .get("call_data_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut r = Report {
        index,
        call_data_id,
        problems,
    };
    let Value::Object(obj) = value else {
        r.add("", "must be an object");
        return None;
    };
    let before = r.problems.len();
    let call_data_id = r.string(obj, "call_data_id", MAX_TEXT);
    let audio_file_type = r.enumerated(
        obj,
        "audio_file_type",
        "",
        AudioFileType::parse,
        AudioFileType::ALL,
    );
    let event_type = r.enumerated(obj, "event_type", "", EventType::parse, EventType::ALL);
    let group_name = group_name(&mut r, obj);
    let queue_name = r.optional_string(obj, "queue_name", MAX_TEXT);
    let circuit_number = r.optional_string(obj, "circuit_number", MAX_TEXT);
    let audio_channel_type = match obj.get("audio_channel_type") {
        None | Some(Value::Null) => Some(ChannelType::Stereo),
        Some(_) => r.enumerated(
            obj,
            "audio_channel_type",
            "",
            ChannelType::parse,
            ChannelType::ALL,
        ),
    };
    let (starts, answered, ends) = times(&mut r, obj);
    let participants = participants(&mut r, obj);
    let tags = tags(&mut r, obj);
    if r.problems.len() > before {
        return None;
    }
    let call = CallData {
        call_data_id: call_data_id?,
        audio_file_type: audio_file_type?,
        event_type: event_type?,
        group_name: group_name.ok()?,
        queue_name: queue_name.ok()?,
        call_starts_at: starts?,
        call_answered_at: answered.ok()?,
        call_ends_at: ends?,
        circuit_number: circuit_number.ok()?,
        audio_channel_type: audio_channel_type?,
        participants: participants?,
        tags: tags?,
        extra: obj
            .iter()
            .filter(|(k, _)| !CALL_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    check_user_requirements(&mut r, &call);
    (r.problems.len() == before).then_some(call)
}

/// `groupname` and `group_name` are one field; if both are sent they must agree.
fn group_name(r: &mut Report<'_>, obj: &Map<String, Value>) -> Result<Option<String>, ()> {
    let a = r.optional_string(obj, "groupname", MAX_TEXT)?;
    let b = r.optional_string(obj, "group_name", MAX_TEXT)?;
    match (a, b) {
        (Some(a), Some(b)) if a != b => {
            r.add(".group_name", "differs from groupname; send one of them");
            Err(())
        }
        (a, b) => Ok(a.or(b)),
    }
}

type Times = (
    Option<time::OffsetDateTime>,
    Result<Option<time::OffsetDateTime>, ()>,
    Option<time::OffsetDateTime>,
);

fn times(r: &mut Report<'_>, obj: &Map<String, Value>) -> Times {
    let mut datetime = |key: &str, nullable: bool| -> Result<Option<time::OffsetDateTime>, ()> {
        let path = format!(".{key}");
        match obj.get(key) {
            None => r.add(
                path,
                if nullable {
                    "required (null when not answered)"
                } else {
                    "required"
                },
            ),
            Some(Value::Null) if nullable => return Ok(None),
            Some(Value::String(s)) => match parse_lenient(s) {
                Ok(t) => return Ok(Some(t)),
                Err(reason) => r.add(path, reason),
            },
            Some(_) => r.add(
                path,
                if nullable {
                    "must be a datetime string or null"
                } else {
                    "must be a datetime string"
                },
            ),
        }
        Err(())
    };
    let starts = datetime("call_starts_at", false).ok().flatten();
    let answered = datetime("call_answered_at", true);
    let ends = datetime("call_ends_at", false).ok().flatten();
    if let (Some(s), Ok(Some(a))) = (starts, &answered) {
        if *a < s {
            r.add(".call_answered_at", "must not be before call_starts_at");
        }
    }
    if let (Some(s), Some(e)) = (starts, ends) {
        if e < s {
            r.add(".call_ends_at", "must not be before call_starts_at");
        }
    }
    if let (Ok(Some(a)), Some(e)) = (&answered, ends) {
        if e < *a {
            r.add(".call_ends_at", "must not be before call_answered_at");
        }
    }
    (starts, answered, ends)
}

fn participants(r: &mut Report<'_>, obj: &Map<String, Value>) -> Option<Vec<Participant>> {
    let list = match obj.get("participants") {
        Some(Value::Array(list)) => list,
        Some(_) => {
            r.add(".participants", "must be an array");
            return None;
        }
        None => {
            r.add(".participants", "required");
            return None;
        }
    };
    let parsed: Vec<Option<Participant>> = list
        .iter()
        .enumerate()
        .map(|(i, p)| participant(r, i, p))
        .collect();
    let parsed: Option<Vec<Participant>> = parsed.into_iter().collect();
    let parsed = parsed?;
    let count = |side| parsed.iter().filter(|p| p.side == side).count();
    if count(Side::From) != 1 || count(Side::To) != 1 {
        r.add(
            ".participants",
            "must hold exactly one FROM and one TO participant",
        );
        return None;
    }
    Some(parsed)
}

fn participant(r: &mut Report<'_>, i: usize, value: &Value) -> Option<Participant> {
    let prefix = format!(".participants[{i}]");
    let Value::Object(p) = value else {
        r.add(&prefix, "must be an object");
        return None;
    };
    for key in p
        .keys()
        .filter(|k| !PARTICIPANT_FIELDS.contains(&k.as_str()))
    {
        r.add(format!("{prefix}.{key}"), "unknown field");
    }
    let side = r.enumerated(p, "type", &prefix, Side::parse, Side::ALL);
    let stereo_lr = r.enumerated(
        p,
        "stereo_lr",
        &prefix,
        StereoChannel::parse,
        StereoChannel::ALL,
    );
    let user_id = match p.get("miitel_user_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse::<UserId>().map(Some).map_err(|_| {
            r.add(
                format!("{prefix}.miitel_user_id"),
                "must be a user ID (UUID) or null",
            );
        }),
        Some(_) => {
            r.add(
                format!("{prefix}.miitel_user_id"),
                "must be a string or null",
            );
            Err(())
        }
    };
    let number = match p.get("number") {
        Some(Value::String(s)) if is_valid_number(s) => Some(s.clone()),
        Some(Value::String(_)) => {
            r.add(
                format!("{prefix}.number"),
                "must be digits, optionally after one leading +, * or #, or \"Anonymous\"",
            );
            None
        }
        Some(_) => {
            r.add(format!("{prefix}.number"), "must be a string");
            None
        }
        None => {
            r.add(format!("{prefix}.number"), "required");
            None
        }
    };
    let name = match p.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_TEXT => Ok(Some(s.clone())),
        Some(Value::String(_)) => {
            r.add(
                format!("{prefix}.name"),
                format!("must be at most {MAX_TEXT} characters long"),
            );
            Err(())
        }
        Some(_) => {
            r.add(format!("{prefix}.name"), "must be a string or null");
            Err(())
        }
    };
    Some(Participant {
        side: side?,
        stereo_lr: stereo_lr?,
        miitel_user_id: user_id.ok()?,
        number: number?,
        name: name.ok()?,
    })
}

fn tags(r: &mut Report<'_>, obj: &Map<String, Value>) -> Option<Vec<String>> {
    let list = match obj.get("tags") {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            r.add(".tags", "must be an array");
            return None;
        }
    };
    if list.len() > MAX_TAGS {
        r.add(".tags", format!("must hold at most {MAX_TAGS} tags"));
        return None;
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, tag) in list.iter().enumerate() {
        let path = format!(".tags[{i}]");
        let Value::Object(t) = tag else {
            r.add(path, "must be an object {\"value\": string}");
            continue;
        };
        if let Some(key) = t.keys().find(|k| k.as_str() != "value") {
            r.add(format!("{path}.{key}"), "unknown field");
            continue;
        }
        match t.get("value") {
            Some(Value::String(v)) if (1..=MAX_TAG).contains(&v.chars().count()) => {
                out.push(v.clone())
            }
            Some(Value::String(_)) => r.add(
                format!("{path}.value"),
                format!("must be 1 to {MAX_TAG} characters long"),
            ),
            Some(_) => r.add(format!("{path}.value"), "must be a string"),
            None => r.add(format!("{path}.value"), "required"),
        }
    }
    (out.len() == list.len()).then_some(out)
}

fn check_user_requirements(r: &mut Report<'_>, call: &CallData) {
    let has_group = call.group_name.is_some();
    for (i, p) in call.participants.iter().enumerate() {
        if p.miitel_user_id.is_none()
            && user_id_required(call.event_type, p.side, call.is_answered(), has_group)
        {
            r.add(
                format!(".participants[{i}].miitel_user_id"),
                requirement_reason(call.event_type, p.side, has_group),
            );
        }
    }
}

/// A `call_data_id` twice in one batch is the same call only if the content is equal.
fn check_duplicates(calls: &[Option<CallData>], problems: &mut Vec<Problem>) {
    for (i, call) in calls.iter().enumerate() {
        let Some(call) = call else { continue };
        let earlier = calls[..i].iter().position(|c| {
            c.as_ref()
                .is_some_and(|c| c.call_data_id == call.call_data_id)
        });
        if let Some(j) = earlier {
            if calls[j].as_ref() != Some(call) {
                problems.push(Problem {
                    index: Some(i),
                    call_data_id: Some(call.call_data_id.clone()),
                    path: format!("call_data[{i}].call_data_id"),
                    reason: format!("also at call_data[{j}] with different content"),
                });
            }
        }
    }
}
