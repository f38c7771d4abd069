//! Auto-tag rules over HTTP and the CLI on both backends: CRUD with clear 4xx, admins
//! only, scoped to the company; a rule tags calls analysed after it is saved (`SYSTEM`
//! tags in the call detail, found by the tag filter, in the CSV export) and, applied as a
//! background job, past calls; deleting it takes its tags away.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::deliveries::start_runner;
use crate::search::{call_with, list, stored_call};
use crate::support::{run_kiku, servers, Tenant, TestServer};

async fn create(s: &TestServer, token: &str, body: &Value) -> (StatusCode, Value) {
    let req = s
        .http
        .post(s.url("/api/v1/tag-rules"))
        .bearer_auth(token)
        .json(body);
    s.send(req).await
}

async fn call_detail(s: &TestServer, t: &Tenant, id: &str) -> Value {
    let (status, body) = s.get(&format!("/api/v1/calls/{id}"), &t.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn tagged(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["call_id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

const CHURN: &[(usize, &str)] = &[
    (0, "お電話ありがとうございます。"),
    (1, "解約したいです。解約料は？"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_tag_new_and_past_calls_and_are_managed_by_admins() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let other = s.tenant("globex").await;
        s.user(&t, "agent@acme.example", true).await;
        let agent_token = s.login("agent@acme.example", "agent password").await;
        let past = stored_call(
            &s,
            &t,
            call_with("past", "AUTOMATIC_TRANSFER", true, None, json!({})),
            Some(CHURN),
        )
        .await;

        // Bad rules are refused, saying what is wrong; only admins manage rules.
        for (body, says) in [
            (json!({"name": "x", "keywords": [], "tag": "t"}), "keywords"),
            (
                json!({"name": "x", "keywords": ["a"], "tag": "t", "match": "most"}),
                "match",
            ),
            (
                json!({"name": "x", "keywords": ["a"], "tag": "t", "speaker": "either"}),
                "speaker",
            ),
            (
                json!({"name": "x", "keywords": ["a"], "tag": "t", "min_count": 0}),
                "min_count",
            ),
            (json!({"name": "x", "keywords": ["a"]}), "tag"),
            (
                json!({"name": "x", "keywords": ["a"], "tag": "t", "colour": 1}),
                "colour",
            ),
        ] {
            let (status, error) = create(&s, &t.admin_token, &body).await;
            assert!(status.is_client_error(), "{body}: {error}");
            assert!(error.to_string().contains(says), "{body}: {error}");
        }
        let rule = json!({"name": "Churn", "keywords": ["解約"], "match": "any", "min_count": 2,
                          "speaker": "customer", "tag": "churn risk"});
        let (status, _) = create(&s, &agent_token, &rule).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, made) = create(&s, &t.admin_token, &rule).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["enabled"], true);
        assert_eq!(made["speaker"], "customer");
        let id = made["id"].as_str().expect("id").to_string();
        let path = format!("/api/v1/tag-rules/{id}");
        let (status, listed) = s.get("/api/v1/tag-rules", &t.admin_token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed["items"][0]["id"], id.as_str());
        assert_eq!(
            s.get(&path, &other.admin_token).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s.get("/api/v1/tag-rules/nope", &t.admin_token).await.0,
            StatusCode::NOT_FOUND
        );

        // A call analysed now is tagged; one where the customer says it once is not.
        let new = stored_call(
            &s,
            &t,
            call_with("new", "AUTOMATIC_TRANSFER", true, None, json!({})),
            Some(CHURN),
        )
        .await;
        let once = stored_call(
            &s,
            &t,
            call_with(
                "once",
                "AUTOMATIC_TRANSFER",
                true,
                None,
                json!({"tags": [{"value": "vip"}]}),
            ),
            Some(&[(1, "解約かな")]),
        )
        .await;
        let detail = call_detail(&s, &t, &new).await;
        assert_eq!(detail["auto_tags"], json!(["churn risk"]));
        assert_eq!(
            detail["analysis"]["tags"],
            json!([
                {"created_by": "Incoming Webhook", "creator_type": "SYSTEM", "value": "first call"},
                {"created_by": "Auto tag rule: Churn", "creator_type": "SYSTEM", "value": "churn risk"}
            ])
        );
        let detail = call_detail(&s, &t, &once).await;
        assert_eq!(detail["auto_tags"], json!([]));
        assert_eq!(detail["analysis"]["tags"][0]["value"], "vip");
        assert_eq!(call_detail(&s, &t, &past).await["auto_tags"], json!([]));
        let (_, found) = list(&s, &t.admin_token, &[("tag", "churn risk")]).await;
        assert_eq!(tagged(&found), vec![new.clone()]);
        let (_, found) = list(&s, &t.admin_token, &[("tag", "churn risk"), ("tag", "vip")]).await;
        assert_eq!(found["total"], 2);
        let csv = s
            .http
            .get(s.url("/api/v1/calls/export.csv"))
            .query(&[("tag", "churn risk")])
            .bearer_auth(&t.admin_token)
            .send()
            .await
            .expect("export")
            .text()
            .await
            .expect("csv");
        assert!(csv.contains("\"first call, churn risk\""), "{csv}");

        // Applied to past calls by a background job.
        let stop = start_runner(&s);
        let req = s
            .http
            .post(s.url(&format!("{path}/apply")))
            .bearer_auth(&t.admin_token);
        let (status, body) = s.send(req).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["applying_to_calls"], 3);
        let mut found = Value::Null;
        for _ in 0..100 {
            found = list(&s, &t.admin_token, &[("tag", "churn risk")]).await.1;
            if found["total"] == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut want = vec![past.clone(), new.clone()];
        want.sort();
        assert_eq!(tagged(&found), want, "{}", s.backend);

        // Changed: one mention is enough from now on; disabled: no new tags.
        let patch = |body: Value| {
            s.http
                .patch(s.url(&path))
                .bearer_auth(&t.admin_token)
                .json(&body)
        };
        let (status, changed) = s.send(patch(json!({"min_count": 1}))).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(
            (changed["min_count"].clone(), changed["name"].clone()),
            (json!(1), json!("Churn"))
        );
        let (status, _) = s.send(patch(json!({"speaker": "nobody"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let later = stored_call(
            &s,
            &t,
            call_with("later", "AUTOMATIC_TRANSFER", true, None, json!({})),
            Some(&[(1, "解約かな")]),
        )
        .await;
        assert_eq!(
            call_detail(&s, &t, &later).await["auto_tags"],
            json!(["churn risk"])
        );
        assert_eq!(
            s.send(patch(json!({"enabled": false}))).await.0,
            StatusCode::OK
        );
        let off = stored_call(
            &s,
            &t,
            call_with("off", "AUTOMATIC_TRANSFER", true, None, json!({})),
            Some(CHURN),
        )
        .await;
        assert_eq!(call_detail(&s, &t, &off).await["auto_tags"], json!([]));

        // Deleted: its tags go with it.
        let delete = |token: &str| s.http.delete(s.url(&path)).bearer_auth(token.to_string());
        assert_eq!(
            s.send(delete(&other.admin_token)).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            s.send(delete(&t.admin_token)).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            s.send(delete(&t.admin_token)).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, found) = list(&s, &t.admin_token, &[("tag", "churn risk")]).await;
        assert_eq!(found["total"], 0);
        let tags = &call_detail(&s, &t, &new).await["analysis"]["tags"];
        assert_eq!(
            tags.as_array().map(Vec::len),
            Some(1),
            "the PBX's only: {tags}"
        );
        let _ = stop.send(true);

        // The CLI manages the same rules.
        let Some(url) = s.database_url() else {
            continue;
        };
        let dir = tempfile::tempdir().expect("dir");
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_DATABASE_URL", url.to_string()),
        ];
        let company = t.company_id.as_str();
        let (ok, made) = run_kiku(
            &[
                "tag-rule",
                "create",
                "--company",
                company,
                "--name",
                "Refunds",
                "--keywords",
                "refund,money back",
                "--match",
                "all",
                "--tag",
                "refund",
            ],
            &env,
        );
        assert!(ok, "{made}");
        assert_eq!(made["keywords"], json!(["refund", "money back"]));
        assert_eq!(made["match"], "all");
        let id = made["id"].as_str().expect("id");
        let (ok, listed) = run_kiku(&["tag-rule", "list", "--company", company], &env);
        assert!(ok, "{listed}");
        assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
        let (ok, applied) = run_kiku(
            &["tag-rule", "apply", "--company", company, "--id", id],
            &env,
        );
        assert!(ok, "{applied}");
        assert_eq!(applied["applying_to_calls"], 5);
        let (ok, failed) = run_kiku(
            &[
                "tag-rule",
                "update",
                "--company",
                company,
                "--id",
                id,
                "--min-count",
                "0",
            ],
            &env,
        );
        assert!(!ok);
        assert_eq!(failed["error"]["code"], "invalid_request", "{failed}");
        let (ok, _) = run_kiku(
            &["tag-rule", "delete", "--company", company, "--id", id],
            &env,
        );
        assert!(ok);
    }
}
