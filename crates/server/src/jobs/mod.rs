//! The job runner: workers claim durable jobs with a lease, renew it (with progress) while
//! the kind's handler runs, and record the outcome — done, tried again later, or given up
//! with the cause. One handler per kind, one file each; claiming, leases, heartbeats,
//! retries and giving up live here only. A worker that dies simply stops renewing its
//! lease; another takes the job over when it runs out.

mod analyse_call;
mod apply_tag_rule;
mod deliver_notification;
mod deliver_webhook;
mod redact_recording;
mod rescore_company;
mod write_minutes;

pub use deliver_webhook::{DeliverySettings, EndpointSlots};

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kiku_analysis::pipeline::Engine;
use kiku_domain::job_retry::RetryPolicy;
use kiku_domain::JobKind;
use kiku_storage::Job;
use time::OffsetDateTime;
use tokio::sync::watch;
use tracing::Instrument;

use crate::app::{App, AppError};

/// How workers run.
#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// A worker's hold on a job, renewed every third of it.
    pub lease: Duration,
    /// Idle workers look for new jobs this often.
    pub poll: Duration,
    /// An analysis running longer is stopped and its call fails.
    pub analysis_timeout: Duration,
    pub delivery: DeliverySettings,
}

/// The kinds analysis workers take: they hold the speech engine.
const ANALYSIS_KINDS: &[JobKind] = &[JobKind::AnalyseCall];
/// The kinds every process's other workers take. Deliveries have a runner of their own
/// (`deliver_webhook.rs`): many wait on receivers at once, claimed and recorded in batches.
const OTHER_KINDS: &[JobKind] = &[JobKind::RescoreCompany, JobKind::ApplyTagRule];
/// Work that waits on outside servers — Slack messages, e-mails, the language model's
/// minutes: workers of their own, so that a slow SMTP server, Slack or model never holds
/// up a re-score.
const NOTIFICATION_KINDS: &[JobKind] = &[JobKind::DeliverNotification, JobKind::WriteMinutes];

/// How many workers of each sort a process runs.
#[derive(Clone, Copy, Debug)]
pub struct WorkerCounts {
    /// Analyses (with the engine; none without it).
    pub analysis: usize,
    /// Re-scoring and applying tag rules.
    pub jobs: usize,
    /// Outgoing webhook deliveries in flight at once (0: none delivered by this process).
    pub deliveries: usize,
    /// Slack messages, e-mails and minutes sent at once (0: none sent by this process).
    pub notifications: usize,
}

/// Starts the workers; they stop (re-queueing what they hold) when `shutdown` turns true.
pub fn start(
    app: Arc<App>,
    engine: Option<Arc<Engine>>,
    counts: WorkerCounts,
    options: RunnerOptions,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let process = std::process::id();
    let analysis = engine.into_iter().flat_map(|engine| {
        (0..counts.analysis).map(move |n| (n, ANALYSIS_KINDS, Some(engine.clone())))
    });
    let other = (0..counts.jobs).map(|n| (n, OTHER_KINDS, None));
    let notifications = (0..counts.notifications).map(|n| (n, NOTIFICATION_KINDS, None));
    let workers = analysis
        .chain(other)
        .chain(notifications)
        .map(|(n, kinds, engine)| {
            let worker = Worker {
                app: app.clone(),
                engine,
                kinds,
                name: format!(
                    "{process}-{}-{n}-{}",
                    kinds[0].as_str(),
                    uuid::Uuid::new_v4().simple()
                ),
                options: options.clone(),
                shutdown: shutdown.clone(),
            };
            tokio::spawn(worker.run())
        });
    let deliveries = (counts.deliveries > 0).then(|| {
        deliver_webhook::start(
            app.clone(),
            counts.deliveries,
            options.clone(),
            shutdown.clone(),
        )
    });
    workers.chain(deliveries).collect()
}

/// What a handler made of its job.
#[derive(Debug)]
pub enum Outcome {
    /// Finished: the runner marks the job done.
    Done,
    /// The handler already closed the job in the transaction that stored its result.
    Closed,
    /// Worth another try: at `at`, or after the default backoff; given up when the job
    /// is out of attempts.
    Retry {
        cause: String,
        at: Option<OffsetDateTime>,
    },
    /// Trying again cannot help.
    GiveUp(String),
    /// The process is stopping: back to the queue at once, for the next process.
    Requeue,
}

/// Why running work should stop; handlers check `requested`.
#[derive(Default)]
pub struct Stop {
    pub requested: AtomicBool,
    pub lease_lost: AtomicBool,
}

/// What a handler gets.
pub struct JobContext<'a> {
    pub app: &'a Arc<App>,
    pub job: &'a Job,
    pub worker: &'a str,
    pub engine: Option<&'a Arc<Engine>>,
    pub options: &'a RunnerOptions,
    pub stop: &'a Arc<Stop>,
    /// 0–100, stored with each lease renewal (shown on the call while it is analysed).
    pub progress: &'a Arc<AtomicU8>,
    pub shutdown: watch::Receiver<bool>,
}

impl JobContext<'_> {
    /// Progress of a job going over `total` items, `done` of them so far; 100 is left for
    /// the end.
    pub fn went_through(&self, done: u64, total: u64) {
        let percent = (done * 100 / total.max(1)).min(99);
        self.progress.store(percent as u8, Ordering::Relaxed);
    }
}

struct Worker {
    app: Arc<App>,
    engine: Option<Arc<Engine>>,
    kinds: &'static [JobKind],
    name: String,
    options: RunnerOptions,
    shutdown: watch::Receiver<bool>,
}

