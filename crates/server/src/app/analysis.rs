//! Analysis results as callers see them: the company's analysis settings (changing them
//! queues a re-score of every past call), swapping user and customer, every version of a
//! result, and the call detail.

use std::collections::HashMap;

use kiku_domain::analysis::detail::DetailTag;
use kiku_domain::analysis::{
    detail, detail_parties, report, with_sentiment, AnalysisSettings, Lexicons, Report, Roles,
    Transcript,
};
use kiku_domain::outbox::VersionReason;
use kiku_domain::{CallId, CallStatus, CompanyId, UserId};
use kiku_storage::{AnalysisRecord, AutoTag, CallRecord, NewAnalysis, Revision};
use serde_json::Value;

use super::{App, AppError};

/// Re-scoring reads this many analyses at a time.
pub const RESCORE_PAGE: u32 = 200;

pub async fn settings(app: &App, company: CompanyId) -> Result<AnalysisSettings, AppError> {
    Ok(settings_as_stored(app, company).await?.0)
}

/// The settings and the stored text they came from (`None`: the defaults, none stored),
/// which storing a result checks is still current.
pub async fn settings_as_stored(
    app: &App,
    company: CompanyId,
) -> Result<(AnalysisSettings, Option<String>), AppError> {
    match app.store.analysis_settings(company).await? {
        Some(json) => {
            let settings =
                serde_json::from_str(&json).map_err(|e| stored("analysis settings", e))?;
            Ok((settings, Some(json)))
        }
        None => Ok((AnalysisSettings::default(), None)),
    }
}

/// Stores new settings; the company's past calls are re-scored by a `rescore_company` job
/// queued with them. Returns how many calls that job will re-score.
pub async fn set_settings(
    app: &App,
    company: CompanyId,
    settings: &AnalysisSettings,
) -> Result<u64, AppError> {
    settings.validate().map_err(AppError::InvalidRequest)?;
    if settings.write_minutes && app.minutes.is_none() {
        return Err(AppError::InvalidRequest(
            "write_minutes needs a language model, and this server has none configured (minutes_url, docs/analysis.md#minutes)".into(),
        ));
    }
    let json = serde_json::to_string(settings).map_err(AppError::internal)?;
    let rescoring = app
        .store
        .set_analysis_settings(company, &json, app.clock.now())
        .await?;
    app.jobs_queued.notify_waiters();
    Ok(rescoring)
}

/// The report of `transcript` with `roles` under `settings`, its phrases' and participants'
/// sentiment scored with `lexicons`: what every stored result holds.
pub fn scored_report(
    transcript: &Transcript,
    roles: &Roles,
    settings: &AnalysisSettings,
    lexicons: &Lexicons,
) -> Report {
    with_sentiment(report(transcript, roles, settings), lexicons)
}

/// Recomputes one stored report with `settings`; a new version when it changed. A
/// concurrent change (a newer version) wins: it was made with these settings already.
pub async fn rescore(
    app: &App,
    record: &AnalysisRecord,
    settings: &AnalysisSettings,
) -> Result<Option<u32>, AppError> {
    let transcript: Transcript = parse(&record.transcript, "transcript")?;
    let roles: Roles = parse(&record.roles, "roles")?;
    let fresh = scored_report(&transcript, &roles, settings, &app.sentiment);
    let json = serde_json::to_string(&fresh).map_err(AppError::internal)?;
    if json == record.report {
        return Ok(None);
    }
    Ok(app
        .store
        .update_analysis(
            record.company_id,
            record.call_id,
            record.version,
            Revision {
                roles: &record.roles,
                report: &json,
                reason: VersionReason::Rescore,
                // The same words and roles: the minutes already written still hold.
                write_minutes: false,
            },
            app.clock.now(),
        )
        .await?)
}

/// One call as the settings being edited would score it.
pub struct Simulated {
    pub call: CallRecord,
    /// The current version's score.
    pub now: f64,
    /// The score under the new settings.
    pub then: f64,
}

