//! CRM activity records: what Kiku writes about a call (`Activity`, made by the server from
//! the event's version of the result), the [`CrmWriter`] trait each vendor implements
//! (`salesforce.rs`, `hubspot.rs`, `kintone.rs`), [`Crms`] choosing one by the
//! connection's kind, and what they share: how an answer is judged and logged.

use std::time::{Duration, Instant};

use kiku_domain::crm::{CrmConfig, CrmContent};
use kiku_domain::notification::Verdict;
use reqwest::header::RETRY_AFTER;

use crate::client::{elapsed_ms, ApiAnswer, WebhookClient, RESPONSE_HEAD_BYTES};
use crate::notice::Sent;
use crate::{hubspot::Hubspot, kintone::Kintone, salesforce::Salesforce};

/// A call as a CRM activity: plain values, so the writers need no domain knowledge.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub call_id: String,
    /// `true` after *Swap user and customer* (the record is then updated, and says so).
    pub swapped: bool,
    /// One line: who called whom.
    pub title: String,
    /// When the call started: UTC as `2026-01-05T01:00:00Z`, the PBX's own local date
    /// (`2026-01-05`) and a label with the offset.
    pub started_at_utc: String,
    pub local_date: String,
    pub started_at_label: String,
    /// From the user's side: the customer called in.
    pub inbound: bool,
    /// `OUTGOING_CALL`, `INCOMING_CALL`, …
    pub event_type: String,
    pub answered: bool,
    /// From the answer (or the start, unanswered) to the end.
    pub duration_seconds: i64,
    /// The parties as shown (a user's name, the party's name, the number).
    pub caller: String,
    pub callee: String,
    pub caller_number: String,
    pub callee_number: String,
    /// The party who is not the user: the one to find a contact by.
    pub customer_number: Option<String>,
    pub score: f64,
    /// `{public_url}/calls/{id}`.
    pub link: String,
    /// `m:ss (User) phrase` lines.
    pub transcript: String,
    pub summary: String,
    pub content: CrmContent,
}

impl Activity {
    /// The transcript or the summary, as the connection asks.
    pub fn body(&self) -> &str {
        match self.content {
            CrmContent::Transcript => &self.transcript,
            CrmContent::Summary => &self.summary,
        }
    }

    pub fn direction(&self) -> &'static str {
        if self.inbound {
            "inbound"
        } else {
            "outbound"
        }
    }

    /// The record's text: the facts, the link, then the body.
    pub fn description(&self) -> String {
        let swapped = if self.swapped {
            "ユーザーと顧客を入れ替えました\n"
        } else {
            ""
        };
        format!(
            "{swapped}{title}\n日時: {when}\n通話時間: {minutes}:{seconds:02}\nスコア: {score:.1}\n種別: {kind}\nKiku: {link}\n\n{body}",
            title = self.title,
            when = self.started_at_label,
            minutes = self.duration_seconds / 60,
            seconds = self.duration_seconds % 60,
            score = self.score,
            kind = self.event_type,
            link = self.link,
            body = self.body(),
        )
    }
}

/// Where to write: a connection's address and settings, and the record the call already
/// became there (`None`: create one).
#[derive(Debug, Clone, Copy)]
pub struct CrmTarget<'a> {
    /// Changes whenever the connection's settings do: cached tokens are kept under it.
    pub cache_key: &'a str,
    pub base_url: &'a str,
    pub config: &'a CrmConfig,
    pub record_id: Option<&'a str>,
}

/// One attempt's result: [`Sent`] for the attempt log and, when delivered, the CRM's id
/// of the record written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub sent: Sent,
    pub record_id: Option<String>,
}

/// A CRM that takes activity records; one implementation per vendor.
pub trait CrmWriter: Send + Sync {
    /// Creates the record (no `record_id`) or updates it; target trouble is data in
    /// [`Written`], never an error.
    fn write(
        &self,
        target: &CrmTarget<'_>,
        activity: &Activity,
    ) -> impl std::future::Future<Output = Written> + Send;
}

/// Every vendor's writer, sharing the SSRF-checked client.
#[derive(Clone)]
pub struct Crms {
    salesforce: Salesforce,
    hubspot: Hubspot,
    kintone: Kintone,
}

impl Crms {
    pub fn new(client: WebhookClient) -> Self {
        Self {
            salesforce: Salesforce::new(client.clone()),
            hubspot: Hubspot::new(client.clone()),
            kintone: Kintone::new(client),
        }
    }

