//! `write_minutes`: the call's transcript, as stored in the version the job names (so
//! redacted when redaction was on), sent to the operator's language model; its answer
//! stored as the call's minutes with their `call_summarization_completed` event.

use kiku_domain::analysis::minutes::{has_speech, minutes_from_answer, minutes_request};
use kiku_domain::analysis::Report;
use kiku_storage::NewMinutes;
use serde::Deserialize;

use super::{payload, JobContext, Outcome};
use crate::app::AppError;

#[derive(Deserialize)]
struct Payload {
    version: u32,
}

pub async fn run(ctx: &JobContext<'_>) -> Result<Outcome, AppError> {
    let version = match payload::<Payload>(ctx.job) {
        Ok(p) => p.version,
        Err(outcome) => return Ok(outcome),
    };
    let (app, job) = (ctx.app, ctx.job);
    let Some(writer) = &app.minutes else {
        // Queued by a process with a model configured; one without waits for it.
        return Ok(Outcome::Retry {
            cause: "this server has no minutes_url: no language model to write minutes".into(),
            at: None,
        });
    };
    let Some(call) = job.call_id else {
        return Ok(Outcome::GiveUp("a minutes job without its call".into()));
    };
    let Some(record) = app
        .store
        .analysis_version(job.company_id, call, version)
        .await?
    else {
        return Ok(Outcome::GiveUp(format!(
            "version {version} of the call's result no longer exists"
        )));
    };
    let report: Report = match serde_json::from_str(&record.report) {
        Ok(report) => report,
        Err(e) => {
            return Ok(Outcome::GiveUp(format!(
                "the stored report does not read: {e}"
            )))
        }
    };
    if !has_speech(&report) {
        tracing::info!(call = %call, version, "no speech in the call: no minutes written");
        return Ok(Outcome::Done);
    }
    let answer = match writer.complete(&minutes_request(&report)).await {
        Ok(answer) => answer,
        Err(e) if e.is_permanent() => return Ok(Outcome::GiveUp(e.to_string())),
        Err(e) => {
            return Ok(Outcome::Retry {
                cause: e.to_string(),
                at: None,
            })
        }
    };
    let text = match minutes_from_answer(&answer) {
        Ok(text) => text,
        Err(cause) => return Ok(Outcome::Retry { cause, at: None }),
    };
    let minutes = NewMinutes {
        call,
        version,
        text: &text,
        model: writer.model(),
    };
    let stored = app
        .store
        .finish_minutes(job.id, ctx.worker, &minutes, app.clock.now())
        .await?;
    if stored {
        tracing::info!(call = %call, version, chars = text.chars().count(), "minutes written");
    } else {
        tracing::warn!(call = %call, "minutes finished too late; the job had moved on");
    }
    Ok(Outcome::Closed)
}
