//! The CRM storage contract, on every backend (SQLite always, PostgreSQL in CI): connections
//! scoped by company, one `deliver_notification` job per enabled connection written with a
//! completed result, and the record id kept with the attempt that wrote it — never
//! replaced by an older version of the result.

use kiku_domain::call_data::parse_batch;
use kiku_domain::notification::{NotificationJob, Target};
use kiku_domain::{CallId, CompanyId, CrmConnectionId, JobId, JobKind};
use kiku_storage::test_support::test_databases;
use kiku_storage::*;
use serde_json::json;
use time::{Duration, OffsetDateTime};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time")
}

fn input(name: &str, enabled: bool) -> CrmConnectionInput {
    CrmConnectionInput {
        kind: "hubspot".into(),
        name: name.into(),
        base_url: None,
        settings: json!({}),
        credentials: json!({"access_token": "pat-secret"}),
        content: "transcript".into(),
        enabled,
    }
}

/// Queues the CRM job of a new event of `call`.
async fn queue_crm_job(
    s: &SqlStore,
    company: CompanyId,
    connection: CrmConnectionId,
    call: CallId,
) {
    let job = NotificationJob {
        event_id: kiku_domain::EventId::new(),
        target: Target::Crm {
            connection_id: connection,
        },
        replay: false,
    };
    s.enqueue_job(NewJob::notification(company, Some(call), &job, t0()), t0())
        .await
        .expect("enqueue");
}

/// A company with its admin.
async fn company(s: &SqlStore) -> Company {
    let admin = NewUser {
        company_id: CompanyId::new(),
        name: "boss".into(),
        email: "boss@c.example".into(),
        password_hash: None,
        admin: true,
        use_incoming_webhook: false,
        created_at: t0(),
    };
    s.create_company("C", admin).await.expect("company").0
}

