//! The life of a call history, and the texts shown for each state.

use serde::{Deserialize, Serialize};

/// Where a call history stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Call data is in; the recording is not.
    AwaitingUpload,
    /// The recording is stored and an analysis job waits for a worker.
    Queued,
    /// A worker holds the analysis job.
    Analysing,
    Completed,
    Failed,
}

/// The seed page's text while no audio is in.
pub const AWAITING_UPLOAD_MESSAGE: &str =
    "Analytics engine is not started because the audio file has not been uploaded or is uploading.";

/// The seed page's text for recordings that cannot be analysed.
pub const ANALYSIS_FAILED_MESSAGE: &str = "Failed to analyze data because the call duration is too short to analyze or there is a problem in the recording";

impl CallStatus {
    pub const ALL: [CallStatus; 5] = [
        CallStatus::AwaitingUpload,
        CallStatus::Queued,
        CallStatus::Analysing,
        CallStatus::Completed,
        CallStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::AwaitingUpload => "awaiting_upload",
            CallStatus::Queued => "queued",
            CallStatus::Analysing => "analysing",
            CallStatus::Completed => "completed",
            CallStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a new recording may still replace the stored one.
    pub fn accepts_upload(self) -> bool {
        matches!(self, CallStatus::AwaitingUpload | CallStatus::Queued)
    }

    /// The text an operator sees; `reason` is the stored failure cause, if any.
    pub fn message(self, reason: Option<&str>) -> String {
        match self {
            CallStatus::AwaitingUpload => AWAITING_UPLOAD_MESSAGE.to_string(),
            CallStatus::Queued => {
                "The recording is stored; analysis is waiting for a worker.".to_string()
            }
            CallStatus::Analysing => "The recording is being analysed.".to_string(),
            CallStatus::Completed => "Analysis completed.".to_string(),
            CallStatus::Failed => match reason {
                Some(reason) => format!("{ANALYSIS_FAILED_MESSAGE}: {reason}"),
                None => ANALYSIS_FAILED_MESSAGE.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in CallStatus::ALL {
            assert_eq!(CallStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CallStatus::parse("done"), None);
    }

    #[test]
    fn uploads_close_once_analysis_starts() {
        assert!(CallStatus::AwaitingUpload.accepts_upload());
        assert!(CallStatus::Queued.accepts_upload());
        assert!(!CallStatus::Analysing.accepts_upload());
        assert!(!CallStatus::Completed.accepts_upload());
        assert!(!CallStatus::Failed.accepts_upload());
    }
}
