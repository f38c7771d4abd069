//! Call search and CSV export benchmark. For each database (SQLite, and PostgreSQL when
//! `--postgres` names a server):
//!
//! 1. **Data** — `--calls` analysed calls of one company (generated transcripts, half
//!    Japanese, half English), stored through Kiku's storage; their search index is built by
//!    the same code the server runs (the start-up indexing of calls stored without one).
//! 2. **Text queries** — each query of [`QUERIES`] through the store as `GET /api/v1/calls`
//!    runs it (the first page of 50 and the total up to 10,000), `--runs` times, against
//!    the naive peer: the same conditions as a plain `LIKE '%…%'` scan of the same text
//!    with no index. Both must find the same number of calls.
//! 3. **Export** — the real `kiku call export` of every call, and of a tenth of them, with
//!    its wall time and peak RSS (flat memory: both peaks alike).
//! 4. **Pages** — the web UI's call list (newest first, text searches, filters) and a
//!    call's detail through `kiku serve` on the same database: time to first byte.
//! 5. **Export at scale** — the company padded to `--export-rows` calls with copies of
//!    the call data (no results) and exported whole: peak RSS against step 3's.
//!
//! Prints a Markdown report.

mod data;
mod pages;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use kiku_domain::search::{CallSearch, TextQuery};
use kiku_domain::CompanyId;
use kiku_storage::{CallStore, SqlStore};
use sqlx::{AnyPool, Row};

#[derive(Parser)]
#[command(
    name = "search-bench",
    about = "Kiku's call search and CSV export against a plain LIKE scan"
)]
struct Args {
    /// The `kiku` binary (release build).
    #[arg(long)]
    kiku: PathBuf,
    /// A fresh folder for the SQLite database and the exported files.
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value_t = 100_000)]
    calls: usize,
    /// Timed runs of each query.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// After the pages: the company padded to this many calls (copies of the analysed
    /// ones' call data) and exported whole, for the export's memory at scale (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    export_rows: usize,
    /// A PostgreSQL server (any database on it) where a fresh database may be created.
    #[arg(long)]
    postgres: Option<String>,
    /// PostgreSQL only (to look into it; the report compares both).
    #[arg(long)]
    skip_sqlite: bool,
}

/// Query parameters of `GET /api/v1/calls`, with what they exercise.
const QUERIES: &[(&str, &[(&str, &str)])] = &[
    ("Japanese, 2 characters", &[("q", "解約")]),
    ("Japanese, 4 characters", &[("q", "エアコン")]),
    (
        "Japanese, 3 characters, customer only",
        &[("q", "請求書"), ("speaker", "customer")],
    ),
    ("Japanese, rare", &[("q", "キャンセル料")]),
    ("English word", &[("q", "refund")]),
    ("English phrase", &[("q", "\"cancel my subscription\"")]),
    ("English, rare", &[("q", "warranty")]),
    (
        "English word + status + date range",
        &[
            ("q", "refund"),
            ("status", "completed"),
            ("from", "2024-03-01T00:00:00Z"),
        ],
    ),
    ("two Japanese words", &[("q", "エアコン 請求書")]),
];

fn search_of(pairs: &[(&str, &str)]) -> CallSearch {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    CallSearch::parse(&pairs, &[]).expect("a valid search")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

struct Timing {
    p50_ms: f64,
    p95_ms: f64,
    total: i64,
}

async fn timed<F, Fut>(runs: usize, mut run: F) -> Timing
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let total = run().await; // warm-up
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let n = run().await;
        times.push(start.elapsed());
        assert_eq!(n, total, "the same answer every run");
    }
    times.sort();
    Timing {
        p50_ms: percentile(&times, 0.5),
        p95_ms: percentile(&times, 0.95),
        total,
    }
}

