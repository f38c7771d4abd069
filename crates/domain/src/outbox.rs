//! Events in the outbox: written in the same transaction as the result they announce,
//! delivered later by jobs, so nothing is ever sent from inside a request or a
//! transaction and nothing committed goes unannounced.

/// What happened to a call's result; what an outgoing webhook subscribes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A result is available: after an analysis, and again (a new event) after a swap.
    CallAnalysisCompleted,
    /// The analysis gave up; the event carries the cause.
    CallAnalysisFailed,
    /// A settings change re-scored the call (a new version with the same roles).
    CallAnalysisRescored,
    /// The call's minutes were written (MiiTel's event of that name; `version` is the
    /// result they were written from).
    CallSummarizationCompleted,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [
        EventKind::CallAnalysisCompleted,
        EventKind::CallAnalysisFailed,
        EventKind::CallAnalysisRescored,
        EventKind::CallSummarizationCompleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CallAnalysisCompleted => "call_analysis_completed",
            EventKind::CallAnalysisFailed => "call_analysis_failed",
            EventKind::CallAnalysisRescored => "call_analysis_rescored",
            EventKind::CallSummarizationCompleted => "call_summarization_completed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Why a version of a call's result was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionReason {
    /// The recording was analysed.
    Analysis,
    /// The company's analysis settings changed.
    Rescore,
    /// A person swapped user and customer.
    Swap,
}

impl VersionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionReason::Analysis => "analysis",
            VersionReason::Rescore => "rescore",
            VersionReason::Swap => "swap",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Analysis, Self::Rescore, Self::Swap]
            .into_iter()
            .find(|r| r.as_str() == text)
    }

    /// The event a new version of this reason announces.
    pub fn event(self) -> EventKind {
        match self {
            VersionReason::Analysis | VersionReason::Swap => EventKind::CallAnalysisCompleted,
            VersionReason::Rescore => EventKind::CallAnalysisRescored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_reasons_round_trip_and_announce() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        for reason in [
            VersionReason::Analysis,
            VersionReason::Rescore,
            VersionReason::Swap,
        ] {
            assert_eq!(VersionReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(
            VersionReason::Swap.event(),
            EventKind::CallAnalysisCompleted
        );
        assert_eq!(
            VersionReason::Rescore.event(),
            EventKind::CallAnalysisRescored
        );
    }
}
