//! The webhook client against real local receivers: challenge answers, signed deliveries
//! (checked with PyPI `standardwebhooks`), the SSRF refusals before any connection.

mod receiver;

use kiku_domain::outgoing_webhook::ExtraHeaders;
use kiku_notify::{
    ChallengeError, ClientSettings, Delivery, SsrfError, StaticResolver, WebhookClient,
    WebhookSecret,
};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn client(allow: &str, resolver: StaticResolver) -> WebhookClient {
    WebhookClient::new(ClientSettings {
        timeout: Duration::from_millis(800),
        challenge_timeout: Duration::from_millis(800),
        allow_networks: kiku_notify::parse_allow_networks(allow).expect("networks"),
        resolver: Arc::new(resolver),
    })
    .expect("client")
}

fn loopback_client() -> WebhookClient {
    client("127.0.0.0/8", StaticResolver::default())
}

fn no_headers() -> ExtraHeaders {
    ExtraHeaders::default()
}

#[tokio::test]
async fn the_challenge_accepts_the_right_answer() {
    let r = receiver::start().await;
    loopback_client()
        .challenge(&r.url("/ok"), &no_headers())
        .await
        .expect("accepted");
    let got = r.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].headers["content-type"],
        "application/json; charset=utf-8"
    );
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).expect("json");
    let token = body["challenge"].as_str().expect("challenge");
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn wrong_challenge_answers_say_what_came_back() {
    let r = receiver::start().await;
    let c = loopback_client();
    let err = c
        .challenge(&r.url("/wrong-body"), &no_headers())
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ChallengeError::Answer { status: 200, body_head, .. } if body_head == "not-the-challenge"),
        "{err}"
    );
    let err = c
        .challenge(&r.url("/wrong-type"), &no_headers())
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ChallengeError::Answer { content_type, .. } if content_type == "application/json"),
        "{err}"
    );
    let err = c
        .challenge(&r.url("/error"), &no_headers())
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("status 500") && err.to_string().contains("boom"),
        "{err}"
    );
    let err = c
        .challenge(&r.url("/redirect"), &no_headers())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("status 302"), "{err}");
    let err = c
        .challenge(&r.url("/hang"), &no_headers())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed() {
    let r = receiver::start().await;
    let c = client("", StaticResolver::default());
    let err = c
        .challenge(&r.url("/ok"), &no_headers())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ChallengeError::Ssrf(SsrfError::Refused { .. })),
        "{err}"
    );
    let secret = WebhookSecret::generate();
    let url = r.url("/ok");
    let a = c
        .deliver(Delivery {
            url: &url,
            headers: &no_headers(),
            event_id: "evt_1",
            timestamp: 1,
            body: b"{}",
            secrets: &[&secret],
        })
        .await;
    assert_eq!(a.status, None);
    assert!(
        a.error
            .as_deref()
            .is_some_and(|e| e.contains("outgoing_allow_networks")),
        "{a:?}"
    );
    assert!(r.received().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_and_an_allowed_one_connects_to_the_checked_address(
) {
    let r = receiver::start().await;
    let port = r.addr.expect("addr").port();
    let loopback: IpAddr = "127.0.0.1".parse().expect("ip");
    let resolver = StaticResolver::default().with("receiver.test", &[loopback]);
    let url = format!("http://receiver.test:{port}/ok");
    let refused = client("", resolver.clone());
    assert!(matches!(
        refused.challenge(&url, &no_headers()).await,
        Err(ChallengeError::Ssrf(SsrfError::Refused { .. }))
    ));
    let secret = WebhookSecret::generate();
    let d = Delivery {
        url: &url,
        headers: &no_headers(),
        event_id: "evt_1",
        timestamp: 1,
        body: b"{}",
        secrets: &[&secret],
    };
    let a = refused.deliver(d).await;
    assert_eq!(a.status, None, "{a:?}");
    assert!(r.received().is_empty());
    let allowed = client("127.0.0.0/8", resolver);
    assert_eq!(allowed.deliver(d).await.status, Some(204));
}

#[tokio::test]
async fn private_and_link_local_literals_are_refused_before_any_connection() {
    let c = loopback_client();
    let secret = WebhookSecret::generate();
    for url in [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/",
        "http://[::ffff:192.168.0.1]/",
        "http://100.64.0.1/",
    ] {
        assert!(
            matches!(c.check_url(url).await, Err(SsrfError::Refused { .. })),
            "{url}"
        );
        let a = c
            .deliver(Delivery {
                url,
                headers: &no_headers(),
                event_id: "e",
                timestamp: 1,
                body: b"{}",
                secrets: &[&secret],
            })
            .await;
        assert_eq!(a.status, None);
        assert!(a.latency_ms < 50, "refused without connecting: {a:?}");
        assert!(
            a.error
                .as_deref()
                .is_some_and(|e| e.contains("Kiku does not send to")),
            "{a:?}"
        );
    }
}

#[tokio::test]
async fn endpoint_trouble_is_an_attempt_never_an_error() {
    let r = receiver::start().await;
    let c = loopback_client();
    let secret = WebhookSecret::generate();
    let send = |path: &str| {
        let url = r.url(path);
        let c = c.clone();
        let secret = secret.clone();
        async move {
            c.deliver(Delivery {
                url: &url,
                headers: &ExtraHeaders::default(),
                event_id: "evt_1",
                timestamp: 1,
                body: b"{}",
                secrets: &[&secret],
            })
            .await
        }
    };
    let busy = send("/busy").await;
    assert_eq!(busy.status, Some(503));
    assert_eq!(busy.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(busy.response_head.len(), 1024);
    assert_eq!(
        send("/redirect").await.status,
        Some(302),
        "redirects are not followed"
    );
    assert_eq!(send("/gone").await.status, Some(410));
    let hang = send("/hang").await;
    assert_eq!(hang.status, None);
    assert!(
        hang.error
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{hang:?}"
    );
    let closed = c
        .deliver(Delivery {
            url: "http://127.0.0.1:1/",
            headers: &no_headers(),
            event_id: "e",
            timestamp: 1,
            body: b"{}",
            secrets: &[&secret],
        })
        .await;
    assert_eq!(closed.status, None);
    assert!(
        closed
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("connection failed")),
        "{closed:?}"
    );
}

/// PyPI `standardwebhooks` (installed by `scripts/test` under `~/.cache/kiku/python`), or
/// `None` when it cannot be imported here.
fn python_path() -> Option<String> {
    let home = std::env::var("HOME").ok()?;
    let path =
        std::env::var("KIKU_TEST_PYTHONPATH").unwrap_or(format!("{home}/.cache/kiku/python"));
    let ok = std::process::Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .env("PYTHONPATH", &path)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("KIKU_TEST_REQUIRE_STANDARDWEBHOOKS").is_ok() {
        panic!("PyPI standardwebhooks cannot be imported from {path} (scripts/test installs it)");
    }
    ok.then_some(path)
}

#[tokio::test]
async fn deliveries_are_signed_as_standardwebhooks_verifies() {
    let r = receiver::start().await;
    let c = loopback_client();
    let current = WebhookSecret::generate();
    let previous = WebhookSecret::generate();
    let headers =
        ExtraHeaders::parse(&serde_json::json!({"Authorization": "Bearer t0ken", "X-Tenant": "a"}))
            .expect("headers");
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("time");
    let body = br#"{"call":{"id":"x"},"event_id":"evt_42"}"#;
    let url = r.url("/ok");
    let a = c
        .deliver(Delivery {
            url: &url,
            headers: &headers,
            event_id: "evt_42",
            timestamp: now,
            body,
            secrets: &[&current, &previous],
        })
        .await;
    assert_eq!(a.status, Some(204), "{a:?}");
    let got = &r.received()[0];
    assert_eq!(
        got.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(got.headers["user-agent"]
        .to_str()
        .expect("ascii")
        .starts_with("Kiku-Webhook/1 ("));
    assert_eq!(got.headers["authorization"], "Bearer t0ken");
    assert_eq!(got.headers["x-tenant"], "a");
    assert_eq!(got.headers["webhook-id"], "evt_42");
    assert_eq!(got.headers["webhook-timestamp"], now.to_string().as_str());
    let signature = got.headers["webhook-signature"].to_str().expect("ascii");
    assert_eq!(
        signature,
        format!(
            "{} {}",
            current.sign("evt_42", now, body),
            previous.sign("evt_42", now, body)
        )
    );
    assert_eq!(&got.body[..], body);

    let Some(path) = python_path() else {
        eprintln!("skipped the standardwebhooks cross-check: PyPI standardwebhooks cannot be imported (scripts/test installs it)");
        return;
    };
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
d = json.load(sys.stdin)
for secret in d["secrets"]:
    Webhook(secret).verify(d["body"], d["headers"])
try:
    Webhook(d["other"]).verify(d["body"], d["headers"])
    sys.exit("a foreign secret verified")
except Exception:
    pass
print("verified")
"#;
    let input = serde_json::json!({
        "secrets": [current.reveal(), previous.reveal()],
        "other": WebhookSecret::generate().reveal(),
        "body": String::from_utf8_lossy(&got.body),
        "headers": {
            "webhook-id": got.headers["webhook-id"].to_str().expect("ascii"),
            "webhook-timestamp": got.headers["webhook-timestamp"].to_str().expect("ascii"),
            "webhook-signature": signature,
        },
    });
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .env("PYTHONPATH", path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 ran");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "verified");
}
