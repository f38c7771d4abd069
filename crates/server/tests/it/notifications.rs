//! Notifications over real sockets on both backends: Slack rules posting Block Kit messages
//! to a local fake Slack (answering as Slack does: `ok`, 503, 429 with `Retry-After`), and
//! e-mails sent to a real SMTP server (PyPI `aiosmtpd`, started here) whose stored
//! messages are read back with Python's own e-mail parser — after an analysis and again
//! after a swap, retried, logged per call, and replayed by an admin.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use kiku::jobs::WorkerCounts;
use kiku_notify::{Mailer, SmtpSecurity, SmtpSettings};
use serde_json::{json, Value};

use crate::support::{call, servers_with_mailer, Tenant, TestServer};
use crate::swap::finish_uploaded;

/// A real SMTP server: `python3 -m aiosmtpd` storing every message in a Maildir.
struct Smtp {
    child: Child,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where PyPI aiosmtpd is installed (`scripts/test` puts it under `~/.cache/kiku/python`),
/// or `None` when it cannot be imported here (the tests are then skipped, unless
/// `KIKU_TEST_REQUIRE_AIOSMTPD` is set).
fn python_path() -> Option<String> {
    let home = std::env::var("HOME").ok()?;
    let path =
        std::env::var("KIKU_TEST_PYTHONPATH").unwrap_or(format!("{home}/.cache/kiku/python"));
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .env("PYTHONPATH", &path)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("KIKU_TEST_REQUIRE_AIOSMTPD").is_ok() {
        panic!("PyPI aiosmtpd cannot be imported from {path} (scripts/test installs it)");
    }
    ok.then_some(path)
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Smtp {
    async fn start(python: &str, port: u16) -> Smtp {
        let dir = tempfile::tempdir().expect("dir");
        let maildir = dir.path().join("mail");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .env("PYTHONPATH", python)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Smtp {
            child,
            maildir,
            _dir: dir,
        }
    }

    /// Every stored message, as Python's `email` package (policy `default`) reads it.
    fn messages(&self, python: &str) -> Vec<Value> {
        const READ: &str = r#"
import email, email.policy, glob, json, sys
out = []
for path in sorted(glob.glob(sys.argv[1] + "/new/*") + glob.glob(sys.argv[1] + "/cur/*")):
    raw = open(path, "rb").read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    head = raw.split(b"\r\n\r\n")[0].split(b"\n\n")[0].decode("ascii")
    parts = [{"type": p.get_content_type(), "charset": p.get_content_charset(),
              "body": p.get_content()} for p in m.walk() if not p.is_multipart()]
    out.append({"subject": str(m["subject"]), "head": head, "to": str(m["to"]),
                "from": str(m["from"]), "message_id": str(m["message-id"]),
                "type": m.get_content_type(), "parts": parts})
print(json.dumps(out))
"#;
        let out = Command::new("python3")
            .args(["-c", READ])
            .arg(&self.maildir)
            .env("PYTHONPATH", python)
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    }
}

fn mailer(port: u16) -> Mailer {
    Mailer::new(&SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Kiku <kiku@acme.example>".into(),
        timeout: Duration::from_secs(5),
    })
    .expect("mailer")
}

/// A fake Slack: `/ok` answers 200 `ok`; `/flaky` 503 twice, then `ok`; `/limited` 429
/// with `Retry-After: 600` once, then `ok`; `/dead` 404 `no_service`.
#[derive(Clone, Default)]
pub(crate) struct Slack {
    addr: Option<std::net::SocketAddr>,
    log: Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>,
}

impl Slack {
    pub(crate) async fn start() -> Slack {
        let log: Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>> = Arc::default();
        let mut router = Router::new();
        for path in ["/ok", "/flaky", "/limited", "/dead"] {
            let log = log.clone();
            router = router.route(
                path,
                post(
                    move |uri: Uri, headers: HeaderMap, body: Bytes| async move {
                        // Counted per path and query: each backend's rule has its own query.
                        let key = uri.to_string();
                        let earlier = {
                            let mut log = log.lock().expect("log");
                            let earlier = log.iter().filter(|(k, _, _)| *k == key).count();
                            log.push((key, headers, body));
                            earlier
                        };
                        match path {
                            "/flaky" if earlier < 2 => {
                                (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response()
                            }
                            "/limited" if earlier < 1 => (
                                StatusCode::TOO_MANY_REQUESTS,
                                [("retry-after", "600")],
                                "rate_limited",
                            )
                                .into_response(),
                            "/dead" => (StatusCode::NOT_FOUND, "no_service").into_response(),
                            _ => (StatusCode::OK, "ok").into_response(),
                        }
                    },
                ),
            );
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        Slack {
            addr: Some(addr),
            log,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.expect("started"))
    }

    /// What was posted to `path` (with its query).
    pub(crate) fn posts(&self, path: &str) -> Vec<Value> {
        let log = self.log.lock().expect("log");
        log.iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, headers, body)| {
                assert_eq!(
                    headers.get("content-type").and_then(|v| v.to_str().ok()),
                    Some("application/json; charset=utf-8")
                );
                serde_json::from_slice(body).expect("a JSON body")
            })
            .collect()
    }
}

/// The notification workers (and the rest), retrying on `schedule`.
pub(crate) fn start_runner(
    s: &TestServer,
    schedule: Vec<Duration>,
) -> tokio::sync::watch::Sender<bool> {
    let counts = WorkerCounts {
        analysis: 0,
        jobs: 1,
        deliveries: 2,
        notifications: 2,
    };
    crate::deliveries::start_workers(s, schedule, counts)
}

/// Polls `check` until it gives a value, for up to 20 s.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn rule(s: &TestServer, t: &Tenant, body: Value) -> String {
    let req = s
        .http
        .post(s.url("/api/v1/slack-rules"))
        .bearer_auth(&t.admin_token)
        .json(&body);
    let (status, created) = s.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {created}", s.backend);
    assert!(
        created.get("webhook_url").is_none(),
        "write-only: {created}"
    );
    created["id"].as_str().expect("id").into()
}

