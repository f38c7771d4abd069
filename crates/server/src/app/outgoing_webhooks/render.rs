//! What events announce, rendered for a batch of deliveries at once: the events, their
//! calls and versions come in three queries ([`kiku_storage::EventStore::announced`]) and
//! each (call, version) detail is made once, however many endpoints receive it. The body
//! for one endpoint is then [`Rendered::body`]. Every retry and replay renders the same
//! thing: an event's version of a result never changes.

use std::collections::HashMap;

use kiku_domain::{CallId, CompanyId, EventId, EventKind};
use kiku_notify::{failed_payload, PayloadInput};
use kiku_storage::{AnalysisRecord, Announced, CallRecord};
use serde_json::Value;

use super::target::DeliveryTarget;
use crate::app::{analysis, App, AppError};

/// An event ready to be put in an endpoint's payload.
pub struct Rendered {
    /// The call the event is about.
    pub call: CallId,
    call_id: String,
    tenant: String,
    event_id: String,
    kind: EventKind,
    what: What,
}

enum What {
    Failed {
        cause: String,
    },
    Completed {
        detail: Value,
        version: u32,
        previous: Option<u32>,
    },
}

impl Rendered {
    /// The body sent to `target`.
    pub fn body(&self, target: &DeliveryTarget) -> Vec<u8> {
        match &self.what {
            What::Failed { cause } => failed_payload(
                &self.call_id,
                &self.tenant,
                &self.event_id,
                cause,
                &target.payload,
            )
            .to_string()
            .into_bytes(),
            What::Completed {
                detail,
                version,
                previous,
            } => target.completed_body(PayloadInput {
                call_id: &self.call_id,
                tenant_code: &self.tenant,
                detail,
                event_id: &self.event_id,
                event_type: self.kind,
                version: i64::from(*version),
                previous_version: previous.map(i64::from),
            }),
        }
    }
}

/// The company's events among `ids`, rendered; an event that is gone, or whose call or
/// version is, is missing.
pub async fn render_events(
    app: &App,
    company: CompanyId,
    ids: &[EventId],
) -> Result<HashMap<EventId, Rendered>, AppError> {
    let announced = app.store.announced(company, ids).await?;
    let tenant = company.to_string();
    let mut out = HashMap::new();
    // Completed events need their call detail; `details_of` makes one per call, so
    // versions of one call are rendered in rounds.
    let mut pending: Vec<(Announced, CallRecord, AnalysisRecord)> = Vec::new();
    for a in announced {
        let Some(call_id) = a.event.call_id else {
            continue;
        };
        let rendered = |what| Rendered {
            call: call_id,
            call_id: call_id.to_string(),
            tenant: tenant.clone(),
            event_id: a.event.id.to_string(),
            kind: a.event.kind,
            what,
        };
        if a.event.kind == EventKind::CallAnalysisFailed {
            let cause = a
                .event
                .detail
                .clone()
                .unwrap_or_else(|| "the analysis failed".into());
            out.insert(a.event.id, rendered(What::Failed { cause }));
            continue;
        }
        if let (Some(call), Some(version)) = (a.call.clone(), a.version.clone()) {
            pending.push((a, call, version));
        }
    }
    while !pending.is_empty() {
        let mut round: Vec<(Announced, CallRecord, AnalysisRecord)> = Vec::new();
        let mut later = Vec::new();
        for item in pending {
            if round.iter().any(|(_, c, _)| c.id == item.1.id) {
                later.push(item);
            } else {
                round.push(item);
            }
        }
        pending = later;
        let calls: Vec<CallRecord> = round.iter().map(|(_, c, _)| c.clone()).collect();
        let records: Vec<AnalysisRecord> = round.iter().map(|(_, _, v)| v.clone()).collect();
        let mut details = analysis::details_of(app, company, &calls, records).await?;
        for (a, call, _) in round {
            let Some(detail) = details.remove(&call.id) else {
                continue;
            };
            out.insert(
                a.event.id,
                Rendered {
                    call: call.id,
                    call_id: call.id.to_string(),
                    tenant: tenant.clone(),
                    event_id: a.event.id.to_string(),
                    kind: a.event.kind,
                    what: What::Completed {
                        detail: detail.detail,
                        version: detail.version,
                        previous: a.event.previous_version,
                    },
                },
            );
        }
    }
    Ok(out)
}
