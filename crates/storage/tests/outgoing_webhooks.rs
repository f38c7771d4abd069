//! The outgoing webhook storage contract, on every backend (SQLite always, PostgreSQL in CI).

use kiku_domain::outgoing_webhook::DeliveryJob;
use kiku_domain::{CallId, CompanyId, EventId, JobId, JobKind, OutgoingWebhookId};
use kiku_storage::test_support::test_databases;
use kiku_storage::*;
use serde_json::json;
use time::{Duration, OffsetDateTime};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time")
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(SqlStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in test_databases().await {
        let store = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.backend));
        test(store.clone()).await;
        store.close().await;
    }
}

async fn company(s: &SqlStore, email: &str) -> CompanyId {
    let admin = NewUser {
        company_id: CompanyId::new(),
        name: "Admin".into(),
        email: email.into(),
        password_hash: None,
        admin: true,
        use_incoming_webhook: false,
        created_at: t0(),
    };
    s.create_company("C", admin).await.expect("company").0.id
}

fn new_endpoint(company: CompanyId, name: &str, events: &[&str]) -> NewOutgoingWebhook {
    NewOutgoingWebhook {
        company_id: company,
        name: name.into(),
        url: "https://example.com/hook".into(),
        headers: json!({"Authorization": "Bearer x"}),
        payload: json!({"source": "kiku"}),
        exclude_phrases: false,
        exclude_keywords: true,
        enabled: true,
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: "whsec_one".into(),
        now: t0(),
    }
}