/// The naive peer: the list's query with each text condition a plain LIKE scan of the
/// speakers' text (no trigram index), counted and paged like Kiku's.
async fn naive(pool: &AnyPool, postgres: bool, company: CompanyId, pairs: &[(&str, &str)]) -> i64 {
    let search = search_of(pairs);
    let mut conditions = vec!["c.company_id = $1".to_string()];
    let mut args: Vec<String> = vec![company.to_string()];
    let role = match pairs.iter().find(|(k, _)| *k == "speaker").map(|(_, v)| *v) {
        Some("customer") => " AND x.role = 'customer'",
        Some("user") => " AND x.role = 'user'",
        _ => "",
    };
    // `|| ''` keeps PostgreSQL's planner off the trigram index.
    let body = if postgres { "(x.body || '')" } else { "x.body" };
    for term in search
        .text
        .as_ref()
        .map(|t: &TextQuery| t.terms.clone())
        .unwrap_or_default()
    {
        args.push(term.like_pattern());
        conditions.push(format!(
            "c.id IN (SELECT x.call_id FROM call_texts x WHERE {body} LIKE ${}{role})",
            args.len()
        ));
    }
    for (k, v) in pairs {
        match *k {
            "status" => {
                args.push(v.to_string());
                conditions.push(format!("c.status = ${}", args.len()));
            }
            "from" => {
                let t = kiku_domain::datetime::parse_lenient(v).expect("time");
                args.push(((t.unix_timestamp_nanos() / 1_000_000) as i64).to_string());
                conditions.push(format!("c.starts_at_ms >= CAST(${} AS BIGINT)", args.len()));
            }
            _ => {}
        }
    }
    let clause = conditions.join(" AND ");
    let count = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM calls c WHERE {clause} LIMIT 10001) t"
    );
    let page = format!(
        "SELECT c.id FROM calls c WHERE {clause} ORDER BY c.starts_at_ms DESC, c.id DESC LIMIT 51"
    );
    let mut count_query = sqlx::query(&count).persistent(false);
    let mut page_query = sqlx::query(&page).persistent(false);
    for a in &args {
        count_query = count_query.bind(a.clone());
        page_query = page_query.bind(a.clone());
    }
    let n: i64 = count_query
        .fetch_one(pool)
        .await
        .expect("naive count")
        .try_get("n")
        .expect("n");
    page_query.fetch_all(pool).await.expect("naive page");
    n
}