impl Worker {
    async fn run(mut self) {
        tracing::info!(worker = %self.name, "job worker started");
        let app = self.app.clone();
        while !*self.shutdown.borrow() {
            // Listening before looking: work queued while this worker finds none still
            // wakes it (`notify_waiters` keeps no permit for late listeners).
            let queued = app.jobs_queued.notified();
            tokio::pin!(queued);
            queued.as_mut().enable();
            let worked = match self.claim_and_run().await {
                Ok(worked) => worked,
                Err(e) => {
                    tracing::error!(worker = %self.name, error = %e, "job worker error");
                    false
                }
            };
            if worked {
                // What it did may have queued more (an event to announce).
                self.app.jobs_queued.notify_waiters();
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(self.options.poll) => {}
                    _ = &mut queued => {}
                    _ = self.shutdown.changed() => {}
                }
            }
        }
        tracing::info!(worker = %self.name, "job worker stopped");
    }

    async fn claim_and_run(&self) -> Result<bool, AppError> {
        let now = self.app.clock.now();
        let lease_until = now + self.options.lease;
        let claimed = self
            .app
            .store
            .claim_job(self.kinds, &self.name, lease_until, now);
        let Some(job) = claimed.await? else {
            return Ok(false);
        };
        tracing::info!(worker = %self.name, job = %job.id, kind = job.kind.as_str(), attempt = job.attempts, "running");
        let stop = Arc::new(Stop::default());
        let progress = Arc::new(AtomicU8::new(0));
        let ctx = JobContext {
            app: &self.app,
            job: &job,
            worker: &self.name,
            engine: self.engine.as_ref(),
            options: &self.options,
            stop: &stop,
            progress: &progress,
            shutdown: self.shutdown.clone(),
        };
        // Everything the handler logs carries the job's id and kind.
        let work = handle(&ctx).instrument(tracing::info_span!(
            "job",
            job_id = %job.id,
            kind = job.kind.as_str()
        ));
        let heartbeat = self.heartbeat(&job, &stop, &progress);
        tokio::pin!(work, heartbeat);
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                () = &mut heartbeat => {}
            }
        };
        if stop.lease_lost.load(Ordering::Relaxed) {
            tracing::warn!(worker = %self.name, job = %job.id, "lease lost; another worker has the job");
            return Ok(true);
        }
        self.record(&job, outcome?).await?;
        Ok(true)
    }

    /// Writes what the handler decided.
    async fn record(&self, job: &Job, outcome: Outcome) -> Result<(), AppError> {
        let store = &self.app.store;
        let now = self.app.clock.now();
        match outcome {
            Outcome::Closed => {}
            Outcome::Done => {
                store.complete_job(job.id, &self.name, now).await?;
            }
            Outcome::GiveUp(cause) => {
                tracing::warn!(worker = %self.name, job = %job.id, kind = job.kind.as_str(), cause, "job failed");
                store
                    .fail_job(job.id, &self.name, &cause, None, now)
                    .await?;
            }
            Outcome::Retry { cause, at } => {
                let policy = RetryPolicy {
                    max_attempts: job.max_attempts,
                    ..RetryPolicy::default()
                };
                let at = policy
                    .next_delay(job.attempts)
                    .map(|delay| at.unwrap_or(now + delay));
                tracing::warn!(worker = %self.name, job = %job.id, kind = job.kind.as_str(), cause, retry = at.is_some(), "job attempt failed");
                store.fail_job(job.id, &self.name, &cause, at, now).await?;
            }
            Outcome::Requeue if job.attempts >= job.max_attempts => {
                let cause = "the server stopped during the last attempt";
                store.fail_job(job.id, &self.name, cause, None, now).await?;
            }
            Outcome::Requeue => {
                let cause = "the server stopped";
                store
                    .fail_job(job.id, &self.name, cause, Some(now), now)
                    .await?;
            }
        }
        Ok(())
    }

    /// Renews the lease with progress until the job ends; flags a lost lease.
    async fn heartbeat(&self, job: &Job, stop: &Stop, progress: &AtomicU8) {
        let every = self.options.lease / 3;
        loop {
            tokio::time::sleep(every).await;
            let now = self.app.clock.now();
            let held = self
                .app
                .store
                .heartbeat_job(
                    job.id,
                    &self.name,
                    now + self.options.lease,
                    Some(progress.load(Ordering::Relaxed)),
                    now,
                )
                .await;
            match held {
                Ok(true) => {}
                Ok(false) => {
                    stop.lease_lost.store(true, Ordering::Relaxed);
                    stop.requested.store(true, Ordering::Relaxed);
                    std::future::pending::<()>().await;
                }
                Err(e) => tracing::warn!(worker = %self.name, error = %e, "heartbeat failed"),
            }
        }
    }
}

/// The kind's handler.
async fn handle(ctx: &JobContext<'_>) -> Result<Outcome, AppError> {
    match ctx.job.kind {
        JobKind::AnalyseCall => analyse_call::run(ctx).await,
        JobKind::RescoreCompany => rescore_company::run(ctx).await,
        JobKind::DeliverNotification => deliver_notification::run(ctx).await,
        JobKind::ApplyTagRule => apply_tag_rule::run(ctx).await,
        JobKind::WriteMinutes => write_minutes::run(ctx).await,
        // Never claimed by these workers: the delivery runner (`deliver_webhook.rs`) has them.
        JobKind::DeliverWebhook => Ok(Outcome::Requeue),
    }
}

/// A job's JSON payload as its handler's type; a payload that does not read is given up.
pub fn payload<T: serde::de::DeserializeOwned>(job: &Job) -> Result<T, Outcome> {
    serde_json::from_str(&job.payload)
        .map_err(|e| Outcome::GiveUp(format!("the job's payload does not read: {e}")))
}
