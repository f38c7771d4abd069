//! The web UI's pages through `kiku serve` on the benchmark's database: time to first
//! byte of the call list (newest first, a text search, filters) and of a call's detail.
//! A page is rendered whole before its head is sent, so the first byte is the page's
//! server time.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kiku_domain::CompanyId;

const EMAIL: &str = "ui@bench.example";
const PASSWORD: &str = "bench password";

/// One timed page: p50 and p95 of the time to the response head, and the body's size.
pub struct PageTiming {
    pub label: &'static str,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub bytes: usize,
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times the pages `runs` times each (after one warm-up).
pub async fn time_pages(
    kiku: &Path,
    dir: &Path,
    url: &str,
    company: CompanyId,
    runs: usize,
) -> Vec<PageTiming> {
    let env = [
        ("KIKU_DATABASE_URL", url.to_string()),
        ("KIKU_DATA_DIR", dir.display().to_string()),
    ];
    let created = Command::new(kiku)
        .args([
            "user",
            "create",
            "--company",
            &company.to_string(),
            "--name",
            "UI",
        ])
        .args(["--email", EMAIL, "--password", PASSWORD, "--admin"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("kiku user create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stdout)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Server(
        Command::new(kiku)
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("KIKU_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "KIKU_SECRETS_KEY",
                kiku_storage::test_support::TEST_SECRETS_KEY,
            )
            .env("KIKU_PUBLIC_URL", &base)
            .env("KIKU_ANALYSIS_WORKERS", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("kiku serve"),
    );
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !http
        .get(format!("{base}/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "kiku serve did not get ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let cookie = format!("kiku_session={}", login["token"].as_str().expect("token"));
    let get = |path: String| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), base.clone());
        async move {
            let start = Instant::now();
            let response = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("page");
            let first_byte = start.elapsed();
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            let body = response.text().await.expect("body");
            (first_byte, body)
        }
    };
    let (_, list) = get("/calls".into()).await;
    let call = list
        .split("data-call-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a call on the first page")
        .to_string();
    let pages: Vec<(&'static str, String)> = vec![
        ("call list, newest first", "/calls".into()),
        (
            "call list, Japanese text 解約",
            format!("/calls?q={}", percent("解約")),
        ),
        ("call list, English text refund", "/calls?q=refund".into()),
        (
            "call list, status + call type + tag",
            "/calls?status=completed&event_type=AUTOMATIC_RECORD&tag=vip".into(),
        ),
        ("call detail", format!("/calls/{call}")),
    ];
    let mut out = Vec::new();
    for (label, path) in pages {
        let (_, body) = get(path.clone()).await;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(get(path.clone()).await.0);
        }
        times.sort();
        let at = |p: f64| ms(times[((times.len() as f64 - 1.0) * p).round() as usize]);
        out.push(PageTiming {
            label,
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            bytes: body.len(),
        });
    }
    out
}
