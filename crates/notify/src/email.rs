//! E-mail notifications: a plain-text and an HTML part, the subject RFC 2047-encoded (by
//! lettre) so Japanese survives every mail client, sent over SMTP with STARTTLS, TLS or
//! none as the operator configures. SMTP's 4xx and lost connections are tried again;
//! 5xx means the message will never be taken.

use std::time::{Duration, Instant};

use kiku_domain::notification::Verdict;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::client::elapsed_ms;
use crate::notice::{retry_after, Notice, Sender, Sent};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP, upgraded with STARTTLS, which the server must offer (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl SmtpSecurity {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// The operator's SMTP settings.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Both or neither.
    pub username: Option<String>,
    pub password: Option<String>,
    /// `Kiku <kiku@example.com>` or a bare address.
    pub from: String,
    /// The whole exchange with the server.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("smtp_from {0:?} is not an e-mail address (like Kiku <kiku@example.com>)")]
    From(String),
    #[error("the SMTP client could not be set up: {0}")]
    Transport(String),
}

/// Sends [`Notice`]s as e-mail through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &SmtpSettings) -> Result<Self, MailerError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|_| MailerError::From(settings.from.clone()))?;
        let tls = || {
            TlsParameters::new(settings.host.clone())
                .map_err(|e| MailerError::Transport(e.to_string()))
        };
        let tls = match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout))
            // Our own name in EHLO: the sender's domain, not the machine's.
            .hello_name(ClientId::Domain(from.email.domain().to_string()));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// The message to `to`; `Err` when `to` is not an address lettre accepts.
    pub fn message(&self, to: &str, notice: &Notice) -> Result<Message, String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("the recipient is not an e-mail address: {e}"))?;
        // The same Message-ID on every retry, so a message sent twice reads as one.
        let id = format!(
            "<{}.{}@{}>",
            notice.event_id,
            hex::encode(&sha2_digest(to.email.as_ref())[..8]),
            self.from.email.domain()
        );
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("[Kiku] {}", notice.title()))
            .message_id(Some(id))
            .multipart(MultiPart::alternative_plain_html(
                plain_text(notice),
                html(notice),
            ))
            .map_err(|e| format!("the message could not be built: {e}"))
    }
}

fn sha2_digest(text: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

impl Sender for Mailer {
    type To = str;

    async fn send(&self, to: &str, notice: &Notice) -> Sent {
        let started = Instant::now();
        let message = match self.message(to, notice) {
            Ok(m) => m,
            Err(error) => {
                return Sent {
                    status: None,
                    latency_ms: 0,
                    response_head: String::new(),
                    error: Some(error),
                    verdict: Verdict::Permanent,
                }
            }
        };
        match self.transport.send(message).await {
            Ok(response) => Sent {
                status: Some(u16::from(response.code())),
                latency_ms: elapsed_ms(started),
                response_head: response.message().collect::<Vec<_>>().join("\n"),
                error: None,
                verdict: Verdict::Delivered,
            },
            Err(e) => Sent {
                status: e.status().map(u16::from),
                latency_ms: elapsed_ms(started),
                response_head: String::new(),
                error: Some(format!("SMTP: {e}")),
                verdict: if e.is_permanent() {
                    Verdict::Permanent
                } else {
                    retry_after(None)
                },
            },
        }
    }
}

fn lines(notice: &Notice) -> Vec<(&'static str, String)> {
    let tags = if notice.tags.is_empty() {
        "—".to_string()
    } else {
        notice.tags.join(", ")
    };
    vec![
        ("発信", notice.caller.clone()),
        ("着信", notice.callee.clone()),
        ("日時", notice.started_at.clone()),
        ("通話時間", notice.duration.clone()),
        ("スコア", format!("{:.1}", notice.score)),
        ("タグ", tags),
        ("種別", notice.call_type.clone()),
    ]
}

/// The plain-text part.
pub fn plain_text(notice: &Notice) -> String {
    let mut out = format!("{}\n\n", notice.title());
    for (label, value) in lines(notice) {
        out.push_str(&format!("{label}: {value}\n"));
    }
    if let Some(summary) = &notice.summary {
        out.push_str(&format!("\n要約:\n{summary}\n"));
    }
    out.push_str(&format!("\n通話を開く: {}\n", notice.link));
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML part: the same facts, escaped.
pub fn html(notice: &Notice) -> String {
    let mut rows = String::new();
    for (label, value) in lines(notice) {
        rows.push_str(&format!(
            "<tr><th align=\"left\">{label}</th><td>{}</td></tr>",
            escape(&value)
        ));
    }
    let summary = notice
        .summary
        .as_ref()
        .map(|s| format!("<h3>要約</h3><pre>{}</pre>", escape(s)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"></head><body>\
         <h2>{}</h2><table>{rows}</table>{summary}\
         <p><a href=\"{}\">通話を開く</a></p></body></html>",
        escape(&notice.title()),
        escape(&notice.link)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice {
            event_id: "e1".into(),
            swapped: false,
            link: "https://kiku.example/calls/c1?a=1&b=2".into(),
            caller: "Suzuki <0311112222>".into(),
            callee: "+81322223333".into(),
            call_type: "OUTGOING_CALL".into(),
            started_at: "2026-01-05 10:00 (+09:00)".into(),
            duration: "4:00".into(),
            score: 62.5,
            tags: vec![],
            summary: Some("0:00 (User) こんにちは".into()),
        }
    }

    #[test]
    fn both_parts_carry_the_facts_and_html_is_escaped() {
        let text = plain_text(&notice());
        assert!(text.starts_with("通話の解析が完了しました: Suzuki <0311112222> → +81322223333"));
        assert!(text.contains("通話を開く: https://kiku.example/calls/c1?a=1&b=2"));
        let page = html(&notice());
        assert!(page.contains("Suzuki &lt;0311112222&gt;"));
        assert!(page.contains("href=\"https://kiku.example/calls/c1?a=1&amp;b=2\""));
        assert!(page.contains("<pre>0:00 (User) こんにちは</pre>"));
    }

    #[test]
    fn the_subject_is_encoded_and_the_id_stable() {
        let settings = SmtpSettings {
            host: "127.0.0.1".into(),
            port: 25,
            security: SmtpSecurity::None,
            username: None,
            password: Some("secret".into()),
            from: "Kiku <kiku@acme.example>".into(),
            timeout: Duration::from_secs(5),
        };
        assert!(!format!("{settings:?}").contains("secret"));
        let mailer = Mailer::new(&settings).expect("mailer");
        let a = mailer.message("a@x.jp", &notice()).expect("message");
        let raw = String::from_utf8(a.formatted()).expect("ascii");
        let subject = raw
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .expect("subject");
        assert!(subject.contains("=?utf-8?"), "{subject}");
        assert!(raw.is_ascii(), "every header and part is encoded");
        let b = mailer.message("a@x.jp", &notice()).expect("message");
        let id = |m: &Message| {
            m.headers()
                .get_raw("Message-ID")
                .map(str::to_string)
                .expect("id")
        };
        assert_eq!(id(&a), id(&b));
        assert!(mailer.message("not an address", &notice()).is_err());
    }
}
