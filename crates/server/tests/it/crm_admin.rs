//! CRM connections as admins and operators manage them, on both backends: what the API
//! refuses, changes that keep what they leave out, write-only credentials, company scope,
//! and `kiku crm-connection`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::crm::connect;
use crate::support::servers;

#[tokio::test]
async fn connections_are_checked_and_scoped() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let post = |body: Value| {
            s.http
                .post(s.url("/api/v1/crm-connections"))
                .bearer_auth(&t.admin_token)
                .json(&body)
        };
        for (body, code) in [
            (
                json!({"kind": "kintone", "name": "k", "base_url": "http://127.0.0.1:9", "app": 1, "api_token": "t"}),
                "invalid_request",
            ),
            (
                json!({"kind": "kintone", "name": "k", "app": 1, "api_token": "t", "field_map": {"body": "memo"}}),
                "invalid_request",
            ),
            (
                json!({"kind": "hubspot", "name": "h", "access_token": "t", "app": 3}),
                "invalid_request",
            ),
            (json!({"kind": "zoho", "name": "z"}), "invalid_request"),
            (
                json!({"kind": "hubspot", "name": "h", "access_token": "t", "content": "all"}),
                "invalid_request",
            ),
            (
                json!({"kind": "hubspot", "name": "h", "access_token": "t", "base_url": "http://10.0.0.1/"}),
                "unsafe_url",
            ),
        ] {
            let (status, out) = s.send(post(body.clone())).await;
            assert_eq!(out["code"], code, "{body}: {status} {out}");
        }
        let (status, out) = s
            .send(post(
                json!({"kind": "hubspot", "name": "h", "acess_token": "t"}),
            ))
            .await;
        assert!(
            status.is_client_error(),
            "a misspelt setting is refused: {out}"
        );

        let id = connect(
            &s,
            &t,
            json!({"kind": "hubspot", "name": "h", "base_url": "http://127.0.0.1:9",
            "access_token": "old-token"}),
        )
        .await;
        let patch = |body: Value| {
            s.http
                .patch(s.url(&format!("/api/v1/crm-connections/{id}")))
                .bearer_auth(&t.admin_token)
                .json(&body)
        };
        let (status, out) = s
            .send(patch(
                json!({"name": "renamed", "enabled": false, "access_token": "new-token"}),
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(
            (out["name"].clone(), out["enabled"].clone()),
            (json!("renamed"), json!(false))
        );
        assert!(!out.to_string().contains("token\":"), "{out}");
        let (status, out) = s.send(patch(json!({"kind": "kintone"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
        let stored = s
            .app
            .store
            .crm_connection(t.company_id.parse().expect("id"), id.parse().expect("id"));
        let stored = stored.await.expect("read").expect("found");
        assert_eq!(stored.credentials, json!({"access_token": "new-token"}));

        let other = s.tenant("other").await;
        let path = format!("/api/v1/crm-connections/{id}");
        assert_eq!(
            s.get(&path, &other.admin_token).await.0,
            StatusCode::NOT_FOUND
        );
        let delete = s.http.delete(s.url(&path)).bearer_auth(&t.admin_token);
        assert_eq!(s.send(delete).await.0, StatusCode::NO_CONTENT);
        assert_eq!(s.get(&path, &t.admin_token).await.0, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn operators_manage_crm_connections_from_the_command_line() {
    for db in kiku_storage::test_support::test_databases().await {
        let dir = tempfile::tempdir().expect("dir");
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_DATABASE_URL", db.url.clone()),
            ("KIKU_OUTGOING_ALLOW_NETWORKS", "127.0.0.0/8".to_string()),
        ];
        let run = |args: &[&str]| crate::support::run_kiku(args, &env);
        let company = crate::support::cli_company(&env);
        let c = company["company_id"].as_str().expect("company").to_string();
        let settings =
            json!({"app": 7, "api_token": "s3cr3t-token", "field_map": {"body": "memo"}})
                .to_string();
        let (ok, created) = run(&[
            "crm-connection",
            "create",
            "--company",
            &c,
            "--kind",
            "kintone",
            "--name",
            "Sales",
            "--base-url",
            "http://127.0.0.1:9",
            "--content",
            "summary",
            "--settings",
            &settings,
        ]);
        assert!(ok, "{created}");
        assert_eq!(
            (created["app"].clone(), created["content"].clone()),
            (json!(7), json!("summary"))
        );
        assert!(
            !created.to_string().contains("s3cr3t"),
            "write-only: {created}"
        );
        let id = created["id"].as_str().expect("id").to_string();
        let (ok, updated) = run(&[
            "crm-connection",
            "update",
            "--company",
            &c,
            "--id",
            &id,
            "--enabled",
            "false",
            "--settings",
            r#"{"field_map": {"transcript": "memo", "score": "score"}}"#,
        ]);
        assert!(ok && updated["enabled"] == false, "{updated}");
        assert_eq!(
            updated["field_map"],
            json!({"score": "score", "transcript": "memo"})
        );
        let (ok, list) = run(&["crm-connection", "list", "--company", &c]);
        assert!(
            ok && list["items"].as_array().map(Vec::len) == Some(1),
            "{list}"
        );
        let (ok, shown) = run(&["crm-connection", "show", "--company", &c, "--id", &id]);
        assert!(ok && !shown.to_string().contains("s3cr3t"), "{shown}");
        let (ok, refused) = run(&[
            "crm-connection",
            "create",
            "--company",
            &c,
            "--kind",
            "hubspot",
            "--name",
            "x",
            "--base-url",
            "http://10.0.0.1/",
            "--settings",
            r#"{"access_token": "t"}"#,
        ]);
        assert!(!ok && refused["error"]["code"] == "unsafe_url", "{refused}");
        let (ok, none) = run(&[
            "crm-connection",
            "replay",
            "--company",
            &c,
            "--id",
            &id,
            "--failed-since",
            "2020-01-01T00:00:00Z",
        ]);
        assert!(ok && none == json!({"replaying": 0}), "{none}");
        let (ok, deleted) = run(&["crm-connection", "delete", "--company", &c, "--id", &id]);
        assert!(ok && deleted == json!({"deleted": true}), "{deleted}");
    }
}