/// A company with one analysed call; the call's id.
async fn analysed_call(s: &SqlStore, company: CompanyId) -> CallId {
    let body = json!({"call_data": [{
        "call_data_id": "crm1", "audio_file_type": "wav", "event_type": "INCOMING_CALL",
        "call_starts_at": "2024-01-01T00:00:00Z", "call_answered_at": null,
        "call_ends_at": "2024-01-01T00:03:00Z",
        "participants": [
            {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": "0311112222", "name": null},
            {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322223333", "name": null}
        ]
    }]});
    let data = parse_batch(&body).expect("valid");
    let call = s.ingest_calls(company, &data, t0()).await.expect("ingest")[0].id;
    s.attach_audio(
        call,
        NewAudio {
            key: "k".into(),
            bytes: 1,
        },
        t0(),
    )
    .await
    .expect("attach");
    let lease = t0() + Duration::minutes(5);
    let job = s
        .claim_job(&[JobKind::AnalyseCall], "w", lease, t0())
        .await
        .expect("claim")
        .expect("job");
    let analysis = NewAnalysis {
        engine: "e".into(),
        transcript: "{}".into(),
        roles: "{}".into(),
        report: "{}".into(),
        write_minutes: false,
    };
    s.finish_analysis(job.id, "w", &analysis, None, t0())
        .await
        .expect("finish");
    call
}

#[tokio::test]
async fn connections_fan_out_and_keep_the_newest_record_of_each_call() {
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .expect("store");
        let company = company(&s).await;
        let on = s
            .create_crm_connection(company.id, &input("on", true), t0())
            .await
            .expect("create");
        s.create_crm_connection(company.id, &input("off", false), t0())
            .await
            .expect("create");
        assert_eq!(on.credentials, json!({"access_token": "pat-secret"}));
        assert!(!format!("{on:?}").contains("pat-secret"), "Debug hides it");
        assert_eq!(s.crm_connections(company.id).await.expect("list").len(), 2);
        assert!(s
            .crm_connections(CompanyId::new())
            .await
            .expect("list")
            .is_empty());
        assert_eq!(
            s.crm_connection(CompanyId::new(), on.id)
                .await
                .expect("one"),
            None,
            "another company's"
        );
        let mut renamed = input("renamed", true);
        renamed.content = "summary".into();
        let replaced = s
            .replace_crm_connection(company.id, on.id, &renamed, t0() + Duration::seconds(1))
            .await
            .expect("replace")
            .expect("found");
        assert_eq!(
            (replaced.name.as_str(), replaced.content.as_str()),
            ("renamed", "summary")
        );

        let call = analysed_call(&s, company.id).await;
        let jobs: Vec<Job> = s
            .jobs_for_call(call)
            .await
            .expect("jobs")
            .into_iter()
            .filter(|j| j.kind == JobKind::DeliverNotification)
            .collect();
        let targets: Vec<Target> = jobs
            .iter()
            .map(|j| {
                serde_json::from_str::<NotificationJob>(&j.payload)
                    .expect("payload")
                    .target
            })
            .collect();
        assert_eq!(
            targets,
            vec![Target::Crm {
                connection_id: on.id
            }],
            "the enabled one only"
        );

        // The record is kept with the attempt's transaction, by the job's holder.
        let lease = t0() + Duration::minutes(5);
        let claimed = s
            .claim_job(&[JobKind::DeliverNotification], "n", lease, t0())
            .await
            .expect("claim")
            .expect("job");
        let write = |version: u32, record: &str| CrmRecordWrite {
            company_id: company.id,
            connection_id: on.id,
            call_id: call,
            record_id: record.into(),
            version,
            event_id: format!("e{version}"),
        };
        let attempt = NewNotificationAttempt {
            company_id: company.id,
            call_id: Some(call),
            event_id: "e2".into(),
            channel: "crm".into(),
            slack_rule_id: None,
            crm_connection_id: Some(on.id),
            crm_record_id: Some("rec-1".into()),
            target: "renamed".into(),
            attempt: 1,
            attempted_at: t0(),
            status: Some(201),
            latency_ms: 5,
            response_head: "{\"id\":\"rec-1\"}".into(),
            error: None,
            outcome: "delivered".into(),
            replay: false,
        };
        let finished = FinishedNotification {
            job: claimed.id,
            worker: "n".into(),
            attempt: Some(attempt),
            change: JobChange::Done,
            crm_record: Some(write(2, "rec-1")),
            crm_claim: false,
        };
        assert!(s
            .finish_notification(&finished, t0())
            .await
            .expect("finish"));
        let kept = s
            .crm_record(company.id, on.id, call)
            .await
            .expect("record")
            .expect("kept");
        assert_eq!((kept.record_id.as_str(), kept.version), ("rec-1", 2));
        let by_connection = AttemptFilter {
            crm_connection: Some(on.id),
            limit: 10,
            ..Default::default()
        };
        let logged = s
            .notification_attempts(company.id, &by_connection)
            .await
            .expect("log");
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].crm_record_id.as_deref(), Some("rec-1"));
        assert_eq!(logged[0].crm_connection_id, Some(on.id));

        // An older version finishing late leaves the newer record alone.
        queue_crm_job(&s, company.id, on.id, call).await;
        let late = s
            .claim_job(&[JobKind::DeliverNotification], "n", lease, t0())
            .await
            .expect("claim")
            .expect("job");
        let stale = FinishedNotification {
            job: late.id,
            worker: "n".into(),
            attempt: None,
            change: JobChange::Done,
            crm_record: Some(write(1, "rec-old")),
            crm_claim: false,
        };
        assert!(s.finish_notification(&stale, t0()).await.expect("finish"));
        let kept = s
            .crm_record(company.id, on.id, call)
            .await
            .expect("record")
            .expect("kept");
        assert_eq!((kept.record_id.as_str(), kept.version), ("rec-1", 2));

        assert!(s
            .delete_crm_connection(company.id, on.id)
            .await
            .expect("delete"));
        assert!(!s
            .delete_crm_connection(company.id, on.id)
            .await
            .expect("again"));
        assert_eq!(
            s.crm_record(company.id, on.id, call).await.expect("record"),
            None
        );
        assert_eq!(
            s.notification_attempts(company.id, &by_connection)
                .await
                .expect("log")
                .len(),
            1,
            "attempts stay"
        );
        s.close().await;
    }
}

