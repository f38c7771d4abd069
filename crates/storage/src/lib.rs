//! Kiku's database: narrow storage traits the rest of the system depends on, and one SQL
//! implementation of them that runs on SQLite (embedded default) and PostgreSQL.

mod audit_log;
mod crm;
mod error;
mod models;
mod notifications;
mod outgoing_webhooks;
pub mod secrets;
mod sql;
mod tag_rules;
#[cfg(feature = "test-support")]
pub mod test_support;

use async_trait::async_trait;
use kiku_domain::search::CallSearch;
use kiku_domain::tag_rule::TagRuleSpec;
use kiku_domain::{
    AuditEntryId, CallData, CallId, CompanyId, CrmConnectionId, EventId, JobId, JobKind,
    OutgoingWebhookId, SlackRuleId, TagRuleId, UserId,
};
use time::OffsetDateTime;

pub use audit_log::*;
pub use crm::*;
pub use error::StorageError;
pub use models::*;
pub use notifications::*;
pub use outgoing_webhooks::*;
pub use secrets::{SecretError, SecretKeys};
pub use sql::SqlStore;
pub use tag_rules::*;

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Tenants, their users and sign-in sessions.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates a company together with its first admin, atomically.
    async fn create_company(&self, name: &str, admin: NewUser) -> Result<(Company, User)>;
    async fn company(&self, id: CompanyId) -> Result<Option<Company>>;
    /// Every company's id: for operator actions that touch all of them.
    async fn company_ids(&self) -> Result<Vec<CompanyId>>;
    async fn create_user(&self, user: NewUser) -> Result<User>;
    async fn users(&self, company: CompanyId) -> Result<Vec<User>>;
    async fn user(&self, company: CompanyId, id: UserId) -> Result<Option<User>>;
    /// Every user with this e-mail (one per company at most) and their password hashes,
    /// oldest first, for signing in.
    async fn users_by_email(&self, email: &str) -> Result<Vec<(User, Option<String>)>>;
    /// Fails with [`StorageError::Conflict`] when it would take the admin right from the
    /// company's last admin; decided atomically with the change.
    async fn update_user(
        &self,
        company: CompanyId,
        id: UserId,
        patch: UserPatch,
    ) -> Result<Option<User>>;
    /// Those of `ids` that are users of `company` with Use Incoming Webhook on.
    async fn webhook_users(&self, company: CompanyId, ids: &[UserId]) -> Result<Vec<UserId>>;
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    /// The user of an unexpired session.
    async fn session_user(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<User>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
}

