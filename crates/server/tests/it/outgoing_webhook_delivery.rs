//! One outgoing webhook delivery attempt (`deliver_once`, what the delivery runner calls)
//! against real local receivers, on both backends: signed body, decision, log, disabling.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::outgoing_webhooks::{post, PATH};
use crate::receiver;
use crate::support::{servers, TestServer};
use kiku::app::outgoing_webhooks::{
    deliver_once, DeliveryOutcome, DeliveryRequest, DeliveryTarget,
};
use kiku_domain::outgoing_webhook::{Decision, DeliveryPolicy, EventKind};
use kiku_notify::PayloadInput;

/// An endpoint stored directly, skipping the challenge (for receivers that fail on purpose).
async fn stored_endpoint(
    s: &TestServer,
    company: &str,
    url: String,
) -> kiku_storage::OutgoingWebhook {
    let new = kiku_storage::NewOutgoingWebhook {
        company_id: company.parse().expect("company"),
        name: "direct".into(),
        url,
        headers: json!({}),
        payload: json!({}),
        exclude_phrases: false,
        exclude_keywords: false,
        enabled: true,
        events: vec!["call_analysis_completed".into()],
        secret: kiku_notify::WebhookSecret::generate().reveal(),
        now: s.app.clock.now(),
    };
    s.app
        .store
        .create_outgoing_webhook(&new)
        .await
        .expect("stored")
}

fn short_policy() -> DeliveryPolicy {
    DeliveryPolicy {
        schedule: vec![std::time::Duration::from_millis(10); 2],
        ..DeliveryPolicy::default()
    }
}

async fn attempt(
    s: &TestServer,
    e: &kiku_storage::OutgoingWebhook,
    n: u32,
    body: &[u8],
) -> DeliveryOutcome {
    let req = DeliveryRequest {
        endpoint: e,
        event_id: "evt_1",
        call_id: None,
        body,
        attempt: n,
        replay: false,
    };
    deliver_once(&s.app, &short_policy(), req)
        .await
        .expect("delivered or not, recorded")
}

#[tokio::test]
async fn one_attempt_is_signed_decided_and_logged() {
    for s in servers().await {
        let r = receiver::start().await;
        let t = s.tenant("acme").await;
        let (_, created) = post(&s, &t.admin_token, json!({"name": "CRM", "url": r.url("/ok"), "payload": {"source": "kiku"}, "exclude_phrases": true})).await;
        let id = created["id"].as_str().expect("id");
        let secret = kiku_notify::WebhookSecret::parse(created["secret"].as_str().expect("secret"))
            .expect("secret");
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
        let target = DeliveryTarget::from_stored(&stored, s.app.clock.now()).expect("target");
        let detail = crate::support::fixture("call_analysis_completed_sample1.json")["call"]
            ["details"][0]
            .clone();
        let input = PayloadInput {
            call_id: "0184f502-8b66-4ab1-10d3-34c0049a9100",
            tenant_code: "acme",
            detail: &detail,
            event_id: "evt_1",
            event_type: EventKind::CallAnalysisCompleted,
            version: 1,
            previous_version: None,
        };
        let body = target.completed_body(input);
        let out = attempt(&s, &stored, 1, &body).await;
        assert_eq!(out.decision, Decision::Delivered, "{:?}", out.attempt);
        let got = r.received().pop().expect("delivered");
        assert_eq!(&got.body[..], &body[..]);
        let sent: Value = serde_json::from_slice(&got.body).expect("json");
        assert_eq!(
            (
                sent["source"].clone(),
                sent["call"]["details"][0]["phrases"].clone()
            ),
            (json!("kiku"), json!([]))
        );
        let ts: i64 = got.headers["webhook-timestamp"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("ts");
        assert_eq!(ts, s.app.clock.now().unix_timestamp());
        assert_eq!(
            got.headers["webhook-signature"].to_str().expect("ascii"),
            secret.sign("evt_1", ts, &body)
        );
        assert!(out.endpoint.expect("endpoint").last_success.is_some());
        let (status, log) = s
            .get(&format!("{PATH}/{id}/deliveries"), &t.admin_token)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (
                log["items"][0]["status"].clone(),
                log["items"][0]["event_id"].clone(),
                log["items"][0]["attempt"].clone()
            ),
            (json!(204), json!("evt_1"), json!(1))
        );

        // 410 disables the endpoint, and the admin sees why.
        let gone = stored_endpoint(&s, &t.company_id, r.url("/gone")).await;
        assert_eq!(
            attempt(&s, &gone, 1, b"{}").await.decision,
            Decision::DisableEndpoint
        );
        let (_, shown) = s.get(&format!("{PATH}/{}", gone.id), &t.admin_token).await;
        assert_eq!(shown["enabled"], false);
        assert!(
            shown["disabled_reason"]
                .as_str()
                .expect("reason")
                .contains("410"),
            "{shown}"
        );

        // 5xx is retried per the schedule, then given up; the log pages newest first.
        let failing = stored_endpoint(&s, &t.company_id, r.url("/error")).await;
        // Attempts a second apart: the log orders by time (ties by id).
        for n in 1..=2 {
            s.clock.advance(time::Duration::seconds(1));
            assert!(matches!(
                attempt(&s, &failing, n, b"{}").await.decision,
                Decision::Retry(_)
            ));
        }
        s.clock.advance(time::Duration::seconds(1));
        let last = attempt(&s, &failing, 3, b"{}").await;
        assert_eq!(last.decision, Decision::GaveUp);
        assert_eq!(
            last.endpoint.expect("endpoint").failing_since,
            Some(s.app.clock.now() - time::Duration::seconds(2)),
            "the first failure counts"
        );
        let (_, page) = s
            .get(
                &format!("{PATH}/{}/deliveries?limit=2", failing.id),
                &t.admin_token,
            )
            .await;
        assert_eq!(page["items"].as_array().expect("items").len(), 2);
        let next = page["next_before"].as_str().expect("more");
        let (_, rest) = s
            .get(
                &format!("{PATH}/{}/deliveries?limit=2&before={next}", failing.id),
                &t.admin_token,
            )
            .await;
        assert_eq!(rest["items"].as_array().expect("items").len(), 1);
        assert_eq!(
            (
                rest["items"][0]["attempt"].clone(),
                rest["items"][0]["status"].clone(),
                rest["next_before"].clone()
            ),
            (json!(1), json!(500), Value::Null)
        );
        assert_eq!(
            s.get(
                &format!("{PATH}/{}/deliveries?before=nonsense", failing.id),
                &t.admin_token
            )
            .await
            .0,
            StatusCode::UNPROCESSABLE_ENTITY
        );

        // Five days of failures without a success disable it.
        let failing = s
            .app
            .store
            .outgoing_webhook(failing.company_id, failing.id)
            .await
            .expect("store")
            .expect("found");
        s.clock.advance(time::Duration::days(5));
        let out = attempt(&s, &failing, 1, b"{}").await;
        let after = out.endpoint.expect("endpoint");
        assert!(!after.enabled);
        assert_eq!(
            after.disabled_reason.as_deref(),
            Some("no successful delivery for 5 days")
        );
    }
}
