//! One CRM attempt of a `deliver_notification` job: the call as an [`Activity`] of the
//! event's version, the record the call already became in the connection's CRM (updated,
//! never duplicated), and the write. The job first claims the (connection, call) record,
//! so two events of one call delivered at once by two workers take turns: the second
//! waits for the first's record, then updates it. Under the claim, an event older than
//! the version the CRM already holds is skipped: a slow retry of the first analysis must
//! not undo a swap.

use kiku_domain::crm::CrmContent;
use kiku_domain::notification::NotificationJob;
use kiku_domain::{CompanyId, CrmConnectionId, JobId, Side};
use kiku_notify::{Activity, CrmTarget, Sent};
use kiku_storage::{CrmClaim, CrmRecordWrite, User};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::crm_connections::{base_url, config_of};
use super::notice::{duration_seconds, party_label, started_at, Announcement};
use crate::app::{App, AppError};

/// What became of the attempt.
pub enum CrmAttempt {
    /// Nothing to send (the job ends without an attempt in the log).
    Skip,
    /// Nothing can be sent, ever: the job fails with this cause.
    GiveUp(String),
    /// Another job is writing the call's record in this CRM: try again shortly.
    Busy,
    Sent(Box<CrmSent>),
}

/// An attempt made.
pub struct CrmSent {
    pub sent: Sent,
    /// The connection's name, for the log.
    pub name: String,
    /// The record written, or the one an update was aimed at.
    pub record_id: Option<String>,
    /// Kept when delivered.
    pub write: Option<CrmRecordWrite>,
}

pub async fn attempt(
    app: &App,
    company: CompanyId,
    connection: CrmConnectionId,
    announcement: &Announcement,
    users: &[User],
    payload: &NotificationJob,
    job: JobId,
) -> Result<CrmAttempt, AppError> {
    let Some(c) = app.store.crm_connection(company, connection).await? else {
        return Ok(CrmAttempt::GiveUp("the CRM connection was deleted".into()));
    };
    if !c.enabled && !payload.replay {
        return Ok(CrmAttempt::GiveUp("the CRM connection is disabled".into()));
    }
    let (kind, config, content) = config_of(&c)?;
    let Some(base) = base_url(kind, &c) else {
        return Ok(CrmAttempt::GiveUp("the connection has no base_url".into()));
    };
    let call = &announcement.call;
    let version = announcement.version.version;
    let now = app.clock.now();
    let claim = app
        .store
        .claim_crm_record(company, connection, call.id, job, now);
    let existing = match claim.await? {
        CrmClaim::Held(existing) => existing,
        CrmClaim::Busy => return Ok(CrmAttempt::Busy),
    };
    if existing.as_ref().is_some_and(|r| r.version > version) {
        return Ok(CrmAttempt::Skip);
    }
    let record_id = existing.map(|r| r.record_id);
    let cache_key = format!("{}/{}", c.id, c.updated_at.unix_timestamp_nanos());
    let target = CrmTarget {
        cache_key: &cache_key,
        base_url: &base,
        config: &config,
        record_id: record_id.as_deref(),
    };
    let written = app
        .notifiers
        .crm
        .write(&target, &activity(app, announcement, users, content))
        .await;
    let write = written.record_id.clone().map(|record_id| CrmRecordWrite {
        company_id: company,
        connection_id: connection,
        call_id: call.id,
        record_id,
        version,
        event_id: payload.event_id.to_string(),
    });
    Ok(CrmAttempt::Sent(Box::new(CrmSent {
        sent: written.sent,
        name: c.name,
        record_id: written.record_id.or(record_id),
        write,
    })))
}

/// The call as a CRM activity, from the event's version of the result.
pub fn activity(
    app: &App,
    announcement: &Announcement,
    users: &[User],
    content: CrmContent,
) -> Activity {
    let data = &announcement.call.data;
    let report = &announcement.report;
    let user_side = report.roles.user_side;
    let customer_side = match user_side {
        Side::From => Side::To,
        Side::To => Side::From,
    };
    let number = |side| {
        data.participant(side)
            .map(|p| p.number.clone())
            .unwrap_or_default()
    };
    let caller = party_label(data, Side::From, users);
    let callee = party_label(data, Side::To, users);
    let at = data.call_starts_at;
    let utc = at.to_offset(time::UtcOffset::UTC);
    Activity {
        call_id: announcement.call.id.to_string(),
        swapped: announcement.version.reason == kiku_domain::outbox::VersionReason::Swap,
        title: format!("{caller} → {callee}"),
        started_at_utc: utc.format(&Rfc3339).unwrap_or_default(),
        local_date: at
            .format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_default(),
        started_at_label: started_at(data),
        inbound: user_side == Side::To,
        event_type: data.event_type.as_str().to_string(),
        answered: data.is_answered(),
        duration_seconds: duration_seconds(data),
        caller,
        callee,
        caller_number: number(Side::From),
        callee_number: number(Side::To),
        customer_number: Some(number(customer_side)).filter(|n| !n.is_empty()),
        score: report.score,
        link: format!("{}/calls/{}", app.public_url, announcement.call.id),
        transcript: report.transcript_text.clone(),
        summary: report.summary_text.clone(),
        content,
    }
}