/// Runs `kiku call export`; its wall time, peak RSS (MiB) and rows.
fn export(
    args: &Args,
    url: &str,
    company: CompanyId,
    filters: &[&str],
    out: &str,
) -> (f64, f64, u64) {
    let mut cmd = std::process::Command::new(&args.kiku);
    cmd.args([
        "call",
        "export",
        "--company",
        &company.to_string(),
        "--out",
        out,
    ])
    .env("KIKU_DATABASE_URL", url)
    .env("KIKU_DATA_DIR", &args.dir)
    .stdout(std::process::Stdio::piped());
    for f in filters {
        cmd.args(["--filter", f]);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("run kiku");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    while child.try_wait().expect("wait").is_none() {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
                let kib: u64 = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                peak_kib = peak_kib.max(kib);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let output = child.wait_with_output().expect("output");
    let printed: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("kiku printed JSON");
    assert!(output.status.success(), "export failed: {printed}");
    (
        elapsed,
        peak_kib as f64 / 1024.0,
        printed["rows"].as_u64().unwrap_or(0),
    )
}

async fn backend(args: &Args, name: &str, url: &str) {
    let postgres = name == "PostgreSQL";
    let built = data::build(url, args.calls).await;
    let store = SqlStore::connect(url, kiku_storage::test_support::secret_keys())
        .await
        .expect("connect");
    let pool = AnyPool::connect(url).await.expect("raw pool");
    println!("\n## {name}\n");
    println!(
        "{} calls stored in {:.0} s; their search index built at start in {:.1} s.\n",
        args.calls, built.store_seconds, built.index_seconds
    );
    println!("| query | matches | Kiku p50 ms | Kiku p95 ms | plain LIKE p50 ms | plain LIKE p95 ms | p95 ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, pairs) in QUERIES {
        let search = search_of(pairs);
        let kiku = timed(args.runs, || async {
            let page = store
                .search_calls(built.company, &search, true)
                .await
                .expect("search");
            page.total.map_or(-1, |t| t.count as i64)
        })
        .await;
        let peer = timed(args.runs.min(5), || {
            naive(&pool, postgres, built.company, pairs)
        })
        .await;
        assert_eq!(
            kiku.total, peer.total,
            "{label}: Kiku and the plain scan disagree"
        );
        let shown: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "| {label}: `{}` | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1}× |",
            shown.join("&"),
            kiku.total,
            kiku.p50_ms,
            kiku.p95_ms,
            peer.p50_ms,
            peer.p95_ms,
            peer.p95_ms / kiku.p95_ms.max(0.001)
        );
    }
    store.close().await;
    pool.close().await;
    let out = args.dir.join(format!("{name}.csv")).display().to_string();
    let (all_s, all_mib, all_rows) = export(args, url, built.company, &[], &out);
    let tenth = format!("from={}", built.tenth_from);
    let (part_s, part_mib, part_rows) = export(args, url, built.company, &[&tenth], &out);
    println!("\n`kiku call export` (UTF-8):\n");
    println!("| rows | seconds | rows/s | peak RSS MiB |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {all_rows} | {all_s:.1} | {:.0} | {all_mib:.0} |",
        all_rows as f64 / all_s
    );
    println!(
        "| {part_rows} | {part_s:.1} | {:.0} | {part_mib:.0} |",
        part_rows as f64 / part_s
    );
    let timed = pages::time_pages(&args.kiku, &args.dir, url, built.company, args.runs).await;
    println!(
        "\nWeb UI pages through `kiku serve`, time to first byte ({} runs):\n",
        args.runs
    );
    println!("| page | p50 ms | p95 ms | KiB |");
    println!("|---|---:|---:|---:|");
    for p in timed {
        println!(
            "| {} | {:.1} | {:.1} | {:.0} |",
            p.label,
            p.p50_ms,
            p.p95_ms,
            p.bytes as f64 / 1024.0
        );
    }
    if args.export_rows > args.calls {
        let padding = pad(url, postgres, built.company, args.calls, args.export_rows).await;
        let (s, mib, rows) = export(args, url, built.company, &[], &out);
        println!(
            "\nThe export again after padding the company to {} calls with copies of their call data \
             (without results; {padding:.0} s to insert):\n",
            args.export_rows
        );
        println!("| rows | seconds | rows/s | peak RSS MiB |");
        println!("|---:|---:|---:|---:|");
        println!("| {rows} | {s:.1} | {:.0} | {mib:.0} |", rows as f64 / s);
    }
}

/// Adds copies of the company's `calls` calls (their call data, no result) until it has
/// `target`, in SQL; the seconds it took. A copy's id is its original's with the first
/// eight hex digits replaced by the copy's number.
async fn pad(url: &str, postgres: bool, company: CompanyId, calls: usize, target: usize) -> f64 {
    let started = Instant::now();
    let pool = AnyPool::connect(url).await.expect("raw pool");
    let copies = target.div_ceil(calls) - 1;
    for k in 1..=copies {
        let new_id = if postgres {
            format!("lpad(to_hex({k}), 8, '0') || substr(id, 9)")
        } else {
            format!("printf('%08x', {k}) || substr(id, 9)")
        };
        // The last round copies only what is missing.
        let wanted = (target - calls * k).min(calls);
        let sql = format!(
            "INSERT INTO calls (id, company_id, call_data_id, fingerprint, call_data, event_type, \
             starts_at_ms, status, created_at_ms, updated_at_ms, answered, talk_ms, group_name, \
             queue_name, search_indexed) \
             SELECT {new_id}, company_id, call_data_id || '-copy{k}', fingerprint, call_data, \
             event_type, starts_at_ms, 'awaiting_upload', created_at_ms, updated_at_ms, answered, \
             talk_ms, group_name, queue_name, 1 FROM calls \
             WHERE company_id = $1 AND call_data_id NOT LIKE '%-copy%' LIMIT {wanted}"
        );
        sqlx::query(&sql)
            .bind(company.to_string())
            .execute(&pool)
            .await
            .expect("copy calls");
    }
    if postgres {
        sqlx::query("ANALYZE calls")
            .execute(&pool)
            .await
            .expect("analyze");
    }
    pool.close().await;
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    sqlx::any::install_default_drivers();
    std::fs::create_dir_all(&args.dir).expect("dir");
    println!(
        "{} analysed calls (generated transcripts, half Japanese), {} timed runs per query (the plain scan: {}), the first page of 50 and the total up to 10,000 each.",
        args.calls,
        args.runs,
        args.runs.min(5)
    );
    let sqlite = format!("sqlite://{}?mode=rwc", args.dir.join("kiku.db").display());
    if !args.skip_sqlite {
        backend(&args, "SQLite", &sqlite).await;
    }
    if let Some(admin) = &args.postgres {
        let pool = AnyPool::connect(admin).await.expect("postgres");
        let name = "kiku_bench_search";
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&pool)
            .await
            .expect("drop");
        // pg_trgm indexes only what the database's ctype calls letters: Japanese needs a
        // UTF-8 one (the throwaway server is initialised with the C locale).
        let utf8 = format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"
        );
        if sqlx::query(&utf8).execute(&pool).await.is_err() {
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .expect("create");
        }
        pool.close().await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        backend(&args, "PostgreSQL", &format!("{base}/{name}")).await;
    }
}
