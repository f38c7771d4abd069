//! Sign-in, users, settings, call histories, health and the OpenAPI page through real HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{call, servers};

#[tokio::test]
async fn sign_in_and_roles() {
    for s in servers().await {
        let t = s.tenant("roles").await;
        let bad = s
            .http
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"email": "admin@roles.example", "password": "wrong"}));
        assert_eq!(s.send(bad).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            s.send(s.http.get(s.url("/api/v1/calls"))).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            s.get("/api/v1/calls", "not-a-token").await.0,
            StatusCode::UNAUTHORIZED
        );
        // The session cookie works as well as the bearer token.
        let response = s
            .http
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"email": "ADMIN@roles.example", "password": "correct horse"}))
            .send()
            .await
            .expect("login");
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("cookie")
            .split(';')
            .next()
            .expect("pair")
            .to_string();
        let (status, me) = s
            .send(s.http.get(s.url("/api/v1/me")).header("cookie", cookie))
            .await;
        assert_eq!((status, me["admin"].clone()), (StatusCode::OK, json!(true)));

        s.user(&t, "agent@roles.example", false).await;
        let agent = s.login("agent@roles.example", "agent password").await;
        for (method, path) in [
            ("GET", "/api/v1/users"),
            ("POST", "/api/v1/incoming-webhook"),
            ("GET", "/api/v1/incoming-webhook"),
            ("DELETE", "/api/v1/incoming-webhook"),
        ] {
            let req = s
                .http
                .request(method.parse().expect("method"), s.url(path))
                .bearer_auth(&agent);
            assert_eq!(
                s.send(req).await.0,
                StatusCode::FORBIDDEN,
                "{method} {path}"
            );
        }
        assert_eq!(
            s.get("/api/v1/calls", &agent).await.0,
            StatusCode::OK,
            "any user reads call histories"
        );
        let out = s
            .http
            .post(s.url("/api/v1/auth/logout"))
            .bearer_auth(&agent);
        assert_eq!(s.send(out).await.0, StatusCode::NO_CONTENT);
        assert_eq!(
            s.get("/api/v1/calls", &agent).await.0,
            StatusCode::UNAUTHORIZED
        );
        s.clock.advance(time::Duration::hours(2));
        assert_eq!(
            s.get("/api/v1/me", &t.admin_token).await.0,
            StatusCode::UNAUTHORIZED,
            "sessions expire"
        );
    }
}

#[tokio::test]
async fn admins_manage_users_of_their_own_company_only() {
    for s in servers().await {
        let a = s.tenant("ua").await;
        let b = s.tenant("ub").await;
        let id = s.user(&a, "x@ua.example", false).await;
        let (_, list) = s.get("/api/v1/users", &a.admin_token).await;
        let listed: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|u| u["user_id"].as_str())
            .collect();
        assert!(listed.contains(&id.as_str()));
        assert!(list["items"][0].get("password_hash").is_none());
        let dup = s
            .http
            .post(s.url("/api/v1/users"))
            .bearer_auth(&a.admin_token)
            .json(&json!({"name": "X", "email": "X@ua.example"}));
        assert_eq!(s.send(dup).await.0, StatusCode::CONFLICT);
        let invalid = s
            .http
            .post(s.url("/api/v1/users"))
            .bearer_auth(&a.admin_token)
            .json(&json!({"name": "", "email": "nope"}));
        assert_eq!(s.send(invalid).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        let huge = "p".repeat(2000);
        let long = s
            .http
            .post(s.url("/api/v1/users"))
            .bearer_auth(&a.admin_token)
            .json(&json!({"name": "L", "email": "l@ua.example", "password": huge}));
        assert_eq!(
            s.send(long).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "passwords are capped"
        );
        let login = s
            .http
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"email": "admin@ua.example", "password": "x".repeat(100_000)}));
        assert_eq!(s.send(login).await.0, StatusCode::UNAUTHORIZED);
        let unknown_field = s
            .http
            .post(s.url("/api/v1/users"))
            .bearer_auth(&a.admin_token)
            .json(&json!({"name": "n", "email": "n@ua.example", "root": true}));
        assert_eq!(s.send(unknown_field).await.0, StatusCode::BAD_REQUEST);
        let on = json!({"use_incoming_webhook": true});
        let (status, user) = s
            .send(
                s.http
                    .patch(s.url(&format!("/api/v1/users/{id}")))
                    .bearer_auth(&a.admin_token)
                    .json(&on),
            )
            .await;
        assert_eq!(
            (status, user["use_incoming_webhook"].clone()),
            (StatusCode::OK, json!(true))
        );
        let (status, _) = s
            .send(
                s.http
                    .patch(s.url(&format!("/api/v1/users/{id}")))
                    .bearer_auth(&b.admin_token)
                    .json(&on),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "B's admin cannot touch A's user"
        );
        let (_, b_list) = s.get("/api/v1/users", &b.admin_token).await;
        assert_eq!(b_list["items"].as_array().map(Vec::len), Some(1));
    }
}

