//! A `kiku serve` process killed (SIGKILL) in the middle of an analysis: the next process
//! takes the job over once the lease runs out and completes it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kiku_storage::test_support::test_databases;
use kiku_storage::{JobStore, SqlStore};
use serde_json::{json, Value};

use kiku_analysis::testing::test_model_dir;

use crate::analysis::support_call_mp3;
use crate::support::run_kiku;

fn kiku(env: &[(&str, String)], args: &[&str]) -> Value {
    let (ok, out) = run_kiku(args, env);
    assert!(ok, "{args:?}: {out}");
    out
}

fn serve(env: &[(&str, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kiku"))
        .arg("serve")
        .env(
            "KIKU_SECRETS_KEY",
            kiku_storage::test_support::TEST_SECRETS_KEY,
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kiku serve")
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not come up");
}

async fn status(http: &reqwest::Client, base: &str, token: &str, call: &str) -> Value {
    http.get(format!("{base}/api/v1/calls/{call}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_is_completed_by_the_next_process() {
    let Some(model) = test_model_dir() else {
        return;
    };
    let audio_dir = tempfile::tempdir().expect("dir");
    let (mp3, seconds) = support_call_mp3(audio_dir.path());
    for db in test_databases().await {
        let dir = tempfile::tempdir().expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let env = vec![
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_DATABASE_URL", db.url.clone()),
            ("KIKU_LISTEN", format!("127.0.0.1:{port}")),
            ("KIKU_PUBLIC_URL", base.clone()),
            ("KIKU_MODEL_DIR", model.display().to_string()),
            ("KIKU_ANALYSIS_WORKERS", "1".into()),
            ("KIKU_ANALYSIS_THREADS", "1".into()),
            ("KIKU_BEAM_SIZE", "1".into()),
            ("KIKU_ANALYSIS_LEASE_SECONDS", "3".into()),
        ];
        let company = kiku(
            &env,
            &[
                "company",
                "create",
                "--name",
                "Acme",
                "--admin-email",
                "boss@acme.example",
                "--admin-password",
                "long enough",
            ],
        );
        let company_id = company["company_id"].as_str().expect("company").to_string();
        let user = kiku(
            &env,
            &[
                "user",
                "create",
                "--company",
                &company_id,
                "--name",
                "Dan",
                "--email",
                "dan@acme.example",
                "--use-incoming-webhook",
            ],
        );
        let webhook = kiku(&env, &["webhook-url", "create", "--company", &company_id]);
        let webhook = webhook["url"].as_str().expect("url").to_string();

        let mut first = serve(&env);
        let http = reqwest::Client::new();
        wait_healthy(&http, &base).await;
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "boss@acme.example", "password": "long enough"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        let token = login["token"].as_str().expect("token").to_string();
        let ends = 1_767_574_800 + seconds.ceil() as i64;
        let body = json!({"call_data": [{
            "call_data_id": "killed", "audio_file_type": "mp3", "event_type": "OUTGOING_CALL",
            "call_starts_at": "2026-01-05T01:00:00Z", "call_answered_at": "2026-01-05T01:00:00Z",
            "call_ends_at": time::OffsetDateTime::from_unix_timestamp(ends).expect("t")
                .format(&time::format_description::well_known::Rfc3339).expect("format"),
            "audio_channel_type": "STEREO",
            "participants": [
                {"type": "FROM", "stereo_lr": "left", "miitel_user_id": user["user_id"], "number": "0311112222", "name": "Dan"},
                {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322223333", "name": null}
            ]
        }]});
        let posted: Value = http
            .post(&webhook)
            .json(&body)
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        let entry = &posted["audio_upload_urls"][0]["killed"];
        let call_id = entry["call_id"].as_str().expect("call id").to_string();
        let put = http
            .put(entry["url"].as_str().expect("url"))
            .body(mp3.clone())
            .send()
            .await
            .expect("put");
        assert!(put.status().is_success());

        // Kill the first process as soon as it is analysing.
        let mut seen = Value::Null;
        for _ in 0..600 {
            seen = status(&http, &base, &token, &call_id).await;
            if seen["status"] != "queued" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen["status"], "analysing", "{}: {seen:#}", db.backend);
        first.kill().expect("kill");
        let _ = first.wait();

        let mut second = serve(&env);
        wait_healthy(&http, &base).await;
        let mut done = Value::Null;
        for _ in 0..600 {
            done = status(&http, &base, &token, &call_id).await;
            if matches!(done["status"].as_str(), Some("completed" | "failed")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let _ = second.kill();
        let _ = second.wait();
        assert_eq!(done["status"], "completed", "{}: {done:#}", db.backend);
        assert_eq!(done["analysis"]["participants"][0]["role"], "user");
        let store = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .expect("db");
        let jobs = store
            .jobs_for_call(call_id.parse().expect("id"))
            .await
            .expect("jobs");
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].attempts, 2, "{}: taken over once", db.backend);
        store.close().await;
    }
}
