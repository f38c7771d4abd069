//! Load generator for Kiku's Incoming Webhook endpoint.
//!
//! POSTs `{"call_data": [...]}` batches of valid AUTOMATIC_RECORD calls, each with a
//! unique `call_data_id` (`PREFIX-COUNTER`), and prints one JSON object with throughput
//! and latency percentiles.
//!
//! * Closed loop (default): `--concurrency` workers each send the next request as soon
//!   as the previous one is answered. Latency is measured from the send.
//! * Open loop (`--rate R`): request *i* is scheduled at `start + i / R` whatever the
//!   server does, and its latency is measured from that scheduled time, so a server that
//!   stalls is charged for the requests it delayed (no coordinated omission). At most
//!   `--concurrency` requests are in flight; time spent waiting for a slot counts too.
//!
//! Requests sent during `--warmup` are not counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::json;
use tokio::sync::Semaphore;

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "POST call data to a Kiku webhook URL under load"
)]
struct Args {
    /// The company's Incoming Webhook URL (`kiku webhook-url create` prints it).
    #[arg(long)]
    url: String,
    /// Calls per request.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Closed loop: number of workers. Open loop: most requests in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds measured (after the warm-up).
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Seconds of load before measuring starts; not counted.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Fixed request rate per second (open loop). Closed loop when absent.
    #[arg(long)]
    rate: Option<f64>,
    /// `call_data_id` prefix; defaults to one derived from the current time.
    #[arg(long)]
    prefix: Option<String>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
}

/// Everything about one call but its ID, split around where the ID goes.
const CALL_HEAD: &str = r#"{"call_data_id":""#;
const CALL_TAIL: &str = r#"","audio_file_type":"wav","event_type":"AUTOMATIC_RECORD","groupname":null,"queue_name":null,"call_starts_at":"2026-01-05T10:00:00+09:00","call_answered_at":null,"call_ends_at":"2026-01-05T10:04:00+09:00","circuit_number":"0311112222","audio_channel_type":"STEREO","participants":[{"type":"FROM","stereo_lr":"left","miitel_user_id":null,"number":"0311112222","name":"Suzuki"},{"type":"TO","stereo_lr":"right","miitel_user_id":null,"number":"0322223333","name":null}],"tags":[{"value":"bench"}]}"#;

struct Shared {
    client: reqwest::Client,
    url: String,
    batch: usize,
    prefix: String,
    counter: AtomicU64,
}