/// What `settings` would make of the company's `n` most recent analysed calls, before an
/// admin saves them (nothing is stored).
pub async fn simulate(
    app: &App,
    company: CompanyId,
    settings: &AnalysisSettings,
    n: u32,
) -> Result<Vec<Simulated>, AppError> {
    settings.validate().map_err(AppError::InvalidRequest)?;
    let recent = kiku_domain::search::CallSearch {
        statuses: vec![CallStatus::Completed],
        per_page: n.max(1),
        ..Default::default()
    };
    let calls = app.store.search_calls(company, &recent, false).await?.items;
    let ids: Vec<CallId> = calls.iter().map(|c| c.id).collect();
    let records = app.store.analyses_of(company, &ids).await?;
    let mut out = Vec::new();
    for call in calls {
        let Some(record) = records.iter().find(|r| r.call_id == call.id) else {
            continue;
        };
        let transcript: Transcript = parse(&record.transcript, "transcript")?;
        let roles: Roles = parse(&record.roles, "roles")?;
        let current: Report = parse(&record.report, "report")?;
        let then = report(&transcript, &roles, settings).score;
        out.push(Simulated {
            call,
            now: current.score,
            then,
        });
    }
    Ok(out)
}

/// Swaps user and customer on a completed call: everything role-dependent is recomputed
/// from the stored transcript (no recognition) into a new version; the new version's
/// number. A concurrent change is retried once on top of it.
pub async fn swap(app: &App, company: CompanyId, call: CallId) -> Result<u32, AppError> {
    let record = app
        .store
        .call(company, call)
        .await?
        .ok_or_else(|| AppError::NotFound("no such call in this company".into()))?;
    if record.status != CallStatus::Completed {
        return Err(AppError::Conflict(format!(
            "only a completed call's user and customer can be swapped; this call is {}",
            record.status.as_str()
        )));
    }
    for _ in 0..2 {
        let current = app
            .store
            .analysis(company, call)
            .await?
            .ok_or_else(|| AppError::Conflict("this call has no analysis to swap".into()))?;
        let transcript: Transcript = parse(&current.transcript, "transcript")?;
        let roles = parse::<Roles>(&current.roles, "roles")?.swapped();
        let settings = settings(app, company).await?;
        let fresh = scored_report(&transcript, &roles, &settings, &app.sentiment);
        let roles_json = serde_json::to_string(&roles).map_err(AppError::internal)?;
        let report_json = serde_json::to_string(&fresh).map_err(AppError::internal)?;
        let made = app.store.update_analysis(
            company,
            call,
            current.version,
            Revision {
                roles: &roles_json,
                report: &report_json,
                reason: VersionReason::Swap,
                // Minutes say who asked and who promised what: written again.
                write_minutes: writes_minutes(app, &settings),
            },
            app.clock.now(),
        );
        if let Some(version) = made.await? {
            app.jobs_queued.notify_waiters();
            return Ok(version);
        }
    }
    Err(AppError::Conflict(
        "the call's result changed while it was swapped; try again".into(),
    ))
}

/// The call detail of the call's current result, if it has one.
pub async fn current_detail(
    app: &App,
    company: CompanyId,
    call: CallId,
) -> Result<Option<Value>, AppError> {
    let Some(record) = app.store.call(company, call).await? else {
        return Ok(None);
    };
    Ok(details(app, company, &[record])
        .await?
        .remove(&call)
        .map(|a| a.detail))
}

/// Whether a new result of a company with `settings` gets minutes: the company asks for
/// them and this process has a language model.
pub fn writes_minutes(app: &App, settings: &AnalysisSettings) -> bool {
    settings.write_minutes && app.minutes.is_some()
}

