//! Values going in and out of storage.

use kiku_domain::outbox::VersionReason;
use kiku_domain::outgoing_webhook::DeliveryJob;
use kiku_domain::search::Cursor;
use kiku_domain::{
    CallData, CallId, CallStatus, CompanyId, EventId, EventKind, JobId, JobKind, UserId,
};
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq)]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub company_id: CompanyId,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub use_incoming_webhook: bool,
    pub created_at: OffsetDateTime,
}

/// A user to create; `email` is stored lower-cased and unique across companies.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub company_id: CompanyId,
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub admin: bool,
    pub use_incoming_webhook: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub admin: Option<bool>,
    pub use_incoming_webhook: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WebhookSecret {
    pub company_id: CompanyId,
    /// `kiku_domain::webhook_secret::hash` of the secret; the secret itself is not kept.
    pub secret_hash: String,
    pub created_at: OffsetDateTime,
}

/// The result of storing one call of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestedCall {
    pub id: CallId,
    /// `false` when the same call was stored by an earlier request.
    pub created: bool,
    pub status: CallStatus,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AudioInfo {
    pub key: String,
    pub bytes: u64,
    pub uploaded_at: OffsetDateTime,
    /// Set when `key` is the recording's redacted copy (a 16-bit PCM WAV, whatever the
    /// call data's `audio_file_type`).
    pub redacted_at: Option<OffsetDateTime>,
    /// The original of a redacted copy, while it is kept.
    pub original_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    pub id: CallId,
    pub company_id: CompanyId,
    pub data: CallData,
    pub status: CallStatus,
    pub status_reason: Option<String>,
    pub audio: Option<AudioInfo>,
    /// 0..=100 while analysing; `None` in every other status.
    pub progress_percent: Option<u8>,
    pub created_at: OffsetDateTime,
}

/// One page of a call search, in the search's order.
#[derive(Clone, Debug)]
pub struct SearchPage {
    pub items: Vec<CallRecord>,
    /// Counted when asked for.
    pub total: Option<Total>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// How many calls a search matches, counted up to [`kiku_domain::search::EXACT_TOTAL_LIMIT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Total {
    pub count: u64,
    /// More matched than `count`, which is then the limit.
    pub is_lower_bound: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UploadTarget {
    pub id: CallId,
    pub company_id: CompanyId,
    pub status: CallStatus,
}

#[derive(Clone, Debug)]
pub struct NewAudio {
    pub key: String,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AttachOutcome {
    /// Stored; `replaced` is the previous recording's key, now unreferenced.
    Attached {
        replaced: Option<String>,
    },
    /// Analysis has started (or finished): the recording can no longer change.
    Closed(CallStatus),
    NotFound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Dead,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub company_id: CompanyId,
    /// The call an analysis job is for; other kinds name what they need in `payload`.
    pub call_id: Option<CallId>,
    /// JSON, read by the kind's handler.
    pub payload: String,
    pub state: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: OffsetDateTime,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

/// How many jobs of one kind are in one state (done jobs are not counted), for `/metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct JobCount {
    pub kind: JobKind,
    pub state: JobState,
    pub count: u64,
    /// Queued jobs only: since when the longest-waiting ready one has been ready.
    pub oldest_ready: Option<OffsetDateTime>,
}

/// One database connection pool's use, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// `read`, `write`, or `shared` where one pool does both.
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Given, so that enqueueing the same work twice (a replay, a retried dispatch) is one
    /// job: a second insert with the same id is ignored.
    pub id: JobId,
    pub kind: JobKind,
    pub company_id: CompanyId,
    pub call_id: Option<CallId>,
    pub payload: String,
    pub max_attempts: u32,
    pub run_at: OffsetDateTime,
}

/// What becomes of a job its worker has finished with.
#[derive(Clone, Debug, PartialEq)]
pub enum JobChange {
    /// Done (an analysis job's call `completed`).
    Done,
    /// Queued again at `retry_at`, or dead when `None`; an analysis job's call follows
    /// (`queued`, or `failed` with `error` and a `call_analysis_failed` event).
    Failed {
        error: String,
        retry_at: Option<OffsetDateTime>,
    },
    /// Back in the queue until `run_at`, the attempt not counted (it could not start).
    Postponed { run_at: OffsetDateTime },
}

/// A delivery job's attempts are bounded by the retry schedule
/// (`kiku_domain::outgoing_webhook::decide`), not by the job table's counter.
const DELIVERY_MAX_ATTEMPTS: u32 = 1_000;

impl NewJob {
    /// The `deliver_webhook` job of `delivery`, ready now.
    pub fn delivery(company: CompanyId, delivery: &DeliveryJob, now: OffsetDateTime) -> Self {
        Self {
            id: delivery.job_id(),
            kind: JobKind::DeliverWebhook,
            company_id: company,
            call_id: None,
            payload: delivery.payload(),
            max_attempts: DELIVERY_MAX_ATTEMPTS,
            run_at: now,
        }
    }
}

/// An event of the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub company_id: CompanyId,
    pub call_id: Option<CallId>,
    pub kind: EventKind,
    /// The result version it announces, and the one that was current before.
    pub version: Option<u32>,
    pub previous_version: Option<u32>,
    /// The cause of a failure; the text of minutes.
    pub detail: Option<String>,
    pub created_at: OffsetDateTime,
}

