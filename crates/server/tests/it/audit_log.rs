//! The audit log: each admin action (and swap and export) through the API, the web UI's
//! routes and the CLI leaves one entry with who, when, what and from where; admins list
//! them newest first with filters and cursor pagination; nothing can change them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{run_kiku, servers, Tenant, TestServer};

const CLIENT: &str = "198.51.100.7";

/// A request of the table-driven test and the entry it must leave: method, path, body,
/// action, target, details the entry must hold.
type Row<'a> = (
    reqwest::Method,
    String,
    Option<Value>,
    &'a str,
    Option<&'a str>,
    Value,
);

/// Sends `method path body` as the admin from [`CLIENT`] (through the trusted loopback
/// proxy); the status and body.
async fn act(
    s: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s
        .http
        .request(method, s.url(path))
        .bearer_auth(token)
        .header("x-forwarded-for", CLIENT);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn log(s: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = s.get(&format!("/api/v1/audit-log{query}"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

fn now_text(s: &TestServer) -> String {
    use kiku::clock::Clock;
    kiku_domain::datetime::format(s.clock.now())
}

async fn admin_id(s: &TestServer, t: &Tenant) -> String {
    let (_, me) = s.get("/api/v1/me", &t.admin_token).await;
    me["user_id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn every_admin_action_is_recorded_with_who_when_what_and_where() {
    use reqwest::Method as M;
    for s in servers().await {
        let t = s.tenant("audited").await;
        let me = admin_id(&s, &t).await;
        let (_, user) = act(
            &s,
            &t.admin_token,
            M::POST,
            "/api/v1/users",
            Some(json!({"name": "Agent", "email": "agent@audited.example", "password": "agent password"})),
        )
        .await;
        let user = user["user_id"].as_str().expect("user").to_string();
        let (_, rule) = act(
            &s,
            &t.admin_token,
            M::POST,
            "/api/v1/tag-rules",
            Some(json!({"name": "r", "keywords": ["refund"], "tag": "refund"})),
        )
        .await;
        let rule = rule["id"].as_str().expect("rule").to_string();
        let table: Vec<Row> = vec![
            (
                M::PATCH,
                format!("/api/v1/users/{user}"),
                Some(json!({"admin": true})),
                "user.update",
                Some(&user),
                json!({"admin": true}),
            ),
            (
                M::DELETE,
                "/api/v1/incoming-webhook".into(),
                None,
                "webhook_url.delete",
                None,
                json!({}),
            ),
            (
                M::POST,
                "/api/v1/incoming-webhook".into(),
                None,
                "webhook_url.create",
                None,
                json!({}),
            ),
            (
                M::PUT,
                "/api/v1/settings/analysis".into(),
                Some(json!({"keywords": ["router"]})),
                "analysis_settings.update",
                None,
                json!({}),
            ),
            (
                M::PATCH,
                format!("/api/v1/tag-rules/{rule}"),
                Some(json!({"enabled": false})),
                "tag_rule.update",
                Some(&rule),
                json!({"enabled": false}),
            ),
            (
                M::POST,
                format!("/api/v1/tag-rules/{rule}/apply"),
                None,
                "tag_rule.apply",
                Some(&rule),
                json!({}),
            ),
            (
                M::DELETE,
                format!("/api/v1/tag-rules/{rule}"),
                None,
                "tag_rule.delete",
                Some(&rule),
                json!({}),
            ),
            (
                M::PUT,
                "/api/v1/email-notifications".into(),
                Some(json!({"recipients": ["boss@audited.example"]})),
                "email_recipients.update",
                None,
                json!({}),
            ),
            (
                M::GET,
                "/api/v1/calls/export.csv?status=completed".into(),
                None,
                "call.export",
                None,
                json!({"query": "status=completed"}),
            ),
        ];
        for (method, path, body, action, target, details) in &table {
            let (status, answer) =
                act(&s, &t.admin_token, method.clone(), path, body.clone()).await;
            assert!(
                status.is_success(),
                "{} {method} {path}: {status} {answer}",
                s.backend
            );
            let newest = &log(&s, &t.admin_token, "?limit=1").await[0];
            assert_eq!(newest["action"], *action, "{} {path}: {newest}", s.backend);
            assert_eq!(newest["target"].as_str(), *target, "{newest}");
            for (k, v) in details.as_object().expect("object") {
                assert_eq!(&newest["details"][k], v, "{newest}");
            }
            assert_eq!(
                newest["actor"],
                json!({"id": me, "name": "admin@audited.example"})
            );
            assert_eq!(newest["client"], CLIENT);
            assert_eq!(newest["via"], "api");
            assert!(
                newest["at"]
                    .as_str()
                    .is_some_and(|at| at.starts_with("2027-01-15")),
                "{newest}"
            );
        }
        let all = log(&s, &t.admin_token, "?limit=200").await;
        let actions: Vec<&str> = all
            .iter()
            .rev()
            .filter_map(|e| e["action"].as_str())
            .collect();
        let mut expected = vec!["user.create", "tag_rule.create"];
        expected.extend(table.iter().map(|row| row.3));
        assert_eq!(actions, expected, "{}", s.backend);
        assert_eq!(all.last().expect("first")["target"], user.as_str());
        assert!(!all.iter().any(|e| e.to_string().contains("agent password")));

        // Refused and failed requests leave nothing; reads are not actions.
        let agent = s.login("agent@audited.example", "agent password").await;
        let (status, _) = act(
            &s,
            &t.admin_token,
            M::PATCH,
            &format!("/api/v1/users/{}", uuid::Uuid::new_v4()),
            Some(json!({"admin": true})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = act(
            &s,
            &t.admin_token,
            M::POST,
            &format!("/api/v1/calls/{}/swap", uuid::Uuid::new_v4()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = act(
            &s,
            "not a session",
            M::DELETE,
            "/api/v1/incoming-webhook",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        s.get("/api/v1/users", &t.admin_token).await;
        assert_eq!(log(&s, &t.admin_token, "?limit=200").await.len(), all.len());

        // Admins only; another company sees none of it; no route changes an entry.
        // (The agent was made an admin above: a fresh non-admin is needed.)
        let plain = s.user(&t, "plain@audited.example", false).await;
        let plain_token = s.login("plain@audited.example", "agent password").await;
        assert_eq!(
            s.get("/api/v1/audit-log", &plain_token).await.0,
            StatusCode::FORBIDDEN,
            "{plain}"
        );
        assert_eq!(
            s.send(s.http.get(s.url("/api/v1/audit-log"))).await.0,
            StatusCode::UNAUTHORIZED
        );
        let other = s.tenant("other").await;
        assert!(log(&s, &other.admin_token, "").await.is_empty());
        let id = all[0]["id"].as_str().expect("id");
        for method in [M::PATCH, M::PUT, M::DELETE, M::POST] {
            let (status, _) = act(
                &s,
                &agent,
                method.clone(),
                "/api/v1/audit-log",
                Some(json!({})),
            )
            .await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
            let (status, _) = act(
                &s,
                &agent,
                method,
                &format!("/api/v1/audit-log/{id}"),
                Some(json!({})),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
    }
}

#[tokio::test]
async fn the_log_pages_newest_first_and_filters_by_time_actor_and_action() {
    for s in servers().await {
        let t = s.tenant("paged").await;
        let me = admin_id(&s, &t).await;
        let start = now_text(&s);
        for i in 0..5 {
            s.clock.advance(time::Duration::seconds(60));
            let email = format!("u{i}@paged.example");
            s.user(&t, &email, false).await;
        }
        s.clock.advance(time::Duration::seconds(60));
        let middle = now_text(&s);
        let (status, _) = act(
            &s,
            &t.admin_token,
            reqwest::Method::DELETE,
            "/api/v1/incoming-webhook",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);

        let all = log(&s, &t.admin_token, "").await;
        assert_eq!(all.len(), 6);
        let mut paged = Vec::new();
        let mut query = "?limit=2".to_string();
        loop {
            let (status, page) = s
                .get(&format!("/api/v1/audit-log{query}"), &t.admin_token)
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            paged.extend(page["items"].as_array().expect("items").clone());
            match page["next_before"].as_str() {
                Some(next) => query = format!("?limit=2&before={next}"),
                None => break,
            }
        }
        assert_eq!(paged, all, "{}", s.backend);
        let ats: Vec<&str> = all.iter().filter_map(|e| e["at"].as_str()).collect();
        assert!(ats.windows(2).all(|w| w[0] >= w[1]), "{ats:?}");

        let count = |q: String| {
            let s = &s;
            let token = t.admin_token.clone();
            async move { log(s, &token, &q).await.len() }
        };
        assert_eq!(count("?action=user.create".into()).await, 5);
        assert_eq!(count("?action=webhook_url.delete".into()).await, 1);
        assert_eq!(count(format!("?actor={me}")).await, 6);
        assert_eq!(count("?actor=cli".into()).await, 0);
        let enc = |t: &str| t.replace('+', "%2B");
        assert_eq!(count(format!("?since={}", enc(&middle))).await, 1);
        assert_eq!(
            count(format!("?since={}&until={}", enc(&start), enc(&middle))).await,
            5
        );
        assert_eq!(count(format!("?until={}", enc(&start))).await, 0);
        for bad in ["?before=nonsense", "?since=yesterday"] {
            let (status, body) = s
                .get(&format!("/api/v1/audit-log{bad}"), &t.admin_token)
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        }
    }
}

#[tokio::test]
async fn web_ui_forms_are_recorded_as_the_ui() {
    for s in servers().await {
        let t = s.tenant("forms").await;
        let cookie = format!("kiku_session={}", t.admin_token);
        let (status, _) = s.get("/api/v1/me", &t.admin_token).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = s.app.signing_key.csrf_token(&t.admin_token);
        let response = s
            .http
            .post(s.url("/admin/webhook/delete"))
            .header("cookie", &cookie)
            .header("x-forwarded-for", CLIENT)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .expect("post");
        assert!(
            response.status().is_redirection() || response.status().is_success(),
            "{}",
            response.status()
        );
        let newest = &log(&s, &t.admin_token, "?limit=1").await[0];
        assert_eq!(newest["action"], "webhook_url.delete", "{newest}");
        assert_eq!(newest["via"], "ui");
        assert_eq!(newest["client"], CLIENT);
    }
}

#[tokio::test]
async fn cli_commands_are_recorded_as_the_operator_and_listed_by_the_cli() {
    for s in servers().await {
        let Some(url) = s.database_url() else {
            continue;
        };
        let dir = tempfile::tempdir().expect("dir");
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_DATABASE_URL", url.to_string()),
            ("USER", "root-operator".to_string()),
        ];
        let company = crate::support::cli_company(&env);
        let c = company["company_id"].as_str().expect("company");
        let (ok, user) = run_kiku(
            &[
                "user",
                "create",
                "--company",
                c,
                "--name",
                "N",
                "--email",
                "n@acme.example",
            ],
            &env,
        );
        assert!(ok, "{user}");
        let u = user["user_id"].as_str().expect("user");
        let (ok, out) = run_kiku(
            &[
                "user",
                "update",
                "--company",
                c,
                "--user",
                u,
                "--admin",
                "true",
            ],
            &env,
        );
        assert!(ok, "{out}");
        let (ok, listed) = run_kiku(&["audit-log", "list", "--company", c], &env);
        assert!(ok, "{listed}");
        let items = listed["items"].as_array().expect("items");
        let actions: Vec<&str> = items.iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(
            actions,
            ["user.update", "user.create", "company.create"],
            "{listed}"
        );
        assert_eq!(items[0]["target"], u);
        assert_eq!(items[0]["details"]["admin"], true);
        assert_eq!(items[2]["target"], c);
        assert_eq!(
            items[2]["details"]["admin_user_id"],
            company["admin_user_id"]
        );
        for e in items {
            assert_eq!(e["actor"], json!({"id": "cli", "name": "root-operator"}));
            assert_eq!(
                (e["via"].as_str(), e["client"].is_null()),
                (Some("cli"), true)
            );
        }
        let (ok, filtered) = run_kiku(
            &[
                "audit-log",
                "list",
                "--company",
                c,
                "--action",
                "user.create",
                "--limit",
                "1",
            ],
            &env,
        );
        assert!(ok, "{filtered}");
        assert_eq!(filtered["items"].as_array().map(Vec::len), Some(1));
        assert!(filtered["next_before"].is_null());
        // The same entries through the API, for the company's admin.
        let token = s.login("boss@acme.example", "long enough").await;
        assert_eq!(log(&s, &token, "?actor=cli").await.len(), 3);
    }
}
