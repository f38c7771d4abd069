//! Outgoing webhook endpoints through real HTTP against real local receivers (sockets,
//! not mocks of the client), on both backends; and the CLI.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::receiver;
use crate::support::{
    run_kiku, servers, servers_with_outgoing, test_outgoing_settings, TestServer,
};
use kiku_notify::ClientSettings;

pub const PATH: &str = "/api/v1/outgoing-webhooks";

pub async fn post(s: &TestServer, token: &str, body: Value) -> (StatusCode, Value) {
    s.send(s.http.post(s.url(PATH)).bearer_auth(token).json(&body))
        .await
}

#[tokio::test]
async fn endpoints_are_challenged_listed_without_secrets_rotated_and_deleted() {
    for s in servers().await {
        let r = receiver::start().await;
        let t = s.tenant("acme").await;
        let tok = &t.admin_token;
        let (status, created) = post(
            &s,
            tok,
            json!({
                "name": "CRM", "url": r.url("/ok"),
                "headers": {"Authorization": "Bearer very-secret-token"},
                "payload": {"source": "kiku"}, "exclude_keywords": true
            }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{}: {created}", s.backend);
        assert_eq!(r.received().len(), 1, "challenged once");
        let secret = created["secret"].as_str().expect("secret").to_string();
        assert!(secret.starts_with("whsec_"));
        assert!(kiku_notify::WebhookSecret::parse(&secret).is_ok());
        let id = created["id"].as_str().expect("id").to_string();
        assert_eq!(
            created["events"],
            json!(["call_analysis_completed", "call_analysis_failed"])
        );
        assert_eq!(created["header_names"], json!(["Authorization"]));
        assert_eq!(
            (
                created["enabled"].clone(),
                created["exclude_keywords"].clone(),
                created["exclude_phrases"].clone()
            ),
            (json!(true), json!(true), json!(false))
        );

        let (status, list) = s.get(PATH, tok).await;
        assert_eq!(status, StatusCode::OK);
        let text = list.to_string();
        assert!(
            !text.contains(&secret)
                && !text.contains("whsec_")
                && !text.contains("very-secret-token"),
            "{text}"
        );
        assert_eq!(list["items"][0]["id"], id.as_str());
        assert_eq!(list["items"][0]["header_names"], json!(["Authorization"]));
        let (status, shown) = s.get(&format!("{PATH}/{id}"), tok).await;
        assert_eq!(status, StatusCode::OK);
        assert!(shown.get("secret").is_none() && !shown.to_string().contains("very-secret-token"));

        // A change that keeps the URL is not challenged again; a new URL must pass it.
        let patch = |body: Value| {
            s.http
                .patch(s.url(&format!("{PATH}/{id}")))
                .bearer_auth(tok)
                .json(&body)
        };
        let (status, renamed) = s
            .send(patch(
                json!({"name": "CRM 2", "events": ["call_analysis_rescored"]}),
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{renamed}");
        assert_eq!(
            (renamed["name"].clone(), renamed["events"].clone()),
            (json!("CRM 2"), json!(["call_analysis_rescored"]))
        );
        assert_eq!(r.received().len(), 1);
        let (status, refused) = s.send(patch(json!({"url": r.url("/wrong-body")}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["code"], "challenge_failed");
        assert_eq!(
            s.get(&format!("{PATH}/{id}"), tok).await.1["url"],
            r.url("/ok"),
            "URL kept"
        );
        assert_eq!(
            r.received().last().expect("challenge").headers["authorization"],
            "Bearer very-secret-token",
            "challenged with the endpoint's headers"
        );

        let (status, rotated) = s
            .send(
                s.http
                    .post(s.url(&format!("{PATH}/{id}/secret")))
                    .bearer_auth(tok),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let new_secret = rotated["secret"].as_str().expect("secret");
        assert!(new_secret.starts_with("whsec_") && new_secret != secret);
        assert!(rotated["previous_secret_until"].is_string());
        let stored = s
            .app
            .store
            .outgoing_webhook(
                t.company_id.parse().expect("company"),
                id.parse().expect("id"),
            )
            .await
            .expect("store")
            .expect("found");
        assert_eq!(
            stored.signing_secrets(s.app.clock.now()),
            vec![new_secret, secret.as_str()],
            "both sign for 24 h"
        );

        let (status, log) = s.get(&format!("{PATH}/{id}/deliveries"), tok).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        assert_eq!(log, json!({"items": [], "next_before": null}));

        let (status, _) = s
            .send(
                s.http
                    .delete(s.url(&format!("{PATH}/{id}")))
                    .bearer_auth(tok),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            s.get(&format!("{PATH}/{id}"), tok).await.0,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn a_wrong_challenge_answer_is_a_422_that_says_what_came_back() {
    for s in servers().await {
        let r = receiver::start().await;
        let t = s.tenant("acme").await;
        for (path, expect) in [
            ("/wrong-body", "not-the-challenge"),
            ("/wrong-type", "application/json"),
            ("/error", "status 500"),
            ("/redirect", "status 302"),
            ("/hang", "timed out"),
        ] {
            let (status, body) =
                post(&s, &t.admin_token, json!({"name": "x", "url": r.url(path)})).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
            assert_eq!(body["code"], "challenge_failed", "{path}");
            assert!(
                body["message"].as_str().expect("message").contains(expect),
                "{path}: {body}"
            );
        }
        assert_eq!(
            s.get(PATH, &t.admin_token).await.1["items"],
            json!([]),
            "nothing saved"
        );
    }
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_request() {
    for s in servers().await {
        let r = receiver::start().await;
        let t = s.tenant("acme").await;
        let url = r.url("/ok");
        for (body, says) in [
            (
                json!({"name": "x", "url": url, "headers": {"User-Agent": "me"}}),
                "User-Agent",
            ),
            (
                json!({"name": "x", "url": url, "headers": {"content-type": "text/xml"}}),
                "content-type",
            ),
            (
                json!({"name": "x", "url": url, "headers": {"Webhook-Signature": "v1,x"}}),
                "Webhook-Signature",
            ),
            (
                json!({"name": "x", "url": url, "headers": {"X-A": 1}}),
                "string values",
            ),
            (
                json!({"name": "x", "url": url, "payload": {"event_id": "mine"}}),
                "event_id",
            ),
            (json!({"name": "x", "url": url, "events": []}), "events"),
            (
                json!({"name": "x", "url": url, "events": ["call_swapped"]}),
                "events",
            ),
            (json!({"name": "", "url": url}), "name"),
            (json!({"name": "x", "url": "ftp://example.com/"}), "http"),
        ] {
            let (status, answer) = post(&s, &t.admin_token, body.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            assert_eq!(answer["code"], "invalid_request");
            assert!(
                answer["message"].as_str().expect("message").contains(says),
                "{answer}"
            );
            assert!(
                !answer.to_string().contains("v1,x"),
                "header values are not echoed"
            );
        }
        assert!(r.received().is_empty());
    }
}

#[tokio::test]
async fn private_and_link_local_addresses_are_refused_without_connecting() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        for url in [
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://[::ffff:192.168.1.1]/",
            "http://100.64.0.1/",
            "http://0.0.0.0:80/",
        ] {
            let (status, body) = post(&s, &t.admin_token, json!({"name": "x", "url": url})).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
            assert_eq!(body["code"], "unsafe_url", "{url}");
            assert!(
                body["message"]
                    .as_str()
                    .expect("message")
                    .contains("outgoing_allow_networks"),
                "{body}"
            );
        }
    }
}

fn no_allow_list() -> ClientSettings {
    ClientSettings {
        allow_networks: Vec::new(),
        ..test_outgoing_settings()
    }
}

#[tokio::test]
async fn loopback_is_refused_unless_the_operator_allows_it() {
    for s in servers_with_outgoing(no_allow_list).await {
        let r = receiver::start().await;
        let t = s.tenant("acme").await;
        let port = r.addr.expect("addr").port();
        for url in [
            r.url("/ok"),
            format!("http://localhost:{port}/ok"),
            format!("http://[::ffff:127.0.0.1]:{port}/ok"),
        ] {
            let (status, body) = post(&s, &t.admin_token, json!({"name": "x", "url": url})).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
            assert_eq!(body["code"], "unsafe_url", "{url}: {body}");
        }
        assert!(r.received().is_empty(), "no packet reached the receiver");
    }
}

#[tokio::test]
async fn only_admins_of_the_company_manage_endpoints() {
    for s in servers().await {
        let r = receiver::start().await;
        let a = s.tenant("acme").await;
        let b = s.tenant("other").await;
        let (_, created) = post(
            &s,
            &a.admin_token,
            json!({"name": "x", "url": r.url("/ok")}),
        )
        .await;
        let id = created["id"].as_str().expect("id");
        s.user(&a, "agent@acme.example", false).await;
        let agent = s.login("agent@acme.example", "agent password").await;
        assert_eq!(s.get(PATH, &agent).await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            post(&s, &agent, json!({"name": "x", "url": r.url("/ok")}))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            s.get(&format!("{PATH}/{id}"), &b.admin_token).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s.send(
                s.http
                    .post(s.url(&format!("{PATH}/{id}/secret")))
                    .bearer_auth(&b.admin_token)
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s.send(
                s.http
                    .delete(s.url(&format!("{PATH}/{id}")))
                    .bearer_auth(&b.admin_token)
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s.get(&format!("{PATH}/not-an-id"), &a.admin_token).await.0,
            StatusCode::NOT_FOUND
        );
    }
}

// Multi-threaded: the CLI runs as a blocking child process while the receiver answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_manage_endpoints_from_the_command_line() {
    let r = receiver::start().await;
    for db in kiku_storage::test_support::test_databases().await {
        let dir = tempfile::tempdir().expect("dir");
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_DATABASE_URL", db.url.clone()),
            ("KIKU_OUTGOING_ALLOW_NETWORKS", "127.0.0.0/8".to_string()),
        ];
        let run = |args: &[&str]| run_kiku(args, &env);
        let (ok, company) = run(&[
            "company",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            "boss@acme.example",
            "--admin-password",
            "long enough",
        ]);
        assert!(ok, "{company}");
        let c = company["company_id"].as_str().expect("company").to_string();
        let url = r.url("/ok");
        let (ok, created) = run(&[
            "outgoing-webhook",
            "create",
            "--company",
            &c,
            "--name",
            "CRM",
            "--url",
            &url,
            "--headers",
            r#"{"X-Key":"k3y"}"#,
            "--events",
            "call_analysis_completed,call_analysis_rescored",
        ]);
        assert!(ok, "{created}");
        assert!(created["secret"]
            .as_str()
            .expect("secret")
            .starts_with("whsec_"));
        let id = created["id"].as_str().expect("id").to_string();
        let (ok, list) = run(&["outgoing-webhook", "list", "--company", &c]);
        assert!(
            ok && !list.to_string().contains("whsec_") && !list.to_string().contains("k3y"),
            "{list}"
        );
        let (ok, updated) = run(&[
            "outgoing-webhook",
            "update",
            "--company",
            &c,
            "--id",
            &id,
            "--enabled",
            "false",
        ]);
        assert!(ok && updated["enabled"] == false, "{updated}");
        let (ok, rotated) = run(&[
            "outgoing-webhook",
            "rotate-secret",
            "--company",
            &c,
            "--id",
            &id,
        ]);
        assert!(ok && rotated["secret"] != created["secret"], "{rotated}");
        let (ok, shown) = run(&["outgoing-webhook", "show", "--company", &c, "--id", &id]);
        assert!(ok && shown["name"] == "CRM", "{shown}");
        let (ok, refused) = run(&[
            "outgoing-webhook",
            "create",
            "--company",
            &c,
            "--name",
            "x",
            "--url",
            "http://169.254.169.254/",
        ]);
        assert!(!ok && refused["error"]["code"] == "unsafe_url", "{refused}");
        let (ok, deleted) = run(&["outgoing-webhook", "delete", "--company", &c, "--id", &id]);
        assert!(ok && deleted["deleted"] == true, "{deleted}");
        let (ok, bad) = run(&["outgoing-webhook", "list", "--company", &c]);
        assert!(ok && bad["items"] == json!([]), "{bad}");
    }
    // The setting is validated at start.
    let dir = tempfile::tempdir().expect("dir");
    let (ok, out) = run_kiku(
        &["migrate"],
        &[
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_OUTGOING_ALLOW_NETWORKS", "10.0.0.0/33".to_string()),
        ],
    );
    assert!(
        !ok && out["error"]["code"] == "invalid_configuration",
        "{out}"
    );
}
