//! What events announce, rendered for a batch of deliveries at once: the events, their
//! calls and versions come in three queries ([`kiku_storage::EventStore::announced`]) and
//! each (call, version) detail is made once, however many events and endpoints announce it. The body
//! for one endpoint is then [`Rendered::body`] (a minutes event carries the version its
//! minutes were written from, and their text). Every retry and replay renders the same
//! thing: an event's version of a result never changes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use kiku_domain::{CallId, CompanyId, EventId, EventKind};
use kiku_notify::{detail_json, failed_payload, minutes_payload, PayloadInput, PayloadOptions};
use kiku_storage::{AnalysisRecord, CallRecord, Event};
use serde_json::value::RawValue;
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
        /// Shared by the events of the batch that announce the same version.
        detail: Arc<Detail>,
        version: u32,
        previous: Option<u32>,
    },
    /// Minutes written from `version`; the event holds their text.
    Minutes {
        detail: Arc<Detail>,
        version: u32,
        text: String,
    },
}

/// A version's detail, serialized once for each set of leave-out options that asks for it.
struct Detail {
    value: Value,
    json: [OnceLock<Box<RawValue>>; 4],
}

impl Detail {
    fn json(&self, options: PayloadOptions) -> &RawValue {
        let i = usize::from(options.exclude_phrases) | usize::from(options.exclude_keywords) << 1;
        self.json[i].get_or_init(|| detail_json(&self.value, options))
    }
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
            } => target.completed_body_with(
                self.input(&detail.value, *version, *previous),
                detail.json(target.options),
            ),
            What::Minutes {
                detail,
                version,
                text,
            } => minutes_payload(
                self.input(&detail.value, *version, None),
                text,
                &target.payload,
            )
            .to_string()
            .into_bytes(),
        }
    }

    fn input<'a>(
        &'a self,
        detail: &'a Value,
        version: u32,
        previous: Option<u32>,
    ) -> PayloadInput<'a> {
        PayloadInput {
            call_id: &self.call_id,
            tenant_code: &self.tenant,
            detail,
            event_id: &self.event_id,
            event_type: self.kind,
            version: i64::from(version),
            previous_version: previous.map(i64::from),
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
    // Completed events need the detail of their (call, version): made once for all the
    // events (and endpoints) of the batch that announce it.
    let mut versions: Vec<(CallRecord, AnalysisRecord)> = Vec::new();
    let mut wanted: HashSet<(CallId, u32)> = HashSet::new();
    let mut completed: Vec<(Event, (CallId, u32))> = Vec::new();
    for a in announced {
        let Some(call_id) = a.event.call_id else {
            continue;
        };
        if a.event.kind == EventKind::CallAnalysisFailed {
            let cause = a
                .event
                .detail
                .clone()
                .unwrap_or_else(|| "the analysis failed".into());
            out.insert(
                a.event.id,
                Rendered {
                    call: call_id,
                    call_id: call_id.to_string(),
                    tenant: tenant.clone(),
                    event_id: a.event.id.to_string(),
                    kind: a.event.kind,
                    what: What::Failed { cause },
                },
            );
            continue;
        }
        if let (Some(call), Some(version)) = (a.call, a.version) {
            let key = (call.id, version.version);
            if wanted.insert(key) {
                versions.push((Arc::unwrap_or_clone(call), Arc::unwrap_or_clone(version)));
            }
            completed.push((a.event, key));
        }
    }
    // `details_of` makes one detail per call, so versions of one call go in rounds.
    let mut details: HashMap<(CallId, u32), Arc<Detail>> = HashMap::new();
    while !versions.is_empty() {
        let mut round: Vec<(CallRecord, AnalysisRecord)> = Vec::new();
        let mut later = Vec::new();
        for item in versions {
            if round.iter().any(|(c, _)| c.id == item.0.id) {
                later.push(item);
            } else {
                round.push(item);
            }
        }
        versions = later;
        let (calls, records): (Vec<CallRecord>, Vec<AnalysisRecord>) = round.into_iter().unzip();
        for (call, made) in analysis::details_of(app, company, &calls, records).await? {
            let detail = Detail {
                value: made.detail,
                json: Default::default(),
            };
            details.insert((call, made.version), Arc::new(detail));
        }
    }
    for (event, key) in completed {
        let Some(detail) = details.get(&key) else {
            continue;
        };
        let what = match event.kind {
            EventKind::CallSummarizationCompleted => What::Minutes {
                detail: detail.clone(),
                version: key.1,
                text: event.detail.clone().unwrap_or_default(),
            },
            _ => What::Completed {
                detail: detail.clone(),
                version: key.1,
                previous: event.previous_version,
            },
        };
        out.insert(
            event.id,
            Rendered {
                call: key.0,
                call_id: key.0.to_string(),
                tenant: tenant.clone(),
                event_id: event.id.to_string(),
                kind: event.kind,
                what,
            },
        );
    }
    Ok(out)
}
