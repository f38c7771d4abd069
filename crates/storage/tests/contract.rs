//! The storage contract, run against every backend (SQLite always, PostgreSQL in CI).

use kiku_domain::call_data::parse_batch;
use kiku_domain::{CallData, CallStatus, CompanyId};
use kiku_storage::test_support::test_databases;
use kiku_storage::*;
use serde_json::json;
use time::{Duration, OffsetDateTime};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time")
}

fn admin(company: CompanyId, email: &str) -> NewUser {
    NewUser {
        company_id: company,
        name: "Admin".into(),
        email: email.into(),
        password_hash: None,
        admin: true,
        use_incoming_webhook: false,
        created_at: t0(),
    }
}

fn call(id: &str, starts: &str, event: &str) -> CallData {
    let body = json!({"call_data": [{
        "call_data_id": id, "audio_file_type": "wav", "event_type": event,
        "call_starts_at": starts, "call_answered_at": null, "call_ends_at": "2030-01-01T00:00:00Z",
        "participants": [
            {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": "0311112222", "name": null},
            {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322223333", "name": null}
        ]
    }]});
    parse_batch(&body).expect("valid call").remove(0)
}

/// A company with one call; returns the call's id.
async fn company_with_call(s: &SqlStore) -> kiku_domain::CallId {
    let (a, _) = s
        .create_company("A", admin(CompanyId::new(), "a@a.example"))
        .await
        .expect("a");
    let c1 = call("c1", "2024-01-01T00:00:00Z", "AUTOMATIC_RECORD");
    s.ingest_calls(a.id, &[c1], t0()).await.expect("ingest")[0].id
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(SqlStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in test_databases().await {
        let store = SqlStore::connect(&db.url)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.backend));
        test(store.clone()).await;
        store.close().await;
    }
}

#[tokio::test]
async fn accounts_and_permissions_are_scoped_by_company() {
    each_backend(|s| async move {
        let (a, a_admin) = s
            .create_company("A", admin(CompanyId::new(), "Root@A.example"))
            .await
            .expect("company a");
        let (b, _) = s
            .create_company("B", admin(CompanyId::new(), "root@b.example"))
            .await
            .expect("company b");
        assert_eq!(a_admin.email, "root@a.example");
        assert!(matches!(
            s.create_company("A2", admin(CompanyId::new(), "ROOT@a.example"))
                .await,
            Err(StorageError::Conflict(_))
        ));
        let mut agent = admin(a.id, "agent@a.example");
        agent.admin = false;
        let agent = s.create_user(agent).await.expect("agent");
        assert!(!agent.use_incoming_webhook);
        assert_eq!(
            s.webhook_users(a.id, &[agent.id]).await.expect("query"),
            vec![]
        );
        let patched = s
            .update_user(
                a.id,
                agent.id,
                UserPatch {
                    use_incoming_webhook: Some(true),
                    admin: None,
                },
            )
            .await
            .expect("patch");
        assert!(patched.expect("exists").use_incoming_webhook);
        assert_eq!(
            s.webhook_users(a.id, &[agent.id]).await.expect("query"),
            vec![agent.id]
        );
        // Company B cannot see, use or change A's user.
        assert_eq!(
            s.webhook_users(b.id, &[agent.id]).await.expect("query"),
            vec![]
        );
        assert_eq!(s.user(b.id, agent.id).await.expect("query"), None);
        assert_eq!(
            s.update_user(
                b.id,
                agent.id,
                UserPatch {
                    admin: Some(true),
                    ..Default::default()
                }
            )
            .await
            .expect("query"),
            None
        );
        assert_eq!(s.users(a.id).await.expect("list").len(), 2);
        assert!(matches!(
            s.create_user(admin(CompanyId::new(), "x@y.example")).await,
            Err(StorageError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn sessions_expire() {
    each_backend(|s| async move {
        let (_, user) = s
            .create_company("A", admin(CompanyId::new(), "a@a.example"))
            .await
            .expect("company");
        s.create_session("h1", user.id, t0() + Duration::hours(1))
            .await
            .expect("session");
        assert_eq!(
            s.session_user("h1", t0()).await.expect("q").map(|u| u.id),
            Some(user.id)
        );
        assert_eq!(
            s.session_user("h1", t0() + Duration::hours(2))
                .await
                .expect("q"),
            None
        );
        s.delete_session("h1").await.expect("delete");
        assert_eq!(s.session_user("h1", t0()).await.expect("q"), None);
    })
    .await;
}

#[tokio::test]
async fn one_webhook_secret_per_company() {
    each_backend(|s| async move {
        let (a, _) = s
            .create_company("A", admin(CompanyId::new(), "a@a.example"))
            .await
            .expect("company");
        s.create_webhook_secret(a.id, "s1", t0())
            .await
            .expect("create");
        assert!(matches!(
            s.create_webhook_secret(a.id, "s2", t0()).await,
            Err(StorageError::Conflict(_))
        ));
        assert_eq!(
            s.webhook_secret(a.id).await.expect("q").map(|w| w.secret),
            Some("s1".into())
        );
        assert!(s.delete_webhook_secret(a.id).await.expect("delete"));
        assert!(!s.delete_webhook_secret(a.id).await.expect("delete again"));
        assert_eq!(s.webhook_secret(a.id).await.expect("q"), None);
    })
    .await;
}

#[tokio::test]
async fn ingest_is_idempotent_atomic_and_scoped() {
    each_backend(|s| async move {
        let (a, _) = s
            .create_company("A", admin(CompanyId::new(), "a@a.example"))
            .await
            .expect("a");
        let (b, _) = s
            .create_company("B", admin(CompanyId::new(), "b@b.example"))
            .await
            .expect("b");
        let c1 = call("c1", "2024-01-01T00:00:00Z", "AUTOMATIC_RECORD");
        let c2 = call("c2", "2024-01-02T00:00:00Z", "AUTOMATIC_TRANSFER");
        let first = s
            .ingest_calls(a.id, &[c1.clone(), c2.clone()], t0())
            .await
            .expect("ingest");
        assert!(first.iter().all(|c| c.created));
        let again = s
            .ingest_calls(a.id, std::slice::from_ref(&c1), t0())
            .await
            .expect("retry");
        assert_eq!((again[0].id, again[0].created), (first[0].id, false));
        // Different content under a stored id: the whole batch fails and c3 is not stored.
        let c1_changed = call("c1", "2024-01-03T00:00:00Z", "AUTOMATIC_RECORD");
        let c3 = call("c3", "2024-01-03T00:00:00Z", "AUTOMATIC_RECORD");
        match s.ingest_calls(a.id, &[c3, c1_changed], t0()).await {
            Err(StorageError::CallDataConflict(list)) => {
                assert_eq!(list, vec![(1, "c1".to_string())])
            }
            other => panic!("expected conflict, got {other:?}"),
        }
        let page = s
            .calls(
                a.id,
                &CallFilter {
                    status: None,
                    event_type: None,
                    from: None,
                    to: None,
                    page: 1,
                    per_page: 10,
                },
            )
            .await
            .expect("list");
        assert_eq!(page.total, 2);
        assert_eq!(page.items[0].data.call_data_id, "c2", "newest first");
        // The same call_data_id in another company is another call.
        let in_b = s.ingest_calls(b.id, &[c1], t0()).await.expect("b ingest");
        assert_ne!(in_b[0].id, first[0].id);
        assert_eq!(s.call(b.id, first[0].id).await.expect("q"), None);
        let filtered = s
            .calls(
                a.id,
                &CallFilter {
                    status: Some(CallStatus::AwaitingUpload),
                    event_type: Some(kiku_domain::EventType::AutomaticTransfer),
                    from: Some(
                        OffsetDateTime::from_unix_timestamp(1_704_067_200 + 3600).expect("t"),
                    ),
                    to: None,
                    page: 1,
                    per_page: 10,
                },
            )
            .await
            .expect("filter");
        assert_eq!(
            filtered
                .items
                .iter()
                .map(|c| c.data.call_data_id.as_str())
                .collect::<Vec<_>>(),
            vec!["c2"]
        );
    })
    .await;
}

#[tokio::test]
async fn audio_attaches_until_analysis_starts_and_jobs_lease() {
    each_backend(|s| async move {
        let id = company_with_call(&s).await;
        let audio = |k: &str| NewAudio {
            key: k.into(),
            bytes: 10,
        };
        assert_eq!(
            s.attach_audio(id, audio("k1"), t0()).await.expect("attach"),
            AttachOutcome::Attached { replaced: None }
        );
        assert_eq!(
            s.attach_audio(id, audio("k2"), t0())
                .await
                .expect("replace"),
            AttachOutcome::Attached {
                replaced: Some("k1".into())
            }
        );
        assert_eq!(
            s.jobs_for_call(id).await.expect("jobs").len(),
            1,
            "a replacement does not enqueue twice"
        );
        assert_eq!(
            s.upload_target(id).await.expect("q").map(|t| t.status),
            Some(CallStatus::Queued)
        );

        let lease = t0() + Duration::minutes(5);
        let job = s
            .claim_job("w1", lease, t0())
            .await
            .expect("claim")
            .expect("a job");
        assert_eq!(
            (job.call_id, job.attempts, job.state),
            (id, 1, JobState::Running)
        );
        assert_eq!(
            s.claim_job("w2", lease, t0()).await.expect("claim"),
            None,
            "held by w1"
        );
        assert_eq!(
            s.attach_audio(id, audio("k3"), t0()).await.expect("closed"),
            AttachOutcome::Closed(CallStatus::Analysing)
        );
        // w1 dies: after the lease, w2 takes the job over and w1 can no longer finish it.
        assert!(s
            .heartbeat_job(job.id, "w1", t0() + Duration::minutes(6), t0())
            .await
            .expect("hb"));
        let later = t0() + Duration::minutes(7);
        let taken = s
            .claim_job("w2", later + Duration::minutes(5), later)
            .await
            .expect("claim")
            .expect("taken over");
        assert_eq!((taken.id, taken.attempts), (job.id, 2));
        assert!(!s
            .complete_job(job.id, "w1", later)
            .await
            .expect("stale complete"));
        // A failure with a retry time queues it again; without one it is dead.
        assert!(s
            .fail_job(
                job.id,
                "w2",
                "transient",
                Some(later + Duration::minutes(1)),
                later
            )
            .await
            .expect("fail"));
        assert_eq!(
            s.claim_job("w3", later + Duration::minutes(5), later)
                .await
                .expect("claim"),
            None,
            "backing off"
        );
        let retry = later + Duration::minutes(2);
        let third = s
            .claim_job("w3", retry + Duration::minutes(5), retry)
            .await
            .expect("claim")
            .expect("retried");
        assert_eq!(third.last_error.as_deref(), Some("transient"));
        assert!(s
            .fail_job(job.id, "w3", "bad audio", None, retry)
            .await
            .expect("dead"));
        let jobs = s.jobs_for_call(id).await.expect("jobs");
        assert_eq!(
            (jobs[0].state, jobs[0].last_error.as_deref()),
            (JobState::Dead, Some("bad audio"))
        );
        assert!(s
            .complete_job(job.id, "w3", retry)
            .await
            .is_ok_and(|done| !done));
    })
    .await;
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_attempt_goes_dead() {
    each_backend(|s| async move {
        let id = company_with_call(&s).await;
        s.attach_audio(
            id,
            NewAudio {
                key: "k".into(),
                bytes: 1,
            },
            t0(),
        )
        .await
        .expect("attach");
        let mut now = t0();
        for _ in 0..kiku_domain::job_retry::RetryPolicy::default().max_attempts {
            assert!(s
                .claim_job("w", now + Duration::minutes(1), now)
                .await
                .expect("claim")
                .is_some());
            now += Duration::minutes(2);
        }
        assert_eq!(
            s.claim_job("w", now + Duration::minutes(1), now)
                .await
                .expect("claim"),
            None
        );
        assert_eq!(
            s.jobs_for_call(id).await.expect("jobs")[0].state,
            JobState::Dead
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_batches_commit_independently() {
    each_backend(|s| async move {
        let (a, _) = s
            .create_company("A", admin(CompanyId::new(), "a@a.example"))
            .await
            .expect("a");
        s.ingest_calls(
            a.id,
            &[call("taken", "2024-01-01T00:00:00Z", "AUTOMATIC_RECORD")],
            t0(),
        )
        .await
        .expect("first");
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                // Every tenth batch also carries a conflicting call: only that batch fails.
                let mut batch = vec![call(
                    &format!("n{i}"),
                    "2024-01-02T00:00:00Z",
                    "AUTOMATIC_RECORD",
                )];
                if i % 10 == 0 {
                    batch.push(call("taken", "2024-01-09T00:00:00Z", "AUTOMATIC_RECORD"));
                }
                s.ingest_calls(a.id, &batch, t0()).await
            }));
        }
        let mut ok = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(out) => {
                    assert!(out[0].created);
                    ok += 1;
                }
                Err(StorageError::CallDataConflict(list)) => {
                    assert_eq!(list, vec![(1, "taken".to_string())])
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(ok, 36);
        let all = CallFilter {
            status: None,
            event_type: None,
            from: None,
            to: None,
            page: 1,
            per_page: 100,
        };
        assert_eq!(s.calls(a.id, &all).await.expect("list").total, 37);
    })
    .await;
}

#[tokio::test]
async fn racing_retries_and_uploads_never_duplicate() {
    each_backend(|s| async move {
        let (a, _) = s
            .create_company("A", admin(CompanyId::new(), "a@a.example"))
            .await
            .expect("a");
        let same = call("race", "2024-01-01T00:00:00Z", "AUTOMATIC_RECORD");
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (s, same) = (s.clone(), same.clone());
                tokio::spawn(async move { s.ingest_calls(a.id, &[same], t0()).await })
            })
            .collect();
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.expect("task").expect("every retry succeeds")[0].id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "one call history for all racing retries");
        let id = ids[0];
        let uploads: Vec<_> = (0..12)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.attach_audio(
                        id,
                        NewAudio {
                            key: format!("k{i}"),
                            bytes: 1,
                        },
                        t0(),
                    )
                    .await
                })
            })
            .collect();
        let mut replaced = Vec::new();
        for task in uploads {
            match task.await.expect("task").expect("attach") {
                AttachOutcome::Attached {
                    replaced: Some(old),
                } => replaced.push(old),
                AttachOutcome::Attached { replaced: None } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        replaced.sort();
        replaced.dedup();
        assert_eq!(
            replaced.len(),
            11,
            "every superseded key is reported exactly once"
        );
        assert_eq!(
            s.jobs_for_call(id).await.expect("jobs").len(),
            1,
            "one analysis job"
        );
    })
    .await;
}
