//! The storage contract, run against every backend (SQLite always, PostgreSQL in CI).

use kiku_domain::call_data::parse_batch;
use kiku_domain::outbox::VersionReason;
use kiku_domain::search::CallSearch;
use kiku_domain::{CallData, CallId, CallStatus, CompanyId, EventKind, JobId, JobKind};
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
    each_backend_with_url(|s, _| test(s)).await;
}

/// Like `each_backend`, also handing over the database URL for raw SQL.
async fn each_backend_with_url<F, Fut>(test: F)
where
    F: Fn(SqlStore, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in test_databases().await {
        let store = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.backend));
        test(store.clone(), db.url.clone()).await;
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
        // E-mails are unique per company: another company may reuse one, the same may not.
        let later = NewUser {
            created_at: t0() + Duration::seconds(1),
            ..admin(CompanyId::new(), "ROOT@a.example")
        };
        let (a2, _) = s
            .create_company("A2", later)
            .await
            .expect("same e-mail in another company");
        assert!(matches!(
            s.create_user(admin(a.id, " root@A.example ")).await,
            Err(StorageError::Conflict(_))
        ));
        let found = s.users_by_email("Root@a.example ").await.expect("lookup");
        assert_eq!(
            found.iter().map(|(u, _)| u.company_id).collect::<Vec<_>>(),
            vec![a.id, a2.id],
            "oldest first"
        );
        assert!(s
            .users_by_email("nobody@a.example")
            .await
            .expect("lookup")
            .is_empty());
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

/// A database at the schema before `0003` (e-mails unique across companies), with a
/// company, a user and a session in it; then the current migrations on top.
#[tokio::test]
async fn per_company_e_mails_migrate_users_and_sessions_intact() {
    sqlx::any::install_default_drivers();
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let old = std::env::temp_dir().join(format!("kiku-migrations-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&old).expect("dir");
    for file in ["0001_init.sql", "0002_analyses.sql"] {
        std::fs::copy(manifest.join("migrations").join(file), old.join(file)).expect("copy");
    }
    let before = sqlx::migrate::Migrator::new(old.as_path())
        .await
        .expect("migrator");
    for db in test_databases().await {
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&db.url)
            .await
            .expect("connect");
        before.run(&pool).await.expect("0001 and 0002");
        let (company, user) = (CompanyId::new(), kiku_domain::UserId::new());
        for (sql, binds) in [
            ("INSERT INTO companies (id, name, created_at_ms) VALUES ($1, 'Old', 1)", vec![company.to_string()]),
            (
                "INSERT INTO users (id, company_id, name, email, password_hash, is_admin, use_incoming_webhook, created_at_ms) VALUES ($1, $2, 'Old', 'old@a.example', 'hash', 1, 1, 2)",
                vec![user.to_string(), company.to_string()],
            ),
            (
                "INSERT INTO sessions (token_hash, user_id, expires_at_ms, created_at_ms) VALUES ('h', $1, 9999999999999, 3)",
                vec![user.to_string()],
            ),
        ] {
            let mut query = sqlx::query(sql);
            for b in binds {
                query = query.bind(b);
            }
            query.execute(&pool).await.expect("old rows");
        }
        pool.close().await;

        let s = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.backend));
        let signed_in = s
            .session_user("h", t0())
            .await
            .expect("session")
            .expect("kept");
        assert_eq!(
            (
                signed_in.id,
                signed_in.admin,
                signed_in.use_incoming_webhook
            ),
            (user, true, true)
        );
        let found = s.users_by_email("old@a.example").await.expect("lookup");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.as_deref(), Some("hash"));
        let (other, _) = s
            .create_company("New", admin(CompanyId::new(), "old@a.example"))
            .await
            .expect("the e-mail is free in another company");
        assert!(matches!(
            s.create_user(admin(company, "OLD@a.example")).await,
            Err(StorageError::Conflict(_))
        ));
        assert_eq!(
            s.users_by_email("old@a.example")
                .await
                .expect("lookup")
                .len(),
            2
        );
        // Sessions still refer to users: one for a missing user is refused.
        assert!(s
            .create_session("h2", kiku_domain::UserId::new(), t0())
            .await
            .is_err());
        assert_eq!(s.users(other.id).await.expect("list").len(), 1);
        s.close().await;
    }
    std::fs::remove_dir_all(&old).expect("clean up");
}

