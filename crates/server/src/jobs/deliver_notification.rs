//! `deliver_notification`: one Slack message or e-mail of one event. The attempt and the
//! job's change are written in one transaction (the attempt log never disagrees with the
//! job); a stop while sending hands the job back without counting it.

use super::{JobContext, Outcome};
use crate::app::notifications::send;
use crate::app::AppError;

pub async fn run(ctx: &JobContext<'_>) -> Result<Outcome, AppError> {
    let mut shutdown = ctx.shutdown.clone();
    let policy = &ctx.options.delivery.policy;
    let attempt = send::attempt(ctx.app, ctx.job, ctx.worker, policy);
    let finished = tokio::select! {
        finished = attempt => finished?,
        // A dropped sender (no shutdown will come) disables this branch.
        Ok(_) = shutdown.wait_for(|stop| *stop) => return Ok(Outcome::Requeue),
    };
    if let Some(attempt) = &finished.attempt {
        ctx.app.metrics.delivery(&attempt.channel, &finished.change);
    }
    let now = ctx.app.clock.now();
    if !ctx.app.store.finish_notification(&finished, now).await? {
        tracing::warn!(job = %ctx.job.id, "lease lost; another worker has the notification");
    }
    Ok(Outcome::Closed)
}
