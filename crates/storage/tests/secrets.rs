//! Secrets at rest and the append-only audit log, on every backend (SQLite always,
//! PostgreSQL in CI), read back through raw SQL: what the database itself holds.

use kiku_domain::{webhook_secret, CompanyId};
use kiku_storage::secrets::{stored_form, Stored};
use kiku_storage::test_support::{secret_keys, test_databases, TestDatabase};
use kiku_storage::*;
use serde_json::json;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use time::OffsetDateTime;

/// In every secret written, so a plain copy anywhere in a row is found.
const MARK: &str = "PLAINMARK";

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time")
}

fn keys(current: &str, old: &[&str]) -> SecretKeys {
    SecretKeys::from_base64(current, old).expect("keys")
}

async fn raw(db: &TestDatabase) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .expect("raw connection")
}

/// Every secret column of every row, as stored.
async fn stored_secrets(pool: &AnyPool) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT secret AS v FROM outgoing_webhooks",
        "SELECT previous_secret AS v FROM outgoing_webhooks WHERE previous_secret IS NOT NULL",
        "SELECT webhook_url AS v FROM slack_rules",
        "SELECT credentials AS v FROM crm_connections",
        "SELECT secret_hash AS v FROM incoming_webhooks",
    ] {
        for row in sqlx::query(sql).fetch_all(pool).await.expect(sql) {
            out.push(row.try_get::<String, _>("v").expect("text"));
        }
    }
    out
}

struct Made {
    company: CompanyId,
    endpoint: kiku_domain::OutgoingWebhookId,
    rule: kiku_domain::SlackRuleId,
    connection: kiku_domain::CrmConnectionId,
}

/// One secret of each kind, the endpoint's rotated once.
async fn make_secrets(s: &SqlStore) -> Made {
    let (company, _) = s
        .create_company(
            "A",
            NewUser {
                company_id: CompanyId::new(),
                name: "a".into(),
                email: format!("{}@a.example", uuid::Uuid::new_v4()),
                password_hash: None,
                admin: true,
                use_incoming_webhook: false,
                created_at: t0(),
            },
        )
        .await
        .expect("company");
    let endpoint = s
        .create_outgoing_webhook(&NewOutgoingWebhook {
            company_id: company.id,
            name: "e".into(),
            url: "https://receiver.example/hook".into(),
            headers: json!({}),
            payload: json!({}),
            exclude_phrases: false,
            exclude_keywords: false,
            enabled: true,
            events: vec!["call_analysis_completed".into()],
            secret: format!("whsec_{MARK}old"),
            now: t0(),
        })
        .await
        .expect("endpoint");
    s.rotate_outgoing_webhook_secret(
        company.id,
        endpoint.id,
        &format!("whsec_{MARK}new"),
        t0() + time::Duration::hours(24),
        t0(),
    )
    .await
    .expect("rotate");
    let rule = s
        .create_slack_rule(&NewSlackRule {
            company_id: company.id,
            name: "r".into(),
            webhook_url: format!("https://hooks.slack.example/services/T/B/{MARK}"),
            enabled: true,
            include_summary: false,
            filters: json!({}),
            now: t0(),
        })
        .await
        .expect("rule");
    let connection = s
        .create_crm_connection(
            company.id,
            &CrmConnectionInput {
                kind: "kintone".into(),
                name: "k".into(),
                base_url: Some("https://x.kintone.example".into()),
                settings: json!({"app": 1}),
                credentials: json!({"api_token": MARK}),
                content: "summary".into(),
                enabled: true,
            },
            t0(),
        )
        .await
        .expect("crm");
    s.create_webhook_secret(company.id, &format!("{MARK}-url-secret"), t0())
        .await
        .expect("webhook secret");
    Made {
        company: company.id,
        endpoint: endpoint.id,
        rule: rule.id,
        connection: connection.id,
    }
}