/// An event with what its announcement is made of: the call and the version of its
/// result the event is about (either may be gone, or not apply). Events of one call and
/// version share one copy of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Announced {
    pub event: Event,
    pub call: Option<std::sync::Arc<CallRecord>>,
    pub version: Option<std::sync::Arc<AnalysisRecord>>,
}

/// What storing a finished analysis came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishOutcome {
    /// Stored as this version of the call's result, with its event.
    Stored { version: u32 },
    /// The worker no longer holds the job: nothing written.
    NotHeld,
    /// The company's settings changed since the report was made: nothing written;
    /// score again with the new ones and retry.
    SettingsChanged,
}

/// A new version of a call's result made from the current one (the same transcript):
/// re-scored or swapped.
#[derive(Clone, Copy, Debug)]
pub struct Revision<'a> {
    /// JSON: which speaker is the user.
    pub roles: &'a str,
    /// JSON: computed metrics.
    pub report: &'a str,
    pub reason: VersionReason,
    /// Queue a `write_minutes` job for the new version (docs/analysis.md, *Minutes*).
    pub write_minutes: bool,
}

/// A finished analysis to store; the JSON documents are opaque to storage.
#[derive(Clone, Debug)]
pub struct NewAnalysis {
    /// Model and pipeline description.
    pub engine: String,
    /// JSON: what was heard, role-free.
    pub transcript: String,
    /// JSON: which speaker is the user.
    pub roles: String,
    /// JSON: computed metrics.
    pub report: String,
    /// Queue a `write_minutes` job for the stored version (docs/analysis.md, *Minutes*).
    pub write_minutes: bool,
}

/// Minutes to store: written by `model` from `version` of the call's result.
#[derive(Clone, Copy, Debug)]
pub struct NewMinutes<'a> {
    pub call: CallId,
    pub version: u32,
    pub text: &'a str,
    pub model: &'a str,
}

/// A call's latest minutes.
#[derive(Clone, Debug, PartialEq)]
pub struct Minutes {
    /// The version of the call's result they were written from.
    pub version: u32,
    pub text: String,
    pub model: String,
    pub created_at: OffsetDateTime,
}

impl NewJob {
    /// The `write_minutes` job of `version` of `call`'s result, ready now (payload
    /// `{"version": …}`).
    pub fn minutes(company: CompanyId, call: CallId, version: u32, now: OffsetDateTime) -> Self {
        Self {
            id: JobId::new(),
            kind: JobKind::WriteMinutes,
            company_id: company,
            call_id: Some(call),
            payload: serde_json::json!({ "version": version }).to_string(),
            max_attempts: kiku_domain::job_retry::RetryPolicy::default().max_attempts,
            run_at: now,
        }
    }
}

/// A call's stored analysis.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisRecord {
    pub call_id: CallId,
    pub company_id: CompanyId,
    /// 1 when first stored, + 1 on every change; guards [`crate::AnalysisStore::update_analysis`].
    pub version: u32,
    pub engine: String,
    pub transcript: String,
    pub roles: String,
    pub report: String,
    /// Why this version was made.
    pub reason: VersionReason,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}
