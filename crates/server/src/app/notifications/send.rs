//! One attempt of one `deliver_notification` job, start to end but the write: read the
//! event's version, apply the Slack rule's filters, send (or write the CRM record,
//! `crm_send`), judge the answer by the retry rule. The job runner writes the attempt and
//! the job's change together (`NotificationStore::finish_notification`).

use std::time::Duration;

use kiku_domain::notification::SlackRuleFilters;
use kiku_domain::notification::{next_step, NotificationJob, Step, Target};
use kiku_domain::outgoing_webhook::DeliveryPolicy;
use kiku_notify::{Sender, Sent};
use kiku_storage::{CrmRecordWrite, FinishedNotification, Job, JobChange, NewNotificationAttempt};

use super::crm_send::{self, CrmAttempt};
use super::notice::Announcement;
use crate::app::{App, AppError};

/// How long a CRM job waits when another job is writing the same call's record.
const CRM_RECORD_BUSY_WAIT: Duration = Duration::from_secs(1);

/// What became of the job; `Err` only when the database failed.
pub async fn attempt(
    app: &App,
    job: &Job,
    worker: &str,
    policy: &DeliveryPolicy,
) -> Result<FinishedNotification, AppError> {
    let payload = serde_json::from_str::<NotificationJob>(&job.payload);
    // A CRM job's claim on the call's record ends with whatever becomes of the job.
    let crm_claim = matches!(&payload, Ok(p) if matches!(p.target, Target::Crm { .. }));
    let finished = |attempt, change| FinishedNotification {
        job: job.id,
        worker: worker.to_string(),
        attempt,
        change,
        crm_record: None,
        crm_claim,
    };
    let give_up = |why: String| {
        finished(
            None,
            JobChange::Failed {
                error: why,
                retry_at: None,
            },
        )
    };
    let payload = match payload {
        Ok(p) => p,
        Err(e) => return Ok(give_up(format!("the job's payload does not read: {e}"))),
    };
    let company = job.company_id;
    let found = app.store.announced(company, &[payload.event_id]).await?;
    let Some((call, version)) = found.into_iter().find_map(|a| Some((a.call?, a.version?))) else {
        return Ok(give_up(
            "the event, or its version of the result, is gone".into(),
        ));
    };
    let auto_tags = app.store.auto_tags(company, &[call.id]).await?;
    let announcement = Announcement::new(
        std::sync::Arc::unwrap_or_clone(call),
        std::sync::Arc::unwrap_or_clone(version),
        auto_tags,
    )?;
    let users = app.store.users(company).await?;
    let event_id = payload.event_id.to_string();
    let mut crm: (Option<String>, Option<CrmRecordWrite>) = (None, None);
    let (sent, rule_id, target_name) = match &payload.target {
        Target::Slack { rule_id } => {
            let Some(rule) = app.store.slack_rule(company, *rule_id).await? else {
                return Ok(give_up("the Slack rule was deleted".into()));
            };
            if !rule.enabled && !payload.replay {
                return Ok(give_up("the Slack rule is disabled".into()));
            }
            let filters = SlackRuleFilters::parse(&rule.filters)
                .map_err(|e| AppError::Internal(format!("stored filters: {e}").into()))?;
            if !filters.matches(&announcement.facts()) {
                // Not a notification of this rule: nothing to log.
                return Ok(finished(None, JobChange::Done));
            }
            let notice = announcement.notice(app, &event_id, &users, rule.include_summary);
            let sent = app.notifiers.slack.send(&rule.webhook_url, &notice).await;
            (sent, Some(rule.id), rule.name)
        }
        Target::Email { to } => {
            let notice = announcement.notice(app, &event_id, &users, true);
            let sent = match &app.notifiers.mailer {
                Some(mailer) => mailer.send(to, &notice).await,
                None => Sent {
                    status: None,
                    latency_ms: 0,
                    response_head: String::new(),
                    error: Some("no SMTP server is configured (smtp_host)".into()),
                    verdict: kiku_domain::notification::Verdict::Retry { after: None },
                },
            };
            (sent, None, to.clone())
        }
        Target::Crm { connection_id } => {
            let tried = crm_send::attempt(
                app,
                company,
                *connection_id,
                &announcement,
                &users,
                &payload,
                job.id,
            );
            match tried.await? {
                CrmAttempt::Skip => return Ok(finished(None, JobChange::Done)),
                CrmAttempt::Busy => {
                    let run_at = app.clock.now() + CRM_RECORD_BUSY_WAIT;
                    return Ok(finished(None, JobChange::Postponed { run_at }));
                }
                CrmAttempt::GiveUp(why) => return Ok(give_up(why)),
                CrmAttempt::Sent(done) => {
                    let done = *done;
                    crm = (done.record_id, done.write);
                    (done.sent, None, done.name)
                }
            }
        }
    };
    let crm_connection = match payload.target {
        Target::Crm { connection_id } => Some(connection_id),
        _ => None,
    };
    let now = app.clock.now();
    let step = next_step(policy, job.attempts, sent.verdict, rand::random::<f64>());
    let what = match (sent.status, &sent.error) {
        (_, Some(error)) => error.clone(),
        (Some(status), None) => format!("the target answered {status}"),
        (None, None) => "no answer".into(),
    };
    let (outcome, change) = match step {
        Step::Done => ("delivered", JobChange::Done),
        Step::RetryAfter(delay) => (
            "retrying",
            JobChange::Failed {
                error: what,
                retry_at: Some(now + delay),
            },
        ),
        Step::GiveUp => (
            "failed",
            JobChange::Failed {
                error: what,
                retry_at: None,
            },
        ),
    };
    // Ids and numbers only: a Slack URL is a credential, an answer may carry anything.
    tracing::info!(
        company_id = %company,
        event_id = %event_id,
        channel = payload.target.channel(),
        slack_rule_id = rule_id.map(|r| r.to_string()),
        crm_connection_id = crm_connection.map(|c| c.to_string()),
        attempt = job.attempts,
        status = sent.status,
        latency_ms = sent.latency_ms,
        outcome,
        "notification attempt"
    );
    let attempt = NewNotificationAttempt {
        company_id: company,
        call_id: Some(announcement.call.id),
        event_id,
        channel: payload.target.channel().into(),
        slack_rule_id: rule_id,
        crm_connection_id: crm_connection,
        crm_record_id: crm.0,
        target: target_name,
        attempt: job.attempts,
        attempted_at: now,
        status: sent.status,
        latency_ms: sent.latency_ms,
        response_head: sent.response_head,
        error: sent.error,
        outcome: outcome.into(),
        replay: payload.replay,
    };
    let delivered = matches!(step, Step::Done);
    Ok(FinishedNotification {
        crm_record: crm.1.filter(|_| delivered),
        ..finished(Some(attempt), change)
    })
}