/// The store reads every secret back as it was given.
async fn reads_back(s: &SqlStore, m: &Made) {
    let e = s
        .outgoing_webhook(m.company, m.endpoint)
        .await
        .expect("read")
        .expect("endpoint");
    assert_eq!(e.secret, format!("whsec_{MARK}new"));
    assert_eq!(e.previous_secret, Some(format!("whsec_{MARK}old")));
    let r = s
        .slack_rule(m.company, m.rule)
        .await
        .expect("read")
        .expect("rule");
    assert!(r.webhook_url.ends_with(MARK));
    let c = s
        .crm_connection(m.company, m.connection)
        .await
        .expect("read")
        .expect("crm");
    assert_eq!(c.credentials, json!({"api_token": MARK}));
    let w = s
        .webhook_secret(m.company)
        .await
        .expect("read")
        .expect("url");
    assert!(webhook_secret::matches(
        &w.secret_hash,
        &format!("{MARK}-url-secret")
    ));
}

#[tokio::test]
async fn the_database_holds_no_secret_in_plain_text() {
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, secret_keys())
            .await
            .expect("store");
        let m = make_secrets(&s).await;
        reads_back(&s, &m).await;
        let pool = raw(&db).await;
        let stored = stored_secrets(&pool).await;
        assert_eq!(stored.len(), 5, "{}", db.backend);
        for value in &stored {
            assert!(!value.contains(MARK), "{}: {value}", db.backend);
        }
        // Nor anywhere else in those rows (names, settings, the attempt log's targets).
        for table in [
            "outgoing_webhooks",
            "slack_rules",
            "crm_connections",
            "incoming_webhooks",
        ] {
            let sql = format!("SELECT * FROM {table}");
            for row in sqlx::query(&sql).fetch_all(&pool).await.expect("rows") {
                for i in 0..row.len() {
                    if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                        assert!(!text.contains(MARK), "{}: {table}: {text}", db.backend);
                    }
                }
            }
        }
        pool.close().await;
        s.close().await;
    }
}

#[tokio::test]
async fn plain_text_from_before_is_protected_at_start_by_processes_starting_together() {
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, secret_keys())
            .await
            .expect("store");
        let m = make_secrets(&s).await;
        s.close().await;
        // What an older version left: every secret as it is.
        let pool = raw(&db).await;
        for sql in [
            format!("UPDATE outgoing_webhooks SET secret = 'whsec_{MARK}new', previous_secret = 'whsec_{MARK}old'"),
            format!("UPDATE slack_rules SET webhook_url = 'https://hooks.slack.example/services/T/B/{MARK}'"),
            format!("UPDATE crm_connections SET credentials = '{{\"api_token\": \"{MARK}\"}}'"),
            format!("UPDATE incoming_webhooks SET secret_hash = '{MARK}-url-secret'"),
        ] {
            sqlx::query(&sql).execute(&pool).await.expect(&sql);
        }
        let (a, b) = tokio::join!(
            SqlStore::connect(&db.url, secret_keys()),
            SqlStore::connect(&db.url, secret_keys())
        );
        let (a, b) = (a.expect("first start"), b.expect("second start"));
        for value in stored_secrets(&pool).await {
            assert!(!value.contains(MARK), "{}: {value}", db.backend);
        }
        reads_back(&a, &m).await;
        reads_back(&b, &m).await;
        // Idempotent: nothing is left to protect.
        let counts = a.reencrypt_secrets().await.expect("again");
        assert_eq!(
            (
                counts.encrypted_from_plain_text,
                counts.webhook_secrets_hashed
            ),
            (0, 0)
        );
        assert_eq!(counts.already_current, 4, "{}", db.backend);
        pool.close().await;
        a.close().await;
        b.close().await;
    }
}

