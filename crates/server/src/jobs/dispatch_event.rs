//! `dispatch_event`: an outbox event becomes one `deliver_webhook` job per outgoing
//! webhook subscribed to it (run again after a crash, it queues nothing twice).

use kiku_domain::EventId;
use serde::Deserialize;

use super::{payload, JobContext, Outcome};
use crate::app::outgoing_webhooks::delivery_jobs::Deliver;
use crate::app::AppError;

#[derive(Deserialize)]
struct Dispatch {
    event_id: EventId,
}

pub async fn run(ctx: &JobContext<'_>) -> Result<Outcome, AppError> {
    let (app, job) = (ctx.app, ctx.job);
    let Dispatch { event_id } = match payload(job) {
        Ok(p) => p,
        Err(outcome) => return Ok(outcome),
    };
    let Some(event) = app.store.event(job.company_id, event_id).await? else {
        return Ok(Outcome::GiveUp("the event no longer exists".into()));
    };
    let endpoints = app
        .store
        .outgoing_webhooks_for_event(job.company_id, event.kind.as_str())
        .await?;
    let now = app.clock.now();
    for endpoint in &endpoints {
        let deliver = Deliver {
            event_id,
            endpoint_id: endpoint.id,
            replay: false,
        };
        let new = deliver.job(job.company_id, now)?;
        app.store.enqueue_job(new, now).await?;
    }
    if !endpoints.is_empty() {
        app.jobs_queued.notify_waiters();
    }
    Ok(Outcome::Done)
}
