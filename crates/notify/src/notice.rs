//! What a notification says about a call, made by the server from the event's version of
//! the result and rendered by each sender in its own format (Block Kit, e-mail). Plain
//! text in, so the senders need no domain knowledge.

use std::time::Duration;

use kiku_domain::notification::Verdict;

/// A call whose recognition completed, or whose roles a person swapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The event announced; the same for every retry (the e-mail's Message-ID).
    pub event_id: String,
    /// `true` after *Swap user and customer*: a new message says so.
    pub swapped: bool,
    /// The call in Kiku's web UI.
    pub link: String,
    /// The calling party as shown: the user's name or the party's name, and the number.
    pub caller: String,
    pub callee: String,
    /// `OUTGOING_CALL`, `INCOMING_CALL`, …
    pub call_type: String,
    /// When the call started, as `2026-01-05 10:00 (+09:00)`.
    pub started_at: String,
    /// `m:ss`.
    pub duration: String,
    pub score: f64,
    pub tags: Vec<String>,
    /// `m:ss (User) phrase` lines; `None` when the summary is not to be sent.
    pub summary: Option<String>,
}

impl Notice {
    /// The one-line title, the same in Slack and in the e-mail's subject.
    pub fn title(&self) -> String {
        let what = if self.swapped {
            "ユーザーと顧客を入れ替えました"
        } else {
            "通話の解析が完了しました"
        };
        format!("{what}: {} → {}", self.caller, self.callee)
    }
}

/// What one attempt to send gave; target trouble is data here, never an `Err`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The HTTP status (Slack) or the SMTP reply code (e-mail); `None` without an answer.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The first KiB of the answer.
    pub response_head: String,
    /// Why it failed; never holds a secret (a webhook URL, a password).
    pub error: Option<String>,
    pub verdict: Verdict,
}

/// A way to send a [`Notice`]: one implementation per channel (`slack.rs`, `email.rs`).
pub trait Sender: Send + Sync {
    /// Where to: a Slack webhook URL, an e-mail address.
    type To: ?Sized + Sync;
    fn send(
        &self,
        to: &Self::To,
        notice: &Notice,
    ) -> impl std::future::Future<Output = Sent> + Send;
}

/// Seconds as a `Retry-After` value, for [`Verdict::Retry`].
pub(crate) fn retry_after(seconds: Option<Duration>) -> Verdict {
    Verdict::Retry { after: seconds }
}
