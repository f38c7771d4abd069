//! What a `deliver_webhook` job carries: one event to one outgoing webhook.

use serde::Deserialize;
use uuid::Uuid;

use crate::{EventId, JobId, OutgoingWebhookId};

/// The payload of a `deliver_webhook` job.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DeliveryJob {
    pub event_id: EventId,
    pub endpoint_id: OutgoingWebhookId,
    /// Sent again by an admin; recorded as such in the log.
    #[serde(default)]
    pub replay: bool,
}

impl DeliveryJob {
    /// The job's id. A dispatch's comes from (event, endpoint), so announcing an event
    /// twice queues one delivery; a replay's is new every time.
    pub fn job_id(&self) -> JobId {
        if self.replay {
            return JobId::new();
        }
        let key = format!("{}/{}", self.event_id, self.endpoint_id);
        JobId::from(Uuid::new_v5(&Uuid::NAMESPACE_OID, key.as_bytes()))
    }

    /// The payload as stored in the job row.
    pub fn payload(&self) -> String {
        serde_json::json!({
            "event_id": self.event_id,
            "endpoint_id": self.endpoint_id,
            "replay": self.replay,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_reads_back_and_a_dispatch_id_is_stable() {
        let job = DeliveryJob {
            event_id: EventId::new(),
            endpoint_id: OutgoingWebhookId::new(),
            replay: false,
        };
        let back: DeliveryJob = serde_json::from_str(&job.payload()).expect("reads");
        assert_eq!(back, job);
        assert_eq!(job.job_id(), job.job_id(), "dispatching twice is one job");
        let replay = DeliveryJob {
            replay: true,
            ..job.clone()
        };
        assert_ne!(
            replay.job_id(),
            replay.job_id(),
            "every replay is a new job"
        );
        assert_ne!(replay.job_id(), job.job_id());
    }
}
