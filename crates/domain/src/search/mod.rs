//! Finding calls: the list's filters and sort ([`CallSearch`]), free text over transcripts
//! ([`text`]), keyset cursors, snippets, and the facts of a call and of its current result
//! that the search index holds.

pub mod csv;
mod cursor;
mod params;
mod snippet;
pub mod text;

use crate::analysis::{Report, Role};
use crate::{CallData, UserId};

pub use cursor::{Cursor, SortValue};
pub use params::{CallSearch, ParamError, DEFAULT_PER_PAGE, MAX_PER_PAGE, MIN_NUMBER_DIGITS};
pub use snippet::{snippets, Snippet, MAX_SNIPPETS};
pub use text::{TextQuery, TextQueryError};

/// `total` is exact up to this many calls; beyond, it says "at least this many".
pub const EXACT_TOTAL_LIMIT: u64 = 10_000;

/// The order of the list; each is newest/highest first, ties broken by call id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    StartsAt,
    Score,
    Duration,
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::StartsAt => "starts_at",
            SortKey::Score => "score",
            SortKey::Duration => "duration",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [SortKey::StartsAt, SortKey::Score, SortKey::Duration]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// The flags a call history can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    StereoChannelsAmbiguous,
    RolesNeedReview,
    RecordingTruncated,
}

impl Flag {
    pub const ALL: [Flag; 3] = [
        Flag::StereoChannelsAmbiguous,
        Flag::RolesNeedReview,
        Flag::RecordingTruncated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::StereoChannelsAmbiguous => "stereo_channels_ambiguous",
            Flag::RolesNeedReview => "roles_need_review",
            Flag::RecordingTruncated => "recording_truncated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Flag::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// What the search index keeps of a call's data (written when the call is stored).
#[derive(Clone, Debug, PartialEq)]
pub struct CallFacts {
    pub users: Vec<UserId>,
    /// Digits of the FROM and TO numbers.
    pub numbers: Vec<String>,
    pub tags: Vec<String>,
    pub flags: Vec<Flag>,
    pub group_name: Option<String>,
    pub queue_name: Option<String>,
    pub answered: bool,
    /// Answer to end; 0 when unanswered.
    pub talk_ms: i64,
}

impl CallFacts {
    pub fn of(call: &CallData) -> Self {
        let mut numbers: Vec<String> = call
            .participants
            .iter()
            .map(|p| {
                p.number
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty())
            .collect();
        numbers.sort();
        numbers.dedup();
        let mut users: Vec<UserId> = call.referenced_users().map(|(_, id)| id).collect();
        users.sort();
        users.dedup();
        let mut tags = call.tags.clone();
        tags.sort();
        tags.dedup();
        Self {
            users,
            numbers,
            tags,
            flags: call
                .stereo_channels_ambiguous()
                .then_some(Flag::StereoChannelsAmbiguous)
                .into_iter()
                .collect(),
            group_name: call.group_name.clone(),
            queue_name: call.queue_name.clone(),
            answered: call.is_answered(),
            talk_ms: talk_seconds(call).map_or(0, |s| (s * 1000.0) as i64),
        }
    }
}

/// Answer to end, in seconds; `None` when the call was not answered.
pub fn talk_seconds(call: &CallData) -> Option<f64> {
    let answered = call.call_answered_at?;
    Some((call.call_ends_at - answered).as_seconds_f64().max(0.0))
}

/// Dial to answer (or to end, when unanswered), in seconds.
pub fn ringing_seconds(call: &CallData) -> f64 {
    let until = call.call_answered_at.unwrap_or(call.call_ends_at);
    (until - call.call_starts_at).as_seconds_f64().max(0.0)
}

/// What the search index keeps of a call's current result: written with every version.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisFacts {
    pub score: f64,
    /// Lower-cased keyword and how often it was said.
    pub keywords: Vec<(String, u32)>,
    pub flags: Vec<Flag>,
    /// The user's and the customer's words (see [`text::index_body`]).
    pub user_text: String,
    pub customer_text: String,
}

impl AnalysisFacts {
    pub fn of(report: &Report) -> Self {
        let mut keywords: Vec<(String, u32)> = Vec::new();
        for hit in &report.keywords {
            let k = hit.keyword.to_lowercase();
            match keywords.iter_mut().find(|(known, _)| *known == k) {
                Some((_, n)) => *n += 1,
                None => keywords.push((k, 1)),
            }
        }
        let body = |role: Role| {
            text::index_body(
                report
                    .phrases
                    .iter()
                    .filter(|p| p.role == role)
                    .map(|p| p.text.as_str()),
            )
        };
        Self {
            score: report.score,
            keywords,
            flags: [
                (report.roles.need_review(), Flag::RolesNeedReview),
                (report.recording_truncated, Flag::RecordingTruncated),
            ]
            .into_iter()
            .filter_map(|(set, f)| set.then_some(f))
            .collect(),
            user_text: body(Role::User),
            customer_text: body(Role::Customer),
        }
    }
}