/// The CRM connections the call's notification jobs of `event` go to.
async fn crm_targets_of(s: &SqlStore, call: CallId, event: &kiku_domain::EventId) -> Vec<String> {
    s.jobs_for_call(call)
        .await
        .expect("jobs")
        .iter()
        .filter_map(|j| serde_json::from_str::<NotificationJob>(&j.payload).ok())
        .filter(|p| p.event_id == *event)
        .filter_map(|p| match p.target {
            Target::Crm { connection_id } => Some(connection_id.to_string()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn one_job_at_a_time_writes_a_calls_record_and_a_rescore_updates_records_only() {
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .expect("store");
        let company = company(&s).await;
        let on = s
            .create_crm_connection(company.id, &input("on", true), t0())
            .await
            .expect("create");
        let call = analysed_call(&s, company.id).await;
        let lease = t0() + Duration::minutes(5);
        let claim_next = || async {
            s.claim_job(&[JobKind::DeliverNotification], "n", lease, t0())
                .await
                .expect("claim")
                .expect("job")
        };
        let first = claim_next().await;
        let claim = |job: JobId, now| s.claim_crm_record(company.id, on.id, call, job, now);
        assert_eq!(
            claim(first.id, t0()).await.expect("claim"),
            CrmClaim::Held(None)
        );

        // A second event of the call, running at the same time, waits.
        queue_crm_job(&s, company.id, on.id, call).await;
        let second = claim_next().await;
        assert_eq!(claim(second.id, t0()).await.expect("claim"), CrmClaim::Busy);
        assert_eq!(
            claim(first.id, t0()).await.expect("again"),
            CrmClaim::Held(None),
            "the holder, run again, keeps it"
        );

        // The first attempt keeps its record and ends the claim: the second finds it.
        let done = FinishedNotification {
            job: first.id,
            worker: "n".into(),
            attempt: None,
            change: JobChange::Done,
            crm_record: Some(CrmRecordWrite {
                company_id: company.id,
                connection_id: on.id,
                call_id: call,
                record_id: "rec-1".into(),
                version: 1,
                event_id: "e1".into(),
            }),
            crm_claim: true,
        };
        assert!(s.finish_notification(&done, t0()).await.expect("finish"));
        let CrmClaim::Held(Some(found)) = claim(second.id, t0()).await.expect("claim") else {
            panic!("{}: the record after the first attempt", db.backend);
        };
        assert_eq!((found.record_id.as_str(), found.version), ("rec-1", 1));

        // A claim lapses with its job's lease (a worker that died).
        queue_crm_job(&s, company.id, on.id, call).await;
        let third = claim_next().await;
        assert_eq!(claim(third.id, t0()).await.expect("claim"), CrmClaim::Busy);
        let later = lease + Duration::seconds(1);
        assert!(matches!(
            claim(third.id, later).await.expect("claim"),
            CrmClaim::Held(Some(_))
        ));

        // A re-score: a job for the connection holding the call's record, none for a
        // connection the call never went to, no Slack or e-mail job.
        let newer = s
            .create_crm_connection(company.id, &input("newer", true), t0())
            .await
            .expect("create");
        s.set_email_recipients(company.id, &["sales@c.example".into()])
            .await
            .expect("recipients");
        let version = s
            .update_analysis(
                company.id,
                call,
                1,
                Revision {
                    roles: "{}",
                    report: "{}",
                    reason: kiku_domain::outbox::VersionReason::Rescore,
                    write_minutes: false,
                },
                t0(),
            )
            .await
            .expect("rescore");
        assert_eq!(version, Some(2));
        let events = s.events_of_call(company.id, call).await.expect("events");
        let rescored = events.last().expect("event");
        assert_eq!(rescored.kind, kiku_domain::EventKind::CallAnalysisRescored);
        let of_event = s
            .jobs_for_call(call)
            .await
            .expect("jobs")
            .iter()
            .filter_map(|j| serde_json::from_str::<NotificationJob>(&j.payload).ok())
            .filter(|p| p.event_id == rescored.id)
            .count();
        assert_eq!(of_event, 1, "{}: no Slack or e-mail job", db.backend);
        assert_eq!(
            crm_targets_of(&s, call, &rescored.id).await,
            vec![on.id.to_string()],
            "not {}",
            newer.id
        );
        s.close().await;
    }
}
