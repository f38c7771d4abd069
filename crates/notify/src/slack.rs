//! Slack incoming webhooks: the Block Kit message of a [`Notice`], posted through the
//! SSRF-checked client; Slack's answers judged (429 with `Retry-After`, 5xx and no answer
//! are tried again; 400/403/404/410 mean the webhook or its payload will never work).

use serde_json::{json, Value};

use crate::client::WebhookClient;
use crate::notice::{retry_after, Notice, Sender, Sent};
use kiku_domain::notification::Verdict;

/// Slack's limits: a section's text, a field, the header.
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;
const HEADER_CHARS: usize = 150;

/// Posts [`Notice`]s to Slack incoming webhooks.
#[derive(Clone)]
pub struct SlackSender {
    client: WebhookClient,
}

impl SlackSender {
    pub fn new(client: WebhookClient) -> Self {
        Self { client }
    }
}

impl Sender for SlackSender {
    type To = str;

    async fn send(&self, webhook_url: &str, notice: &Notice) -> Sent {
        let body = message(notice).to_string().into_bytes();
        let attempt = self.client.post_json(webhook_url, body).await;
        let verdict = match attempt.status {
            Some(200..=299) => Verdict::Delivered,
            Some(400 | 403 | 404 | 410) => Verdict::Permanent,
            _ => retry_after(attempt.retry_after),
        };
        Sent {
            status: attempt.status,
            latency_ms: attempt.latency_ms,
            response_head: attempt.response_head,
            error: attempt.error,
            verdict,
        }
    }
}

/// Slack's mrkdwn escapes: only these three characters are control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn field(label: &str, value: &str) -> Value {
    json!({"type": "mrkdwn", "text": cut(&format!("*{label}*\n{}", escape(value)), FIELD_CHARS)})
}

/// The Block Kit message: a header, the call's facts as fields, the summary when asked,
/// and a button to the call in Kiku. `text` is the fallback notifications show.
pub fn message(notice: &Notice) -> Value {
    let tags = if notice.tags.is_empty() {
        "—".to_string()
    } else {
        notice.tags.join(", ")
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&notice.title(), HEADER_CHARS)}}),
        json!({"type": "section", "fields": [
            field("発信", &notice.caller),
            field("着信", &notice.callee),
            field("日時", &notice.started_at),
            field("通話時間", &notice.duration),
            field("スコア", &format!("{:.1}", notice.score)),
            field("タグ", &tags),
            field("種別", &notice.call_type),
        ]}),
    ];
    if let Some(summary) = &notice.summary {
        let label = if notice.swapped {
            "要約（入れ替え後）"
        } else {
            "要約"
        };
        // Room for the label and the code fence within the section's limit.
        let body = cut(summary, SECTION_CHARS - 40);
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("*{label}*\n```{}```", escape(&body))}}));
    }
    blocks.push(json!({"type": "actions", "elements": [{
        "type": "button",
        "text": {"type": "plain_text", "text": "Kiku で通話を開く"},
        "url": notice.link,
    }]}));
    json!({
        "text": format!("{} <{}|Kiku で開く>", escape(&notice.title()), notice.link),
        "blocks": blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice {
            event_id: "e".into(),
            swapped: false,
            link: "https://kiku.example/calls/c1".into(),
            caller: "Suzuki <0311112222>".into(),
            callee: "+81322223333".into(),
            call_type: "OUTGOING_CALL".into(),
            started_at: "2026-01-05 10:00 (+09:00)".into(),
            duration: "4:00".into(),
            score: 62.54,
            tags: vec!["vip".into()],
            summary: Some("0:00 (User) A & B".into()),
        }
    }

    #[test]
    fn the_message_carries_the_facts_escaped_and_the_link() {
        let m = message(&notice());
        let text = m.to_string();
        assert!(text.contains("Suzuki &lt;0311112222&gt;"), "{text}");
        assert!(text.contains("62.5"));
        assert!(text.contains("0:00 (User) A &amp; B"));
        assert_eq!(
            m["blocks"][3]["elements"][0]["url"],
            "https://kiku.example/calls/c1"
        );
        assert!(m["blocks"][0]["text"]["text"]
            .as_str()
            .expect("header")
            .starts_with("通話の解析が完了しました"));
        let without = message(&Notice {
            summary: None,
            swapped: true,
            ..notice()
        });
        assert_eq!(without["blocks"].as_array().expect("blocks").len(), 3);
        assert!(without["text"]
            .as_str()
            .expect("text")
            .starts_with("ユーザーと顧客を入れ替えました"));
    }

    #[test]
    fn long_text_is_cut_to_slacks_limits() {
        let long = Notice {
            summary: Some("あ".repeat(10_000)),
            caller: "x".repeat(5_000),
            ..notice()
        };
        let m = message(&long);
        let summary = m["blocks"][2]["text"]["text"].as_str().expect("summary");
        assert!(summary.chars().count() <= SECTION_CHARS);
        let header = m["blocks"][0]["text"]["text"].as_str().expect("header");
        assert!(header.chars().count() <= HEADER_CHARS);
        for f in m["blocks"][1]["fields"].as_array().expect("fields") {
            assert!(f["text"].as_str().expect("field").chars().count() <= FIELD_CHARS);
        }
    }
}