async fn put(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let req = s.http.put(s.url(path)).bearer_auth(token).json(&body);
    let (status, out) = s.send(req).await;
    assert_eq!(status, StatusCode::OK, "{}: {out}", s.backend);
    out
}

/// A call of the agent (on the FROM side), posted, uploaded and analysed.
async fn agents_call(s: &TestServer, t: &Tenant, agent: &str) -> String {
    let body = json!({"call_data": [call("n1", "OUTGOING_CALL", true, Some(agent), None)]});
    let (status, out) = s.post_calls(&t.webhook, &body).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let entry = &out["audio_upload_urls"][0]["n1"];
    finish_uploaded(s, entry["url"].as_str().expect("url"), vec![1u8; 64]).await;
    entry["call_id"].as_str().expect("id").into()
}

fn header_of(message: &Value) -> &str {
    message["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default()
}

fn mails_to<'a>(all: &'a [Value], to: &str) -> Vec<&'a Value> {
    all.iter().filter(|m| m["to"] == to).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysed_and_swapped_calls_reach_slack_and_e_mail_once_each() {
    let Some(python) = python_path() else { return };
    let port = free_port();
    let smtp = Smtp::start(&python, port).await;
    let slack = Slack::start().await;
    for s in servers_with_mailer(mailer(port)).await {
        let _runner = start_runner(&s, vec![Duration::ZERO; 3]);
        let b = s.backend;
        let t = s.tenant("acme").await;
        let (agent_mail, boss_mail) = (
            format!("agent-{b}@acme.example"),
            format!("boss-{b}@acme.example"),
        );
        let agent = s.user(&t, &agent_mail, true).await;
        let agent_token = s.login(&agent_mail, "agent password").await;
        let mine = put(
            &s,
            &agent_token,
            "/api/v1/me/notifications",
            json!({"email_on_completion": true}),
        )
        .await;
        assert_eq!(mine, json!({"email_on_completion": true}));
        let settings = put(
            &s,
            &t.admin_token,
            "/api/v1/email-notifications",
            json!({"recipients": [boss_mail.to_uppercase(), boss_mail]}),
        )
        .await;
        assert_eq!(
            settings,
            json!({"recipients": [boss_mail], "smtp_configured": true})
        );

        let ok_path = format!("/ok?{b}");
        let flaky_path = format!("/flaky?{b}");
        let ok = rule(&s, &t, json!({"name": "sales", "webhook_url": slack.url(&ok_path), "include_summary": true,
            "filters": {"user_ids": [agent], "event_types": ["OUTGOING_CALL"], "tags": ["first call"], "min_score": 0}})).await;
        let flaky = rule(
            &s,
            &t,
            json!({"name": "flaky", "webhook_url": slack.url(&flaky_path)}),
        )
        .await;
        let _skipped = rule(&s, &t, json!({"name": "vip only", "webhook_url": slack.url("/dead"), "filters": {"tags": ["vip"]}})).await;
        // A tag an auto-tag rule gives counts as the call's tag.
        let tagging = s
            .http
            .post(s.url("/api/v1/tag-rules"))
            .bearer_auth(&t.admin_token)
            .json(&json!({"name": "Emma", "keywords": ["emma"], "tag": "asked for Emma"}));
        assert_eq!(s.send(tagging).await.0, StatusCode::CREATED);
        let auto_path = format!("/ok?auto-{b}");
        let _auto = rule(
            &s,
            &t,
            json!({"name": "auto tag", "webhook_url": slack.url(&auto_path),
            "filters": {"tags": ["asked for Emma"]}}),
        )
        .await;

        let call_id = agents_call(&s, &t, &agent).await;
        let link = format!("{}/calls/{call_id}", s.base);
        // Query strings keep the backends apart on one fake Slack.
        let posts = |path: &str| slack.posts(path);
        let first = eventually("the Slack message", || async {
            posts(&ok_path).first().cloned()
        })
        .await;
        assert_eq!(
            header_of(&first),
            "通話の解析が完了しました: Agent (0311112222) → +81322223333"
        );
        let fields = first["blocks"][1]["fields"].to_string();
        for fact in [
            "2026-01-05 10:00 (+09:00)",
            "3:53",
            "first call",
            "OUTGOING_CALL",
        ] {
            assert!(fields.contains(fact), "{fact} in {fields}");
        }
        let summary = first["blocks"][2]["text"]["text"]
            .as_str()
            .expect("summary");
        assert!(
            summary.contains("(User)") || summary.contains("(Customer)"),
            "{summary}"
        );
        assert_eq!(first["blocks"][3]["elements"][0]["url"], link.as_str());
        let tagged = eventually("the auto tag's Slack message", || async {
            posts(&auto_path).first().cloned()
        })
        .await;
        let fields = tagged["blocks"][1]["fields"].to_string();
        assert!(fields.contains("asked for Emma"), "{fields}");
        // The flaky target: two 503s, then delivered.
        eventually("three posts to the flaky rule", || async {
            (posts(&flaky_path).len() >= 3).then_some(())
        })
        .await;
        let flaky_message = &posts(&flaky_path)[0];
        assert_eq!(
            flaky_message["blocks"].as_array().map(Vec::len),
            Some(3),
            "no summary asked"
        );

        let mails = eventually("two e-mails", || async {
            let all = smtp.messages(&python);
            let got = (
                mails_to(&all, &agent_mail).len(),
                mails_to(&all, &boss_mail).len(),
            );
            (got == (1, 1)).then_some(all)
        })
        .await;
        let mail = mails_to(&mails, &agent_mail)[0];
        assert_eq!(
            mail["subject"],
            "[Kiku] 通話の解析が完了しました: Agent (0311112222) → +81322223333"
        );
        let head = mail["head"].as_str().expect("head");
        assert!(
            head.lines()
                .any(|l| l.starts_with("Subject: [Kiku] =?utf-8?b?")),
            "RFC 2047: {head}"
        );
        assert_eq!(mail["from"], "Kiku <kiku@acme.example>");
        assert_eq!(mail["type"], "multipart/alternative");
        let parts = mail["parts"].as_array().expect("parts");
        assert_eq!(
            parts.iter().map(|p| p["type"].clone()).collect::<Vec<_>>(),
            [json!("text/plain"), json!("text/html")]
        );
        for p in parts {
            assert_eq!(p["charset"], "utf-8");
            assert!(p["body"].as_str().expect("body").contains(&link), "{p}");
        }
        assert!(parts[0]["body"]
            .as_str()
            .expect("text")
            .contains("スコア: "));
        assert!(parts[1]["body"]
            .as_str()
            .expect("html")
            .contains(&format!("<a href=\"{link}\">")));

        // A swap: a new event, a second message and e-mail saying so.
        let swap = s
            .http
            .post(s.url(&format!("/api/v1/calls/{call_id}/swap")))
            .bearer_auth(&agent_token);
        assert_eq!(s.send(swap).await.0, StatusCode::OK);
        let second = eventually("the swap's Slack message", || async {
            posts(&ok_path).get(1).cloned()
        })
        .await;
        assert_eq!(
            header_of(&second),
            "ユーザーと顧客を入れ替えました: Agent (0311112222) → +81322223333"
        );
        assert_ne!(second["blocks"][2], first["blocks"][2], "the new summary");
        let mails = eventually("the swap's e-mails", || async {
            let all = smtp.messages(&python);
            (mails_to(&all, &agent_mail).len() == 2 && mails_to(&all, &boss_mail).len() == 2)
                .then_some(all)
        })
        .await;
        // Found by subject: the Maildir's file names do not sort by arrival within a second
        // (Python's `mailbox` writes the microseconds unpadded).
        let boss_mails = mails_to(&mails, &boss_mail);
        let swap_subject =
            "[Kiku] ユーザーと顧客を入れ替えました: Agent (0311112222) → +81322223333";
        let swapped = boss_mails
            .iter()
            .find(|m| m["subject"] == swap_subject)
            .expect("the swap's e-mail");
        let analysed = boss_mails
            .iter()
            .find(|m| m["subject"] != swap_subject)
            .expect("the analysis's e-mail");
        assert_ne!(swapped["message_id"], analysed["message_id"]);

        // Every notification of the call, one entry per (target, event).
        let path = format!("/api/v1/calls/{call_id}/notifications");
        let mut items = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let (_, body) = s.get(&path, &t.admin_token).await;
            items = body["items"].as_array().cloned().unwrap_or_default();
            let settled = |i: &Value| i["outcome"] != "pending" && i["outcome"] != "retrying";
            // Two events × (three Slack rules that match, one that does not, two e-mails).
            if items.len() == 12 && items.iter().all(settled) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let count = |channel: &str, outcome: &str| {
            items
                .iter()
                .filter(|i| i["channel"] == channel && i["outcome"] == outcome)
                .count()
        };
        assert_eq!(
            (
                count("slack", "delivered"),
                count("slack", "skipped"),
                count("email", "delivered")
            ),
            (6, 2, 4),
            "{items:?}"
        );
        let flaky_first = items
            .iter()
            .find(|i| i["target"]["slack_rule_id"] == flaky.as_str() && i["attempts"] == 3)
            .expect("three attempts");
        assert_eq!(flaky_first["target"]["name"], "flaky");
        assert!(items
            .iter()
            .any(|i| i["target"]["slack_rule_id"] == ok.as_str()));
        assert!(
            !serde_json::to_string(&items)
                .expect("json")
                .contains("/flaky"),
            "no webhook URL shown"
        );
        let log = s
            .get(
                &format!("/api/v1/slack-rules/{flaky}/deliveries"),
                &t.admin_token,
            )
            .await
            .1;
        let mut seen: Vec<(u64, Option<u64>, String)> = log["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|a| a["event_id"] == flaky_first["event_id"])
            .map(|a| {
                (
                    a["attempt"].as_u64().unwrap_or(0),
                    a["status"].as_u64(),
                    a["outcome"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                (1, Some(503), "retrying".into()),
                (2, Some(503), "retrying".into()),
                (3, Some(200), "delivered".into())
            ]
        );

        // An admin replays the first event to the flaky rule and to one address: the same
        // event id again, logged as replays.
        let event = flaky_first["event_id"].as_str().expect("event");
        let replay = |path: &str, body: Value| {
            s.http
                .post(s.url(path))
                .bearer_auth(&t.admin_token)
                .json(&body)
        };
        let (status, out) = s
            .send(replay(
                &format!("/api/v1/slack-rules/{flaky}/replay"),
                json!({"event_id": event}),
            ))
            .await;
        assert_eq!(
            (status, out),
            (StatusCode::ACCEPTED, json!({"replaying": 1}))
        );
        let (status, out) = s
            .send(replay(
                "/api/v1/email-notifications/replay",
                json!({"event_id": event, "to": boss_mail}),
            ))
            .await;
        assert_eq!(
            (status, out),
            (StatusCode::ACCEPTED, json!({"replaying": 1}))
        );
        let again = eventually("the replayed post", || async {
            posts(&flaky_path).get(4).cloned()
        })
        .await;
        assert_eq!(header_of(&again), header_of(flaky_message));
        eventually("the replayed e-mail", || async {
            (mails_to(&smtp.messages(&python), &boss_mail).len() == 3).then_some(())
        })
        .await;
        let replays = eventually("replays in the logs", || async {
            let slack_log = s
                .get(
                    &format!("/api/v1/slack-rules/{flaky}/deliveries"),
                    &t.admin_token,
                )
                .await
                .1;
            let mail_log = s
                .get("/api/v1/email-notifications/deliveries", &t.admin_token)
                .await
                .1;
            let replayed = |log: &Value| {
                log["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|a| {
                        a["replay"] == true && a["outcome"] == "delivered" && a["event_id"] == event
                    })
                    .count()
            };
            (replayed(&slack_log) == 1 && replayed(&mail_log) == 1).then_some(())
        });
        replays.await;
        // Only admins see the settings and the call's notifications.
        assert_eq!(s.get(&path, &agent_token).await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            s.get("/api/v1/slack-rules", &agent_token).await.0,
            StatusCode::FORBIDDEN
        );
    }
}

const MAIL_LOG: &str = "/api/v1/email-notifications/deliveries";

fn rule_log(rule: &str) -> String {
    format!("/api/v1/slack-rules/{rule}/deliveries")
}

/// The newest attempt of an attempt log.
async fn latest_attempt(s: &TestServer, token: &str, log: &str) -> Option<Value> {
    let (_, page) = s.get(log, token).await;
    page["items"].as_array().and_then(|i| i.first().cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_smtp_server_and_slacks_429_are_waited_out() {
    let Some(python) = python_path() else { return };
    let port = free_port();
    let slack = Slack::start().await;
    let servers = servers_with_mailer(mailer(port)).await;
    let mut runners = Vec::new();
    let mut waiting = Vec::new();
    for s in &servers {
        // Retries a minute apart (±20 %): the manual clock decides when they are due.
        runners.push(start_runner(s, vec![Duration::from_secs(60); 3]));
        let t = s.tenant("acme").await;
        let boss = format!("boss-{}@acme.example", s.backend);
        put(
            s,
            &t.admin_token,
            "/api/v1/email-notifications",
            json!({"recipients": [boss]}),
        )
        .await;
        let limited = rule(s, &t, json!({"name": "limited", "webhook_url": slack.url(&format!("/limited?{}", s.backend))})).await;
        let agent = s
            .user(&t, &format!("agent-{}@acme.example", s.backend), true)
            .await;
        agents_call(s, &t, &agent).await;
        waiting.push((t, limited));
    }
    // Nothing listens on the SMTP port yet, Slack asks for 600 s: both wait, in the log.
    for (s, (t, limited)) in servers.iter().zip(&waiting) {
        let mail = eventually("the failed e-mail attempt", || async {
            latest_attempt(s, &t.admin_token, MAIL_LOG).await
        })
        .await;
        assert_eq!(
            (
                mail["attempt"].clone(),
                mail["status"].clone(),
                mail["outcome"].clone()
            ),
            (json!(1), Value::Null, json!("retrying")),
            "{mail}"
        );
        assert!(
            mail["error"].as_str().expect("error").starts_with("SMTP: "),
            "{mail}"
        );
        let post = eventually("the rate-limited post", || async {
            latest_attempt(s, &t.admin_token, &rule_log(limited)).await
        })
        .await;
        assert_eq!(
            (post["status"].clone(), post["outcome"].clone()),
            (json!(429), json!("retrying"))
        );
    }
    let _smtp = Smtp::start(&python, port).await;
    for s in &servers {
        s.clock.advance(time::Duration::seconds(120));
    }
    for (s, (t, limited)) in servers.iter().zip(&waiting) {
        eventually("the e-mail delivered on its second attempt", || async {
            let first = latest_attempt(s, &t.admin_token, MAIL_LOG).await?;
            (first["attempt"] == 2 && first["outcome"] == "delivered" && first["status"] == 250)
                .then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let log = s
            .get(
                &format!("/api/v1/slack-rules/{limited}/deliveries"),
                &t.admin_token,
            )
            .await
            .1;
        assert_eq!(
            log["items"].as_array().map(Vec::len),
            Some(1),
            "Retry-After not yet over: {log}"
        );
    }
    for s in &servers {
        s.clock.advance(time::Duration::seconds(600));
    }
    for (s, (t, limited)) in servers.iter().zip(&waiting) {
        eventually("the post after Retry-After", || async {
            let first = latest_attempt(s, &t.admin_token, &rule_log(limited)).await?;
            (first["attempt"] == 2 && first["status"] == 200).then_some(())
        })
        .await;
    }
    drop(runners);
}

#[tokio::test]
async fn operators_manage_slack_rules_and_e_mail_from_the_command_line() {
    for db in kiku_storage::test_support::test_databases().await {
        let dir = tempfile::tempdir().expect("dir");
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_DATABASE_URL", db.url.clone()),
            ("KIKU_OUTGOING_ALLOW_NETWORKS", "127.0.0.0/8".to_string()),
            ("KIKU_SMTP_HOST", "127.0.0.1".to_string()),
            ("KIKU_SMTP_SECURITY", "none".to_string()),
            ("KIKU_SMTP_PASSWORD", "hunter2".to_string()),
            ("KIKU_SMTP_USERNAME", "kiku".to_string()),
        ];
        let run = |args: &[&str]| crate::support::run_kiku(args, &env);
        let company = crate::support::cli_company(&env);
        let c = company["company_id"].as_str().expect("company").to_string();
        let admin = company["admin_user_id"]
            .as_str()
            .expect("admin")
            .to_string();
        let secret_url = "http://127.0.0.1:9/services/T0/B0/s3cr3t";
        let (ok, created) = run(&[
            "slack-rule",
            "create",
            "--company",
            &c,
            "--name",
            "sales",
            "--webhook-url",
            secret_url,
            "--include-summary",
            "true",
            "--filters",
            r#"{"min_score": 60}"#,
        ]);
        assert!(ok, "{created}");
        assert_eq!(created["webhook_host"], "127.0.0.1");
        assert_eq!(created["filters"]["min_score"], 60.0);
        let id = created["id"].as_str().expect("id").to_string();
        let (ok, updated) = run(&[
            "slack-rule",
            "update",
            "--company",
            &c,
            "--id",
            &id,
            "--enabled",
            "false",
        ]);
        assert!(ok && updated["enabled"] == false, "{updated}");
        let (ok, list) = run(&["slack-rule", "list", "--company", &c]);
        assert!(ok, "{list}");
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
        assert!(!list.to_string().contains("s3cr3t"), "write-only: {list}");
        let (ok, refused) = run(&[
            "slack-rule",
            "create",
            "--company",
            &c,
            "--name",
            "x",
            "--webhook-url",
            "http://10.0.0.1/hook",
        ]);
        assert!(!ok && refused["error"]["code"] == "unsafe_url", "{refused}");
        let (ok, bad) = run(&[
            "slack-rule",
            "create",
            "--company",
            &c,
            "--name",
            "x",
            "--webhook-url",
            secret_url,
            "--filters",
            r#"{"min_score": 101}"#,
        ]);
        assert!(!ok && bad["error"]["code"] == "invalid_request", "{bad}");

        let (ok, set) = run(&[
            "email-notifications",
            "set",
            "--company",
            &c,
            "--recipient",
            "A@acme.example",
            "--recipient",
            "b@acme.example",
        ]);
        assert!(ok, "{set}");
        assert_eq!(
            set,
            json!({"recipients": ["a@acme.example", "b@acme.example"], "smtp_configured": true})
        );
        let (ok, choice) = run(&[
            "email-notifications",
            "user",
            "--company",
            &c,
            "--user",
            &admin,
            "--email-on-completion",
            "true",
        ]);
        assert!(
            ok && choice == json!({"email_on_completion": true}),
            "{choice}"
        );
        let (ok, shown) = run(&["email-notifications", "show", "--company", &c]);
        assert!(ok && !shown.to_string().contains("hunter2"), "{shown}");
        let (ok, deleted) = run(&["slack-rule", "delete", "--company", &c, "--id", &id]);
        assert!(ok && deleted == json!({"deleted": true}), "{deleted}");
    }
}
