//! Bounds on what requests may make the server hold: body sizes, how long a body may
//! stall, and one budget for every request body buffered in memory at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits every request is held to (settings `max_*_bytes`, `body_timeout_seconds`).
pub struct RequestLimits {
    /// Largest recording.
    pub max_upload_bytes: u64,
    /// Largest call-data batch to the Incoming Webhook.
    pub max_request_bytes: usize,
    /// Largest body of the JSON API.
    pub max_json_bytes: usize,
    /// A body that sends nothing for this long is dropped.
    pub body_timeout: Duration,
    pub buffers: BufferBudget,
}

impl RequestLimits {
    /// Limits for tests and embedders: the given sizes, the default timeout and budget.
    pub fn new(max_upload_bytes: u64, max_request_bytes: usize, max_json_bytes: usize) -> Self {
        Self {
            max_upload_bytes,
            max_request_bytes,
            max_json_bytes,
            body_timeout: Duration::from_secs(30),
            buffers: BufferBudget::new(64 * 1024 * 1024),
        }
    }
}

/// Bytes of request bodies held in memory, all requests together. A request takes its
/// share chunk by chunk as the body arrives and gives it back when the body is dropped,
/// so stalled clients can hold at most the budget, never the sum of their limits.
#[derive(Clone, Debug)]
pub struct BufferBudget {
    bytes: Arc<Semaphore>,
}

/// A request's share of the budget; returned on drop.
#[derive(Debug, Default)]
pub struct BufferShare(Option<OwnedSemaphorePermit>);

impl BufferBudget {
    pub fn new(bytes: usize) -> Self {
        Self {
            bytes: Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// Adds `n` bytes to `share`; `false` (and nothing taken) when the budget is spent.
    pub fn take(&self, share: &mut BufferShare, n: usize) -> bool {
        let Ok(n) = u32::try_from(n) else {
            return false;
        };
        match self.bytes.clone().try_acquire_many_owned(n) {
            Ok(permit) => {
                match &mut share.0 {
                    Some(held) => held.merge(permit),
                    None => share.0 = Some(permit),
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Bytes not taken right now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_come_back_when_dropped() {
        let budget = BufferBudget::new(100);
        let mut a = BufferShare::default();
        assert!(budget.take(&mut a, 60));
        assert!(budget.take(&mut a, 30));
        let mut b = BufferShare::default();
        assert!(!budget.take(&mut b, 20), "only 10 bytes are left");
        assert!(budget.take(&mut b, 10));
        assert_eq!(budget.available(), 0);
        drop(a);
        assert_eq!(budget.available(), 90);
        drop(b);
        assert_eq!(budget.available(), 100);
    }
}
