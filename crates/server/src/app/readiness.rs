//! `/ready`: whether this process can take writes now. The database must commit a write
//! and the recordings' store must take one: a local disk with room, or a bucket that
//! answers; `/health` only says the process is up.

use super::App;

/// Each check's outcome: `None` when it passed, else what is wrong.
pub struct Readiness {
    pub database: Option<String>,
    pub storage: Option<String>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database.is_none() && self.storage.is_none()
    }
}

pub async fn check(app: &App) -> Readiness {
    let database = app.store.check_writable(app.clock.now()).await.err();
    let storage = app
        .blobs
        .check_writable(app.min_free_disk_bytes)
        .await
        .err();
    Readiness {
        database: database.map(|e| e.to_string()),
        storage: storage.map(|e| e.to_string()),
    }
}