#[tokio::test]
async fn webhook_url_settings() {
    for s in servers().await {
        let t = s.tenant("settings").await;
        let (status, shown) = s.get("/api/v1/incoming-webhook", &t.admin_token).await;
        // Masked: the full URL was shown once, when it was created.
        let (head, secret) = t.webhook.rsplit_once('/').expect("secret");
        assert_eq!(
            (status, shown["masked_url"].as_str(), shown.get("url")),
            (
                StatusCode::OK,
                Some(format!("{head}/********").as_str()),
                None
            )
        );
        assert!(secret.len() >= 32, "at least 128 bits of hex");
        let again = s
            .http
            .post(s.url("/api/v1/incoming-webhook"))
            .bearer_auth(&t.admin_token);
        assert_eq!(
            s.send(again).await.0,
            StatusCode::CONFLICT,
            "one URL at a time"
        );
        let del = || {
            s.http
                .delete(s.url("/api/v1/incoming-webhook"))
                .bearer_auth(&t.admin_token)
        };
        assert_eq!(s.send(del()).await.0, StatusCode::NO_CONTENT);
        assert_eq!(s.send(del()).await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            s.get("/api/v1/incoming-webhook", &t.admin_token).await.0,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn call_histories_list_filter_and_page() {
    for s in servers().await {
        let t = s.tenant("list").await;
        let mut calls: Vec<Value> = Vec::new();
        for (i, event) in ["AUTOMATIC_RECORD", "AUTOMATIC_TRANSFER", "AUTOMATIC_RECORD"]
            .iter()
            .enumerate()
        {
            let mut c = call(&format!("l{i}"), event, false, None, None);
            c["call_starts_at"] = json!(format!("2026-01-0{}T10:00:00+09:00", i + 1));
            calls.push(c);
        }
        let (_, out) = s.post_calls(&t.webhook, &json!({"call_data": calls})).await;
        let upload = out["audio_upload_urls"][2]["l2"]["url"]
            .as_str()
            .expect("url");
        assert_eq!(
            s.send(s.http.put(upload).body("audio")).await.0,
            StatusCode::OK
        );
        let ids = |v: &Value| -> Vec<String> {
            v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|c| c["call_data_id"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let (_, all) = s.get("/api/v1/calls", &t.admin_token).await;
        assert_eq!(ids(&all), vec!["l2", "l1", "l0"], "newest first");
        let (_, first_two) = s.get("/api/v1/calls?per_page=2", &t.admin_token).await;
        let next = first_two["next_cursor"].as_str().expect("a next page");
        assert_eq!(
            ids(&s
                .get(
                    &format!("/api/v1/calls?per_page=2&cursor={next}"),
                    &t.admin_token
                )
                .await
                .1),
            vec!["l0"]
        );
        assert_eq!(
            ids(&s.get("/api/v1/calls?status=queued", &t.admin_token).await.1),
            vec!["l2"]
        );
        assert_eq!(
            ids(&s
                .get(
                    "/api/v1/calls?event_type=AUTOMATIC_TRANSFER",
                    &t.admin_token
                )
                .await
                .1),
            vec!["l1"]
        );
        let range = "/api/v1/calls?from=2026-01-02T00:00:00%2B09:00&to=2026-01-03T00:00:00%2B0900";
        assert_eq!(ids(&s.get(range, &t.admin_token).await.1), vec!["l1"]);
        for bad in [
            "status=done",
            "per_page=0",
            "per_page=1000",
            "from=yesterday",
            "page=-1",
            "colour=red",
        ] {
            let (status, body) = s.get(&format!("/api/v1/calls?{bad}"), &t.admin_token).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        }
        let first = all["items"][0].clone();
        assert_eq!(first["tags"], json!(["first call"]));
        assert_eq!(first["participants"][1]["number"], "+81322223333");
        assert_eq!(
            s.get("/api/v1/calls/not-a-uuid", &t.admin_token).await.0,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn health_openapi_and_unknown_routes() {
    for s in servers().await {
        assert_eq!(
            s.send(s.http.get(s.url("/health"))).await,
            (StatusCode::OK, json!({"status": "ok"}))
        );
        let (status, ready) = s.send(s.http.get(s.url("/ready"))).await;
        assert_eq!(status, StatusCode::OK, "{ready}");
        assert_eq!(ready["checks"]["database"]["ok"], true, "{ready}");
        // Every response names its request; a plain id from the client is kept.
        let response = s.http.get(s.url("/nope")).send().await.expect("get");
        let id = response.headers()["x-request-id"].to_str().expect("id");
        assert_eq!(id.len(), 32, "{id}");
        let response = s
            .http
            .get(s.url("/health"))
            .header("x-request-id", "pbx-42")
            .send()
            .await
            .expect("get");
        assert_eq!(response.headers()["x-request-id"], "pbx-42");
        let (status, doc) = s.send(s.http.get(s.url("/openapi.json"))).await;
        assert_eq!(status, StatusCode::OK);
        let tags = |path: &str, method: &str| doc["paths"][path][method]["tags"].clone();
        assert_eq!(
            tags("/webhooks/incoming/{company_id}/{secret}", "post"),
            json!(["CallWebhookPbx"])
        );
        assert_eq!(tags("/uploads/{call_id}", "put"), json!(["CallWebhookPbx"]));
        for (path, method) in [
            ("/api/v1/auth/login", "post"),
            ("/api/v1/auth/logout", "post"),
            ("/api/v1/me", "get"),
            ("/api/v1/users", "get"),
            ("/api/v1/users", "post"),
            ("/api/v1/users/{user_id}", "patch"),
            ("/api/v1/incoming-webhook", "get"),
            ("/api/v1/incoming-webhook", "post"),
            ("/api/v1/settings/analysis", "get"),
            ("/api/v1/settings/analysis", "put"),
            ("/api/v1/incoming-webhook", "delete"),
            ("/api/v1/calls", "get"),
            ("/api/v1/calls/{call_id}", "get"),
            ("/api/v1/calls/{call_id}/swap", "post"),
            ("/api/v1/calls/{call_id}/versions", "get"),
            ("/api/v1/calls/{call_id}/versions/{version}", "get"),
            ("/api/v1/calls/{call_id}/recording", "get"),
            ("/api/v1/outgoing-webhooks", "get"),
            ("/api/v1/outgoing-webhooks", "post"),
            ("/api/v1/outgoing-webhooks/{id}", "get"),
            ("/api/v1/outgoing-webhooks/{id}", "patch"),
            ("/api/v1/outgoing-webhooks/{id}", "delete"),
            ("/api/v1/outgoing-webhooks/{id}/deliveries", "get"),
            ("/api/v1/outgoing-webhooks/{id}/secret", "post"),
            ("/api/v1/outgoing-webhooks/{id}/replay", "post"),
            ("/api/v1/calls/{call_id}/deliveries", "get"),
            ("/api/v1/calls/{call_id}/notifications", "get"),
            ("/api/v1/slack-rules", "get"),
            ("/api/v1/slack-rules", "post"),
            ("/api/v1/slack-rules/{id}", "get"),
            ("/api/v1/slack-rules/{id}", "patch"),
            ("/api/v1/slack-rules/{id}", "delete"),
            ("/api/v1/slack-rules/{id}/deliveries", "get"),
            ("/api/v1/slack-rules/{id}/replay", "post"),
            ("/api/v1/crm-connections", "get"),
            ("/api/v1/crm-connections", "post"),
            ("/api/v1/crm-connections/{id}", "get"),
            ("/api/v1/crm-connections/{id}", "patch"),
            ("/api/v1/crm-connections/{id}", "delete"),
            ("/api/v1/crm-connections/{id}/deliveries", "get"),
            ("/api/v1/crm-connections/{id}/replay", "post"),
            ("/api/v1/email-notifications", "get"),
            ("/api/v1/email-notifications", "put"),
            ("/api/v1/email-notifications/deliveries", "get"),
            ("/api/v1/email-notifications/replay", "post"),
            ("/api/v1/me/notifications", "get"),
            ("/api/v1/me/notifications", "put"),
            ("/api/v1/tag-rules", "get"),
            ("/api/v1/tag-rules", "post"),
            ("/api/v1/tag-rules/{id}", "get"),
            ("/api/v1/tag-rules/{id}", "patch"),
            ("/api/v1/tag-rules/{id}", "delete"),
            ("/api/v1/tag-rules/{id}/apply", "post"),
            ("/health", "get"),
            ("/ready", "get"),
            ("/metrics", "get"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} documented"
            );
        }
        let page = s
            .http
            .get(s.url("/openapi/index.html"))
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.expect("html");
        assert!(
            html.contains("swagger-ui-bundle.js") && !html.contains("https://"),
            "viewer works offline"
        );
        let js = s
            .http
            .get(s.url("/openapi/swagger-ui-bundle.js"))
            .send()
            .await
            .expect("js");
        assert_eq!(js.status(), StatusCode::OK);
        let (status, body) = s.send(s.http.get(s.url("/nope"))).await;
        assert_eq!(
            (status, body["code"].clone()),
            (StatusCode::NOT_FOUND, json!("not_found"))
        );
        let (status, _) = s.send(s.http.delete(s.url("/health"))).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
}
