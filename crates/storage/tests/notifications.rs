//! The notification storage contract, on every backend (SQLite always, PostgreSQL in CI):
//! Slack rules, e-mail recipients and opt-ins, the jobs written with a completed result,
//! and the attempt log written with the job's end.

use kiku_domain::call_data::parse_batch;
use kiku_domain::notification::{NotificationJob, Target};
use kiku_domain::{CompanyId, JobKind};
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

fn user(company: CompanyId, email: &str, admin: bool) -> NewUser {
    NewUser {
        company_id: company,
        name: email.into(),
        email: email.into(),
        password_hash: None,
        admin,
        use_incoming_webhook: true,
        created_at: t0(),
    }
}

fn rule(company: CompanyId, name: &str, enabled: bool) -> NewSlackRule {
    NewSlackRule {
        company_id: company,
        name: name.into(),
        webhook_url: "https://hooks.slack.com/services/T/B/secret".into(),
        enabled,
        include_summary: true,
        filters: json!({"tags": ["vip"]}),
        now: t0(),
    }
}

#[tokio::test]
async fn rules_recipients_and_choices_are_scoped_by_company() {
    each_backend(|s| async move {
        let (a, admin_a) = s
            .create_company("A", user(CompanyId::new(), "a@a.example", true))
            .await
            .expect("a");
        let (b, _) = s
            .create_company("B", user(CompanyId::new(), "b@b.example", true))
            .await
            .expect("b");
        let r = s
            .create_slack_rule(&rule(a.id, "sales", true))
            .await
            .expect("create");
        assert_eq!(
            (r.name.as_str(), r.enabled, r.include_summary),
            ("sales", true, true)
        );
        assert_eq!(r.filters, json!({"tags": ["vip"]}));
        assert_eq!(s.slack_rules(a.id).await.expect("list"), vec![r.clone()]);
        assert!(s.slack_rules(b.id).await.expect("list").is_empty());
        assert_eq!(s.slack_rule(b.id, r.id).await.expect("get"), None);
        let patch = SlackRulePatch {
            enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(
            s.update_slack_rule(b.id, r.id, &patch, t0())
                .await
                .expect("update"),
            None
        );
        let later = t0() + Duration::minutes(1);
        let changed = s
            .update_slack_rule(a.id, r.id, &patch, later)
            .await
            .expect("update")
            .expect("found");
        assert_eq!(
            (changed.enabled, changed.name.as_str(), changed.updated_at),
            (false, "sales", later)
        );
        assert!(!s.delete_slack_rule(b.id, r.id).await.expect("delete"));
        assert!(s.delete_slack_rule(a.id, r.id).await.expect("delete"));
        assert!(s.slack_rules(a.id).await.expect("list").is_empty());
        let missing = s
            .create_slack_rule(&rule(CompanyId::new(), "x", true))
            .await;
        assert!(
            matches!(missing, Err(StorageError::NotFound(_))),
            "{missing:?}"
        );

        s.set_email_recipients(a.id, &["x@a.example".into(), "y@a.example".into()])
            .await
            .expect("set");
        s.set_email_recipients(a.id, &["y@a.example".into(), "z@a.example".into()])
            .await
            .expect("replace");
        assert_eq!(
            s.email_recipients(a.id).await.expect("get"),
            ["y@a.example", "z@a.example"]
        );
        assert!(s.email_recipients(b.id).await.expect("get").is_empty());

        let on = UserNotifications {
            email_on_completion: true,
        };
        s.set_user_notifications(a.id, admin_a.id, on, t0())
            .await
            .expect("on");
        s.set_user_notifications(a.id, admin_a.id, on, t0())
            .await
            .expect("on twice");
        assert_eq!(
            s.user_notifications(a.id, admin_a.id).await.expect("get"),
            on
        );
        let stranger = s.set_user_notifications(b.id, admin_a.id, on, t0()).await;
        assert!(
            matches!(stranger, Err(StorageError::NotFound(_))),
            "{stranger:?}"
        );
        s.set_user_notifications(a.id, admin_a.id, UserNotifications::default(), t0())
            .await
            .expect("off");
        assert_eq!(
            s.user_notifications(a.id, admin_a.id).await.expect("get"),
            UserNotifications::default()
        );
    })
    .await;
}

#[tokio::test]
async fn a_completed_result_queues_its_notifications_and_attempts_are_logged_with_the_job() {
    each_backend(|s| async move {
        let (company, _) = s.create_company("C", user(CompanyId::new(), "boss@c.example", true)).await.expect("c");
        let agent = s.create_user(user(company.id, "agent@c.example", false)).await.expect("agent");
        let other = s.create_user(user(company.id, "other@c.example", false)).await.expect("other");
        for u in [agent.id, other.id] {
            s.set_user_notifications(company.id, u, UserNotifications { email_on_completion: true }, t0()).await.expect("on");
        }
        // The agent is also a company-wide recipient: one e-mail, not two.
        s.set_email_recipients(company.id, &["boss@c.example".into(), "agent@c.example".into()]).await.expect("set");
        let enabled = s.create_slack_rule(&rule(company.id, "on", true)).await.expect("rule");
        s.create_slack_rule(&rule(company.id, "off", false)).await.expect("rule");

        let body = json!({"call_data": [{
            "call_data_id": "n1", "audio_file_type": "wav", "event_type": "OUTGOING_CALL",
            "call_starts_at": "2024-01-01T00:00:00Z", "call_answered_at": null, "call_ends_at": "2024-01-01T00:03:00Z",
            "participants": [
                {"type": "FROM", "stereo_lr": "left", "miitel_user_id": agent.id, "number": "0311112222", "name": null},
                {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322223333", "name": null}
            ]
        }]});
        let data = parse_batch(&body).expect("valid");
        let call = s.ingest_calls(company.id, &data, t0()).await.expect("ingest")[0].id;
        s.attach_audio(call, NewAudio { key: "k".into(), bytes: 1 }, t0()).await.expect("attach");
        let lease = t0() + Duration::minutes(5);
        let job = s.claim_job(&[JobKind::AnalyseCall], "w", lease, t0()).await.expect("claim").expect("job");
        let analysis = NewAnalysis {
            engine: "e".into(),
            transcript: "{}".into(),
            roles: "{}".into(),
            report: "{}".into(),
            write_minutes: false,
        };
        s.finish_analysis(job.id, "w", &analysis, None, t0()).await.expect("finish");

        let mut targets: Vec<Target> = s.jobs_for_call(call).await.expect("jobs").into_iter()
            .filter(|j| j.kind == JobKind::DeliverNotification)
            .map(|j| serde_json::from_str::<NotificationJob>(&j.payload).expect("payload").target)
            .collect();
        targets.sort_by_key(|t| serde_json::to_string(t).unwrap_or_default());
        let mut expected = vec![
            Target::Slack { rule_id: enabled.id },
            Target::Email { to: "boss@c.example".into() },
            Target::Email { to: "agent@c.example".into() },
        ];
        expected.sort_by_key(|t| serde_json::to_string(t).unwrap_or_default());
        assert_eq!(targets, expected, "the enabled rule, the recipients, the opted-in user on the call");
        let refreshed = s.analysis(company.id, call).await.expect("analysis").expect("stored");
        assert_eq!(refreshed.version, 1);

        // An attempt is written with its job's end, and only by the job's holder.
        let claimed = s.claim_jobs(&[JobKind::DeliverNotification], "n", 10, lease, t0()).await.expect("claim");
        assert_eq!(claimed.len(), 3);
        // Only an analysis shows progress on its call.
        assert!(s.heartbeat_job(claimed[1].id, "n", lease, Some(50), t0()).await.expect("beat"));
        let record = s.call(company.id, call).await.expect("call").expect("found");
        assert_eq!(record.progress_percent, None);
        let attempt = |job: &Job, outcome: &str| NewNotificationAttempt {
            company_id: company.id,
            call_id: Some(call),
            event_id: serde_json::from_str::<NotificationJob>(&job.payload).expect("payload").event_id.to_string(),
            channel: "email".into(),
            slack_rule_id: None,
            crm_connection_id: None,
            crm_record_id: None,
            target: "boss@c.example".into(),
            attempt: job.attempts,
            attempted_at: t0(),
            status: Some(250),
            latency_ms: 3,
            response_head: "OK".into(),
            error: None,
            outcome: outcome.into(),
            replay: false,
        };
        let finished = |job: &Job, worker: &str| FinishedNotification {
            job: job.id,
            worker: worker.into(),
            attempt: Some(attempt(job, "delivered")),
            change: JobChange::Done,
            crm_record: None,
            crm_claim: false,
        };
        assert!(!s.finish_notification(&finished(&claimed[0], "not me"), t0()).await.expect("finish"));
        assert!(s.finish_notification(&finished(&claimed[0], "n"), t0()).await.expect("finish"));
        let by_call = AttemptFilter { call: Some(call), limit: 10, ..Default::default() };
        let logged = s.notification_attempts(company.id, &by_call).await.expect("attempts");
        assert_eq!(logged.len(), 1, "the lost job wrote nothing");
        assert_eq!((logged[0].status, logged[0].outcome.as_str(), logged[0].attempt), (Some(250), "delivered", 1));
        let slack_only = AttemptFilter { channel: Some("slack".into()), limit: 10, ..Default::default() };
        assert!(s.notification_attempts(company.id, &slack_only).await.expect("attempts").is_empty());
        let other_company = s.notification_attempts(CompanyId::new(), &by_call).await.expect("attempts");
        assert!(other_company.is_empty());
        let done = s.jobs_for_call(call).await.expect("jobs");
        assert!(done.iter().any(|j| j.id == claimed[0].id && j.state == JobState::Done));
    })
    .await;
}
