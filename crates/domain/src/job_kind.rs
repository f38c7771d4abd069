//! The kinds of durable background job. Each kind has one handler in the server's
//! `jobs/` folder and its own JSON payload; the job table holds them all.

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Analyse a call's recording (payload `{}`; the job's call is the one).
    AnalyseCall,
    /// Re-score every analysed call of a company with its current settings.
    RescoreCompany,
    /// Deliver one event to one outgoing webhook (payload `{event_id, endpoint_id, replay}`).
    DeliverWebhook,
    /// Send one event as a Slack message or an e-mail (payload `{event_id, target, replay}`).
    DeliverNotification,
    /// Apply one auto-tag rule to every analysed call of a company (payload `{rule_id}`).
    ApplyTagRule,
    /// Have the language model write a call's minutes (payload `{version}`: the result
    /// they are written from).
    WriteMinutes,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::AnalyseCall,
        JobKind::RescoreCompany,
        JobKind::DeliverWebhook,
        JobKind::DeliverNotification,
        JobKind::ApplyTagRule,
        JobKind::WriteMinutes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::AnalyseCall => "analyse_call",
            JobKind::RescoreCompany => "rescore_company",
            JobKind::DeliverWebhook => "deliver_webhook",
            JobKind::DeliverNotification => "deliver_notification",
            JobKind::ApplyTagRule => "apply_tag_rule",
            JobKind::WriteMinutes => "write_minutes",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Only analysis moves a call's status (queued → analysing → completed/failed).
    pub fn moves_call_status(self) -> bool {
        self == JobKind::AnalyseCall
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JobKind::parse("analyse"), None);
    }
}
