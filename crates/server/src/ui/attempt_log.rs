//! The attempt log of an admin page (an outgoing webhook's deliveries, a Slack rule's,
//! a CRM connection's or the e-mails' attempts): the rows, **Replay** per event and
//! *replay failed since*, rendered by `attempt_log.html`.

use kiku_domain::datetime;
use kiku_storage::{NotificationAttempt, OutgoingDelivery};
use serde::Deserialize;

use super::error::UiError;
use super::i18n::Lang;
use crate::app::outgoing_webhooks::replay::Replay;
use crate::app::AppError;
use crate::http::AppState;

pub struct AttemptRow {
    pub at: String,
    pub event_id: String,
    pub attempt: u32,
    /// Who it went to (the e-mails' log, where that varies by row).
    pub target: String,
    /// The status answered and, when there is one, the error.
    pub answer: String,
    pub latency_ms: u64,
    pub ok: bool,
    pub replay: bool,
}

fn answer(status: Option<u16>, error: Option<&str>) -> String {
    match (status, error) {
        (Some(status), Some(error)) => format!("{status} {error}"),
        (Some(status), None) => status.to_string(),
        (None, Some(error)) => error.to_string(),
        (None, None) => String::new(),
    }
}

impl AttemptRow {
    pub fn of_delivery(d: &OutgoingDelivery) -> Self {
        AttemptRow {
            at: datetime::format(d.attempted_at),
            event_id: d.event_id.clone(),
            attempt: d.attempt,
            target: String::new(),
            answer: answer(d.status, d.error.as_deref()),
            latency_ms: d.latency_ms,
            ok: d.status.is_some_and(|s| (200..300).contains(&s)),
            replay: d.replay,
        }
    }

    pub fn of_attempt(a: &NotificationAttempt) -> Self {
        AttemptRow {
            at: datetime::format(a.attempted_at),
            event_id: a.event_id.clone(),
            attempt: a.attempt,
            target: a.target.clone(),
            answer: answer(a.status, a.error.as_deref()),
            latency_ms: a.latency_ms,
            ok: a.outcome == "delivered",
            replay: a.replay,
        }
    }
}

/// What `attempt_log.html` shows.
pub struct AttemptLog {
    pub rows: Vec<AttemptRow>,
    /// Where the replay forms post.
    pub replay_action: String,
    /// The *replay failed since* field's first value: a day ago.
    pub since: String,
    /// The e-mails' log: a recipient column, and a row's replay goes to its recipient.
    pub per_recipient: bool,
    /// After a replay: how many were queued again.
    pub replaying: Option<u64>,
}

impl AttemptLog {
    pub fn new(
        app: &AppState,
        rows: Vec<AttemptRow>,
        replay_action: String,
        replaying: Option<u64>,
    ) -> Self {
        let since = app.clock.now() - time::Duration::days(1);
        AttemptLog {
            rows,
            replay_action,
            since: datetime::format(since),
            per_recipient: false,
            replaying,
        }
    }

    /// A Slack rule's, a CRM connection's or the e-mails' attempts.
    pub fn of_attempts(
        app: &AppState,
        attempts: &[NotificationAttempt],
        replay_action: String,
        replaying: Option<u64>,
    ) -> Self {
        let rows = attempts.iter().map(AttemptRow::of_attempt).collect();
        Self::new(app, rows, replay_action, replaying)
    }
}

/// A replay form: one event (`event_id`, and for e-mails the recipient `to`), or every
/// failed one since a time (`since`).
#[derive(Deserialize)]
pub struct ReplayForm {
    pub csrf: String,
    event_id: Option<String>,
    since: Option<String>,
    pub to: Option<String>,
}

impl ReplayForm {
    pub fn replay(&self, lang: Lang) -> Result<Replay, UiError> {
        let bad = |what: String| UiError::new(AppError::InvalidRequest(what), lang);
        match (self.event_id.as_deref(), self.since.as_deref()) {
            (Some(event), _) if !event.is_empty() => {
                Ok(Replay::Event(event.parse().map_err(|_| {
                    bad(format!("event {event:?} is not an event id"))
                })?))
            }
            (_, Some(since)) => Ok(Replay::FailedSince(
                datetime::parse_lenient(since).map_err(|e| bad(format!("since: {e}")))?,
            )),
            _ => Err(bad("say which event, or since when".into())),
        }
    }
}
