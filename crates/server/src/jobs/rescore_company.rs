//! `rescore_company`: every analysed call of the company scored again with its current
//! settings, a page at a time. A report that comes out the same makes no version, so a
//! re-score interrupted by a restart and run again from the start changes nothing twice.

use std::sync::atomic::Ordering;

use super::{JobContext, Outcome};
use crate::app::analysis::{self, RESCORE_PAGE};
use crate::app::AppError;

pub async fn run(ctx: &JobContext<'_>) -> Result<Outcome, AppError> {
    let (app, company) = (ctx.app, ctx.job.company_id);
    // Read once: a later change queues its own re-score.
    let settings = analysis::settings(app, company).await?;
    let total = app.store.count_analyses(company).await?;
    let (mut after, mut seen, mut changed) = (None, 0u64, 0u64);
    loop {
        if ctx.stop.requested.load(Ordering::Relaxed) {
            return Ok(Outcome::Requeue);
        }
        let page = app
            .store
            .analyses_page(company, after, RESCORE_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.call_id);
        for record in &page {
            changed += u64::from(analysis::rescore(app, record, &settings).await?.is_some());
        }
        seen += page.len() as u64;
        ctx.went_through(seen, total);
    }
    tracing::info!(company_id = %company, calls = seen, changed, "company re-scored");
    Ok(Outcome::Done)
}