fn demote() -> UserPatch {
    UserPatch {
        admin: Some(false),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_company_always_keeps_an_admin() {
    each_backend(|s| async move {
        let (a, root) = s
            .create_company("A", admin(CompanyId::new(), "root@a.example"))
            .await
            .expect("company");
        assert!(matches!(
            s.update_user(a.id, root.id, demote()).await,
            Err(StorageError::Conflict(m)) if m.contains("last admin")
        ));
        let mut agent = admin(a.id, "agent@a.example");
        agent.admin = false;
        let agent = s.create_user(agent).await.expect("agent");
        let unchanged = s.update_user(a.id, agent.id, demote()).await;
        assert!(
            !unchanged
                .expect("a non-admin stays one")
                .expect("exists")
                .admin
        );
        let second = s
            .create_user(admin(a.id, "second@a.example"))
            .await
            .expect("second admin");
        let demoted = s
            .update_user(a.id, root.id, demote())
            .await
            .expect("another admin is left");
        assert!(!demoted.expect("exists").admin);
        assert!(matches!(
            s.update_user(a.id, second.id, demote()).await,
            Err(StorageError::Conflict(_))
        ));
        let users = s.users(a.id).await.expect("list");
        assert_eq!(users.iter().filter(|u| u.admin).count(), 1);
        // An unknown user is still "not found", not a conflict.
        assert!(matches!(
            s.update_user(a.id, kiku_domain::UserId::new(), demote())
                .await,
            Ok(None)
        ));
    })
    .await;
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one() {
    each_backend(|s| async move {
        for round in 0..5 {
            let (a, first) = s
                .create_company(
                    "A",
                    admin(CompanyId::new(), &format!("first{round}@a.example")),
                )
                .await
                .expect("company");
            let second = s
                .create_user(admin(a.id, &format!("second{round}@a.example")))
                .await
                .expect("second admin");
            let (x, y) = tokio::join!(
                s.update_user(a.id, first.id, demote()),
                s.update_user(a.id, second.id, demote())
            );
            let refused = [&x, &y]
                .iter()
                .filter(|r| matches!(r, Err(StorageError::Conflict(_))))
                .count();
            assert_eq!(refused, 1, "{x:?} {y:?}");
            let admins = s.users(a.id).await.expect("list");
            assert_eq!(admins.iter().filter(|u| u.admin).count(), 1);
        }
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
            s.webhook_secret(a.id)
                .await
                .expect("q")
                .map(|w| w.secret_hash),
            Some(kiku_domain::webhook_secret::hash("s1"))
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
            .search_calls(a.id, &CallSearch::default(), true)
            .await
            .expect("list");
        assert_eq!(page.total.map(|t| t.count), Some(2));
        assert_eq!(page.items[0].data.call_data_id, "c2", "newest first");
        // The same call_data_id in another company is another call.
        let in_b = s.ingest_calls(b.id, &[c1], t0()).await.expect("b ingest");
        assert_ne!(in_b[0].id, first[0].id);
        assert_eq!(s.call(b.id, first[0].id).await.expect("q"), None);
        let filtered = s
            .search_calls(
                a.id,
                &CallSearch {
                    statuses: vec![CallStatus::AwaitingUpload],
                    event_types: vec![kiku_domain::EventType::AutomaticTransfer],
                    from: Some(
                        OffsetDateTime::from_unix_timestamp(1_704_067_200 + 3600).expect("t"),
                    ),
                    ..CallSearch::default()
                },
                false,
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
async fn a_redacted_copy_replaces_the_recording_once_and_keeps_the_original_key() {
    each_backend(|s| async move {
        let (a, _) = s
            .create_company("A", admin(CompanyId::new(), "a@a.example"))
            .await
            .expect("a");
        let c1 = call("c1", "2024-01-01T00:00:00Z", "AUTOMATIC_RECORD");
        let id = s.ingest_calls(a.id, &[c1], t0()).await.expect("ingest")[0].id;
        let audio = |k: &str, bytes| NewAudio {
            key: k.into(),
            bytes,
        };
        s.attach_audio(id, audio("k1", 10), t0())
            .await
            .expect("attach");
        // Not the call's recording: nothing changes.
        assert!(!s
            .use_redacted_audio(id, "other", audio("k1-r", 99), t0())
            .await
            .expect("q"));
        assert!(s
            .use_redacted_audio(id, "k1", audio("k1-r", 99), t0())
            .await
            .expect("q"));
        let stored = s
            .call(a.id, id)
            .await
            .expect("q")
            .and_then(|c| c.audio)
            .expect("audio");
        assert_eq!((stored.key.as_str(), stored.bytes), ("k1-r", 99));
        assert_eq!(stored.original_key.as_deref(), Some("k1"));
        assert!(stored.redacted_at.is_some());
        // Once is enough: a redacted copy is not redacted again.
        assert!(!s
            .use_redacted_audio(id, "k1-r", audio("k1-r-r", 5), t0())
            .await
            .expect("q"));
        s.forget_original_audio(id, "k1").await.expect("forget");
        let stored = s
            .call(a.id, id)
            .await
            .expect("q")
            .and_then(|c| c.audio)
            .expect("audio");
        assert_eq!((stored.key.as_str(), stored.original_key), ("k1-r", None));
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
            .claim_job(&[JobKind::AnalyseCall], "w1", lease, t0())
            .await
            .expect("claim")
            .expect("a job");
        assert_eq!(
            (job.call_id, job.attempts, job.state),
            (Some(id), 1, JobState::Running)
        );
        assert_eq!(
            s.claim_job(&[JobKind::AnalyseCall], "w2", lease, t0())
                .await
                .expect("claim"),
            None,
            "held by w1"
        );
        assert_eq!(
            s.attach_audio(id, audio("k3"), t0()).await.expect("closed"),
            AttachOutcome::Closed(CallStatus::Analysing)
        );
        // w1 dies: after the lease, w2 takes the job over and w1 can no longer finish it.
        assert!(s
            .heartbeat_job(job.id, "w1", t0() + Duration::minutes(6), None, t0())
            .await
            .expect("hb"));
        let later = t0() + Duration::minutes(7);
        let taken = s
            .claim_job(
                &[JobKind::AnalyseCall],
                "w2",
                later + Duration::minutes(5),
                later,
            )
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
            s.claim_job(
                &[JobKind::AnalyseCall],
                "w3",
                later + Duration::minutes(5),
                later
            )
            .await
            .expect("claim"),
            None,
            "backing off"
        );
        let retry = later + Duration::minutes(2);
        let third = s
            .claim_job(
                &[JobKind::AnalyseCall],
                "w3",
                retry + Duration::minutes(5),
                retry,
            )
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
                .claim_job(
                    &[JobKind::AnalyseCall],
                    "w",
                    now + Duration::minutes(1),
                    now
                )
                .await
                .expect("claim")
                .is_some());
            now += Duration::minutes(2);
        }
        assert_eq!(
            s.claim_job(
                &[JobKind::AnalyseCall],
                "w",
                now + Duration::minutes(1),
                now
            )
            .await
            .expect("claim"),
            None
        );
        let job = &s.jobs_for_call(id).await.expect("jobs")[0];
        assert_eq!(job.state, JobState::Dead);
        let target = s.upload_target(id).await.expect("q").expect("call");
        let record = s
            .call(target.company_id, id)
            .await
            .expect("q")
            .expect("call");
        assert_eq!(
            (
                record.status,
                record.status_reason.as_deref(),
                record.progress_percent
            ),
            (CallStatus::Failed, job.last_error.as_deref(), None)
        );
        assert!(record.status_reason.is_some(), "the reason is shown");
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
        let all = s
            .search_calls(a.id, &CallSearch::default(), true)
            .await
            .expect("list");
        assert_eq!(all.total.map(|t| t.count), Some(37));
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

fn new_analysis(tag: &str) -> NewAnalysis {
    NewAnalysis {
        engine: format!("whisper {tag}"),
        transcript: format!(r#"{{"heard":"{tag}"}}"#),
        roles: r#"{"user":"left"}"#.into(),
        report: format!(r#"{{"score":"{tag}"}}"#),
        write_minutes: false,
    }
}

/// A company with `n` calls whose recordings are uploaded, so each has a queued job.
async fn company_with_queued_calls(
    s: &SqlStore,
    email: &str,
    n: usize,
) -> (CompanyId, Vec<CallId>) {
    let (company, _) = s
        .create_company("C", admin(CompanyId::new(), email))
        .await
        .expect("company");
    let calls: Vec<CallData> = (0..n)
        .map(|i| call(&format!("c{i}"), "2024-01-01T00:00:00Z", "AUTOMATIC_RECORD"))
        .collect();
    let mut ids = Vec::new();
    for stored in s
        .ingest_calls(company.id, &calls, t0())
        .await
        .expect("ingest")
    {
        let audio = NewAudio {
            key: format!("k-{}", stored.id),
            bytes: 1,
        };
        s.attach_audio(stored.id, audio, t0())
            .await
            .expect("attach");
        ids.push(stored.id);
    }
    (company.id, ids)
}

/// Claims and finishes every ready job, as a worker would.
async fn analyse_all(s: &SqlStore) {
    let lease = t0() + Duration::minutes(5);
    while let Some(job) = s
        .claim_job(&[JobKind::AnalyseCall], "w", lease, t0())
        .await
        .expect("claim")
    {
        let done = s
            .finish_analysis(
                job.id,
                "w",
                &new_analysis(&job.call_id.expect("call").to_string()),
                None,
                t0(),
            )
            .await
            .expect("finish");
        assert!(matches!(done, FinishOutcome::Stored { .. }), "{done:?}");
    }
}

async fn call_record(s: &SqlStore, company: CompanyId, id: CallId) -> CallRecord {
    s.call(company, id).await.expect("q").expect("call exists")
}

/// Queues a finished job again, standing in for a re-analysis request (no API yet).
async fn requeue(url: &str, job: JobId) {
    let raw = sqlx::AnyPool::connect(url).await.expect("raw connection");
    sqlx::query("UPDATE jobs SET state = 'queued', attempts = 0 WHERE id = $1")
        .bind(job.to_string())
        .execute(&raw)
        .await
        .expect("requeue");
    raw.close().await;
}

#[tokio::test]
async fn finishing_an_analysis_stores_it_and_completes_the_call_once() {
    each_backend_with_url(|s, url| async move {
        let (company, ids) = company_with_queued_calls(&s, "a@a.example", 1).await;
        let id = ids[0];
        let job = s
            .claim_job(
                &[JobKind::AnalyseCall],
                "w1",
                t0() + Duration::minutes(5),
                t0(),
            )
            .await
            .expect("claim")
            .expect("a job");
        // w1 stalls past its lease and w2 takes over: w1's result is refused, untouched.
        let later = t0() + Duration::minutes(7);
        let taken = s
            .claim_job(
                &[JobKind::AnalyseCall],
                "w2",
                later + Duration::minutes(5),
                later,
            )
            .await
            .expect("claim")
            .expect("taken over");
        assert_eq!(taken.id, job.id);
        assert_eq!(
            s.finish_analysis(job.id, "w1", &new_analysis("stale"), None, later)
                .await
                .expect("stale finish"),
            FinishOutcome::NotHeld
        );
        assert_eq!(s.analysis(company, id).await.expect("q"), None);
        assert_eq!(
            call_record(&s, company, id).await.status,
            CallStatus::Analysing
        );
        assert_eq!(
            s.jobs_for_call(id).await.expect("jobs")[0]
                .lease_owner
                .as_deref(),
            Some("w2")
        );

        assert_eq!(
            s.finish_analysis(job.id, "w2", &new_analysis("first"), None, later)
                .await
                .expect("finish"),
            FinishOutcome::Stored { version: 1 }
        );
        let first = s.analysis(company, id).await.expect("q").expect("stored");
        assert_eq!(
            first,
            AnalysisRecord {
                call_id: id,
                company_id: company,
                version: 1,
                engine: "whisper first".into(),
                transcript: r#"{"heard":"first"}"#.into(),
                roles: r#"{"user":"left"}"#.into(),
                report: r#"{"score":"first"}"#.into(),
                reason: VersionReason::Analysis,
                created_at: later,
                updated_at: later,
            }
        );
        let record = call_record(&s, company, id).await;
        assert_eq!(
            (record.status, record.status_reason, record.progress_percent),
            (CallStatus::Completed, None, None)
        );
        assert_eq!(
            s.jobs_for_call(id).await.expect("jobs")[0].state,
            JobState::Done
        );
        assert_eq!(
            s.finish_analysis(job.id, "w2", &new_analysis("again"), None, later)
                .await
                .expect("finish a done job"),
            FinishOutcome::NotHeld,
            "a done job cannot finish twice"
        );

        // Analysed again: the analysis is replaced and its version bumped.
        requeue(&url, job.id).await;
        let again = later + Duration::minutes(1);
        let rerun = s
            .claim_job(
                &[JobKind::AnalyseCall],
                "w3",
                again + Duration::minutes(5),
                again,
            )
            .await
            .expect("claim")
            .expect("requeued");
        assert_eq!(
            call_record(&s, company, id).await.status,
            CallStatus::Analysing
        );
        assert_eq!(
            s.finish_analysis(rerun.id, "w3", &new_analysis("second"), None, again)
                .await
                .expect("finish"),
            FinishOutcome::Stored { version: 2 }
        );
        let second = s.analysis(company, id).await.expect("q").expect("stored");
        assert_eq!(
            (
                second.version,
                second.engine.as_str(),
                second.transcript.as_str()
            ),
            (2, "whisper second", r#"{"heard":"second"}"#)
        );
        assert_eq!((second.created_at, second.updated_at), (later, again));
        assert_eq!(
            call_record(&s, company, id).await.status,
            CallStatus::Completed
        );
    })
    .await;
}

#[tokio::test]
async fn heartbeats_report_progress_on_the_call() {
    each_backend(|s| async move {
        let (company, ids) = company_with_queued_calls(&s, "a@a.example", 1).await;
        let id = ids[0];
        assert_eq!(call_record(&s, company, id).await.progress_percent, None);
        let lease = t0() + Duration::minutes(5);
        let job = s
            .claim_job(&[JobKind::AnalyseCall], "w1", lease, t0())
            .await
            .expect("claim")
            .expect("a job");
        assert_eq!(call_record(&s, company, id).await.progress_percent, Some(0));
        assert!(s
            .heartbeat_job(job.id, "w1", lease, Some(40), t0())
            .await
            .expect("hb"));
        assert_eq!(
            call_record(&s, company, id).await.progress_percent,
            Some(40)
        );
        // No news keeps the last progress; nonsense is clamped.
        assert!(s
            .heartbeat_job(job.id, "w1", lease, None, t0())
            .await
            .expect("hb"));
        assert_eq!(
            call_record(&s, company, id).await.progress_percent,
            Some(40)
        );
        assert!(s
            .heartbeat_job(job.id, "w1", lease, Some(250), t0())
            .await
            .expect("hb"));
        assert_eq!(
            call_record(&s, company, id).await.progress_percent,
            Some(100)
        );
        // Another worker's heartbeat writes nothing.
        assert!(!s
            .heartbeat_job(job.id, "w2", lease, Some(7), t0())
            .await
            .expect("hb"));
        assert_eq!(
            call_record(&s, company, id).await.progress_percent,
            Some(100)
        );
    })
    .await;
}

#[tokio::test]
async fn a_call_follows_its_failing_job() {
    each_backend(|s| async move {
        let (company, ids) = company_with_queued_calls(&s, "a@a.example", 1).await;
        let id = ids[0];
        let lease = t0() + Duration::minutes(5);
        let job = s
            .claim_job(&[JobKind::AnalyseCall], "w1", lease, t0())
            .await
            .expect("claim")
            .expect("a job");
        assert!(s
            .heartbeat_job(job.id, "w1", lease, Some(30), t0())
            .await
            .expect("hb"));
        assert!(!s
            .fail_job(job.id, "w2", "not mine", None, t0())
            .await
            .expect("stale fail"));
        assert_eq!(
            call_record(&s, company, id).await.status,
            CallStatus::Analysing
        );
        assert!(s
            .fail_job(
                job.id,
                "w1",
                "transient",
                Some(t0() + Duration::minutes(1)),
                t0()
            )
            .await
            .expect("retry"));
        let record = call_record(&s, company, id).await;
        assert_eq!(
            (record.status, record.status_reason, record.progress_percent),
            (CallStatus::Queued, None, None)
        );
        let retry = t0() + Duration::minutes(2);
        let job = s
            .claim_job(
                &[JobKind::AnalyseCall],
                "w1",
                retry + Duration::minutes(5),
                retry,
            )
            .await
            .expect("claim")
            .expect("retried");
        assert_eq!(call_record(&s, company, id).await.progress_percent, Some(0));
        assert!(s
            .fail_job(job.id, "w1", "bad audio", None, retry)
            .await
            .expect("dead"));
        let record = call_record(&s, company, id).await;
        assert_eq!(
            (
                record.status,
                record.status_reason.as_deref(),
                record.progress_percent
            ),
            (CallStatus::Failed, Some("bad audio"), None)
        );
    })
    .await;
}

#[tokio::test]
async fn analyses_are_listed_and_paged_within_their_company() {
    each_backend(|s| async move {
        let (a, a_calls) = company_with_queued_calls(&s, "a@a.example", 5).await;
        let (b, b_calls) = company_with_queued_calls(&s, "b@b.example", 2).await;
        analyse_all(&s).await;
        // One more call of A without a recording, so without an analysis.
        let pending = s
            .ingest_calls(
                a,
                &[call("pending", "2024-01-01T00:00:00Z", "AUTOMATIC_RECORD")],
                t0(),
            )
            .await
            .expect("ingest")[0]
            .id;

        let mut asked = a_calls.clone();
        asked.extend([pending, b_calls[0], CallId::new(), a_calls[0]]);
        let mut got: Vec<CallId> = s
            .analyses_of(a, &asked)
            .await
            .expect("of")
            .iter()
            .map(|r| r.call_id)
            .collect();
        got.sort();
        let mut expected = a_calls.clone();
        expected.sort();
        assert_eq!(got, expected, "A's analysed calls, once each, none of B's");
        assert!(s.analyses_of(b, &a_calls).await.expect("of").is_empty());
        assert!(s.analyses_of(a, &[]).await.expect("of").is_empty());
        assert_eq!(s.analysis(b, a_calls[0]).await.expect("q"), None);
        let own = s.analysis(a, a_calls[0]).await.expect("q").expect("own");
        assert_eq!(own.report, format!(r#"{{"score":"{}"}}"#, a_calls[0]));

        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = s.analyses_page(a, after, 2).await.expect("page");
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some(last.call_id);
            assert!(page.iter().all(|r| r.company_id == a));
            paged.extend(page.iter().map(|r| r.call_id));
        }
        assert_eq!(paged, expected, "every analysis once, in call id order");
        let b_page = s.analyses_page(b, None, 10).await.expect("page");
        assert_eq!(b_page.len(), 2);
        assert!(b_page.iter().all(|r| r.company_id == b));
        assert!(s.analyses_page(a, None, 0).await.expect("page").is_empty());
    })
    .await;
}

#[tokio::test]
async fn every_result_change_is_a_kept_version_with_its_event() {
    each_backend(|s| async move {
        let (a, ids) = company_with_queued_calls(&s, "a@a.example", 1).await;
        let (b, _) = company_with_queued_calls(&s, "b@b.example", 0).await;
        // Subscribers: each event gets a delivery job per enabled endpoint of its kind.
        let endpoint = |name: &str, events: &[&str], enabled: bool| NewOutgoingWebhook {
            company_id: a,
            name: name.into(),
            url: "https://example.com/hook".into(),
            headers: json!({}),
            payload: json!({}),
            exclude_phrases: false,
            exclude_keywords: false,
            enabled,
            events: events.iter().map(|e| e.to_string()).collect(),
            secret: "whsec_one".into(),
            now: t0(),
        };
        let completed = s
            .create_outgoing_webhook(&endpoint("c", &["call_analysis_completed"], true))
            .await
            .expect("endpoint");
        let both = ["call_analysis_completed", "call_analysis_rescored"];
        let all = s
            .create_outgoing_webhook(&endpoint("all", &both, true))
            .await
            .expect("endpoint");
        s.create_outgoing_webhook(&endpoint("off", &both, false))
            .await
            .expect("endpoint");
        analyse_all(&s).await;
        let id = ids[0];
        let later = t0() + Duration::hours(1);
        let swapped = r#"{"user":"right"}"#;
        let swap = VersionReason::Swap;
        assert_eq!(
            s.update_analysis(
                b,
                id,
                1,
                Revision {
                    roles: swapped,
                    report: "{}",
                    reason: swap,
                    write_minutes: false,
                },
                later
            )
            .await
            .expect("other company"),
            None
        );
        assert_eq!(
            s.update_analysis(
                a,
                CallId::new(),
                1,
                Revision {
                    roles: swapped,
                    report: "{}",
                    reason: swap,
                    write_minutes: false,
                },
                later
            )
            .await
            .expect("no such call"),
            None
        );
        assert_eq!(
            s.update_analysis(
                a,
                id,
                1,
                Revision {
                    roles: swapped,
                    report: r#"{"score":1}"#,
                    reason: swap,
                    write_minutes: false,
                },
                later
            )
            .await
            .expect("update"),
            Some(2)
        );
        // A second writer that read version 1 loses.
        let stale = s.update_analysis(
            a,
            id,
            1,
            Revision {
                roles: "{}",
                report: r#"{"score":2}"#,
                reason: swap,
                write_minutes: false,
            },
            later,
        );
        assert_eq!(stale.await.expect("conflict"), None);
        let rescore = VersionReason::Rescore;
        let third = s.update_analysis(
            a,
            id,
            2,
            Revision {
                roles: swapped,
                report: r#"{"score":3}"#,
                reason: rescore,
                write_minutes: false,
            },
            later,
        );
        assert_eq!(third.await.expect("rescore"), Some(3));

        let stored = s.analysis(a, id).await.expect("q").expect("stored");
        assert_eq!(
            (stored.version, stored.report.as_str(), stored.reason),
            (3, r#"{"score":3}"#, VersionReason::Rescore)
        );
        assert_eq!(stored.transcript, format!(r#"{{"heard":"{id}"}}"#));
        assert_eq!((stored.created_at, stored.updated_at), (t0(), later));
        // Every version stays readable as it was made.
        let versions = s.analysis_versions(a, id).await.expect("versions");
        let summary: Vec<_> = versions
            .iter()
            .map(|v| (v.version, v.reason, v.roles.as_str(), v.report.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    1,
                    VersionReason::Analysis,
                    r#"{"user":"left"}"#,
                    format!(r#"{{"score":"{id}"}}"#).as_str()
                ),
                (2, VersionReason::Swap, swapped, r#"{"score":1}"#),
                (3, VersionReason::Rescore, swapped, r#"{"score":3}"#),
            ]
        );
        let second = s.analysis_version(a, id, 2).await.expect("q").expect("v2");
        assert_eq!(second.report, r#"{"score":1}"#);
        assert_eq!(s.analysis_version(b, id, 2).await.expect("q"), None);
        assert_eq!(s.analysis_version(a, id, 4).await.expect("q"), None);
        // Each version was announced in its transaction, with its deliveries.
        let events = s.events_of_call(a, id).await.expect("events");
        let kinds: Vec<_> = events
            .iter()
            .map(|e| (e.kind, e.version, e.previous_version))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (EventKind::CallAnalysisCompleted, Some(1), None),
                (EventKind::CallAnalysisCompleted, Some(2), Some(1)),
                (EventKind::CallAnalysisRescored, Some(3), Some(2)),
            ]
        );
        assert_eq!(s.events_of_call(b, id).await.expect("events"), vec![]);
        assert_eq!(
            s.event(a, events[1].id).await.expect("q").as_ref(),
            Some(&events[1])
        );
        let lease = later + Duration::minutes(5);
        let mut queued = Vec::new();
        loop {
            let jobs = s
                .claim_jobs(&[JobKind::DeliverWebhook], "d", 2, lease, later)
                .await
                .expect("claim");
            if jobs.is_empty() {
                break;
            }
            assert!(jobs.len() <= 2, "a claim takes at most its limit");
            for job in jobs {
                assert_eq!((job.company_id, job.call_id), (a, None));
                let payload: serde_json::Value = serde_json::from_str(&job.payload).expect("json");
                queued.push((
                    payload["event_id"].as_str().expect("event").to_string(),
                    payload["endpoint_id"]
                        .as_str()
                        .expect("endpoint")
                        .to_string(),
                ));
                assert!(s.complete_job(job.id, "d", later).await.expect("done"));
            }
        }
        queued.sort();
        let mut expected = vec![
            (events[0].id.to_string(), completed.id.to_string()),
            (events[0].id.to_string(), all.id.to_string()),
            (events[1].id.to_string(), completed.id.to_string()),
            (events[1].id.to_string(), all.id.to_string()),
            (events[2].id.to_string(), all.id.to_string()),
        ];
        expected.sort();
        assert_eq!(queued, expected);
        assert_eq!(s.count_analyses(a).await.expect("count"), 1);
        assert_eq!(s.count_analyses(b).await.expect("count"), 0);
    })
    .await;
}

#[tokio::test]
async fn a_report_made_with_old_settings_is_not_stored() {
    each_backend(|s| async move {
        let (a, ids) = company_with_queued_calls(&s, "a@a.example", 1).await;
        let lease = t0() + Duration::minutes(5);
        let job = s
            .claim_job(&[JobKind::AnalyseCall], "w", lease, t0())
            .await
            .expect("claim")
            .expect("a job");
        // The settings change while the call is analysed; its re-score is queued with it.
        let to_rescore = s
            .set_analysis_settings(a, r#"{"fillers":["eh"]}"#, t0())
            .await
            .expect("set");
        assert_eq!(to_rescore, 0);
        let (old, new) = (new_analysis("old"), new_analysis("new"));
        let finish = s.finish_analysis(job.id, "w", &old, None, t0());
        assert_eq!(
            finish.await.expect("finish"),
            FinishOutcome::SettingsChanged
        );
        assert_eq!(s.analysis(a, ids[0]).await.expect("q"), None);
        let settings = Some(r#"{"fillers":["eh"]}"#);
        let finish = s.finish_analysis(job.id, "w", &new, settings, t0());
        assert_eq!(
            finish.await.expect("finish"),
            FinishOutcome::Stored { version: 1 }
        );
        let rescore = s
            .claim_job(&[JobKind::RescoreCompany], "r", lease, t0())
            .await
            .expect("claim")
            .expect("the re-score survives as a job");
        assert_eq!((rescore.company_id, rescore.call_id), (a, None));
    })
    .await;
}

#[tokio::test]
async fn a_failed_analysis_is_announced_other_jobs_leave_calls_alone() {
    each_backend(|s| async move {
        let (a, ids) = company_with_queued_calls(&s, "a@a.example", 1).await;
        let lease = t0() + Duration::minutes(5);
        let job = s
            .claim_job(&[JobKind::AnalyseCall], "w", lease, t0())
            .await
            .expect("claim")
            .expect("a job");
        assert!(s
            .fail_job(job.id, "w", "bad audio", None, t0())
            .await
            .expect("fail"));
        let events = s.events_of_call(a, ids[0]).await.expect("events");
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].kind, events[0].detail.as_deref()),
            (EventKind::CallAnalysisFailed, Some("bad audio"))
        );
        // A job of another kind never touches the call's status.
        s.set_analysis_settings(a, "{}", t0()).await.expect("set");
        let rescore = s
            .claim_job(&[JobKind::RescoreCompany], "r", lease, t0())
            .await
            .expect("claim")
            .expect("job");
        assert!(s
            .fail_job(rescore.id, "r", "boom", None, t0())
            .await
            .expect("fail"));
        assert_eq!(call_record(&s, a, ids[0]).await.status, CallStatus::Failed);
        // Enqueueing the same job id twice is one job.
        let again = NewJob {
            id: rescore.id,
            kind: JobKind::RescoreCompany,
            company_id: a,
            call_id: None,
            payload: "{}".into(),
            max_attempts: 3,
            run_at: t0(),
        };
        s.enqueue_job(again, t0()).await.expect("enqueue");
        assert!(s
            .claim_job(&[JobKind::RescoreCompany], "r", lease, t0())
            .await
            .expect("claim")
            .is_none());
    })
    .await;
}

#[tokio::test]
async fn analysis_settings_round_trip_per_company() {
    each_backend(|s| async move {
        let (a, _) = company_with_queued_calls(&s, "a@a.example", 0).await;
        let (b, _) = company_with_queued_calls(&s, "b@b.example", 0).await;
        assert_eq!(s.analysis_settings(a).await.expect("q"), None);
        s.set_analysis_settings(a, r#"{"fillers":["um"]}"#, t0())
            .await
            .expect("set");
        s.set_analysis_settings(a, r#"{"fillers":["eh"]}"#, t0())
            .await
            .expect("overwrite");
        assert_eq!(
            s.analysis_settings(a).await.expect("q").as_deref(),
            Some(r#"{"fillers":["eh"]}"#)
        );
        assert_eq!(s.analysis_settings(b).await.expect("q"), None);
        assert!(matches!(
            s.set_analysis_settings(CompanyId::new(), "{}", t0()).await,
            Err(StorageError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_one_company_does_not_starve_another() {
    each_backend(|s| async move {
        // A queues 200 analyses; a few are taken; then B queues one, later in time.
        let (a, _) = company_with_queued_calls(&s, "a@flood.example", 200).await;
        let lease = t0() + Duration::minutes(5);
        for _ in 0..3 {
            let job = s.claim_job(&[JobKind::AnalyseCall], "w", lease, t0()).await;
            assert_eq!(job.expect("claim").expect("a job").company_id, a);
        }
        let later = t0() + Duration::minutes(1);
        let (c, _) = company_with_queued_calls(&s, "b@flood.example", 1).await;
        let mut order = Vec::new();
        for _ in 0..3 {
            let job = s
                .claim_job(&[JobKind::AnalyseCall], "w", lease, later)
                .await;
            order.push(job.expect("claim").expect("a job").company_id);
        }
        assert!(
            order.contains(&c),
            "B's call is among the next claims, not after A's 197: {order:?}"
        );
        // Claimed in batches too: B's place is near the head of a batch.
        let (d, _) = company_with_queued_calls(&s, "d@flood.example", 1).await;
        let batch = s
            .claim_jobs(&[JobKind::AnalyseCall], "w", 5, lease, later)
            .await
            .expect("claim");
        assert!(batch.iter().any(|j| j.company_id == d), "{batch:?}");
    })
    .await;
}

#[tokio::test]
async fn minutes_are_queued_with_the_result_and_a_later_versions_minutes_win() {
    each_backend(|s| async move {
        let (a, ids) = company_with_queued_calls(&s, "a@a.example", 1).await;
        let id = ids[0];
        let lease = t0() + Duration::minutes(5);
        let job = s
            .claim_job(&[JobKind::AnalyseCall], "w", lease, t0())
            .await
            .expect("claim")
            .expect("job");
        let mut analysis = new_analysis("m");
        analysis.write_minutes = true;
        let done = s.finish_analysis(job.id, "w", &analysis, None, t0());
        assert_eq!(
            done.await.expect("finish"),
            FinishOutcome::Stored { version: 1 }
        );
        // The swap's version queues its own minutes job.
        let revision = Revision {
            roles: r#"{"user":"right"}"#,
            report: "{}",
            reason: VersionReason::Swap,
            write_minutes: true,
        };
        let swapped = s.update_analysis(a, id, 1, revision, t0());
        assert_eq!(swapped.await.expect("swap"), Some(2));
        let claim = || s.claim_job(&[JobKind::WriteMinutes], "m", lease, t0());
        let first = claim().await.expect("claim").expect("minutes of version 1");
        let second = claim().await.expect("claim").expect("minutes of version 2");
        assert_eq!(first.call_id, Some(id));
        assert_eq!(
            (first.payload.as_str(), second.payload.as_str()),
            (r#"{"version":1}"#, r#"{"version":2}"#)
        );
        assert!(s.minutes(a, id).await.expect("read").is_none());

        let minutes = |version, text| NewMinutes {
            call: id,
            version,
            text,
            model: "m",
        };
        // Version 2's minutes first; version 1's, finishing later, are dropped unannounced.
        let new = minutes(2, "two");
        assert!(s
            .finish_minutes(second.id, "m", &new, t0())
            .await
            .expect("finish"));
        let new = minutes(1, "one");
        assert!(s
            .finish_minutes(first.id, "m", &new, t0())
            .await
            .expect("finish"));
        let kept = s.minutes(a, id).await.expect("read").expect("minutes");
        assert_eq!(
            (kept.version, kept.text.as_str(), kept.model.as_str()),
            (2, "two", "m")
        );
        let announced: Vec<(EventKind, Option<u32>, Option<String>)> = s
            .events_of_call(a, id)
            .await
            .expect("events")
            .into_iter()
            .filter(|e| e.kind == EventKind::CallSummarizationCompleted)
            .map(|e| (e.kind, e.version, e.detail))
            .collect();
        assert_eq!(
            announced,
            vec![(
                EventKind::CallSummarizationCompleted,
                Some(2),
                Some("two".to_string())
            )]
        );
        // A worker that lost its job stores nothing; another company sees no minutes.
        let new = minutes(3, "three");
        assert!(!s
            .finish_minutes(first.id, "m", &new, t0())
            .await
            .expect("finish"));
        let (b, _) = company_with_queued_calls(&s, "b@b.example", 0).await;
        assert!(s.minutes(b, id).await.expect("read").is_none());
        assert_eq!(s.minutes(a, id).await.expect("read").expect("m").version, 2);
    })
    .await;
}
