//! The analysis job runner: workers claim `analyse_call` jobs with a lease, heartbeat
//! (with progress) while the engine runs on a blocking thread, and record the outcome —
//! completed, retried later (engine trouble), or failed with the cause (bad recordings).
//! A worker that dies simply stops heartbeating; another takes the job when the lease ends.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kiku_analysis::pipeline::{AnalysisError, Engine, Recording};
use kiku_domain::analysis::{mono_roles, report, stereo_roles, user_side, Roles, UserHints};
use kiku_domain::job_retry::RetryPolicy;
use kiku_domain::ChannelType;
use kiku_storage::Job;
use tokio::sync::watch;

use crate::app::{analysis, App, AppError};

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    pub lease: Duration,
    /// Idle workers look for new jobs this often.
    pub poll: Duration,
    pub timeout: Duration,
}

/// Starts `count` workers; they stop (re-queueing what they hold) when `shutdown` turns true.
pub fn start(
    app: Arc<App>,
    engine: Arc<Engine>,
    count: usize,
    options: WorkerOptions,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let process = std::process::id();
    (0..count)
        .map(|n| {
            let worker = Worker {
                app: app.clone(),
                engine: engine.clone(),
                name: format!("{process}-{n}-{}", uuid::Uuid::new_v4().simple()),
                options: options.clone(),
                shutdown: shutdown.clone(),
            };
            tokio::spawn(worker.run())
        })
        .collect()
}

struct Worker {
    app: Arc<App>,
    engine: Arc<Engine>,
    name: String,
    options: WorkerOptions,
    shutdown: watch::Receiver<bool>,
}

/// Why a running analysis should stop.
#[derive(Default)]
struct Stop {
    requested: AtomicBool,
    lease_lost: AtomicBool,
    timed_out: AtomicBool,
}

impl Worker {
    async fn run(mut self) {
        tracing::info!(worker = %self.name, "analysis worker started");
        while !*self.shutdown.borrow() {
            let worked = match self.claim_and_run().await {
                Ok(worked) => worked,
                Err(e) => {
                    tracing::error!(worker = %self.name, error = %e, "analysis worker error");
                    false
                }
            };
            if !worked {
                tokio::select! {
                    _ = tokio::time::sleep(self.options.poll) => {}
                    _ = self.shutdown.changed() => {}
                }
            }
        }
        tracing::info!(worker = %self.name, "analysis worker stopped");
    }

    fn lease_until(&self) -> time::OffsetDateTime {
        self.app.clock.now() + self.options.lease
    }

    async fn claim_and_run(&self) -> Result<bool, AppError> {
        let now = self.app.clock.now();
        let Some(job) = self
            .app
            .store
            .claim_job(&self.name, self.lease_until(), now)
            .await?
        else {
            return Ok(false);
        };
        tracing::info!(worker = %self.name, call = %job.call_id, attempt = job.attempts, "analysing");
        self.process(&job).await?;
        Ok(true)
    }

