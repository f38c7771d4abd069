//! Analysis results as callers see them, and the company's analysis settings: reading
//! them, changing them (which re-scores every past call), and the call detail.

use std::collections::HashMap;

use kiku_domain::analysis::{
    call_detail, detail_parties, report, AnalysisSettings, Report, Roles, Transcript,
};
use kiku_domain::{CallId, CompanyId, UserId};
use kiku_storage::{AnalysisRecord, CallRecord, NewAnalysis};
use serde_json::Value;

use super::{App, AppError};

/// Re-scoring reads this many analyses at a time.
const RESCORE_PAGE: u32 = 200;

pub async fn settings(app: &App, company: CompanyId) -> Result<AnalysisSettings, AppError> {
    match app.store.analysis_settings(company).await? {
        Some(json) => serde_json::from_str(&json).map_err(|e| stored("analysis settings", e)),
        None => Ok(AnalysisSettings::default()),
    }
}

/// Stores new settings and re-scores the company's past calls with them; returns how
/// many calls were re-scored.
pub async fn set_settings(
    app: &App,
    company: CompanyId,
    settings: &AnalysisSettings,
) -> Result<u64, AppError> {
    settings.validate().map_err(AppError::InvalidRequest)?;
    let json = serde_json::to_string(settings).map_err(AppError::internal)?;
    app.store
        .set_analysis_settings(company, &json, app.clock.now())
        .await?;
    let mut rescored = 0;
    let mut after = None;
    loop {
        let page = app
            .store
            .analyses_page(company, after, RESCORE_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.call_id);
        for record in page {
            rescored += u64::from(rescore(app, record, settings).await?);
        }
    }
    Ok(rescored)
}

/// Recomputes one stored report. A concurrent change (a newer analysis) wins: it was made
/// with the new settings already or will be re-scored by them.
async fn rescore(
    app: &App,
    record: AnalysisRecord,
    settings: &AnalysisSettings,
) -> Result<bool, AppError> {
    let transcript: Transcript = parse(&record.transcript, "transcript")?;
    let roles: Roles = parse(&record.roles, "roles")?;
    let fresh = report(&transcript, &roles, settings);
    let json = serde_json::to_string(&fresh).map_err(AppError::internal)?;
    Ok(app
        .store
        .update_analysis(
            record.company_id,
            record.call_id,
            record.version,
            &record.roles,
            &json,
            app.clock.now(),
        )
        .await?)
}

/// What a worker stores for a finished analysis.
pub fn new_analysis(
    engine: &str,
    transcript: &Transcript,
    roles: &Roles,
    report: &Report,
) -> Result<NewAnalysis, AppError> {
    Ok(NewAnalysis {
        engine: engine.to_string(),
        transcript: serde_json::to_string(transcript).map_err(AppError::internal)?,
        roles: serde_json::to_string(roles).map_err(AppError::internal)?,
        report: serde_json::to_string(report).map_err(AppError::internal)?,
    })
}

/// A call's analysis as shown on its history.
pub struct CallAnalysis {
    /// MiiTel's call detail, with Kiku's additions.
    pub detail: Value,
    /// Notes for the operator from the analysis: `roles_need_review` (the user/customer
    /// decision is unsure enough to be checked by a person), `recording_truncated` (only
    /// the start of the recording was analysed).
    pub flags: Vec<&'static str>,
}

/// The MiiTel-shaped call detail of each of `calls` that has an analysis.
pub async fn details(
    app: &App,
    company: CompanyId,
    calls: &[CallRecord],
) -> Result<HashMap<CallId, CallAnalysis>, AppError> {
    let ids: Vec<CallId> = calls.iter().map(|c| c.id).collect();
    let records = app.store.analyses_of(company, &ids).await?;
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
    let mut out = HashMap::new();
    for record in records {
        let Some(call) = calls.iter().find(|c| c.id == record.call_id) else {
            continue;
        };
        let report: Report = parse(&record.report, "report")?;
        let parties = detail_parties(&call.data, &report.roles, |id| logins.get(&id).cloned());
        out.insert(
            call.id,
            CallAnalysis {
                detail: call_detail(call.id, &call.data, &parties, &report),
                flags: [
                    (report.roles.need_review(), "roles_need_review"),
                    (report.recording_truncated, "recording_truncated"),
                ]
                .into_iter()
                .filter_map(|(set, flag)| set.then_some(flag))
                .collect(),
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
