//! An admin's replay: the same event id sent again to one endpoint, as new delivery jobs.
//! (The other way a delivery job is queued is the event itself: `kiku_storage` writes one
//! per subscriber with the event.)

use std::collections::BTreeSet;

use kiku_domain::outgoing_webhook::DeliveryJob;
use kiku_domain::{CompanyId, EventId, OutgoingWebhookId};
use kiku_storage::{DeliveryFilter, NewJob};
use time::OffsetDateTime;

use super::show;
use crate::app::{App, AppError};

/// Events one replay may queue at most.
const MAX_REPLAY: usize = 10_000;
/// Deliveries read per page while looking for failed events.
const PAGE: u32 = 200;

/// What an admin replays to one endpoint.
pub enum Replay {
    /// One event, whatever became of it.
    Event(EventId),
    /// Every event with an attempt since then and no successful one.
    FailedSince(OffsetDateTime),
}

impl Replay {
    /// What a replay request (HTTP or CLI) asks for: exactly one of an event id and a time.
    pub fn from_request(
        event_id: Option<String>,
        failed_since: Option<String>,
    ) -> Result<Self, AppError> {
        match (event_id, failed_since) {
            (Some(event), None) => {
                Ok(Replay::Event(event.parse().map_err(|_| {
                    AppError::NotFound("no such event in this company".into())
                })?))
            }
            (None, Some(since)) => Ok(Replay::FailedSince(
                kiku_domain::datetime::parse_lenient(&since)
                    .map_err(|e| AppError::InvalidRequest(format!("failed_since {e}")))?,
            )),
            _ => Err(AppError::InvalidRequest(
                "send exactly one of event_id and failed_since".into(),
            )),
        }
    }
}

/// Queues the replay; how many events will be sent again.
pub async fn replay(
    app: &App,
    company: CompanyId,
    endpoint: OutgoingWebhookId,
    what: Replay,
) -> Result<u64, AppError> {
    show(app, company, endpoint).await?;
    let events: Vec<EventId> = match what {
        Replay::Event(id) => {
            app.store
                .event(company, id)
                .await?
                .ok_or_else(|| AppError::NotFound("no such event in this company".into()))?;
            vec![id]
        }
        Replay::FailedSince(since) => failed_since(app, company, endpoint, since).await?,
    };
    let now = app.clock.now();
    for event_id in &events {
        let delivery = DeliveryJob {
            event_id: *event_id,
            endpoint_id: endpoint,
            replay: true,
        };
        app.store
            .enqueue_job(NewJob::delivery(company, &delivery, now), now)
            .await?;
    }
    app.jobs_queued.notify_waiters();
    tracing::info!(company_id = %company, outgoing_webhook_id = %endpoint, events = events.len(), "deliveries replayed");
    Ok(events.len() as u64)
}

async fn failed_since(
    app: &App,
    company: CompanyId,
    endpoint: OutgoingWebhookId,
    since: OffsetDateTime,
) -> Result<Vec<EventId>, AppError> {
    let (mut delivered, mut failed) = (BTreeSet::new(), BTreeSet::new());
    let mut filter = DeliveryFilter {
        endpoint: Some(endpoint),
        call: None,
        before: None,
        limit: PAGE,
    };
    'pages: loop {
        let page = app.store.outgoing_deliveries(company, &filter).await?;
        let Some(last) = page.last() else { break };
        filter.before = Some((last.attempted_at, last.id));
        for d in &page {
            if d.attempted_at < since || failed.len() >= MAX_REPLAY {
                break 'pages;
            }
            if d.status.is_some_and(|s| (200..300).contains(&s)) {
                delivered.insert(d.event_id.clone());
            } else {
                failed.insert(d.event_id.clone());
            }
        }
    }
    // Failed in the window and not delivered in it (a later success settles an event).
    Ok(failed
        .difference(&delivered)
        .filter_map(|id| id.parse().ok())
        .collect())
}
