//! A full disk under SQLite: a write is acknowledged only once it is committed, and writes
//! work again without a restart when space returns. (Issue 17: after one `SQLITE_FULL`,
//! sqlx's transaction bookkeeping and SQLite's disagreed, and every later "commit" went
//! into a transaction that never ended.)

use kiku_domain::call_data::parse_batch;
use kiku_domain::{CallData, CompanyId};
use kiku_storage::test_support::SmallDisk;
use kiku_storage::*;
use serde_json::json;
use time::OffsetDateTime;

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time")
}

fn user(company: CompanyId, email: &str) -> NewUser {
    NewUser {
        company_id: company,
        name: "Somebody with a fairly long name to take up room".into(),
        email: email.into(),
        password_hash: Some("x".repeat(200)),
        admin: true,
        use_incoming_webhook: false,
        created_at: t0(),
    }
}

fn batch(prefix: &str, n: usize) -> Vec<CallData> {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "call_data_id": format!("{prefix}-{i}"), "audio_file_type": "wav",
                "event_type": "AUTOMATIC_RECORD", "call_starts_at": "2024-01-01T00:00:00Z",
                "call_answered_at": null, "call_ends_at": "2024-01-01T00:05:00Z",
                "participants": [
                    {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": "0311112222", "name": "a name to fill the row"},
                    {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322223333", "name": "another name"}
                ],
                "tags": [{"value": "x".repeat(200)}]
            })
        })
        .collect();
    parse_batch(&json!({ "call_data": calls })).expect("valid batch")
}

#[tokio::test]
async fn sqlite_acknowledges_only_committed_writes_and_recovers_when_space_returns() {
    let disk = match SmallDisk::mount(6) {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED sqlite_acknowledges_only_committed_writes…: {why}");
            return;
        }
    };
    let url = format!(
        "sqlite://{}?mode=rwc",
        disk.path().join("kiku.db").display()
    );
    let store = SqlStore::connect(&url, kiku_storage::test_support::secret_keys())
        .await
        .expect("open");
    let (company, _) = store
        .create_company("A", user(CompanyId::new(), "admin@a.example"))
        .await
        .expect("company");

    let filler = disk.fill();
    let mut acknowledged = Vec::new();
    let mut users = Vec::new();
    let mut refused = 0;
    for round in 0..12 {
        let calls = batch(&format!("full{round}"), if round < 2 { 300 } else { 100 });
        match store.ingest_calls(company.id, &calls, t0()).await {
            Ok(stored) => acknowledged.extend(stored.into_iter().map(|c| c.id)),
            Err(e) => {
                refused += 1;
                assert!(
                    matches!(e, StorageError::Full(_)),
                    "a full disk is reported as such, not {e:?}"
                );
            }
        }
        match store
            .create_user(user(company.id, &format!("u{round}@a.example")))
            .await
        {
            Ok(u) => users.push(u.id),
            Err(e) => assert!(matches!(e, StorageError::Full(_)), "{e:?}"),
        }
    }
    assert!(refused > 0, "the disk never filled up");

    std::fs::remove_file(&filler).expect("free the space");
    // Without a restart, writes go through again.
    let calls = batch("after", 100);
    let stored = store
        .ingest_calls(company.id, &calls, t0())
        .await
        .expect("a write once space is back");
    acknowledged.extend(stored.into_iter().map(|c| c.id));
    let late = store
        .create_user(user(company.id, "late@a.example"))
        .await
        .expect("a user once space is back");
    store.close().await;

    // Everything acknowledged is in the file, as a fresh process sees it.
    let reopened = SqlStore::connect(&url, kiku_storage::test_support::secret_keys())
        .await
        .expect("reopen");
    for id in &acknowledged {
        let call = reopened.call(company.id, *id).await.expect("read");
        assert!(call.is_some(), "acknowledged call {id} is lost");
    }
    users.push(late.id);
    for id in &users {
        let user = reopened.user(company.id, *id).await.expect("read");
        assert!(user.is_some(), "acknowledged user {id} is lost");
    }
    reopened.close().await;
}
