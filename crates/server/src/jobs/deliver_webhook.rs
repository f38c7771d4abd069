//! `deliver_webhook` jobs, run in batches: one delivery runner per process claims as many
//! due deliveries as it has room for in one transaction (claiming ahead of those in
//! flight, up to [`AHEAD`] and about [`AHEAD_BYTES`] of bodies), a dispatcher posts them
//! concurrently, and a recorder writes finished ones (the attempt, its effect on the
//! endpoint, what becomes of the job), gathered for up to [`RECORD_GATHER`], in one
//! transaction. A transaction per delivery step held throughput to about 70 a second;
//! batched, the database cost is shared by the batch.
//!
//! The payloads of a batch are rendered together (`app/outgoing_webhooks/render.rs`) from
//! each event's version of the result, so every retry and replay sends the same thing
//! under the same event id. An endpoint busy with as many
//! deliveries as it may have is not waited for: the job steps back (no attempt counted),
//! so a slow receiver never holds up the others. Leases of the deliveries in flight are
//! renewed together; on shutdown the runner stops claiming and hands back what it holds.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiku_domain::outgoing_webhook::{Decision, DeliveryJob, DeliveryPolicy};
use kiku_domain::{CallId, CompanyId, EventId, JobId, JobKind, OutgoingWebhookId};
use kiku_storage::{DeliveryEffect, FinishedDelivery, Job, JobChange, OutgoingWebhook};
use tokio::sync::{mpsc, watch, Notify, Semaphore};

use super::RunnerOptions;
use crate::app::outgoing_webhooks::render::render_events;
use crate::app::outgoing_webhooks::{try_delivery_to, DeliveryRequest, DeliveryTarget};
use crate::app::{App, AppError};

/// How deliveries run (settings `outgoing_retry_schedule_seconds`,
/// `outgoing_disable_after_hours`, `outgoing_deliveries_per_endpoint`).
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    pub policy: DeliveryPolicy,
    /// Deliveries in flight to one endpoint from this process at most.
    pub per_endpoint: usize,
    pub slots: EndpointSlots,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            policy: DeliveryPolicy::default(),
            per_endpoint: 4,
            slots: EndpointSlots::default(),
        }
    }
}

/// Deliveries in flight per endpoint in this process.
#[derive(Clone, Debug, Default)]
pub struct EndpointSlots(Arc<Mutex<HashMap<OutgoingWebhookId, usize>>>);

/// A taken slot, given back on drop.
struct Slot {
    slots: EndpointSlots,
    endpoint: OutgoingWebhookId,
}

impl EndpointSlots {
    fn take(&self, endpoint: OutgoingWebhookId, limit: usize) -> Option<Slot> {
        let mut busy = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = busy.entry(endpoint).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            endpoint,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = busy.get_mut(&self.endpoint) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                busy.remove(&self.endpoint);
            }
        }
    }
}

const KINDS: &[JobKind] = &[JobKind::DeliverWebhook];
/// Deliveries one claim takes at most (the store's cap).
const BATCH: usize = 256;
/// Claimed deliveries waiting for a place in flight, at most: two claims' worth.
const AHEAD: usize = 2 * BATCH;
/// The bodies of the deliveries waiting, at most about this many bytes (the wait is
/// bounded by bytes, not only by count: long transcripts make large bodies).
const AHEAD_BYTES: usize = 16 << 20;
/// A job whose endpoint is busy steps back this long.
const BUSY_ENDPOINT_WAIT: Duration = Duration::from_secs(1);
/// Finished deliveries are gathered this long at most before they are recorded together.
const RECORD_GATHER: Duration = Duration::from_millis(20);
/// A delivery that could not be prepared because the database failed is tried again after.
const DATABASE_RETRY: Duration = Duration::from_secs(30);

