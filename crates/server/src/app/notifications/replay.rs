//! An admin's replay: an event sent again, under the same event id, to one Slack rule,
//! e-mail recipient or CRM connection, as new `deliver_notification` jobs (recorded as
//! replays).

use std::collections::BTreeSet;

use kiku_domain::notification::{EmailAddress, NotificationJob, Target};
use kiku_domain::{CallId, CompanyId, CrmConnectionId, EventId, SlackRuleId};
use kiku_storage::{AttemptFilter, NewJob};

use super::{crm_connections, invalid, slack_rules};
/// One event, or every failed one since a time: as for outgoing webhooks.
pub use crate::app::outgoing_webhooks::replay::Replay;
use crate::app::{App, AppError};

/// Notifications one replay may queue at most.
const MAX_REPLAY: usize = 10_000;
/// Attempts read per page while looking for failed ones.
const PAGE: u32 = 200;

/// Queues the replay to a Slack rule; how many notifications will be sent again.
pub async fn slack(
    app: &App,
    company: CompanyId,
    rule: SlackRuleId,
    what: Replay,
) -> Result<u64, AppError> {
    slack_rules::show(app, company, rule).await?;
    let filter = AttemptFilter {
        slack_rule: Some(rule),
        ..AttemptFilter::default()
    };
    one_target(app, company, what, filter, Target::Slack { rule_id: rule }).await
}

/// Queues the replay to a CRM connection (the record is updated, not made again); how
/// many events will be written again.
pub async fn crm(
    app: &App,
    company: CompanyId,
    connection: CrmConnectionId,
    what: Replay,
) -> Result<u64, AppError> {
    crm_connections::show(app, company, connection).await?;
    let filter = AttemptFilter {
        crm_connection: Some(connection),
        ..AttemptFilter::default()
    };
    let target = Target::Crm {
        connection_id: connection,
    };
    one_target(app, company, what, filter, target).await
}

/// A replay to a target whose attempts `filter` selects.
async fn one_target(
    app: &App,
    company: CompanyId,
    what: Replay,
    filter: AttemptFilter,
    target: Target,
) -> Result<u64, AppError> {
    let wanted = chosen(app, company, what, filter, |_| target.clone()).await?;
    queue(app, company, wanted).await
}

/// Queues the replay of e-mails: to `to`, or (without it) to every address the event, or
/// each failed e-mail, went to.
pub async fn email(
    app: &App,
    company: CompanyId,
    to: Option<&str>,
    what: Replay,
) -> Result<u64, AppError> {
    let to = to.map(EmailAddress::parse).transpose().map_err(invalid)?;
    let filter = AttemptFilter {
        channel: Some("email".into()),
        ..AttemptFilter::default()
    };
    let mut wanted = chosen(app, company, what, filter, |address| Target::Email {
        to: address.to_string(),
    })
    .await?;
    if let Some(to) = to {
        let events: BTreeSet<(EventId, Option<CallId>)> =
            wanted.iter().map(|(e, c, _)| (*e, *c)).collect();
        wanted = events
            .into_iter()
            .map(|(e, c)| {
                let target = Target::Email {
                    to: to.as_str().to_string(),
                };
                (e, c, target)
            })
            .collect();
    }
    queue(app, company, wanted).await
}

type Wanted = Vec<(EventId, Option<CallId>, Target)>;

/// The (event, call, target) triples to send again. For one event: every target it was
/// attempted to under `filter` (or, for a Slack rule or CRM connection never attempted,
/// the rule or connection itself).
async fn chosen(
    app: &App,
    company: CompanyId,
    what: Replay,
    mut filter: AttemptFilter,
    target: impl Fn(&str) -> Target,
) -> Result<Wanted, AppError> {
    let since = match what {
        Replay::Event(id) => {
            let event = app
                .store
                .event(company, id)
                .await?
                .ok_or_else(|| AppError::NotFound("no such event in this company".into()))?;
            filter.call = event.call_id;
            filter.limit = 1000;
            let mut out: Wanted = Vec::new();
            for a in app.store.notification_attempts(company, &filter).await? {
                let t = target(&a.target);
                if a.event_id == id.to_string() && !out.iter().any(|(_, _, seen)| *seen == t) {
                    out.push((id, event.call_id, t));
                }
            }
            if out.is_empty() && (filter.slack_rule.is_some() || filter.crm_connection.is_some()) {
                out.push((id, event.call_id, target("")));
            }
            return Ok(out);
        }
        Replay::FailedSince(since) => since,
    };
    let (mut delivered, mut failed) = (BTreeSet::new(), Vec::new());
    filter.limit = PAGE;
    'pages: loop {
        let page = app.store.notification_attempts(company, &filter).await?;
        let Some(last) = page.last() else { break };
        filter.before = Some((last.attempted_at, last.id));
        for a in &page {
            if a.attempted_at < since || failed.len() >= MAX_REPLAY {
                break 'pages;
            }
            let key = (a.event_id.clone(), a.target.clone());
            if a.outcome == "delivered" {
                delivered.insert(key);
            } else if !delivered.contains(&key) && !failed.iter().any(|(k, _)| *k == key) {
                failed.push((key, a.call_id));
            }
        }
    }
    // Failed in the window and not delivered in it (a later success settles it).
    Ok(failed
        .into_iter()
        .filter(|(key, _)| !delivered.contains(key))
        .filter_map(|((event, to), call)| Some((event.parse().ok()?, call, target(&to))))
        .collect())
}

async fn queue(app: &App, company: CompanyId, wanted: Wanted) -> Result<u64, AppError> {
    let now = app.clock.now();
    for (event_id, call, target) in &wanted {
        let job = NotificationJob {
            event_id: *event_id,
            target: target.clone(),
            replay: true,
        };
        app.store
            .enqueue_job(NewJob::notification(company, *call, &job, now), now)
            .await?;
    }
    app.jobs_queued.notify_waiters();
    tracing::info!(company_id = %company, notifications = wanted.len(), "notifications replayed");
    Ok(wanted.len() as u64)
}
