//! `apply_tag_rule`: one auto-tag rule evaluated on every analysed call of the company, a
//! page at a time (each page one transaction). Each page reads the rule as it is then, so
//! running it again after a restart, or after an edit, gives the same tags.

use std::sync::atomic::Ordering;

use kiku_domain::TagRuleId;
use serde::Deserialize;

use super::{payload, JobContext, Outcome};
use crate::app::AppError;

/// Calls evaluated per transaction.
const PAGE: u32 = 200;

#[derive(Deserialize)]
struct Payload {
    rule_id: TagRuleId,
}

pub async fn run(ctx: &JobContext<'_>) -> Result<Outcome, AppError> {
    let rule = match payload::<Payload>(ctx.job) {
        Ok(p) => p.rule_id,
        Err(outcome) => return Ok(outcome),
    };
    let (app, company) = (ctx.app, ctx.job.company_id);
    let total = app.store.count_analyses(company).await?;
    let (mut after, mut seen, mut tagged) = (None, 0u64, 0u64);
    loop {
        if ctx.stop.requested.load(Ordering::Relaxed) {
            return Ok(Outcome::Requeue);
        }
        let page = app
            .store
            .apply_tag_rule_page(company, rule, after, PAGE, app.clock.now())
            .await?;
        let Some(page) = page else { break };
        after = Some(page.last);
        seen += page.calls;
        tagged += page.tagged;
        ctx.went_through(seen, total);
    }
    tracing::info!(company_id = %company, rule_id = %rule, calls = seen, tagged, "tag rule applied");
    Ok(Outcome::Done)
}