    /// Writes with the writer of the connection's kind.
    pub async fn write(&self, target: &CrmTarget<'_>, activity: &Activity) -> Written {
        match target.config {
            CrmConfig::Salesforce(_) => self.salesforce.write(target, activity).await,
            CrmConfig::Hubspot(_) => self.hubspot.write(target, activity).await,
            CrmConfig::Kintone(_) => self.kintone.write(target, activity).await,
        }
    }
}

/// `base` without a trailing slash, then `path`.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Times the calls of one attempt, which may take several requests (a token, a search,
/// the write).
pub(crate) struct Attempt {
    started: Instant,
}

impl Attempt {
    pub(crate) fn start() -> Self {
        Self {
            started: Instant::now(),
        }
    }

    /// Delivered: the record written.
    pub(crate) fn written(&self, answer: &ApiAnswer, record_id: String) -> Written {
        Written {
            sent: Sent {
                status: answer.status,
                latency_ms: elapsed_ms(self.started),
                response_head: head(&answer.body),
                error: None,
                verdict: Verdict::Delivered,
            },
            record_id: Some(record_id),
        }
    }

    /// A step that failed: `what` it was, the vendor's words (`detail`), and the verdict
    /// of its status, waiting `wait` when the vendor said how long. A 2xx here is an
    /// answer without what it should carry (a token, an id): a vendor or a proxy in
    /// between misbehaves, worth another try.
    pub(crate) fn failed(
        &self,
        answer: &ApiAnswer,
        what: &str,
        detail: Option<String>,
        wait: Option<Duration>,
    ) -> Written {
        let success = answer.status.is_some_and(|s| (200..300).contains(&s));
        let cause = match (&answer.error, answer.status, detail) {
            (Some(error), _, _) => error.clone(),
            (None, Some(status), _) if success => {
                format!("answered {status} without the expected fields")
            }
            (None, Some(status), Some(detail)) => format!("answered {status}: {detail}"),
            (None, Some(status), None) => format!("answered {status}"),
            (None, None, _) => "no answer".into(),
        };
        let verdict = if success {
            Verdict::Retry { after: None }
        } else {
            verdict(answer.status, wait.or_else(|| retry_after(answer)))
        };
        Written {
            sent: Sent {
                status: answer.status,
                latency_ms: elapsed_ms(self.started),
                response_head: head(&answer.body),
                error: Some(format!("{what}: {cause}")),
                verdict,
            },
            record_id: None,
        }
    }

    /// The connection is not of the writer's kind (the caller's mistake): nothing sent.
    pub(crate) fn wrong_kind(&self, vendor: &str) -> Written {
        Written {
            sent: Sent {
                status: None,
                latency_ms: elapsed_ms(self.started),
                response_head: String::new(),
                error: Some(format!("not a {vendor} connection")),
                verdict: Verdict::Permanent,
            },
            record_id: None,
        }
    }
}

/// 2xx: written. 408, 429, 5xx, 3xx (not followed) and no answer: worth another try. Any
/// other 4xx (a bad token, an unknown field, no permission) will fail again until an
/// admin fixes the connection, and then replays.
pub(crate) fn verdict(status: Option<u16>, wait: Option<Duration>) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Delivered,
        Some(408 | 429) => Verdict::Retry { after: wait },
        Some(400..=499) => Verdict::Permanent,
        _ => Verdict::Retry { after: wait },
    }
}

/// `Retry-After` in seconds.
pub(crate) fn retry_after(answer: &ApiAnswer) -> Option<Duration> {
    answer
        .headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The first KiB of an answer, for the attempt log.
fn head(body: &str) -> String {
    let mut end = body.len().min(RESPONSE_HEAD_BYTES);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_string()
}

/// The answer as JSON, if it is.
pub(crate) fn json(answer: &ApiAnswer) -> Option<serde_json::Value> {
    serde_json::from_str(&answer.body).ok()
}

/// The digits of a phone number (`+81 3-1111-2222` → `81311112222`).
pub(crate) fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_like_the_vendors_mean_them() {
        let wait = Some(Duration::from_secs(7));
        assert_eq!(verdict(Some(201), None), Verdict::Delivered);
        assert_eq!(verdict(Some(429), wait), Verdict::Retry { after: wait });
        assert_eq!(verdict(Some(503), None), Verdict::Retry { after: None });
        assert_eq!(verdict(None, None), Verdict::Retry { after: None });
        assert_eq!(verdict(Some(302), None), Verdict::Retry { after: None });
        for permanent in [400, 401, 403, 404] {
            assert_eq!(verdict(Some(permanent), None), Verdict::Permanent);
        }
        assert_eq!(digits("+81 3-1111-2222"), "81311112222");
        assert_eq!(head(&"あ".repeat(1000)).len(), 1023);
    }
}
