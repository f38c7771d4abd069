//! What a `deliver_notification` job carries: one event to one Slack rule, one e-mail
//! recipient or one CRM connection.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{CrmConnectionId, EventId, JobId, SlackRuleId};

/// Where a notification goes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Target {
    Slack {
        rule_id: SlackRuleId,
    },
    /// The address is fixed when the event is fanned out, so a retry goes where the first
    /// attempt went.
    Email {
        to: String,
    },
    /// One activity record per call in the connection's CRM: created by the first event,
    /// updated by the later ones (a swap).
    Crm {
        connection_id: CrmConnectionId,
    },
}

impl Target {
    /// `slack`, `email` or `crm`, as stored in the attempt log.
    pub fn channel(&self) -> &'static str {
        match self {
            Target::Slack { .. } => "slack",
            Target::Email { .. } => "email",
            Target::Crm { .. } => "crm",
        }
    }
}

/// The payload of a `deliver_notification` job.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotificationJob {
    pub event_id: EventId,
    pub target: Target,
    /// Sent again by an admin; recorded as such in the log.
    #[serde(default)]
    pub replay: bool,
}

impl NotificationJob {
    /// The job's id: fanning an event out twice queues one job per target; a replay's is
    /// new every time.
    pub fn job_id(&self) -> JobId {
        if self.replay {
            return JobId::new();
        }
        let target = serde_json::to_string(&self.target).unwrap_or_default();
        let key = format!("notification/{}/{target}", self.event_id);
        JobId::from(Uuid::new_v5(&Uuid::NAMESPACE_OID, key.as_bytes()))
    }

    /// The payload as stored in the job row.
    pub fn payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_reads_back_and_a_fan_out_id_is_stable() {
        let job = NotificationJob {
            event_id: EventId::new(),
            target: Target::Email {
                to: "a@x.jp".into(),
            },
            replay: false,
        };
        let back: NotificationJob = serde_json::from_str(&job.payload()).expect("reads");
        assert_eq!(back, job);
        assert_eq!(job.job_id(), job.job_id());
        let slack = NotificationJob {
            target: Target::Slack {
                rule_id: SlackRuleId::new(),
            },
            ..job.clone()
        };
        assert_ne!(slack.job_id(), job.job_id());
        let replay = NotificationJob {
            replay: true,
            ..job.clone()
        };
        assert_ne!(replay.job_id(), replay.job_id());
    }
}