    async fn process(&self, job: &Job) -> Result<(), AppError> {
        let store = &self.app.store;
        let Some(call) = store.call(job.company_id, job.call_id).await? else {
            return self.give_up(job, "the call no longer exists").await;
        };
        let Some(audio) = &call.audio else {
            return self.give_up(job, "the call has no recording").await;
        };
        let bytes = match self.app.blobs.get(&audio.key).await {
            Ok(bytes) => bytes,
            Err(e) => {
                return self
                    .retry(job, &format!("cannot read the recording: {e}"))
                    .await
            }
        };
        let settings = analysis::settings(&self.app, job.company_id).await?;
        let data = &call.data;
        let call_seconds = (data.call_ends_at
            - data.call_answered_at.unwrap_or(data.call_starts_at))
        .as_seconds_f64();
        let recording = Recording {
            // No copy when the blob store hands over the only reference.
            audio: Vec::from(bytes),
            declared: Some(data.audio_file_type),
            channel_type: data.audio_channel_type,
            call_seconds: (call_seconds > 0.0).then_some(call_seconds),
            language: settings.language.clone(),
        };

        let stop = Arc::new(Stop::default());
        let progress = Arc::new(AtomicU8::new(0));
        let heartbeat = self.heartbeat(job, stop.clone(), progress.clone());
        let engine = self.engine.clone();
        let (stop_in, progress_in) = (stop.clone(), progress.clone());
        let mut shutdown = self.shutdown.clone();
        let shutdown_watch = async move {
            // A closed channel (no sender left) means no shutdown will come.
            if shutdown.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let analysis = tokio::task::spawn_blocking(move || {
            engine.analyse(recording, &|share| {
                progress_in.store((share * 100.0).clamp(0.0, 99.0) as u8, Ordering::Relaxed);
                !stop_in.requested.load(Ordering::Relaxed)
            })
        });
        let deadline = tokio::time::sleep(self.options.timeout);
        tokio::pin!(analysis, deadline, heartbeat, shutdown_watch);
        let outcome = loop {
            tokio::select! {
                result = &mut analysis => break result,
                _ = &mut deadline, if !stop.timed_out.load(Ordering::Relaxed) => {
                    stop.timed_out.store(true, Ordering::Relaxed);
                    stop.requested.store(true, Ordering::Relaxed);
                }
                _ = &mut heartbeat => {}
                _ = &mut shutdown_watch, if !stop.requested.load(Ordering::Relaxed) => {
                    stop.requested.store(true, Ordering::Relaxed);
                }
            }
        };
        if stop.lease_lost.load(Ordering::Relaxed) {
            tracing::warn!(worker = %self.name, call = %job.call_id, "lease lost; another worker has the job");
            return Ok(());
        }
        match outcome {
            Ok(Ok(transcript)) => {
                // Settings read again: a change made while the call was analysed applies.
                let settings = analysis::settings(&self.app, job.company_id).await?;
                let roles = self.roles(job, data, &transcript).await?;
                let scored = tokio::task::spawn_blocking(move || {
                    let report = report(&transcript, &roles, &settings);
                    (transcript, roles, report)
                })
                .await;
                let Ok((transcript, roles, report)) = scored else {
                    return self
                        .give_up(job, "the report crashed on this recording")
                        .await;
                };
                let new = analysis::new_analysis(
                    self.engine.description(),
                    &transcript,
                    &roles,
                    &report,
                )?;
                if !store
                    .finish_analysis(job.id, &self.name, &new, self.app.clock.now())
                    .await?
                {
                    tracing::warn!(worker = %self.name, call = %job.call_id, "finished too late; the job had moved on");
                }
                tracing::info!(worker = %self.name, call = %job.call_id, score = report.score, "analysis completed");
                Ok(())
            }
            Ok(Err(AnalysisError::Stopped)) if stop.timed_out.load(Ordering::Relaxed) => {
                let minutes = self.options.timeout.as_secs() / 60;
                self.give_up(
                    job,
                    &format!("the analysis took longer than {minutes} minutes"),
                )
                .await
            }
            Ok(Err(AnalysisError::Stopped)) if job.attempts >= job.max_attempts => {
                self.give_up(job, "the server stopped during the last attempt")
                    .await
            }
            Ok(Err(AnalysisError::Stopped)) => {
                // Shutting down: back to the queue at once for the next process.
                store
                    .fail_job(
                        job.id,
                        &self.name,
                        "the server stopped",
                        Some(self.app.clock.now()),
                        self.app.clock.now(),
                    )
                    .await?;
                Ok(())
            }
            Ok(Err(e)) if e.is_permanent() => self.give_up(job, &e.to_string()).await,
            Ok(Err(e)) => self.retry(job, &e.to_string()).await,
            Err(_panic) => {
                self.give_up(job, "the analysis crashed on this recording")
                    .await
            }
        }
    }

    /// Who is the user: the call data decides for STEREO calls; for MONAURAL ones the
    /// voices' words are weighed too, with the user's and the company's names.
    async fn roles(
        &self,
        job: &Job,
        data: &kiku_domain::CallData,
        transcript: &kiku_domain::analysis::Transcript,
    ) -> Result<Roles, AppError> {
        if data.audio_channel_type == ChannelType::Stereo {
            return Ok(stereo_roles(data));
        }
        let (side, _, _) = user_side(data);
        let mut hints = UserHints::default();
        if let Some(p) = data.participant(side) {
            hints.user_names.extend(p.name.clone());
            if let Some(id) = p.miitel_user_id {
                if let Some(user) = self.app.store.user(job.company_id, id).await? {
                    hints.user_names.push(user.name);
                }
            }
        }
        hints.company_name = self
            .app
            .store
            .company(job.company_id)
            .await?
            .map(|c| c.name);
        Ok(mono_roles(data, side, &transcript.utterances, &hints))
    }

    /// Renews the lease with progress until the job ends; flags a lost lease.
    async fn heartbeat(&self, job: &Job, stop: Arc<Stop>, progress: Arc<AtomicU8>) {
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

    /// Fails the call now: retrying cannot help.
    async fn give_up(&self, job: &Job, cause: &str) -> Result<(), AppError> {
        tracing::warn!(worker = %self.name, call = %job.call_id, cause, "analysis failed");
        self.app
            .store
            .fail_job(job.id, &self.name, cause, None, self.app.clock.now())
            .await?;
        Ok(())
    }

    /// Queues the job again after the policy's delay, or fails it when out of attempts.
    async fn retry(&self, job: &Job, cause: &str) -> Result<(), AppError> {
        let policy = RetryPolicy {
            max_attempts: job.max_attempts,
            ..RetryPolicy::default()
        };
        let now = self.app.clock.now();
        let at = policy.next_delay(job.attempts).map(|d| now + d);
        tracing::warn!(worker = %self.name, call = %job.call_id, cause, retry = at.is_some(), "analysis attempt failed");
        self.app
            .store
            .fail_job(job.id, &self.name, cause, at, now)
            .await?;
        Ok(())
    }
}
