//! A real `kiku serve` process (no analysis workers) on a free port, for tests that look
//! at the process from outside: its memory, its connections, its log and its signals.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The admin [`KikuProcess::company`] creates.
pub const ADMIN_EMAIL: &str = "admin@acme.example";

pub struct KikuProcess {
    pub base: String,
    pub addr: String,
    pub data_dir: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
    /// The `kiku` command line this process runs: what a restart runs again.
    command: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl KikuProcess {
    /// Starts `kiku serve` on SQLite in a fresh folder with `env` added, and waits for it.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        Self::launch("serve", env).await
    }

    /// [`Self::start`] as `kiku serve --api-only`: no job workers.
    pub async fn api_only(env: &[(&str, &str)]) -> Self {
        Self::launch("serve --api-only", env).await
    }

    async fn launch(command: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let base = format!("http://{addr}");
        let data_dir = dir.path().join("data");
        let log = dir.path().join("kiku.log");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let child = spawn(command, &data_dir, &addr, &base, &env, &log);
        let process = Self {
            base,
            addr,
            data_dir,
            log,
            env,
            command: command.to_string(),
            child,
            _dir: dir,
        };
        process.wait_healthy().await;
        process
    }

    /// A `kiku worker` on this process's data, its `/health` and `/ready` on a port of its
    /// own (`base`), with `env` over this process's settings; waits for it.
    pub async fn worker(&self, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = dir.path().join("worker.log");
        let mut settings = self.env.clone();
        settings.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let command = format!("worker --health-listen {addr}");
        let child = spawn(
            &command,
            &self.data_dir,
            &self.addr,
            &self.base,
            &settings,
            &log,
        );
        let worker = Self {
            base: format!("http://{addr}"),
            addr,
            data_dir: self.data_dir.clone(),
            log,
            env: settings,
            command,
            child,
            _dir: dir,
        };
        worker.wait_healthy().await;
        worker
    }

    async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.get(self.url("/health")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("kiku did not come up:\n{}", self.log());
    }

    /// SIGKILL, and nothing after (a machine lost).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILL, then the same process again on the same data and port.
    pub async fn kill_and_restart(&mut self) {
        self.kill();
        self.child = spawn(
            &self.command,
            &self.data_dir,
            &self.addr,
            &self.base,
            &self.env,
            &self.log,
        );
        self.wait_healthy().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory, in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.memory_mib("VmRSS:")
    }

    /// Peak resident memory so far, in MiB.
    pub fn peak_rss_mib(&self) -> u64 {
        self.memory_mib("VmHWM:") as u64
    }

    /// A memory line of `/proc/<pid>/status` (`field` with its colon), in MiB.
    fn memory_mib(&self, field: &str) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/<pid>/status"));
        kib / 1024.0
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn audio_dir(&self) -> PathBuf {
        self.data_dir.join("audio")
    }

    /// Sends SIGTERM and waits up to `limit` for the exit; how long it took.
    pub fn terminate(&mut self, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill");
        while started.elapsed() < limit {
            if self.child.try_wait().expect("wait").is_some() {
                return Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `kiku company create` "Acme" with the admin `admin@acme.example` and `password`;
    /// the company's id.
    pub fn company(&self, password: &str) -> String {
        let created = self.cli(&[
            "company",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            ADMIN_EMAIL,
            "--admin-password",
            password,
        ]);
        created["company_id"]
            .as_str()
            .expect("company id")
            .to_string()
    }

    /// Signs in as [`Self::company`]'s admin through the API; the session token.
    pub async fn sign_in(&self, password: &str) -> String {
        let login: serde_json::Value = reqwest::Client::new()
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": password}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        login["token"].as_str().expect("token").to_string()
    }

    /// A `kiku` CLI command against this process's data; its JSON output.
    pub fn cli(&self, args: &[&str]) -> serde_json::Value {
        // The server's settings too: the CLI checks what the server would.
        let mut env: Vec<(&str, String)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        env.push(("KIKU_DATA_DIR", self.data_dir.display().to_string()));
        env.push(("KIKU_PUBLIC_URL", self.base.clone()));
        let (ok, out) = crate::support::run_kiku(args, &env);
        assert!(ok, "{args:?}: {out}");
        out
    }
}

/// `kiku <command>` (its words split on spaces) on `data_dir`, the API's address `addr`.
fn spawn(
    command: &str,
    data_dir: &Path,
    addr: &str,
    base: &str,
    env: &[(String, String)],
    log: &Path,
) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    Command::new(env!("CARGO_BIN_EXE_kiku"))
        .args(command.split(' '))
        .env("KIKU_DATA_DIR", data_dir)
        .env("KIKU_LISTEN", addr)
        .env("KIKU_PUBLIC_URL", base)
        .env("KIKU_ANALYSIS_WORKERS", "0")
        .env(
            "KIKU_SECRETS_KEY",
            kiku_storage::test_support::TEST_SECRETS_KEY,
        )
        .env("RUST_LOG", "info")
        .env_remove("KIKU_DATABASE_URL")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start kiku")
}

impl Drop for KikuProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Files under `dir` (recursively), for "nothing partial was kept".
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
