//! This process's Prometheus metrics (`GET /metrics`): counters and histograms filled where
//! things happen, and gauges read from the database at scrape time — the job queue and the
//! connection pools. The queue is shared by every process, so each one reports all of it.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use kiku_domain::JobKind;
use kiku_storage::{JobChange, JobState, Store};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use time::OffsetDateTime;

use super::AppError;

/// The content type of [`Metrics::render`]'s text (OpenMetrics, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Job states reported (done jobs pile up and are not counted).
const REPORTED_STATES: [JobState; 3] = [JobState::Queued, JobState::Running, JobState::Dead];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's template (`/api/v1/calls/{call_id}`), never the path: paths carry
    /// ids and the webhook's secret.
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    /// `webhook`, `slack`, `email` or `crm`.
    target: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

type FloatCounter = Counter<f64, AtomicU64>;
type FloatGauge = Gauge<f64, AtomicU64>;
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_buckets() -> Histogram {
    // 0.5 ms … 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Every metric this process reports; see `docs/operations.md` for their meaning.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_seconds: Histograms<RouteLabels>,
    ingested_calls: Counter,
    uploads: Family<OutcomeLabels, Counter>,
    upload_bytes: Counter,
    analyses: Family<OutcomeLabels, Counter>,
    analysis_seconds: FloatCounter,
    analysed_audio_seconds: FloatCounter,
    analysis_speed: Histogram,
    deliveries: Family<DeliveryLabels, Counter>,
    jobs: Family<JobLabels, Gauge>,
    job_wait_seconds: Family<KindLabels, FloatGauge>,
    db_connections: Family<PoolLabels, Gauge>,
    /// One scrape at a time: the gauges are cleared and set again for each.
    scrape: tokio::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kiku");
        let http_requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_seconds: Histograms<RouteLabels> =
            Family::new_with_constructor(latency_buckets as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by route template and method",
            http_seconds.clone(),
        );
        let ingested_calls = Counter::default();
        registry.register(
            "ingested_calls",
            "Calls accepted through the Incoming Webhook",
            ingested_calls.clone(),
        );
        let uploads = Family::default();
        registry.register(
            "uploads",
            "Recording uploads, by outcome (stored or refused)",
            uploads.clone(),
        );
        let upload_bytes = Counter::default();
        registry.register(
            "upload_bytes",
            "Bytes of recordings stored",
            upload_bytes.clone(),
        );
        let analyses = Family::default();
        registry.register(
            "analyses",
            "Analyses run by this process, by outcome",
            analyses.clone(),
        );
        let analysis_seconds = FloatCounter::default();
        registry.register(
            "analysis_seconds",
            "Wall time spent in the speech engine",
            analysis_seconds.clone(),
        );
        let analysed_audio_seconds = FloatCounter::default();
        registry.register(
            "analysed_audio_seconds",
            "Seconds of recordings analysed",
            analysed_audio_seconds.clone(),
        );
        let analysis_speed = Histogram::new(exponential_buckets(0.01, 1.6, 12));
        registry.register(
            "analysis_seconds_per_audio_second",
            "Per analysed call: wall time in the speech engine per second of recording",
            analysis_speed.clone(),
        );
        let deliveries = Family::default();
        registry.register(
            "deliveries",
            "Delivery attempts of outgoing webhooks, Slack messages, e-mails and CRM records, by outcome",
            deliveries.clone(),
        );
        let jobs = Family::default();
        registry.register(
            "jobs",
            "Jobs in the shared queue, by kind and state (queued, running, dead)",
            jobs.clone(),
        );
        let job_wait_seconds = Family::default();
        registry.register(
            "job_oldest_ready_seconds",
            "How long the longest-waiting ready job of each kind has waited",
            job_wait_seconds.clone(),
        );
        let db_connections = Family::default();
        registry.register(
            "db_connections",
            "Database connections of this process, by pool and state (in_use, idle, max)",
            db_connections.clone(),
        );
        Self {
            registry,
            http_requests,
            http_seconds,
            ingested_calls,
            uploads,
            upload_bytes,
            analyses,
            analysis_seconds,
            analysed_audio_seconds,
            analysis_speed,
            deliveries,
            jobs,
            job_wait_seconds,
            db_connections,
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// A request answered: `route` is its template (or `unmatched`).
    pub fn http_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let method = known_method(method);
        self.http_requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method,
                status,
            })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabels {
                route: route.to_string(),
                method,
            })
            .observe(took.as_secs_f64());
    }

    pub fn calls_ingested(&self, calls: usize) {
        self.ingested_calls.inc_by(calls as u64);
    }

    /// An upload ended: stored (`Some(bytes)`) or refused.
    pub fn upload(&self, stored: Option<u64>) {
        let outcome = if stored.is_some() {
            "stored"
        } else {
            "refused"
        };
        self.uploads.get_or_create(&OutcomeLabels { outcome }).inc();
        if let Some(bytes) = stored {
            self.upload_bytes.inc_by(bytes);
        }
    }

    /// An analysis ended: `audio_seconds` analysed (when it succeeded) in `took`.
    pub fn analysis(&self, audio_seconds: Option<f64>, took: Duration) {
        let took = took.as_secs_f64();
        self.analysis_seconds.inc_by(took);
        let outcome = match audio_seconds {
            Some(audio) => {
                self.analysed_audio_seconds.inc_by(audio);
                if audio > 0.0 {
                    self.analysis_speed.observe(took / audio);
                }
                "completed"
            }
            None => "failed",
        };
        self.analyses
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// A delivery attempt to `target` ended with `change` to its job.
    pub fn delivery(&self, target: &str, change: &JobChange) {
        let outcome = match change {
            JobChange::Done => "delivered",
            JobChange::Failed {
                retry_at: Some(_), ..
            } => "retrying",
            JobChange::Failed { retry_at: None, .. } => "failed",
            JobChange::Postponed { .. } => "postponed",
        };
        self.deliveries
            .get_or_create(&DeliveryLabels {
                target: target.to_string(),
                outcome,
            })
            .inc();
    }

    /// The metrics as text, the queue and pools read from `store` now.
    pub async fn render(&self, store: &dyn Store, now: OffsetDateTime) -> Result<String, AppError> {
        let _one_at_a_time = self.scrape.lock().await;
        let counts = store.job_counts(now).await?;
        self.jobs.clear();
        self.job_wait_seconds.clear();
        // Every kind and state, zero included, so that an alert on a series never sees it vanish.
        for kind in JobKind::ALL {
            for state in REPORTED_STATES {
                let count = counts
                    .iter()
                    .find(|c| c.kind == kind && c.state == state)
                    .map_or(0, |c| c.count);
                self.jobs
                    .get_or_create(&JobLabels {
                        kind: kind.as_str(),
                        state: state.as_str(),
                    })
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
            let waited = counts
                .iter()
                .filter(|c| c.kind == kind)
                .find_map(|c| c.oldest_ready)
                .map_or(0.0, |since| (now - since).as_seconds_f64().max(0.0));
            self.job_wait_seconds
                .get_or_create(&KindLabels {
                    kind: kind.as_str(),
                })
                .set(waited);
        }
        self.db_connections.clear();
        for pool in store.pool_use() {
            let in_use = pool.open.saturating_sub(pool.idle);
            for (state, n) in [("in_use", in_use), ("idle", pool.idle), ("max", pool.max)] {
                self.db_connections
                    .get_or_create(&PoolLabels {
                        pool: pool.pool,
                        state,
                    })
                    .set(i64::from(n));
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(AppError::internal)?;
        Ok(text)
    }
}

/// The method as a label; others (extension methods) as one value, so that a client cannot
/// create series at will.
fn known_method(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_label_is_kept_and_an_unknown_method_is_folded() {
        let metrics = Metrics::new();
        metrics.http_request(
            "/api/v1/calls/{call_id}",
            "GET",
            200,
            Duration::from_millis(3),
        );
        metrics.http_request(
            "/api/v1/calls/{call_id}",
            "BREW",
            405,
            Duration::from_millis(1),
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).expect("encode");
        assert!(text.contains(
            r#"kiku_http_requests_total{route="/api/v1/calls/{call_id}",method="GET",status="200"} 1"#
        ), "{text}");
        assert!(text.contains(r#"method="OTHER",status="405"} 1"#), "{text}");
        assert!(
            text.contains("kiku_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }

    #[test]
    fn deliveries_are_counted_by_outcome() {
        let metrics = Metrics::new();
        metrics.delivery("slack", &JobChange::Done);
        metrics.delivery("slack", &JobChange::Done);
        let retry = JobChange::Failed {
            error: "503".into(),
            retry_at: Some(OffsetDateTime::UNIX_EPOCH),
        };
        metrics.delivery("crm", &retry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).expect("encode");
        assert!(
            text.contains(r#"kiku_deliveries_total{target="slack",outcome="delivered"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kiku_deliveries_total{target="crm",outcome="retrying"} 1"#),
            "{text}"
        );
    }
}