/// Starts the delivery runner with room for `in_flight` deliveries at once.
pub fn start(
    app: Arc<App>,
    in_flight: usize,
    options: RunnerOptions,
    shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let runner = Runner {
        name: format!(
            "{}-deliveries-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ),
        app,
        in_flight: in_flight.max(1),
        options,
        shutdown,
        held: Arc::default(),
    };
    tokio::spawn(runner.run())
}

struct Runner {
    app: Arc<App>,
    name: String,
    in_flight: usize,
    options: RunnerOptions,
    shutdown: watch::Receiver<bool>,
    /// The jobs claimed and not yet recorded: their leases are renewed.
    held: Arc<Mutex<HashSet<JobId>>>,
}

/// What a delivery task needs besides its job.
#[derive(Clone)]
struct Shared {
    app: Arc<App>,
    settings: DeliverySettings,
    done: mpsc::Sender<FinishedDelivery>,
    finished_one: Arc<Notify>,
    /// Set when a job stepped back for a busy endpoint: the next claim waits for a
    /// delivery to end, so busy endpoints are not claimed over and over.
    stepped_back: Arc<AtomicBool>,
    /// The bytes of the bodies waiting for the dispatcher.
    waiting_bytes: Arc<AtomicUsize>,
    /// Told each time the dispatcher takes a delivery that waited.
    taken: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    worker: String,
}

impl Runner {
    async fn run(mut self) {
        tracing::info!(worker = %self.name, in_flight = self.in_flight, "delivery runner started");
        let (done, finished) = mpsc::channel(2 * self.in_flight + BATCH);
        let shared = Shared {
            app: self.app.clone(),
            settings: self.options.delivery.clone(),
            done,
            finished_one: Arc::new(Notify::new()),
            stepped_back: Arc::default(),
            waiting_bytes: Arc::default(),
            taken: Arc::new(Notify::new()),
            shutdown: self.shutdown.clone(),
            worker: self.name.clone(),
        };
        let recorder = tokio::spawn(record(self.app.clone(), finished, self.held.clone()));
        let renewer = tokio::spawn(renew(
            self.app.clone(),
            self.name.clone(),
            self.options.lease,
            self.held.clone(),
        ));
        // Claimed and rendered deliveries wait here for a free place in flight: the next
        // batch is claimed and rendered while the last one is sent, so no delivery waits
        // for a claim's round trip to the database. A claim is made once half the room
        // is free (or more), so claims are large: each costs a transaction whatever its
        // size, and a backlog drains in batches of `BATCH`, not of what freed up during
        // the last claim. The wait is bounded (what a crash leaves to lease expiry,
        // memory, fairness): `AHEAD` deliveries and about `AHEAD_BYTES` of bodies.
        let (ready, waiting) = mpsc::channel(AHEAD);
        let dispatcher = tokio::spawn(dispatch(
            waiting,
            Arc::new(Semaphore::new(self.in_flight)),
            shared.clone(),
        ));
        while !*self.shutdown.borrow() {
            // Listening before looking: work queued while this finds none still wakes it.
            let queued = self.app.jobs_queued.notified();
            tokio::pin!(queued);
            queued.as_mut().enable();
            let finished_one = shared.finished_one.notified();
            tokio::pin!(finished_one);
            finished_one.as_mut().enable();
            let room = ready.capacity();
            let bytes = shared.waiting_bytes.load(Ordering::Relaxed);
            if room < AHEAD / 2 || bytes > AHEAD_BYTES / 2 {
                // `taken` keeps a wake-up given while nobody waits, so none is lost.
                tokio::select! {
                    _ = shared.taken.notified() => {}
                    changed = self.shutdown.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
                continue;
            }
            let started = match self.claim(room.min(BATCH)).await {
                Ok(jobs) => self.start_all(jobs, &ready, &shared).await,
                Err(e) => {
                    tracing::error!(worker = %self.name, error = %e, "claiming deliveries failed");
                    0
                }
            };
            let stepped_back = shared.stepped_back.swap(false, Ordering::Relaxed);
            if started > 0 && !stepped_back {
                continue;
            }
            // Nothing to do, or only jobs of busy endpoints: wait for new work or for a
            // delivery to end, so busy endpoints are not claimed over and over.
            tokio::select! {
                _ = tokio::time::sleep(self.options.poll) => {}
                _ = &mut queued, if started == 0 && !stepped_back => {}
                _ = &mut finished_one, if stepped_back => {}
                changed = self.shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        // The dispatcher hands back what still waits, and every task ends soon after the
        // shutdown (handing its job back); then the recorder writes the last batch and
        // stops.
        drop(ready);
        let _ = dispatcher.await;
        drop(shared);
        let _ = recorder.await;
        renewer.abort();
        tracing::info!(worker = %self.name, "delivery runner stopped");
    }

    async fn claim(&self, room: usize) -> Result<Vec<Job>, AppError> {
        let now = self.app.clock.now();
        let lease_until = now + self.options.lease;
        let jobs = self
            .app
            .store
            .claim_jobs(KINDS, &self.name, room, lease_until, now)
            .await?;
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.extend(jobs.iter().map(|j| j.id));
        Ok(jobs)
    }

    /// Renders the jobs' bodies and hands them to the dispatcher (or records at once why
    /// one cannot run); how many were handed on. The payloads of the batch are rendered
    /// together (a few queries for the whole batch).
    async fn start_all(
        &self,
        jobs: Vec<Job>,
        ready: &mpsc::Sender<Ready>,
        shared: &Shared,
    ) -> usize {
        let mut endpoints: HashMap<OutgoingWebhookId, Option<Arc<OutgoingWebhook>>> =
            HashMap::new();
        let mut by_company: HashMap<CompanyId, Vec<Claimed>> = HashMap::new();
        for job in jobs {
            let change = match self.prepare(&job, &mut endpoints).await {
                Ok(Prepared::Send(delivery, endpoint)) => {
                    by_company.entry(job.company_id).or_default().push(Claimed {
                        job,
                        delivery,
                        endpoint,
                    });
                    continue;
                }
                Ok(Prepared::Settle(change)) => change,
                Err(e) => database_retry(&self.app, &e),
            };
            let _ = shared
                .done
                .send(finished(&self.name, &job, None, change))
                .await;
        }
        let mut started = 0;
        // Each endpoint is made ready (settings parsed, secrets decoded) once per batch.
        let mut targets: HashMap<OutgoingWebhookId, Result<Arc<DeliveryTarget>, String>> =
            HashMap::new();
        let now = self.app.clock.now();
        for (company, batch) in by_company {
            let ids: Vec<EventId> = batch.iter().map(|c| c.delivery.event_id).collect();
            let rendered = match render_events(&self.app, company, &ids).await {
                Ok(rendered) => rendered,
                Err(e) => {
                    for c in batch {
                        let change = database_retry(&self.app, &e);
                        let _ = shared
                            .done
                            .send(finished(&self.name, &c.job, None, change))
                            .await;
                    }
                    continue;
                }
            };
            for c in batch {
                let target = targets
                    .entry(c.endpoint.id)
                    .or_insert_with(|| {
                        DeliveryTarget::from_stored(&c.endpoint, now)
                            .map(Arc::new)
                            .map_err(|e| format!("the stored endpoint does not read: {e}"))
                    })
                    .clone();
                let body = match rendered.get(&c.delivery.event_id) {
                    Some(event) => target.map(|target| (event.body(&target), event.call, target)),
                    None => Err("the event, or its version of the result, is gone".into()),
                };
                match body {
                    Ok((body, call, target)) => {
                        started += 1;
                        shared
                            .waiting_bytes
                            .fetch_add(body.len(), Ordering::Relaxed);
                        let r = Ready {
                            claimed: c,
                            target,
                            body,
                            call,
                        };
                        if let Err(mpsc::error::SendError(r)) = ready.send(r).await {
                            // The dispatcher has stopped (shutdown): hand the job back.
                            shared
                                .waiting_bytes
                                .fetch_sub(r.body.len(), Ordering::Relaxed);
                            let _ = shared.done.send(handed_back(shared, &r.claimed.job)).await;
                        }
                    }
                    Err(error) => {
                        let change = JobChange::Failed {
                            error,
                            retry_at: None,
                        };
                        let _ = shared
                            .done
                            .send(finished(&self.name, &c.job, None, change))
                            .await;
                    }
                }
            }
        }
        started
    }

    /// What to do with a claimed job: send it, or settle it at once.
    async fn prepare(
        &self,
        job: &Job,
        endpoints: &mut HashMap<OutgoingWebhookId, Option<Arc<OutgoingWebhook>>>,
    ) -> Result<Prepared, AppError> {
        let give_up = |why: String| {
            Ok(Prepared::Settle(JobChange::Failed {
                error: why,
                retry_at: None,
            }))
        };
        let delivery: DeliveryJob = match serde_json::from_str(&job.payload) {
            Ok(delivery) => delivery,
            Err(e) => return give_up(format!("the job's payload does not read: {e}")),
        };
        let endpoint = match endpoints.get(&delivery.endpoint_id) {
            Some(known) => known.clone(),
            None => {
                let found = self
                    .app
                    .store
                    .outgoing_webhook(job.company_id, delivery.endpoint_id)
                    .await?
                    .map(Arc::new);
                endpoints.insert(delivery.endpoint_id, found.clone());
                found
            }
        };
        let Some(endpoint) = endpoint else {
            return give_up("the outgoing webhook was deleted".into());
        };
        if !endpoint.enabled {
            let why = endpoint.disabled_reason.as_deref().unwrap_or("by an admin");
            return give_up(format!("the outgoing webhook is disabled ({why})"));
        }
        Ok(Prepared::Send(delivery, endpoint))
    }
}

enum Prepared {
    Send(DeliveryJob, Arc<OutgoingWebhook>),
    Settle(JobChange),
}

/// A claimed job that will be sent.
struct Claimed {
    job: Job,
    delivery: DeliveryJob,
    endpoint: Arc<OutgoingWebhook>,
}

/// A claimed job with its body, waiting for a place in flight.
struct Ready {
    claimed: Claimed,
    target: Arc<DeliveryTarget>,
    body: Vec<u8>,
    call: CallId,
}

/// Starts each delivery handed on once a place in flight and a slot of its endpoint are
/// free; an endpoint busy with as many deliveries as it may have is not waited for (the
/// job steps back). After the shutdown, hands back what still waits.
async fn dispatch(mut waiting: mpsc::Receiver<Ready>, permits: Arc<Semaphore>, shared: Shared) {
    let mut shutdown = shared.shutdown.clone();
    while let Some(r) = waiting.recv().await {
        shared
            .waiting_bytes
            .fetch_sub(r.body.len(), Ordering::Relaxed);
        shared.taken.notify_one();
        // Once stopping, nothing more is started.
        let permit = tokio::select! {
            biased;
            // A dropped sender (no shutdown will come) disables this branch.
            Ok(_) = shutdown.wait_for(|stop| *stop) => None,
            permit = permits.clone().acquire_owned() => permit.ok(),
        };
        let Some(permit) = permit else {
            let _ = shared.done.send(handed_back(&shared, &r.claimed.job)).await;
            continue;
        };
        let settings = &shared.settings;
        let Some(slot) = settings
            .slots
            .take(r.claimed.endpoint.id, settings.per_endpoint)
        else {
            shared.stepped_back.store(true, Ordering::Relaxed);
            let run_at = shared.app.clock.now() + BUSY_ENDPOINT_WAIT;
            let change = JobChange::Postponed { run_at };
            let _ = shared
                .done
                .send(finished(&shared.worker, &r.claimed.job, None, change))
                .await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let finished = send(&shared, r).await;
            drop((slot, permit));
            shared.finished_one.notify_waiters();
            let _ = shared.done.send(finished).await;
        });
    }
}

/// A job given back unsent because the process stops: it runs again at once elsewhere.
fn handed_back(shared: &Shared, job: &Job) -> FinishedDelivery {
    let change = JobChange::Failed {
        error: "the server stopped".into(),
        retry_at: Some(shared.app.clock.now()),
    };
    finished(&shared.worker, job, None, change)
}

fn finished(
    worker: &str,
    job: &Job,
    attempt: Option<(kiku_storage::NewOutgoingDelivery, DeliveryEffect)>,
    change: JobChange,
) -> FinishedDelivery {
    FinishedDelivery {
        job: job.id,
        worker: worker.to_string(),
        attempt,
        change,
    }
}

fn database_retry(app: &App, e: &AppError) -> JobChange {
    tracing::warn!(error = %e, "a delivery could not be prepared");
    JobChange::Failed {
        error: format!("the database failed: {e}"),
        retry_at: Some(app.clock.now() + DATABASE_RETRY),
    }
}

/// One delivery, start to end; handed back when the process stops meanwhile.
async fn send(shared: &Shared, r: Ready) -> FinishedDelivery {
    let mut shutdown = shared.shutdown.clone();
    let Claimed {
        job,
        delivery,
        endpoint,
    } = &r.claimed;
    let attempt = attempt(
        shared,
        job,
        delivery,
        (endpoint, &r.target),
        &r.body,
        r.call,
    );
    let (tried, change) = tokio::select! {
        done = attempt => done,
        // A dropped sender (no shutdown will come) disables this branch.
        Ok(_) = shutdown.wait_for(|stop| *stop) => return handed_back(shared, job),
    };
    finished(&shared.worker, job, Some(tried), change)
}

type Attempted = (
    (kiku_storage::NewOutgoingDelivery, DeliveryEffect),
    JobChange,
);

async fn attempt(
    shared: &Shared,
    job: &Job,
    delivery: &DeliveryJob,
    (endpoint, target): (&OutgoingWebhook, &DeliveryTarget),
    body: &[u8],
    call: CallId,
) -> Attempted {
    let app = &shared.app;
    let event_id = delivery.event_id.to_string();
    let request = DeliveryRequest {
        endpoint,
        event_id: &event_id,
        call_id: Some(call),
        body,
        attempt: job.attempts,
        replay: delivery.replay,
    };
    let tried = try_delivery_to(app, &shared.settings.policy, request, target).await;
    let what = match (tried.attempt.status, &tried.attempt.error) {
        (Some(status), _) => format!("the endpoint answered {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_string(),
    };
    let disabled = matches!(tried.effect, DeliveryEffect::Disable(_));
    let change = match tried.decision {
        Decision::Delivered => JobChange::Done,
        Decision::Retry(_) if disabled => JobChange::Failed {
            error: format!("{what}; the endpoint is now disabled"),
            retry_at: None,
        },
        Decision::Retry(delay) => JobChange::Failed {
            error: what,
            retry_at: Some(app.clock.now() + delay),
        },
        Decision::GaveUp | Decision::DisableEndpoint => JobChange::Failed {
            error: what,
            retry_at: None,
        },
    };
    ((tried.record, tried.effect), change)
}

/// Writes finished deliveries, as many as are waiting, one transaction at a time.
async fn record(
    app: Arc<App>,
    mut finished: mpsc::Receiver<FinishedDelivery>,
    held: Arc<Mutex<HashSet<JobId>>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while finished.recv_many(&mut batch, BATCH).await > 0 {
        // A commit costs about the same for one delivery as for a batch: wait a little
        // for more to share it (this delays only the bookkeeping, not a delivery).
        let deadline = tokio::time::Instant::now() + RECORD_GATHER;
        while batch.len() < BATCH {
            let room = BATCH - batch.len();
            let more = finished.recv_many(&mut batch, room);
            match tokio::time::timeout_at(deadline, more).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        let now = app.clock.now();
        match app.store.finish_deliveries(&batch, now).await {
            Ok(still_held) => {
                for (f, held) in batch.iter().zip(still_held) {
                    if !held {
                        tracing::warn!(job = %f.job, "lease lost; another worker has the delivery");
                    }
                }
            }
            // Not renewed any more, the jobs go back to the queue when their leases run
            // out: delivered at least once.
            Err(e) => {
                tracing::error!(error = %e, deliveries = batch.len(), "recording deliveries failed")
            }
        }
        for f in &batch {
            if f.attempt.is_some() {
                app.metrics.delivery("webhook", &f.change);
            }
            if let JobChange::Failed {
                error,
                retry_at: None,
            } = &f.change
            {
                tracing::warn!(job = %f.job, cause = %error, "delivery given up");
            }
        }
        let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
        for f in batch.drain(..) {
            held.remove(&f.job);
        }
    }
}

/// Renews the leases of the deliveries held, every third of the lease.
async fn renew(app: Arc<App>, worker: String, lease: Duration, held: Arc<Mutex<HashSet<JobId>>>) {
    loop {
        tokio::time::sleep(lease / 3).await;
        let ids: Vec<JobId> = held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        let now = app.clock.now();
        for chunk in ids.chunks(BATCH) {
            if let Err(e) = app
                .store
                .renew_leases(&worker, chunk, now + lease, now)
                .await
            {
                tracing::warn!(worker = %worker, error = %e, "renewing delivery leases failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_has_at_most_its_slots_and_gets_them_back() {
        let slots = EndpointSlots::default();
        let (a, b) = (OutgoingWebhookId::new(), OutgoingWebhookId::new());
        let first = slots.take(a, 2).expect("one");
        let second = slots.take(a, 2).expect("two");
        assert!(slots.take(a, 2).is_none(), "a third waits");
        assert!(
            slots.take(b, 2).is_some(),
            "another endpoint is not held up"
        );
        drop(first);
        let third = slots.take(a, 2).expect("a slot came back");
        drop((second, third));
        assert!(
            slots.0.lock().expect("lock").get(&a).is_none(),
            "no entry left behind"
        );
    }
}
