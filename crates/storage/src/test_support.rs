//! Throwaway databases for tests: a temporary SQLite file always, and a fresh PostgreSQL
//! database when `KIKU_TEST_POSTGRES_URL` names a server we may create databases on.

use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

/// A database that lives as long as this value (the SQLite file is deleted on drop; the
/// PostgreSQL server is thrown away whole by the test script).
pub struct TestDatabase {
    pub backend: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// One fresh database per available backend. Panics when `KIKU_TEST_REQUIRE_POSTGRES=1`
/// but no PostgreSQL URL is set, so CI can never silently skip PostgreSQL.
pub async fn test_databases() -> Vec<TestDatabase> {
    let mut out = vec![sqlite().await];
    match std::env::var("KIKU_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => out.push(postgres(&admin_url).await),
        _ if std::env::var("KIKU_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("KIKU_TEST_REQUIRE_POSTGRES=1 but KIKU_TEST_POSTGRES_URL is not set")
        }
        _ => {}
    }
    out
}

pub async fn sqlite() -> TestDatabase {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("kiku.db").display());
    TestDatabase {
        backend: "sqlite",
        url,
        _dir: Some(dir),
    }
}

async fn postgres(admin_url: &str) -> TestDatabase {
    sqlx::any::install_default_drivers();
    let name = format!("kiku_test_{}", uuid::Uuid::new_v4().simple());
    let admin = AnyPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
        .expect("connect to test PostgreSQL");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    TestDatabase {
        backend: "postgres",
        url: format!("{base}/{name}"),
        _dir: None,
    }
}

/// A tmpfs of a few MiB mounted on a temporary folder, for tests of a full disk; unmounted
/// on drop. `None` (with the reason) where this process may not mount (not root, no
/// `CAP_SYS_ADMIN`): such tests say so and skip.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(mib: u32) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the disk with `filler` until a write fails; returns the filler's path.
    pub fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("create filler");
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        // The last partial block: fill byte by byte.
        while file.write_all(&[0]).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    /// Unmounts first; the folder itself is removed when `dir` drops after this.
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The key tests encrypt stored secrets with (`secrets_key`): fixed, so a test can reopen
/// a database or run `kiku` on it.
pub const TEST_SECRETS_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

/// [`TEST_SECRETS_KEY`] as the store takes it.
pub fn secret_keys() -> crate::SecretKeys {
    crate::SecretKeys::from_base64(TEST_SECRETS_KEY, &[]).expect("test secrets key")
}