#[tokio::test]
async fn endpoints_are_scoped_by_company() {
    each_backend(|s| async move {
        let a = company(&s, "a@a.example").await;
        let b = company(&s, "b@b.example").await;
        let e = s
            .create_outgoing_webhook(&new_endpoint(a, "CRM", &["call_analysis_completed"]))
            .await
            .expect("create");
        assert_eq!(e.name, "CRM");
        assert_eq!(e.headers, json!({"Authorization": "Bearer x"}));
        assert_eq!(e.payload, json!({"source": "kiku"}));
        assert!(e.exclude_keywords && !e.exclude_phrases && e.enabled);
        assert_eq!(e.events, vec!["call_analysis_completed"]);
        assert_eq!((e.created_at, e.updated_at), (t0(), t0()));
        assert_eq!(s.outgoing_webhooks(a).await.expect("list"), vec![e.clone()]);
        assert!(s.outgoing_webhooks(b).await.expect("list").is_empty());
        assert_eq!(s.outgoing_webhook(b, e.id).await.expect("get"), None);
        assert!(s
            .update_outgoing_webhook(
                b,
                e.id,
                &OutgoingWebhookPatch {
                    name: Some("x".into()),
                    ..Default::default()
                },
                t0()
            )
            .await
            .expect("update")
            .is_none());
        assert!(!s.delete_outgoing_webhook(b, e.id).await.expect("delete"));
        assert!(s
            .rotate_outgoing_webhook_secret(b, e.id, "whsec_two", t0(), t0())
            .await
            .expect("rotate")
            .is_none());
        assert!(matches!(
            s.create_outgoing_webhook(&new_endpoint(
                CompanyId::new(),
                "X",
                &["call_analysis_completed"]
            ))
            .await,
            Err(StorageError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn updates_keep_what_the_patch_leaves_out() {
    each_backend(|s| async move {
        let a = company(&s, "a@a.example").await;
        let e = s
            .create_outgoing_webhook(&new_endpoint(a, "CRM", &["call_analysis_completed"]))
            .await
            .expect("create");
        let later = t0() + Duration::minutes(1);
        let patch = OutgoingWebhookPatch {
            url: Some("https://example.org/new".into()),
            headers: Some(json!({})),
            enabled: Some(false),
            events: Some(vec!["call_analysis_rescored".into()]),
            ..Default::default()
        };
        let u = s
            .update_outgoing_webhook(a, e.id, &patch, later)
            .await
            .expect("update")
            .expect("found");
        assert_eq!(u.url, "https://example.org/new");
        assert_eq!(u.headers, json!({}));
        assert_eq!(u.payload, e.payload);
        assert_eq!(u.name, "CRM");
        assert!(!u.enabled && u.exclude_keywords);
        assert_eq!(u.events, vec!["call_analysis_rescored"]);
        assert_eq!(u.updated_at, later);
        assert_eq!(u.secret, e.secret);
        assert!(s.delete_outgoing_webhook(a, e.id).await.expect("delete"));
        assert_eq!(s.outgoing_webhook(a, e.id).await.expect("get"), None);
    })
    .await;
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_a_while() {
    each_backend(|s| async move {
        let a = company(&s, "a@a.example").await;
        let e = s
            .create_outgoing_webhook(&new_endpoint(a, "CRM", &["call_analysis_completed"]))
            .await
            .expect("create");
        assert_eq!(e.signing_secrets(t0()), vec!["whsec_one"]);
        let until = t0() + Duration::hours(24);
        let r = s
            .rotate_outgoing_webhook_secret(a, e.id, "whsec_two", until, t0())
            .await
            .expect("rotate")
            .expect("found");
        assert_eq!(r.secret, "whsec_two");
        assert_eq!(r.previous_secret.as_deref(), Some("whsec_one"));
        assert_eq!(r.previous_secret_until, Some(until));
        assert_eq!(
            r.signing_secrets(t0() + Duration::hours(23)),
            vec!["whsec_two", "whsec_one"]
        );
        assert_eq!(r.signing_secrets(until), vec!["whsec_two"]);
    })
    .await;
}

#[tokio::test]
async fn only_enabled_subscribers_get_an_event() {
    each_backend(|s| async move {
        let a = company(&s, "a@a.example").await;
        let both = s
            .create_outgoing_webhook(&new_endpoint(
                a,
                "both",
                &["call_analysis_completed", "call_analysis_failed"],
            ))
            .await
            .expect("create");
        let rescored = s
            .create_outgoing_webhook(&new_endpoint(a, "rescored", &["call_analysis_rescored"]))
            .await
            .expect("create");
        let off = s
            .create_outgoing_webhook(&new_endpoint(a, "off", &["call_analysis_completed"]))
            .await
            .expect("create");
        s.update_outgoing_webhook(
            a,
            off.id,
            &OutgoingWebhookPatch {
                enabled: Some(false),
                ..Default::default()
            },
            t0(),
        )
        .await
        .expect("update");
        let ids = |v: Vec<OutgoingWebhook>| {
            v.into_iter()
                .map(|e| e.id)
                .collect::<Vec<OutgoingWebhookId>>()
        };
        assert_eq!(
            ids(s
                .outgoing_webhooks_for_event(a, "call_analysis_completed")
                .await
                .expect("list")),
            vec![both.id]
        );
        assert_eq!(
            ids(s
                .outgoing_webhooks_for_event(a, "call_analysis_rescored")
                .await
                .expect("list")),
            vec![rescored.id]
        );
        assert!(s
            .outgoing_webhooks_for_event(
                company(&s, "b@b.example").await,
                "call_analysis_completed"
            )
            .await
            .expect("list")
            .is_empty());
    })
    .await;
}

fn attempt(
    e: &OutgoingWebhook,
    event: &str,
    call: Option<CallId>,
    n: u32,
    at: OffsetDateTime,
    status: Option<u16>,
) -> NewOutgoingDelivery {
    NewOutgoingDelivery {
        endpoint_id: e.id,
        company_id: e.company_id,
        event_id: event.into(),
        call_id: call,
        attempt: n,
        attempted_at: at,
        status,
        latency_ms: 12,
        response_head: "ok".into(),
        error: status.is_none().then(|| "timed out".into()),
        replay: false,
    }
}

#[tokio::test]
async fn attempts_are_logged_and_move_the_endpoint_state() {
    each_backend(|s| async move {
        let a = company(&s, "a@a.example").await;
        let e = s
            .create_outgoing_webhook(&new_endpoint(a, "CRM", &["call_analysis_completed"]))
            .await
            .expect("create");
        let call = CallId::new();
        let t = |m: i64| t0() + Duration::minutes(m);
        let after = s
            .record_outgoing_delivery(
                &attempt(&e, "evt_1", Some(call), 1, t(1), Some(500)),
                &DeliveryEffect::Failed,
            )
            .await
            .expect("record")
            .expect("endpoint");
        assert_eq!(after.failing_since, Some(t(1)));
        let after = s
            .record_outgoing_delivery(
                &attempt(&e, "evt_1", Some(call), 2, t(2), None),
                &DeliveryEffect::Failed,
            )
            .await
            .expect("record")
            .expect("endpoint");
        assert_eq!(after.failing_since, Some(t(1)), "the first failure counts");
        let after = s
            .record_outgoing_delivery(
                &attempt(&e, "evt_1", Some(call), 3, t(3), Some(200)),
                &DeliveryEffect::Delivered,
            )
            .await
            .expect("record")
            .expect("endpoint");
        assert_eq!(
            (after.failing_since, after.last_success),
            (None, Some(t(3)))
        );
        s.record_outgoing_delivery(
            &attempt(&e, "evt_2", None, 1, t(4), Some(204)),
            &DeliveryEffect::Delivered,
        )
        .await
        .expect("record");
        let gone = s
            .record_outgoing_delivery(
                &attempt(&e, "evt_3", None, 1, t(5), Some(410)),
                &DeliveryEffect::Disable("the receiver answered 410 Gone".into()),
            )
            .await
            .expect("record")
            .expect("endpoint");
        assert!(!gone.enabled);
        assert_eq!(
            gone.disabled_reason.as_deref(),
            Some("the receiver answered 410 Gone")
        );

        let all = s
            .outgoing_deliveries(
                a,
                &DeliveryFilter {
                    endpoint: Some(e.id),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .expect("list");
        assert_eq!(
            all.iter().map(|d| d.attempted_at).collect::<Vec<_>>(),
            vec![t(5), t(4), t(3), t(2), t(1)]
        );
        assert_eq!(all[3].status, None);
        assert_eq!(all[3].error.as_deref(), Some("timed out"));
        assert_eq!(all[2].attempt, 3);
        assert_eq!(all[2].call_id, Some(call));
        let page = s
            .outgoing_deliveries(
                a,
                &DeliveryFilter {
                    endpoint: Some(e.id),
                    limit: 2,
                    before: Some((all[1].attempted_at, all[1].id)),
                    ..Default::default()
                },
            )
            .await
            .expect("page");
        assert_eq!(
            page.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![all[2].id, all[3].id]
        );
        let by_call = s
            .outgoing_deliveries(
                a,
                &DeliveryFilter {
                    call: Some(call),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .expect("by call");
        assert_eq!(by_call.len(), 3);
        let other = company(&s, "b@b.example").await;
        assert!(s
            .outgoing_deliveries(
                other,
                &DeliveryFilter {
                    endpoint: Some(e.id),
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .expect("list")
            .is_empty());

        // Enabling again clears why it was disabled and the failure streak.
        let on = s
            .update_outgoing_webhook(
                a,
                e.id,
                &OutgoingWebhookPatch {
                    enabled: Some(true),
                    ..Default::default()
                },
                t(6),
            )
            .await
            .expect("update")
            .expect("found");
        assert!(on.enabled && on.disabled_reason.is_none() && on.failing_since.is_none());
        assert!(s.delete_outgoing_webhook(a, e.id).await.expect("delete"));
        assert!(s
            .record_outgoing_delivery(
                &attempt(&e, "evt_4", None, 1, t(7), Some(200)),
                &DeliveryEffect::Delivered
            )
            .await
            .expect("record")
            .is_none());
        assert!(s
            .outgoing_deliveries(
                a,
                &DeliveryFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .expect("list")
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn finished_deliveries_are_recorded_with_their_jobs_in_one_batch() {
    each_backend(|s| async move {
        let a = company(&s, "a@a.example").await;
        let e = s
            .create_outgoing_webhook(&new_endpoint(a, "CRM", &["call_analysis_completed"]))
            .await
            .expect("create");
        for _ in 0..3 {
            let delivery = DeliveryJob {
                event_id: EventId::new(),
                endpoint_id: e.id,
                replay: false,
            };
            s.enqueue_job(NewJob::delivery(a, &delivery, t0()), t0())
                .await
                .expect("enqueue");
        }
        let kinds = [JobKind::DeliverWebhook];
        let lease = t0() + Duration::minutes(5);
        let jobs = s
            .claim_jobs(&kinds, "w", 10, lease, t0())
            .await
            .expect("claim");
        assert_eq!(jobs.len(), 3, "one claim takes the whole batch");
        assert!(s
            .claim_jobs(&kinds, "other", 10, lease, t0())
            .await
            .expect("claim")
            .is_empty());
        // Renewing extends only what the worker holds.
        let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
        let renewed = t0() + Duration::minutes(10);
        assert_eq!(
            s.renew_leases("w", &ids, renewed, t0())
                .await
                .expect("renew"),
            3
        );
        assert_eq!(
            s.renew_leases("other", &ids, renewed, t0())
                .await
                .expect("renew"),
            0
        );
        let after_first_lease = t0() + Duration::minutes(6);
        assert!(s
            .claim_jobs(&kinds, "other", 10, renewed, after_first_lease)
            .await
            .expect("claim")
            .is_empty());

        let t = t0() + Duration::minutes(7);
        let retry_at = t + Duration::minutes(1);
        let done = |job: JobId, worker: &str, event: &str| FinishedDelivery {
            job,
            worker: worker.into(),
            attempt: Some((
                attempt(&e, event, None, 1, t, Some(200)),
                DeliveryEffect::Delivered,
            )),
            change: JobChange::Done,
        };
        let finished = vec![
            // A worker that lost the job: its attempt happened and is logged, the job untouched.
            done(ids[0], "other", "evt_lost"),
            done(ids[0], "w", "evt_1"),
            FinishedDelivery {
                job: ids[1],
                worker: "w".into(),
                attempt: Some((
                    attempt(&e, "evt_2", None, 1, t, Some(500)),
                    DeliveryEffect::Failed,
                )),
                change: JobChange::Failed {
                    error: "the endpoint answered 500".into(),
                    retry_at: Some(retry_at),
                },
            },
            FinishedDelivery {
                job: ids[2],
                worker: "w".into(),
                attempt: None,
                change: JobChange::Postponed { run_at: retry_at },
            },
        ];
        let held = s.finish_deliveries(&finished, t).await.expect("finish");
        assert_eq!(held, vec![false, true, true, true]);
        let filter = DeliveryFilter {
            endpoint: Some(e.id),
            call: None,
            before: None,
            limit: 10,
        };
        let mut logged: Vec<String> = s
            .outgoing_deliveries(a, &filter)
            .await
            .expect("log")
            .into_iter()
            .map(|d| d.event_id)
            .collect();
        logged.sort();
        assert_eq!(logged, vec!["evt_1", "evt_2", "evt_lost"]);
        let after = s
            .outgoing_webhook(a, e.id)
            .await
            .expect("q")
            .expect("endpoint");
        assert_eq!(
            (after.failing_since, after.last_success),
            (Some(t), Some(t))
        );
        // The failed one is due again with its attempt counted; the postponed one without.
        let mut again = s
            .claim_jobs(&kinds, "w2", 10, retry_at + Duration::minutes(5), retry_at)
            .await
            .expect("claim");
        again.sort_by_key(|j| j.attempts);
        let seen: Vec<(JobId, u32)> = again.iter().map(|j| (j.id, j.attempts)).collect();
        assert_eq!(seen, vec![(ids[2], 1), (ids[1], 2)]);
        assert_eq!(
            again[1].last_error.as_deref(),
            Some("the endpoint answered 500")
        );
    })
    .await;
}
