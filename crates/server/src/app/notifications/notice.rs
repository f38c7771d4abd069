//! What a notification says, made from the event's version of the result (so a retry or a
//! replay says the same) and the call's data; and the facts a Slack rule filters on.

use kiku_domain::analysis::Report;
use kiku_domain::notification::CallFacts;
use kiku_domain::outbox::VersionReason;
use kiku_domain::{CallData, Side, UserId};
use kiku_notify::Notice;
use kiku_storage::{AnalysisRecord, AutoTag, CallRecord, User};
use time::macros::format_description;

use crate::app::{App, AppError};

/// A call and the version an event announced, read once for every target of the event.
pub struct Announcement {
    pub call: CallRecord,
    pub version: AnalysisRecord,
    pub report: Report,
    pub users: Vec<UserId>,
    /// The PBX's tags, then those auto-tag rules gave the call.
    pub tags: Vec<String>,
}

impl Announcement {
    pub fn new(
        call: CallRecord,
        version: AnalysisRecord,
        auto_tags: Vec<AutoTag>,
    ) -> Result<Self, AppError> {
        let report: Report = serde_json::from_str(&version.report)
            .map_err(|e| AppError::Internal(format!("stored report does not read: {e}").into()))?;
        let users = call.data.referenced_users().map(|(_, u)| u).collect();
        let mut tags = call.data.tags.clone();
        tags.extend(auto_tags.into_iter().map(|t| t.tag));
        Ok(Self {
            call,
            version,
            report,
            users,
            tags,
        })
    }

    pub fn facts(&self) -> CallFacts<'_> {
        CallFacts {
            users: &self.users,
            event_type: self.call.data.event_type,
            tags: &self.tags,
            score: self.report.score,
        }
    }

    /// The notice for one target; the summary only when `with_summary`.
    pub fn notice(
        &self,
        app: &App,
        event_id: &str,
        company_users: &[User],
        with_summary: bool,
    ) -> Notice {
        let data = &self.call.data;
        let party = |side| party_label(data, side, company_users);
        Notice {
            event_id: event_id.to_string(),
            swapped: self.version.reason == VersionReason::Swap,
            link: format!("{}/calls/{}", app.public_url, self.call.id),
            caller: party(Side::From),
            callee: party(Side::To),
            call_type: data.event_type.as_str().to_string(),
            started_at: started_at(data),
            duration: clock(duration_seconds(data)),
            score: self.report.score,
            tags: self.tags.clone(),
            summary: with_summary.then(|| self.report.summary_text.clone()),
        }
    }
}

/// A party as people know it: the user's name (a user of the company), else the name the
/// PBX sent, with the number.
pub(super) fn party_label(data: &CallData, side: Side, users: &[User]) -> String {
    let Some(p) = data.participant(side) else {
        return "—".into();
    };
    let user = p
        .miitel_user_id
        .and_then(|id| users.iter().find(|u| u.id == id))
        .map(|u| u.name.clone());
    match user.or_else(|| p.name.clone()) {
        Some(name) if !p.number.is_empty() => format!("{name} ({})", p.number),
        Some(name) => name,
        None => p.number.clone(),
    }
}

/// From the answer (or the start, unanswered) to the end.
pub(super) fn duration_seconds(data: &CallData) -> i64 {
    let from = data.call_answered_at.unwrap_or(data.call_starts_at);
    (data.call_ends_at - from).whole_seconds().max(0)
}

fn clock(seconds: i64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// In the call's own offset, as the PBX reported it.
pub(super) fn started_at(data: &CallData) -> String {
    let at = data.call_starts_at;
    let text = at
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_default();
    let offset = at
        .offset()
        .format(format_description!(
            "[offset_hour sign:mandatory]:[offset_minute]"
        ))
        .unwrap_or_default();
    format!("{text} ({offset})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_start_read_as_people_write_them() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(233), "3:53");
        let at = time::macros::datetime!(2026-01-05 10:00:07 +09:00);
        assert_eq!(
            at.format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
                .expect("format"),
            "2026-01-05 10:00"
        );
    }
}
