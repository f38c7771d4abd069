//! Secrets at rest through the running server, on both backends: after a key rotation and
//! `kiku secrets reencrypt`, a server holding only the new key still signs deliveries with
//! the endpoint's secret and still reads the Slack and CRM credentials; the Incoming
//! Webhook URL is shown once, then masked, and still accepted.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::outgoing_webhooks::post;
use crate::receiver;
use crate::support::{beside_with_keys, run_kiku, servers};
use kiku::app::outgoing_webhooks::{deliver_once, DeliveryRequest, DeliveryTarget};
use kiku_domain::outgoing_webhook::{Decision, DeliveryPolicy};
use kiku_storage::test_support::TEST_SECRETS_KEY;
use kiku_storage::SecretKeys;

#[tokio::test]
async fn deliveries_slack_and_crm_work_after_a_rotation_and_reencrypt() {
    for s in servers().await {
        let r = receiver::start().await;
        let t = s.tenant("acme").await;
        let company: kiku_domain::CompanyId = t.company_id.parse().expect("company");
        let (status, endpoint) = post(
            &s,
            &t.admin_token,
            json!({"name": "E", "url": r.url("/ok")}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{endpoint}");
        let secret =
            kiku_notify::WebhookSecret::parse(endpoint["secret"].as_str().expect("secret"))
                .expect("secret");
        let slack_url = r.url("/slack/T0/B0/hook-secret");
        let create = |path: &str, body: Value| {
            s.http
                .post(s.url(path))
                .bearer_auth(&t.admin_token)
                .json(&body)
        };
        let (status, rule) = s
            .send(create(
                "/api/v1/slack-rules",
                json!({"name": "S", "webhook_url": slack_url}),
            ))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{rule}");
        let (status, crm) = s
            .send(create(
                "/api/v1/crm-connections",
                json!({"kind": "hubspot", "name": "H", "base_url": r.url("/hubspot"), "access_token": "crm-token"}),
            ))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{crm}");

        // The rotation: a new current key, the old one kept readable, then reencrypt.
        let new_key = SecretKeys::generate_base64();
        let dir = tempfile::tempdir().expect("dir");
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            (
                "KIKU_DATABASE_URL",
                s.database_url().expect("url").to_string(),
            ),
            ("KIKU_SECRETS_KEY", new_key.clone()),
            ("KIKU_SECRETS_OLD_KEYS", TEST_SECRETS_KEY.to_string()),
        ];
        let (ok, counts) = run_kiku(&["secrets", "reencrypt"], &env);
        assert!(ok, "{counts}");
        let keys = SecretKeys::from_base64(&new_key, &[]).expect("key");
        assert_eq!(
            counts,
            json!({"key_id": keys.current_id(), "reencrypted": 3, "already_current": 0,
                   "encrypted_from_plain_text": 0, "webhook_secrets_hashed": 0}),
            "{}",
            s.backend
        );
        // Once more: nothing left under the old key.
        let (_, again) = run_kiku(&["secrets", "reencrypt"], &env);
        assert_eq!(
            (
                again["reencrypted"].clone(),
                again["already_current"].clone()
            ),
            (json!(0), json!(3))
        );
        // Each run is in the company's audit log, by the operator, with its counts.
        let (ok, log) = run_kiku(
            &[
                "audit-log",
                "list",
                "--company",
                &t.company_id,
                "--action",
                "secrets.reencrypt",
            ],
            &env,
        );
        assert!(ok, "{log}");
        let items = log["items"].as_array().expect("items");
        assert_eq!(items.len(), 2, "{log}");
        assert_eq!(items[1]["via"], "cli", "{log}");
        assert_eq!(items[1]["details"]["reencrypted"], 3, "{log}");
        assert_eq!(items[0]["details"]["already_current"], 3, "{log}");
        // Without the key the secrets were written with, the CLI stops with a clear error.
        let (ok, refused) = run_kiku(&["user", "list", "--company", &t.company_id], &env[..2]);
        assert!(!ok);
        assert!(
            refused["error"]["message"]
                .as_str()
                .expect("message")
                .contains(keys.current_id()),
            "{refused}"
        );

        // A server holding only the new key.
        let s2 = beside_with_keys(&s, keys).await;
        let stored = s2
            .app
            .store
            .outgoing_webhook(
                company,
                endpoint["id"].as_str().expect("id").parse().expect("id"),
            )
            .await
            .expect("read")
            .expect("endpoint");
        let target = DeliveryTarget::from_stored(&stored, s2.app.clock.now()).expect("target");
        let body = br#"{"type":"ping"}"#;
        let request = DeliveryRequest {
            endpoint: &stored,
            event_id: "evt_rotated",
            call_id: None,
            body,
            attempt: 1,
            replay: false,
        };
        let out = deliver_once(&s2.app, &DeliveryPolicy::default(), request)
            .await
            .expect("recorded");
        assert_eq!(out.decision, Decision::Delivered, "{:?}", out.attempt);
        let got = r
            .received()
            .into_iter()
            .find(|g| &g.body[..] == body)
            .expect("delivered");
        let ts: i64 = got.headers["webhook-timestamp"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("ts");
        assert_eq!(
            got.headers["webhook-signature"].to_str().expect("ascii"),
            secret.sign("evt_rotated", ts, body),
            "{}",
            s.backend
        );
        drop(target);
        let rule = s2
            .app
            .store
            .slack_rule(
                company,
                rule["id"].as_str().expect("id").parse().expect("id"),
            )
            .await
            .expect("read")
            .expect("rule");
        assert_eq!(rule.webhook_url, slack_url);
        let crm = s2
            .app
            .store
            .crm_connection(
                company,
                crm["id"].as_str().expect("id").parse().expect("id"),
            )
            .await
            .expect("read")
            .expect("crm");
        assert_eq!(crm.credentials["access_token"], "crm-token");
    }
}

#[tokio::test]
async fn the_webhook_url_is_shown_once_then_masked_and_still_accepted() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let (status, shown) = s.get("/api/v1/incoming-webhook", &t.admin_token).await;
        assert_eq!(status, StatusCode::OK);
        let masked = format!("{}/webhooks/incoming/{}/********", s.base, t.company_id);
        assert_eq!(shown["masked_url"], json!(masked));
        assert!(shown.get("url").is_none(), "{shown}");
        let secret = t.webhook.rsplit('/').next().expect("secret");
        assert!(!shown.to_string().contains(secret));
        // The full URL still works, a wrong secret of the same shape does not.
        let (status, _) = s.post_calls(&t.webhook, &json!({"call_data": []})).await;
        assert_ne!(status, StatusCode::NOT_FOUND);
        let wrong = format!(
            "{}{}",
            &t.webhook[..t.webhook.len() - 1],
            if t.webhook.ends_with('0') { "1" } else { "0" }
        );
        let (status, _) = s.post_calls(&wrong, &json!({"call_data": []})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Deleted and created again: the answer to the creation is the one with `url`.
        let delete = s
            .http
            .delete(s.url("/api/v1/incoming-webhook"))
            .bearer_auth(&t.admin_token);
        assert_eq!(s.send(delete).await.0, StatusCode::NO_CONTENT);
        let create = s
            .http
            .post(s.url("/api/v1/incoming-webhook"))
            .bearer_auth(&t.admin_token);
        let (status, created) = s.send(create).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(created["masked_url"], json!(masked));
        let url = created["url"].as_str().expect("url shown once");
        assert_ne!(url, t.webhook);
        let (status, _) = s.post_calls(url, &json!({"call_data": []})).await;
        assert_ne!(status, StatusCode::NOT_FOUND);
    }
}