#[tokio::test]
async fn after_a_key_rotation_reencrypt_moves_everything_to_the_new_key() {
    let old = kiku_storage::test_support::TEST_SECRETS_KEY;
    let new = SecretKeys::generate_base64();
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, secret_keys())
            .await
            .expect("store");
        let m = make_secrets(&s).await;
        s.close().await;

        // The new key current, the old one still read.
        let rotated = keys(&new, &[old]);
        let s = SqlStore::connect(&db.url, rotated.clone())
            .await
            .expect("rotated");
        reads_back(&s, &m).await;
        let counts = s.reencrypt_secrets().await.expect("reencrypt");
        assert_eq!(counts.key_id, rotated.current_id());
        assert_eq!(
            (counts.reencrypted, counts.already_current),
            (4, 0),
            "{}",
            db.backend
        );
        let pool = raw(&db).await;
        for value in stored_secrets(&pool).await {
            match stored_form(&value) {
                Stored::Encrypted { key_id } => assert_eq!(key_id, rotated.current_id()),
                Stored::PlainText => assert!(webhook_secret::is_hash(&value), "{value}"),
            }
        }
        let again = s.reencrypt_secrets().await.expect("again");
        assert_eq!((again.reencrypted, again.already_current), (0, 4));
        s.close().await;

        // The old key can go now; without the new one the start stops, naming the key.
        let s = SqlStore::connect(&db.url, keys(&new, &[]))
            .await
            .expect("new key only");
        reads_back(&s, &m).await;
        s.close().await;
        let err = SqlStore::connect(&db.url, keys(old, &[]))
            .await
            .expect_err("the old key alone");
        assert!(
            matches!(&err, StorageError::Secret(SecretError::UnknownKey { key_id, .. }) if key_id == rotated.current_id()),
            "{}: {err}",
            db.backend
        );
        assert!(err.to_string().contains("secrets_old_keys"), "{err}");
        pool.close().await;
    }
}

#[tokio::test]
async fn a_secret_copied_to_another_row_does_not_decrypt() {
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, secret_keys())
            .await
            .expect("store");
        let m = make_secrets(&s).await;
        let other = s
            .create_slack_rule(&NewSlackRule {
                company_id: m.company,
                name: "other".into(),
                webhook_url: "https://hooks.slack.example/services/T/B/other".into(),
                enabled: true,
                include_summary: false,
                filters: json!({}),
                now: t0(),
            })
            .await
            .expect("rule");
        let pool = raw(&db).await;
        let sql = "UPDATE slack_rules SET webhook_url = (SELECT webhook_url FROM slack_rules WHERE id = $1) WHERE id = $2";
        sqlx::query(sql)
            .bind(m.rule.to_string())
            .bind(other.id.to_string())
            .execute(&pool)
            .await
            .expect("copy");
        let err = s.slack_rule(m.company, other.id).await.expect_err("copied");
        assert!(
            matches!(err, StorageError::Secret(SecretError::Undecryptable { .. })),
            "{}: {err}",
            db.backend
        );
        pool.close().await;
        s.close().await;
    }
}

#[tokio::test]
async fn the_audit_log_refuses_update_and_delete_in_the_database() {
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, secret_keys())
            .await
            .expect("store");
        let m = make_secrets(&s).await;
        let entry = NewAuditEntry {
            company_id: m.company,
            at: t0(),
            actor_id: "cli".into(),
            actor_name: "root".into(),
            action: "user.create".into(),
            target: None,
            details: "{}".into(),
            client: None,
            via: "cli".into(),
        };
        s.record_audit(&entry).await.expect("record");
        let pool = raw(&db).await;
        let mut refused = vec![
            "UPDATE audit_log SET actor_name = 'someone else'",
            "DELETE FROM audit_log",
        ];
        if db.backend == "postgres" {
            refused.push("TRUNCATE audit_log");
        }
        for sql in refused {
            let err = sqlx::query(sql).execute(&pool).await.expect_err(sql);
            assert!(
                err.to_string().contains("append-only"),
                "{}: {sql}: {err}",
                db.backend
            );
        }
        // Still written, and the entry is as it was.
        s.record_audit(&entry).await.expect("record again");
        let rows = sqlx::query("SELECT actor_name FROM audit_log")
            .fetch_all(&pool)
            .await
            .expect("read");
        assert_eq!(rows.len(), 2);
        for row in rows {
            assert_eq!(
                row.try_get::<String, _>("actor_name").expect("name"),
                "root"
            );
        }
        pool.close().await;
        s.close().await;
    }
}
