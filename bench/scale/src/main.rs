//! Scale-out benchmark: Kiku laid out as `docs/deploy.md` describes (PostgreSQL, S3, one
//! `kiku serve --api-only`, `kiku worker` processes), on one machine.
//!
//! 1. **Workers.** For each worker count: `--calls` calls are posted and their recording
//!    uploaded (to S3) with no worker running; then that many `kiku worker` processes (one
//!    analysis at a time, `--threads` threads each) start, and the run times them from
//!    their start to the last call analysed: audio hours analysed per hour, and the
//!    workers' CPU seconds per audio second (what a busy cluster pays per call, whatever
//!    else the machine is doing).
//! 2. **Uploads to S3.** A `--upload-mib` recording PUT to Kiku's signed upload URL (Kiku
//!    streams it into the bucket as a multipart upload) against object_store's multipart
//!    client writing the same bytes to the same bucket with Kiku's part size and parts in
//!    flight, alternating, `--upload-runs` times each: MiB/s, median.
//!
//! Prints one JSON object.

#[path = "../../common/kiku.rs"]
mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use common::{kiku_cli, proc_kib};
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, WriteMultipart};
use serde_json::{json, Value};

/// Kiku's S3 part size and parts in flight (crates/blobs/src/object.rs).
const PART_BYTES: usize = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Parser)]
#[command(name = "scale-bench", about = "Kiku's analysis workers and S3 uploads")]
struct Args {
    /// The `kiku` binary (release build).
    #[arg(long)]
    kiku: PathBuf,
    /// A fresh folder for the processes' data.
    #[arg(long)]
    dir: PathBuf,
    /// A fresh PostgreSQL database.
    #[arg(long)]
    postgres: String,
    /// The bucket (endpoint and credentials: the `AWS_*` environment variables).
    #[arg(long)]
    bucket: String,
    /// The speech model directory.
    #[arg(long)]
    model: PathBuf,
    /// The recording every call uploads (stereo WAV) and its length in seconds.
    #[arg(long)]
    wav: PathBuf,
    #[arg(long)]
    wav_seconds: f64,
    /// Calls per worker count.
    #[arg(long, default_value_t = 4)]
    calls: usize,
    /// Worker counts, comma-separated.
    #[arg(long, default_value = "1,2,3")]
    workers: String,
    /// Analysis threads per worker process.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Size of the recording for the upload comparison.
    #[arg(long, default_value_t = 512)]
    upload_mib: usize,
    #[arg(long, default_value_t = 3)]
    upload_runs: usize,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// The API process and what the runs need from it.
struct Api {
    base: String,
    env: Vec<(&'static str, String)>,
    webhook: String,
    token: String,
    http: reqwest::Client,
    child: Child,
}

impl Api {
    async fn start(args: &Args, prefix: &str) -> Self {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let env = vec![
            ("KIKU_DATA_DIR", args.dir.join("api").display().to_string()),
            ("KIKU_DATABASE_URL", args.postgres.clone()),
            ("KIKU_LISTEN", format!("127.0.0.1:{port}")),
            ("KIKU_PUBLIC_URL", base.clone()),
            ("KIKU_AUDIO_STORE", format!("s3://{}/{prefix}", args.bucket)),
            // One key for every process: the workers never sign, but a cluster shares it.
            ("KIKU_SIGNING_KEY", "5a".repeat(32)),
            ("KIKU_MODEL_DIR", args.model.display().to_string()),
            ("KIKU_ANALYSIS_THREADS", args.threads.to_string()),
            ("RUST_LOG", "warn".into()),
        ];
        let company = kiku_cli(
            &args.kiku,
            &env,
            &[
                "company",
                "create",
                "--name",
                "Scale",
                "--admin-email",
                "admin@scale.example",
                "--admin-password",
                "correct horse",
            ],
        );
        let company = company["company_id"].as_str().expect("company").to_string();
        let webhook = kiku_cli(
            &args.kiku,
            &env,
            &["webhook-url", "create", "--company", &company],
        );
        let child = Command::new(&args.kiku)
            .args(["serve", "--api-only"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("kiku serve --api-only");
        let http = reqwest::Client::new();
        wait_healthy(&http, &base).await;
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "admin@scale.example", "password": "correct horse"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login json");
        Self {
            webhook: webhook["url"].as_str().expect("webhook url").to_string(),
            token: login["token"].as_str().expect("token").to_string(),
            base,
            env,
            http,
            child,
        }
    }

    /// Posts one call per id and uploads `recording` to each; the calls' ids in Kiku.
    async fn calls_with_recording(&self, ids: &[String], recording: &Bytes) -> Vec<String> {
        let seconds = (recording.len() as f64 / 88_200.0).ceil() as i64;
        let batch: Vec<Value> = ids.iter().map(|id| call_data(id, seconds)).collect();
        let posted: Value = self
            .http
            .post(&self.webhook)
            .json(&json!({ "call_data": batch }))
            .send()
            .await
            .expect("post calls")
            .json()
            .await
            .expect("calls json");
        let mut call_ids = Vec::new();
        for (id, entry) in ids
            .iter()
            .zip(posted["audio_upload_urls"].as_array().expect("urls"))
        {
            let entry = &entry[id.as_str()];
            let put = self
                .http
                .put(entry["url"].as_str().expect("upload url"))
                .body(recording.clone())
                .send()
                .await
                .expect("upload");
            assert!(put.status().is_success(), "upload: {}", put.status());
            call_ids.push(entry["call_id"].as_str().expect("call id").to_string());
        }
        call_ids
    }

    async fn status(&self, call_id: &str) -> String {
        let call: Value = self
            .http
            .get(format!("{}/api/v1/calls/{call_id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("call")
            .json()
            .await
            .expect("call json");
        call["status"].as_str().unwrap_or_default().to_string()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not come up");
}

/// A stereo call answered at once, lasting `seconds`: the user on the left.
fn call_data(id: &str, seconds: i64) -> Value {
    // 10:00:00 plus the recording and a few seconds of ringing.
    let ends = 10 * 3600 + seconds + 10;
    json!({
        "call_data_id": id,
        "audio_file_type": "wav",
        "event_type": "AUTOMATIC_RECORD",
        "call_starts_at": "2026-01-05T10:00:00+09:00",
        "call_answered_at": "2026-01-05T10:00:00+09:00",
        "call_ends_at": format!(
            "2026-01-05T{:02}:{:02}:{:02}+09:00",
            ends / 3600,
            ends / 60 % 60,
            ends % 60
        ),
        "audio_channel_type": "STEREO",
        "participants": [
            {"type": "FROM", "stereo_lr": "left", "number": "0311112222", "name": "Agent"},
            {"type": "TO", "stereo_lr": "right", "number": "+81322223333", "name": null}
        ]
    })
}

/// User plus system CPU seconds of a process so far.
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    (ticks(11) + ticks(12)) / ticks_per_second
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// One worker count: the calls posted and uploaded first, then the workers timed.
async fn workers_run(args: &Args, api: &Api, workers: usize, recording: &Bytes) -> Value {
    let ids: Vec<String> = (0..args.calls).map(|i| format!("w{workers}-{i}")).collect();
    let call_ids = api.calls_with_recording(&ids, recording).await;
    let ticks = ticks_per_second();
    let started = Instant::now();
    let mut children: Vec<Child> = (0..workers)
        .map(|_| {
            Command::new(&args.kiku)
                .args([
                    "worker",
                    "--health-listen",
                    &format!("127.0.0.1:{}", free_port()),
                ])
                .envs(api.env.iter().map(|(k, v)| (k, v)))
                .env("KIKU_DATA_DIR", args.dir.join(format!("worker-{workers}")))
                .env("KIKU_ANALYSIS_WORKERS", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("kiku worker")
        })
        .collect();
    let mut left = call_ids.clone();
    let mut failed = 0;
    let mut peak_rss_kib: f64 = 0.0;
    while !left.is_empty() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        for child in &children {
            peak_rss_kib = peak_rss_kib.max(proc_kib(child.id(), "VmHWM:"));
        }
        let mut still = Vec::new();
        for id in left {
            match api.status(&id).await.as_str() {
                "completed" => {}
                "failed" => failed += 1,
                _ => still.push(id),
            }
        }
        left = still;
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "the analyses did not finish within an hour"
        );
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu: f64 = children.iter().map(|c| cpu_seconds(c.id(), ticks)).sum();
    for child in &mut children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let audio = args.wav_seconds * args.calls as f64;
    json!({
        "workers": workers,
        "calls": args.calls,
        "failed": failed,
        "audio_seconds": audio,
        "wall_seconds": wall,
        "audio_hours_per_hour": audio / wall,
        "cpu_seconds": cpu,
        "cpu_seconds_per_audio_second": cpu / audio,
        "worker_peak_rss_mib": peak_rss_kib / 1024.0,
    })
}

/// A canonical stereo 16-bit 22,050 Hz WAV of `bytes` bytes in all: a header and silence.
fn silent_wav(bytes: usize) -> Bytes {
    let data = u32::try_from(bytes - 44).expect("under 4 GiB");
    let mut wav = Vec::with_capacity(bytes);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(data + 36).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&2u16.to_le_bytes()); // stereo
    wav.extend_from_slice(&22_050u32.to_le_bytes());
    wav.extend_from_slice(&(22_050u32 * 4).to_le_bytes());
    wav.extend_from_slice(&4u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    wav.resize(bytes, 0);
    Bytes::from(wav)
}

/// The peer: object_store's multipart client, Kiku's part size and parts in flight.
async fn peer_upload(store: &dyn ObjectStore, key: &str, body: &Bytes) -> f64 {
    let started = Instant::now();
    let upload = store
        .put_multipart(&key.into())
        .await
        .expect("peer multipart");
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    for chunk in body.chunks(1024 * 1024) {
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .expect("peer part");
        writer.write(chunk);
    }
    writer.finish().await.expect("peer complete");
    started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn uploads(args: &Args, api: &Api, prefix: &str) -> Value {
    let body = silent_wav(args.upload_mib * 1024 * 1024);
    let store = AmazonS3Builder::from_env()
        .with_bucket_name(&args.bucket)
        .build()
        .expect("peer S3 client");
    let (mut kiku, mut peer) = (Vec::new(), Vec::new());
    for run in 0..args.upload_runs {
        // Alternate who goes first, so that neither always meets a warm (or busy) server.
        for side in [run % 2, (run + 1) % 2] {
            if side == 0 {
                let started = Instant::now();
                api.calls_with_recording(&[format!("upload-{run}")], &body)
                    .await;
                kiku.push(started.elapsed().as_secs_f64());
            } else {
                let key = format!("{prefix}-peer/{run}.wav");
                peer.push(peer_upload(&store, &key, &body).await);
                let _ = store.delete(&key.as_str().into()).await;
            }
        }
    }
    let mib = args.upload_mib as f64;
    let (kiku_s, peer_s) = (median(kiku.clone()), median(peer.clone()));
    json!({
        "mib": args.upload_mib,
        "runs": args.upload_runs,
        "kiku_seconds": kiku,
        "peer_seconds": peer,
        "kiku_mib_per_second": mib / kiku_s,
        "peer_mib_per_second": mib / peer_s,
        "ratio": peer_s / kiku_s,
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir).expect("dir");
    let recording = Bytes::from(std::fs::read(&args.wav).expect("the call recording"));
    let prefix = format!("scale-{}", std::process::id());
    let api = Api::start(&args, &prefix).await;
    let mut runs = Vec::new();
    for workers in args
        .workers
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
    {
        runs.push(workers_run(&args, &api, workers, &recording).await);
    }
    let uploads = uploads(&args, &api, &prefix).await;
    let report = json!({
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "threads_per_worker": args.threads,
        "call_seconds": args.wav_seconds,
        "runs": runs,
        "uploads": uploads,
    });
    println!("{report}");
}