impl Shared {
    fn body(&self) -> String {
        let mut body = String::with_capacity(20 + self.batch * (CALL_TAIL.len() + 64));
        body.push_str(r#"{"call_data":["#);
        for i in 0..self.batch {
            if i > 0 {
                body.push(',');
            }
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            body.push_str(CALL_HEAD);
            body.push_str(&self.prefix);
            body.push('-');
            body.push_str(&n.to_string());
            body.push_str(CALL_TAIL);
        }
        body.push_str("]}");
        body
    }

    /// One request; `Err` describes a transport error, a non-200 answer, or a 200 that
    /// does not hand back one upload grant per call.
    async fn send(&self) -> Result<(), String> {
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(self.body())
            .send()
            .await
            .map_err(|e| format!("transport error: {e}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("{status}, reading the body failed: {e}"))?;
        let text = || String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]).into_owned();
        if status != reqwest::StatusCode::OK {
            return Err(format!("{status}: {}", text()));
        }
        let grants = bytes
            .windows(b"\"call_id\"".len())
            .filter(|w| *w == b"\"call_id\"")
            .count();
        if grants != self.batch {
            return Err(format!(
                "200 with {grants} upload grants for {} calls: {}",
                self.batch,
                text()
            ));
        }
        Ok(())
    }
}

/// The outcome of one counted request.
struct Sample {
    latency: Duration,
    error: Option<String>,
    finished: Instant,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    last_finish: Option<Instant>,
}

impl Tally {
    fn add(&mut self, s: Sample) {
        self.requests += 1;
        self.latencies_us
            .push(u64::try_from(s.latency.as_micros()).unwrap_or(u64::MAX));
        if let Some(e) = s.error {
            self.errors += 1;
            self.first_error.get_or_insert(e);
        }
        self.last_finish = Some(self.last_finish.map_or(s.finished, |t| t.max(s.finished)));
    }

    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.last_finish = match (self.last_finish, other.last_finish) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Closed loop: each worker sends back to back until `end`.
async fn closed_loop(shared: Arc<Shared>, workers: usize, measure: Instant, end: Instant) -> Tally {
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let shared = shared.clone();
        handles.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let start = Instant::now();
                if start >= end {
                    break;
                }
                let result = shared.send().await;
                let finished = Instant::now();
                if start >= measure {
                    tally.add(Sample {
                        latency: finished - start,
                        error: result.err(),
                        finished,
                    });
                }
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for h in handles {
        match h.await {
            Ok(t) => total.merge(t),
            Err(e) => eprintln!("loadgen: a worker failed: {e}"),
        }
    }
    total
}

/// Open loop: a pacing thread starts request *i* at `begin + i / rate` (std sleeps are
/// far finer than tokio's millisecond timer); latency counts from that scheduled time.
async fn open_loop(
    shared: Arc<Shared>,
    rate: f64,
    in_flight: usize,
    begin: Instant,
    measure: Instant,
    end: Instant,
) -> Tally {
    let runtime = tokio::runtime::Handle::current();
    let slots = Arc::new(Semaphore::new(in_flight));
    let pacer = std::thread::spawn(move || {
        let mut handles = Vec::new();
        for i in 0u64.. {
            let due = begin + Duration::from_secs_f64(i as f64 / rate);
            if due >= end {
                break;
            }
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let shared = shared.clone();
            let slots = slots.clone();
            handles.push(runtime.spawn(async move {
                let result = match slots.acquire_owned().await {
                    Ok(_permit) => shared.send().await,
                    Err(e) => Err(format!("semaphore closed: {e}")),
                };
                let finished = Instant::now();
                (due >= measure).then(|| Sample {
                    latency: finished - due,
                    error: result.err(),
                    finished,
                })
            }));
        }
        handles
    });
    let handles = tokio::task::spawn_blocking(move || pacer.join())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let mut total = Tally::default();
    for h in handles {
        match h.await {
            Ok(Some(s)) => total.add(s),
            Ok(None) => {}
            Err(e) => eprintln!("loadgen: a request task failed: {e}"),
        }
    }
    total
}

/// This process's user + system CPU seconds, from /proc (Linux); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    sorted[idx] as f64 / 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.batch == 0 || args.concurrency == 0 || args.duration <= 0.0 {
        eprintln!("loadgen: --batch, --concurrency and --duration must be positive");
        std::process::exit(2);
    }
    if args.rate.is_some_and(|r| r <= 0.0) {
        eprintln!("loadgen: --rate must be positive");
        std::process::exit(2);
    }
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs_f64(args.timeout))
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("loadgen: cannot build the HTTP client: {e}");
            std::process::exit(2);
        }
    };
    let prefix = args.prefix.clone().unwrap_or_else(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("lg{nanos:x}")
    });
    let shared = Arc::new(Shared {
        client,
        url: args.url.clone(),
        batch: args.batch,
        prefix,
        counter: AtomicU64::new(0),
    });

    let begin = Instant::now();
    let measure = begin + Duration::from_secs_f64(args.warmup.max(0.0));
    let end = measure + Duration::from_secs_f64(args.duration);
    // Read the CPU counter when measuring starts, without disturbing the load.
    let cpu_at_measure = {
        let wait = measure.saturating_duration_since(Instant::now());
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            cpu_seconds()
        })
    };
    let tally = match args.rate {
        None => closed_loop(shared.clone(), args.concurrency, measure, end).await,
        Some(rate) => open_loop(shared.clone(), rate, args.concurrency, begin, measure, end).await,
    };
    let done = Instant::now();
    let cpu_start = cpu_at_measure.await.unwrap_or(0.0);
    let client_cpu_total = cpu_seconds();
    let client_cpu = client_cpu_total - cpu_start;

    let elapsed = tally
        .last_finish
        .unwrap_or(done)
        .saturating_duration_since(measure)
        .as_secs_f64()
        .max(f64::EPSILON);
    let mut lat = tally.latencies_us;
    lat.sort_unstable();
    let ok = tally.requests - tally.errors;
    let calls = ok * args.batch as u64;
    let mean = if lat.is_empty() {
        0.0
    } else {
        lat.iter().sum::<u64>() as f64 / lat.len() as f64 / 1000.0
    };
    let out = json!({
        "mode": if args.rate.is_some() { "open" } else { "closed" },
        "batch": args.batch,
        "concurrency": args.concurrency,
        "target_rate": args.rate,
        "duration_s": round2(elapsed),
        "requests": tally.requests,
        "calls": calls,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "req_per_s": round2(ok as f64 / elapsed),
        "calls_per_s": round2(calls as f64 / elapsed),
        "mean_ms": round2(mean),
        "p50_ms": round2(percentile(&lat, 50.0)),
        "p90_ms": round2(percentile(&lat, 90.0)),
        "p99_ms": round2(percentile(&lat, 99.0)),
        "p999_ms": round2(percentile(&lat, 99.9)),
        "max_ms": round2(lat.last().map_or(0.0, |&m| m as f64 / 1000.0)),
        "client_cpu_s": round2(client_cpu),
        "client_cpu_total_s": round2(client_cpu_total),
        "ids_issued": shared.counter.load(Ordering::Relaxed),
    });
    println!("{out}");
}
