//! Group commit for SQLite ingest: concurrent webhook batches share one transaction and
//! one fsync; a batch refused for a conflict writes nothing, so it affects no other.
//! Without it every single-call request would pay a full fsync (~0.6 ms here) alone.

use kiku_domain::{CallData, CompanyId};
use sqlx::AnyPool;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::ingest::{ingest_batches, Batch};
use crate::{IngestedCall, Result, StorageError};

/// At most this many requests share a commit, so one commit stays short.
const MAX_REQUESTS_PER_COMMIT: usize = 256;

struct Request {
    company: CompanyId,
    calls: Vec<CallData>,
    now: OffsetDateTime,
    reply: oneshot::Sender<Result<Vec<IngestedCall>>>,
}

/// Handle to the writer task; the task ends when the last handle is dropped.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    tx: mpsc::Sender<Request>,
}

impl GroupCommit {
    pub fn start(pool: AnyPool) -> Self {
        let (tx, rx) = mpsc::channel(4 * MAX_REQUESTS_PER_COMMIT);
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    pub async fn ingest(
        &self,
        company: CompanyId,
        calls: Vec<CallData>,
        now: OffsetDateTime,
    ) -> Result<Vec<IngestedCall>> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StorageError::corrupt("the ingest writer has stopped");
        self.tx
            .send(Request {
                company,
                calls,
                now,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(pool: AnyPool, mut rx: mpsc::Receiver<Request>) {
    let mut group = Vec::with_capacity(MAX_REQUESTS_PER_COMMIT);
    while rx.recv_many(&mut group, MAX_REQUESTS_PER_COMMIT).await > 0 {
        let results = commit_group(&pool, &group).await;
        for (request, result) in group.drain(..).zip(results) {
            // The requester may have gone away; its batch is stored all the same.
            let _ = request.reply.send(result);
        }
    }
}

/// One transaction, one lookup and one insert per company for the whole group; the result
/// of each request, in order. Conflicts are decided before anything is written, so no
/// savepoints are needed; a database error fails the whole group (nothing is stored,
/// every requester may retry).
async fn commit_group(pool: &AnyPool, group: &[Request]) -> Vec<Result<Vec<IngestedCall>>> {
    let failed = |err: StorageError| -> Vec<Result<Vec<IngestedCall>>> {
        tracing::error!(error = %err, requests = group.len(), "an ingest group was not stored");
        group.iter().map(|_| Err(err.shared())).collect()
    };
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => return failed(e.into()),
    };
    let batches: Vec<Batch<'_>> = group
        .iter()
        .map(|r| Batch {
            company: r.company,
            calls: &r.calls,
            now: r.now,
        })
        .collect();
    let results = match ingest_batches(&mut tx, &batches).await {
        Ok(outcomes) => outcomes
            .into_iter()
            .map(|o| o.map_err(StorageError::CallDataConflict))
            .collect(),
        // Dropping `tx` rolls back; a connection whose rollback fails is discarded by the
        // pool's release check (`sql::discard_if_in_transaction`).
        Err(e) => return failed(e),
    };
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => failed(e.into()),
    }
}