/// The company's Incoming Webhook URL secret: at most one per company, stored only as its
/// hash.
#[async_trait]
pub trait WebhookUrlStore: Send + Sync {
    /// Stores the hash of `secret`. Fails with [`StorageError::Conflict`] when the company
    /// already has one.
    async fn create_webhook_secret(
        &self,
        company: CompanyId,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<WebhookSecret>;
    async fn webhook_secret(&self, company: CompanyId) -> Result<Option<WebhookSecret>>;
    /// `false` when there was none.
    async fn delete_webhook_secret(&self, company: CompanyId) -> Result<bool>;
}

/// Call histories and their recordings' metadata.
#[async_trait]
pub trait CallStore: Send + Sync {
    /// Stores a batch atomically. A `call_data_id` already stored with the same content
    /// gives back the stored call; with other content the whole batch fails with
    /// [`StorageError::CallDataConflict`] and nothing is written.
    async fn ingest_calls(
        &self,
        company: CompanyId,
        calls: &[CallData],
        now: OffsetDateTime,
    ) -> Result<Vec<IngestedCall>>;
    async fn call(&self, company: CompanyId, id: CallId) -> Result<Option<CallRecord>>;
    /// A page of the company's calls matching `search`, in its order; counted when
    /// `with_total`.
    async fn search_calls(
        &self,
        company: CompanyId,
        search: &CallSearch,
        with_total: bool,
    ) -> Result<SearchPage>;
    /// What an upload needs to know about a call, whatever its company.
    async fn upload_target(&self, id: CallId) -> Result<Option<UploadTarget>>;
    /// Points the call at a newly stored recording and enqueues its analysis job, in one
    /// transaction — unless analysis has already started.
    async fn attach_audio(
        &self,
        id: CallId,
        audio: NewAudio,
        now: OffsetDateTime,
    ) -> Result<AttachOutcome>;
    /// Points the call at its recording's redacted `copy` (already stored), keeping the
    /// original's key as `original_key` until [`CallStore::forget_original_audio`].
    /// `false`, changing nothing, when the call's recording is no longer `original_key` or
    /// is already a redacted copy.
    async fn use_redacted_audio(
        &self,
        id: CallId,
        original_key: &str,
        copy: NewAudio,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// The original recording of a redacted copy has been deleted.
    async fn forget_original_audio(&self, id: CallId, original_key: &str) -> Result<()>;
}

/// Durable background jobs of every kind, claimed with leases. Only analysis jobs move
/// their call's status (see [`JobKind::moves_call_status`]).
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues `job`; a job with the same id already there is left as it is.
    async fn enqueue_job(&self, job: NewJob, now: OffsetDateTime) -> Result<()>;
    /// Takes up to `limit` (at most 256) of the oldest ready jobs of `kinds` (or jobs
    /// whose lease expired) for `worker` until `lease_until`, oldest first.
    async fn claim_jobs(
        &self,
        kinds: &[JobKind],
        worker: &str,
        limit: usize,
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<Job>>;
    /// Takes the oldest ready job of `kinds`, as [`JobStore::claim_jobs`].
    async fn claim_job(
        &self,
        kinds: &[JobKind],
        worker: &str,
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<Job>> {
        let mut jobs = self.claim_jobs(kinds, worker, 1, lease_until, now).await?;
        Ok(jobs.pop())
    }
    /// Extends a held lease and records the call's progress (clamped to 100; `None` keeps
    /// the stored value); `false` and nothing written when the worker no longer holds the job.
    async fn heartbeat_job(
        &self,
        id: JobId,
        worker: &str,
        lease_until: OffsetDateTime,
        progress_percent: Option<u8>,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// Extends the leases of `jobs` (at most 256) that `worker` still holds (a worker
    /// running many at once); how many it still held.
    async fn renew_leases(
        &self,
        worker: &str,
        jobs: &[JobId],
        lease_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// Marks the job done (an analysis job's call `completed`, without storing an analysis:
    /// see [`AnalysisStore::finish_analysis`] for that).
    async fn complete_job(&self, id: JobId, worker: &str, now: OffsetDateTime) -> Result<bool>;
    /// Records a failure: queued again at `retry_at`, or dead when `None`. An analysis
    /// job's call follows (`queued`, or `failed` with `error` as its reason and a
    /// `call_analysis_failed` event).
    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool>;
    async fn jobs_for_call(&self, call: CallId) -> Result<Vec<Job>>;
    /// The jobs not done, by kind and state, with the oldest ready queued job's time.
    async fn job_counts(&self, now: OffsetDateTime) -> Result<Vec<JobCount>>;
}

/// The outbox: events are written by the storage operations that change a result, in the
/// same transaction, each with the delivery jobs of its subscribers.
#[async_trait]
pub trait EventStore: Send + Sync {
    async fn event(&self, company: CompanyId, id: EventId) -> Result<Option<Event>>;
    /// A call's events, oldest first.
    async fn events_of_call(&self, company: CompanyId, call: CallId) -> Result<Vec<Event>>;
    /// The company's events among `ids` (at most 256) with their calls and versions, in
    /// three queries whatever their number: what a batch of deliveries is rendered from.
    async fn announced(&self, company: CompanyId, ids: &[EventId]) -> Result<Vec<Announced>>;
}

/// Analysis results and each company's analysis settings.
#[async_trait]
pub trait AnalysisStore: Send + Sync {
    /// In one transaction: stores the call's analysis as its next version, completes the
    /// job, sets the call `completed` and writes a `call_analysis_completed` event — unless
    /// `worker` lost the job, or the company's settings are no longer `settings_used`
    /// (`None`: none were stored), so a re-score cannot miss a report made with old ones.
    async fn finish_analysis(
        &self,
        job: JobId,
        worker: &str,
        analysis: &NewAnalysis,
        settings_used: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<FinishOutcome>;
    async fn analysis(&self, company: CompanyId, call: CallId) -> Result<Option<AnalysisRecord>>;
    /// The analyses of those of `calls` that have one (for list pages), scoped to `company`.
    async fn analyses_of(
        &self,
        company: CompanyId,
        calls: &[CallId],
    ) -> Result<Vec<AnalysisRecord>>;
    /// A page of a company's analyses ordered by call id, after `after` (exclusive), for re-scoring them all.
    async fn analyses_page(
        &self,
        company: CompanyId,
        after: Option<CallId>,
        limit: u32,
    ) -> Result<Vec<AnalysisRecord>>;
    /// Makes `revision` the next version (with its event) when the current one is still
    /// `expected_version`; the new version's number, or `None` when a concurrent change
    /// won (optimistic).
    async fn update_analysis(
        &self,
        company: CompanyId,
        call: CallId,
        expected_version: u32,
        revision: Revision<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<u32>>;
    /// Every version of a call's result, oldest first.
    async fn analysis_versions(
        &self,
        company: CompanyId,
        call: CallId,
    ) -> Result<Vec<AnalysisRecord>>;
    async fn analysis_version(
        &self,
        company: CompanyId,
        call: CallId,
        version: u32,
    ) -> Result<Option<AnalysisRecord>>;
    async fn count_analyses(&self, company: CompanyId) -> Result<u64>;
    async fn analysis_settings(&self, company: CompanyId) -> Result<Option<String>>;
    /// Stores the settings and, in the same transaction, enqueues the company's re-score
    /// (`rescore_company`); the number of analyses it will re-score. Fails with
    /// [`StorageError::NotFound`] when the company does not exist.
    async fn set_analysis_settings(
        &self,
        company: CompanyId,
        settings: &str,
        now: OffsetDateTime,
    ) -> Result<u64>;
    /// In one transaction: completes the `write_minutes` job, stores `minutes` as the
    /// call's and writes a `call_summarization_completed` event carrying their text —
    /// unless `worker` lost the job (`false`), or the call already has minutes of a later
    /// version (`true`, nothing stored or announced: those are the call's minutes).
    async fn finish_minutes(
        &self,
        job: JobId,
        worker: &str,
        minutes: &NewMinutes<'_>,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// The call's latest minutes, if any were written.
    async fn minutes(&self, company: CompanyId, call: CallId) -> Result<Option<Minutes>>;
}

/// Each company's outgoing webhook endpoints and the log of their delivery attempts.
#[async_trait]
pub trait OutgoingWebhookStore: Send + Sync {
    /// Fails with [`StorageError::NotFound`] when the company does not exist.
    async fn create_outgoing_webhook(&self, new: &NewOutgoingWebhook) -> Result<OutgoingWebhook>;
    /// Oldest first.
    async fn outgoing_webhooks(&self, company: CompanyId) -> Result<Vec<OutgoingWebhook>>;
    async fn outgoing_webhook(
        &self,
        company: CompanyId,
        id: OutgoingWebhookId,
    ) -> Result<Option<OutgoingWebhook>>;
    async fn update_outgoing_webhook(
        &self,
        company: CompanyId,
        id: OutgoingWebhookId,
        patch: &OutgoingWebhookPatch,
        now: OffsetDateTime,
    ) -> Result<Option<OutgoingWebhook>>;
    /// Deletes the endpoint and its delivery log; `false` when there was none.
    async fn delete_outgoing_webhook(
        &self,
        company: CompanyId,
        id: OutgoingWebhookId,
    ) -> Result<bool>;
    /// Makes `secret` current and keeps the old one as `previous_secret` until
    /// `previous_until` (now + 24 h).
    async fn rotate_outgoing_webhook_secret(
        &self,
        company: CompanyId,
        id: OutgoingWebhookId,
        secret: &str,
        previous_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<OutgoingWebhook>>;
    /// The company's enabled endpoints subscribed to `event_type`.
    async fn outgoing_webhooks_for_event(
        &self,
        company: CompanyId,
        event_type: &str,
    ) -> Result<Vec<OutgoingWebhook>>;
    /// Records one attempt and applies its effect on the endpoint, in one transaction;
    /// returns the endpoint as it is afterwards (`None` when it was deleted meanwhile:
    /// nothing recorded).
    async fn record_outgoing_delivery(
        &self,
        attempt: &NewOutgoingDelivery,
        effect: &DeliveryEffect,
    ) -> Result<Option<OutgoingWebhook>>;
    /// Records each finished delivery job (its attempt, the effect on the endpoint, what
    /// becomes of the job) in one transaction; per job, whether its worker still held it.
    async fn finish_deliveries(
        &self,
        finished: &[FinishedDelivery],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>>;
    /// Recorded attempts of the company, newest first, by endpoint and/or call.
    async fn outgoing_deliveries(
        &self,
        company: CompanyId,
        filter: &DeliveryFilter,
    ) -> Result<Vec<OutgoingDelivery>>;
}

/// Slack rules, e-mail recipients and opt-ins, and the attempt log of them and of CRM
/// records. The jobs
/// that send them are written with each `call_analysis_completed` event.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Fails with [`StorageError::NotFound`] when the company does not exist.
    async fn create_slack_rule(&self, new: &NewSlackRule) -> Result<SlackRule>;
    /// Oldest first.
    async fn slack_rules(&self, company: CompanyId) -> Result<Vec<SlackRule>>;
    async fn slack_rule(&self, company: CompanyId, id: SlackRuleId) -> Result<Option<SlackRule>>;
    async fn update_slack_rule(
        &self,
        company: CompanyId,
        id: SlackRuleId,
        patch: &SlackRulePatch,
        now: OffsetDateTime,
    ) -> Result<Option<SlackRule>>;
    /// `false` when there was none; its attempts stay in the log.
    async fn delete_slack_rule(&self, company: CompanyId, id: SlackRuleId) -> Result<bool>;
    /// The company-wide e-mail recipients, in their order.
    async fn email_recipients(&self, company: CompanyId) -> Result<Vec<String>>;
    /// Replaces them all.
    async fn set_email_recipients(&self, company: CompanyId, addresses: &[String]) -> Result<()>;
    async fn user_notifications(
        &self,
        company: CompanyId,
        user: UserId,
    ) -> Result<UserNotifications>;
    /// Fails with [`StorageError::NotFound`] when the user is not in the company.
    async fn set_user_notifications(
        &self,
        company: CompanyId,
        user: UserId,
        choice: UserNotifications,
        now: OffsetDateTime,
    ) -> Result<()>;
    /// Records the attempt and settles the job in one transaction; whether the worker
    /// still held the job (nothing written when it did not).
    async fn finish_notification(
        &self,
        finished: &FinishedNotification,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// Recorded attempts of the company, newest first.
    async fn notification_attempts(
        &self,
        company: CompanyId,
        filter: &AttemptFilter,
    ) -> Result<Vec<NotificationAttempt>>;
}

/// Each company's CRM connections and the record each call became in each of them. The
/// jobs that write the records are written with each `call_analysis_completed` event;
/// a delivered attempt stores its record with the attempt
/// ([`NotificationStore::finish_notification`]).
#[async_trait]
pub trait CrmStore: Send + Sync {
    /// Fails with [`StorageError::NotFound`] when the company does not exist.
    async fn create_crm_connection(
        &self,
        company: CompanyId,
        input: &CrmConnectionInput,
        now: OffsetDateTime,
    ) -> Result<CrmConnection>;
    /// Oldest first.
    async fn crm_connections(&self, company: CompanyId) -> Result<Vec<CrmConnection>>;
    async fn crm_connection(
        &self,
        company: CompanyId,
        id: CrmConnectionId,
    ) -> Result<Option<CrmConnection>>;
    /// Replaces every setting but the kind; `None` when there is no such connection.
    async fn replace_crm_connection(
        &self,
        company: CompanyId,
        id: CrmConnectionId,
        input: &CrmConnectionInput,
        now: OffsetDateTime,
    ) -> Result<Option<CrmConnection>>;
    /// Deletes the connection and the record ids it kept; `false` when there was none.
    /// Its attempts stay in the log.
    async fn delete_crm_connection(&self, company: CompanyId, id: CrmConnectionId) -> Result<bool>;
    /// The record `call` became in the connection's CRM, if one was written.
    async fn crm_record(
        &self,
        company: CompanyId,
        connection: CrmConnectionId,
        call: CallId,
    ) -> Result<Option<CrmRecord>>;
    /// Claims, for `job` (running, with a live lease), the right to create or update the
    /// record `call` became in the connection's CRM, so that two events of one call
    /// delivered at once never make two records. [`CrmClaim::Busy`] while another running
    /// job holds it; the claim ends with the job's attempt
    /// ([`FinishedNotification::crm_claim`]) or with its lease.
    async fn claim_crm_record(
        &self,
        company: CompanyId,
        connection: CrmConnectionId,
        call: CallId,
        job: JobId,
        now: OffsetDateTime,
    ) -> Result<CrmClaim>;
}

/// Each company's auto-tag rules and the tags they gave calls. A stored result (a first
/// analysis, a swap, a re-score) is tagged by the company's enabled rules in the
/// transaction that stores it; past calls by [`TagRuleStore::apply_tag_rule_page`].
#[async_trait]
pub trait TagRuleStore: Send + Sync {
    /// Fails with [`StorageError::NotFound`] when the company does not exist.
    async fn create_tag_rule(
        &self,
        company: CompanyId,
        spec: &TagRuleSpec,
        now: OffsetDateTime,
    ) -> Result<TagRule>;
    /// Oldest first.
    async fn tag_rules(&self, company: CompanyId) -> Result<Vec<TagRule>>;
    async fn tag_rule(&self, company: CompanyId, id: TagRuleId) -> Result<Option<TagRule>>;
    /// Replaces the rule's settings; calls already tagged keep their tags until the rule
    /// is applied to them again.
    async fn update_tag_rule(
        &self,
        company: CompanyId,
        id: TagRuleId,
        spec: &TagRuleSpec,
        now: OffsetDateTime,
    ) -> Result<Option<TagRule>>;
    /// Deletes the rule and the tags it gave; `false` when there was none.
    async fn delete_tag_rule(&self, company: CompanyId, id: TagRuleId) -> Result<bool>;
    /// Enqueues an `apply_tag_rule` job for the rule; the number of analysed calls it will
    /// look at, or `None` when there is no such rule.
    async fn queue_tag_rule_application(
        &self,
        company: CompanyId,
        id: TagRuleId,
        now: OffsetDateTime,
    ) -> Result<Option<u64>>;
    /// In one transaction: the rule as it is now evaluated on the current result of up to
    /// `limit` analysed calls after `after` (by call id), each tagged or untagged by it.
    /// `None` when there are no more calls or the rule is gone.
    async fn apply_tag_rule_page(
        &self,
        company: CompanyId,
        id: TagRuleId,
        after: Option<CallId>,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Option<TagRulePage>>;
    /// The tags rules gave those of `calls` that are the company's, oldest first.
    async fn auto_tags(&self, company: CompanyId, calls: &[CallId]) -> Result<Vec<AutoTag>>;
}

/// The audit log: entries are added and read, never changed or removed.
#[async_trait]
pub trait AuditLogStore: Send + Sync {
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntryId>;
    /// The company's entries matching `filter`, newest first.
    async fn audit_entries(
        &self,
        company: CompanyId,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>>;
}

/// The counts behind the abuse limits (`kiku::app::abuse`).
#[async_trait]
pub trait AbuseStore: Send + Sync {
    /// When the account (its key) is locked past `now`.
    async fn sign_in_locked_until(
        &self,
        account: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>>;
    /// Counts one failed sign-in, in a window that restarts when its start is at or before
    /// `window_start`; when the count reaches `max_failures` the account is locked until
    /// `lock_until`. When it is locked until, after this failure.
    async fn record_sign_in_failure(
        &self,
        account: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
        max_failures: u32,
        lock_until: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>>;
    async fn clear_sign_in_failures(&self, account: &str) -> Result<()>;
    async fn calls_awaiting_upload(&self, company: CompanyId) -> Result<u64>;
    /// Bytes of the company's recordings uploaded after `since`, and the oldest
    /// such upload's time.
    async fn uploaded_bytes_since(
        &self,
        company: CompanyId,
        since: OffsetDateTime,
    ) -> Result<(u64, Option<OffsetDateTime>)>;
}

/// Everything the server needs from its database.
#[async_trait]
pub trait Store:
    AccountStore
    + WebhookUrlStore
    + CallStore
    + JobStore
    + EventStore
    + AnalysisStore
    + OutgoingWebhookStore
    + NotificationStore
    + CrmStore
    + TagRuleStore
    + AuditLogStore
    + AbuseStore
{
    /// Cheap liveness check for `/health`.
    async fn ping(&self) -> Result<()>;
    /// Commits a tiny write, for `/ready`: fails while the database cannot take writes.
    async fn check_writable(&self, now: OffsetDateTime) -> Result<()>;
    /// The connection pools' use now.
    fn pool_use(&self) -> Vec<PoolUse>;
    /// Rewrites every stored secret under the current key (after a key rotation), so the
    /// old keys can be dropped from the configuration.
    async fn reencrypt_secrets(&self) -> Result<SecretCounts>;
}

/// What `reencrypt_secrets` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretCounts {
    /// The current key's id.
    pub key_id: String,
    /// Values that were under an old key.
    pub reencrypted: u64,
    /// Values already under the current key, left as they were.
    pub already_current: u64,
    /// Values still in plain text (written by a version before encryption).
    pub encrypted_from_plain_text: u64,
    /// Incoming Webhook secrets that were stored as they are, now hashed.
    pub webhook_secrets_hashed: u64,
}