/// What a worker stores for a finished analysis.
pub fn new_analysis(
    engine: &str,
    transcript: &Transcript,
    roles: &Roles,
    report: &Report,
    write_minutes: bool,
) -> Result<NewAnalysis, AppError> {
    Ok(NewAnalysis {
        engine: engine.to_string(),
        transcript: serde_json::to_string(transcript).map_err(AppError::internal)?,
        roles: serde_json::to_string(roles).map_err(AppError::internal)?,
        report: serde_json::to_string(report).map_err(AppError::internal)?,
        write_minutes,
    })
}

/// A call's analysis as shown on its history.
pub struct CallAnalysis {
    pub version: u32,
    /// MiiTel's call detail, with Kiku's additions.
    pub detail: Value,
    /// Notes for the operator from the analysis: `roles_need_review` (the user/customer
    /// decision is unsure enough to be checked by a person), `recording_truncated` (only
    /// the start of the recording was analysed).
    pub flags: Vec<&'static str>,
    /// The tags auto-tag rules gave the call (also in the detail's `tags`).
    pub auto_tags: Vec<String>,
}

/// The MiiTel-shaped call detail of each of `calls` that has an analysis.
pub async fn details(
    app: &App,
    company: CompanyId,
    calls: &[CallRecord],
) -> Result<HashMap<CallId, CallAnalysis>, AppError> {
    let ids: Vec<CallId> = calls.iter().map(|c| c.id).collect();
    let records = app.store.analyses_of(company, &ids).await?;
    details_of(app, company, calls, records).await
}

/// The call detail of each record, for its call among `calls` (any version).
pub async fn details_of(
    app: &App,
    company: CompanyId,
    calls: &[CallRecord],
    records: Vec<AnalysisRecord>,
) -> Result<HashMap<CallId, CallAnalysis>, AppError> {
    if records.is_empty() {
        return Ok(HashMap::new());
    }
    let logins: HashMap<UserId, String> = app
        .store
        .users(company)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let ids: Vec<CallId> = records.iter().map(|r| r.call_id).collect();
    let mut auto_tags: HashMap<CallId, Vec<AutoTag>> = HashMap::new();
    for tag in app.store.auto_tags(company, &ids).await? {
        auto_tags.entry(tag.call_id).or_default().push(tag);
    }
    let mut out = HashMap::new();
    for record in records {
        let Some(call) = calls.iter().find(|c| c.id == record.call_id) else {
            continue;
        };
        let report: Report = parse(&record.report, "report")?;
        let parties = detail_parties(&call.data, &report.roles, |id| logins.get(&id).cloned());
        let mut detail = detail(call.id, &call.data, &parties, &report);
        // Kiku's additions to MiiTel's detail: which version of the result this is.
        detail.version = Some(record.version);
        detail.version_reason = Some(record.reason.as_str().to_string());
        let auto = auto_tags.remove(&call.id).unwrap_or_default();
        detail.tags.extend(auto.iter().map(|t| DetailTag {
            created_by: format!("Auto tag rule: {}", t.rule_name),
            creator_type: "SYSTEM".into(),
            value: t.tag.clone(),
        }));
        // A struct of strings, numbers and lists: serialising it cannot fail.
        let detail = serde_json::to_value(detail).unwrap_or_default();
        out.insert(
            call.id,
            CallAnalysis {
                version: record.version,
                detail,
                flags: [
                    (report.roles.need_review(), "roles_need_review"),
                    (report.recording_truncated, "recording_truncated"),
                ]
                .into_iter()
                .filter_map(|(set, flag)| set.then_some(flag))
                .collect(),
                auto_tags: auto.into_iter().map(|t| t.tag).collect(),
            },
        );
    }
    Ok(out)
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, AppError> {
    serde_json::from_str(json).map_err(|e| stored(what, e))
}

/// Stored JSON that no longer reads is a server fault, named for the log.
fn stored(what: &str, err: serde_json::Error) -> AppError {
    AppError::Internal(format!("stored {what} does not read: {err}").into())
}
