//! The API's part of the matrix: its routes read from the OpenAPI document generated from
//! the router, every status the guards give documented there too.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use super::{company, fill, leak, same_routes, verdict, Company, Guard, Who, Whose, MISSING};
use crate::receiver;
use crate::support::{servers, TestServer};

/// One row per operation: its guard and the status of a request that passes it.
const ROWS: &[(&str, &str, Guard, u16)] = &[
    (
        "POST",
        "/webhooks/incoming/{company_id}/{secret}",
        Guard::Pbx,
        200,
    ),
    ("PUT", "/uploads/{call_id}", Guard::Pbx, 200),
    ("POST", "/api/v1/auth/login", Guard::Public, 200),
    ("POST", "/api/v1/auth/logout", Guard::Signed, 204),
    ("GET", "/api/v1/me", Guard::Signed, 200),
    ("GET", "/api/v1/me/notifications", Guard::Signed, 200),
    ("PUT", "/api/v1/me/notifications", Guard::Signed, 200),
    ("GET", "/api/v1/users", Guard::Admin, 200),
    ("POST", "/api/v1/users", Guard::Admin, 201),
    ("PATCH", "/api/v1/users/{user_id}", Guard::Admin, 200),
    ("GET", "/api/v1/incoming-webhook", Guard::Admin, 200),
    ("POST", "/api/v1/incoming-webhook", Guard::Admin, 409),
    ("DELETE", "/api/v1/incoming-webhook", Guard::Admin, 204),
    ("GET", "/api/v1/audit-log", Guard::Admin, 200),
    ("GET", "/api/v1/settings/analysis", Guard::Signed, 200),
    ("PUT", "/api/v1/settings/analysis", Guard::Admin, 200),
    ("GET", "/api/v1/outgoing-webhooks", Guard::Admin, 200),
    ("POST", "/api/v1/outgoing-webhooks", Guard::Admin, 201),
    ("GET", "/api/v1/outgoing-webhooks/{id}", Guard::Admin, 200),
    ("PATCH", "/api/v1/outgoing-webhooks/{id}", Guard::Admin, 200),
    (
        "DELETE",
        "/api/v1/outgoing-webhooks/{id}",
        Guard::Admin,
        204,
    ),
    (
        "GET",
        "/api/v1/outgoing-webhooks/{id}/deliveries",
        Guard::Admin,
        200,
    ),
    (
        "POST",
        "/api/v1/outgoing-webhooks/{id}/secret",
        Guard::Admin,
        200,
    ),
    (
        "POST",
        "/api/v1/outgoing-webhooks/{id}/replay",
        Guard::Admin,
        202,
    ),
    ("GET", "/api/v1/slack-rules", Guard::Admin, 200),
    ("POST", "/api/v1/slack-rules", Guard::Admin, 201),
    ("GET", "/api/v1/slack-rules/{id}", Guard::Admin, 200),
    ("PATCH", "/api/v1/slack-rules/{id}", Guard::Admin, 200),
    ("DELETE", "/api/v1/slack-rules/{id}", Guard::Admin, 204),
    (
        "GET",
        "/api/v1/slack-rules/{id}/deliveries",
        Guard::Admin,
        200,
    ),
    ("POST", "/api/v1/slack-rules/{id}/replay", Guard::Admin, 202),
    ("GET", "/api/v1/crm-connections", Guard::Admin, 200),
    ("POST", "/api/v1/crm-connections", Guard::Admin, 201),
    ("GET", "/api/v1/crm-connections/{id}", Guard::Admin, 200),
    ("PATCH", "/api/v1/crm-connections/{id}", Guard::Admin, 200),
    ("DELETE", "/api/v1/crm-connections/{id}", Guard::Admin, 204),
    (
        "GET",
        "/api/v1/crm-connections/{id}/deliveries",
        Guard::Admin,
        200,
    ),
    (
        "POST",
        "/api/v1/crm-connections/{id}/replay",
        Guard::Admin,
        202,
    ),
    ("GET", "/api/v1/email-notifications", Guard::Admin, 200),
    ("PUT", "/api/v1/email-notifications", Guard::Admin, 200),
    (
        "GET",
        "/api/v1/email-notifications/deliveries",
        Guard::Admin,
        200,
    ),
    (
        "POST",
        "/api/v1/email-notifications/replay",
        Guard::Admin,
        202,
    ),
    ("GET", "/api/v1/tag-rules", Guard::Admin, 200),
    ("POST", "/api/v1/tag-rules", Guard::Admin, 201),
    ("GET", "/api/v1/tag-rules/{id}", Guard::Admin, 200),
    ("PATCH", "/api/v1/tag-rules/{id}", Guard::Admin, 200),
    ("DELETE", "/api/v1/tag-rules/{id}", Guard::Admin, 204),
    ("POST", "/api/v1/tag-rules/{id}/apply", Guard::Admin, 202),
    ("GET", "/api/v1/calls", Guard::Signed, 200),
    ("GET", "/api/v1/calls/export.csv", Guard::Signed, 200),
    ("GET", "/api/v1/calls/{call_id}", Guard::Signed, 200),
    ("POST", "/api/v1/calls/{call_id}/swap", Guard::Signed, 200),
    (
        "GET",
        "/api/v1/calls/{call_id}/recording",
        Guard::Signed,
        200,
    ),
    (
        "GET",
        "/api/v1/calls/{call_id}/deliveries",
        Guard::Admin,
        200,
    ),
    (
        "GET",
        "/api/v1/calls/{call_id}/notifications",
        Guard::Admin,
        200,
    ),
    (
        "GET",
        "/api/v1/calls/{call_id}/versions",
        Guard::Signed,
        200,
    ),
    (
        "GET",
        "/api/v1/calls/{call_id}/versions/{version}",
        Guard::Signed,
        200,
    ),
    ("GET", "/api/v1/calls/{call_id}/minutes", Guard::Signed, 200),
    ("GET", "/health", Guard::Public, 200),
    ("GET", "/ready", Guard::Public, 200),
    ("GET", "/metrics", Guard::Public, 200),
    ("GET", "/openapi.json", Guard::Public, 200),
    ("GET", "/openapi/index.html", Guard::Public, 200),
];

/// A body that passes validation, so that only the guard and the lookup decide.
fn body(method: &str, path: &str, hook: &str) -> Option<Value> {
    let since = json!({"failed_since": "2020-01-01T00:00:00Z"});
    Some(match (method, path) {
        ("POST", "/api/v1/auth/login") => {
            json!({"email": "admin@a.example", "password": "correct horse"})
        }
        ("PUT", "/api/v1/me/notifications") => json!({"email_on_completion": false}),
        ("POST", "/api/v1/users") => {
            json!({"name": "New", "email": format!("new-{}@x.example", rand::random::<u32>()), "password": "a long password"})
        }
        ("PATCH", "/api/v1/users/{user_id}") => json!({"use_incoming_webhook": true}),
        ("PUT", "/api/v1/settings/analysis") => json!({"language": "ja"}),
        ("POST", "/api/v1/outgoing-webhooks") => json!({"name": "new", "url": hook}),
        ("POST", "/api/v1/slack-rules") => json!({"name": "new", "webhook_url": hook}),
        ("POST", "/api/v1/crm-connections") => {
            json!({"kind": "hubspot", "name": "new", "base_url": hook, "access_token": "t"})
        }
        ("POST", "/api/v1/tag-rules") => json!({"name": "new", "keywords": ["x"], "tag": "x"}),
        ("PATCH", p) if p.ends_with("{id}") => json!({"enabled": true}),
        ("PUT", "/api/v1/email-notifications") => json!({"recipients": ["lead@a.example"]}),
        ("POST", "/api/v1/email-notifications/replay") => {
            json!({"failed_since": "2020-01-01T00:00:00Z", "to": "lead@a.example"})
        }
        ("POST", p) if p.ends_with("/replay") => since,
        _ => return None,
    })
}

/// The status a cell must get.
fn expected(path: &str, (guard, ok): (Guard, u16), who: Who, whose: Whose) -> u16 {
    let names_resource = path.contains('{');
    match guard {
        Guard::Public => ok,
        // A made-up upload URL fails its signature; a made-up webhook URL is unknown.
        Guard::Pbx if whose == Whose::Missing && path.starts_with("/uploads") => 403,
        Guard::Pbx if whose == Whose::Missing => 404,
        Guard::Pbx => ok,
        Guard::Signed | Guard::Admin => match who {
            Who::Nobody => 401,
            Who::User if guard == Guard::Admin => 403,
            _ if !names_resource => ok,
            Who::Admin | Who::User if whose == Whose::A => ok,
            Who::OtherAdmin if whose == Whose::B => ok,
            _ => 404,
        },
    }
}

#[tokio::test]
async fn every_route_keeps_each_company_to_its_own_data() {
    // The route list: the document generated from the router, every operation in a row.
    let doc = kiku::http::openapi_document();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let rows: BTreeSet<_> = ROWS
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .collect();
    same_routes("API", &documented, &rows);

    // The statuses the guards give are documented on each operation.
    let mut undocumented = Vec::new();
    for &(method, path, guard, _) in ROWS {
        let responses = &doc["paths"][path][method.to_lowercase()]["responses"];
        let mut statuses = Vec::new();
        if matches!(guard, Guard::Signed | Guard::Admin) {
            statuses.push("401");
        }
        if guard == Guard::Admin {
            statuses.push("403");
        }
        if path.contains('{') {
            statuses.push(if path.starts_with("/uploads") {
                "403"
            } else {
                "404"
            });
        }
        for status in statuses {
            if !responses[status].is_object() {
                undocumented.push(format!("{method} {path} {status}"));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "statuses missing from the document: {undocumented:?}"
    );

    let r = receiver::start().await;
    let hook = r.url("/ok");
    for s in servers().await {
        let a = company(&s, "a", &hook).await;
        let b = company(&s, "b", &hook).await;
        verdict(s.backend, matrix(&s, &a, &b, &hook).await, 300);
    }
}

/// Every cell on one server: how many, and those that went wrong.
async fn matrix(s: &TestServer, a: &Company, b: &Company, hook: &str) -> (usize, Vec<String>) {
    // Deletions and sign-outs last, so that the other cells still find what they name.
    let mut order: Vec<_> = ROWS.iter().collect();
    order.sort_by_key(|(m, p, _, _)| *m == "DELETE" || p.ends_with("logout"));
    let mut failures = Vec::new();
    let mut cells = 0;
    for &&(method, path, guard, ok) in &order {
        let names_resource = path.contains('{');
        for who in [Who::Nobody, Who::User, Who::OtherAdmin, Who::Admin] {
            let targets: &[Whose] = if names_resource || guard == Guard::Pbx {
                &[Whose::Missing, Whose::B, Whose::A]
            } else {
                &[Whose::A]
            };
            for &whose in targets {
                if guard == Guard::Pbx && who != Who::Nobody {
                    continue; // the URL is the key; a session changes nothing
                }
                let url = match (guard, whose) {
                    (Guard::Pbx, _) if path.starts_with("/uploads") => match whose {
                        Whose::A => a.upload.clone(),
                        Whose::B => b.upload.clone(),
                        Whose::Missing => a.upload.replace(
                            &a.upload[a.upload.find("/uploads/").expect("upload") + 9
                                ..a.upload.find('?').expect("query")],
                            MISSING,
                        ),
                    },
                    (Guard::Pbx, Whose::A) => a.t.webhook.clone(),
                    (Guard::Pbx, Whose::B) => b.t.webhook.clone(),
                    (Guard::Pbx, Whose::Missing) => s.url(&format!(
                        "/webhooks/incoming/{}/{}",
                        a.t.company_id,
                        "0".repeat(64)
                    )),
                    _ => s.url(&fill(path, whose, a, b)),
                };
                // Sign-out ends the session it is sent with: a fresh one for each cell.
                let token = match who {
                    Who::Nobody => None,
                    _ if path.ends_with("logout") => Some(match who {
                        Who::Admin => s.login("admin@a.example", "correct horse").await,
                        Who::User => s.login("agent@a.example", "agent password").await,
                        _ => s.login("admin@b.example", "correct horse").await,
                    }),
                    Who::Admin => Some(a.t.admin_token.clone()),
                    Who::User => Some(a.user_token.clone()),
                    Who::OtherAdmin => Some(b.t.admin_token.clone()),
                };
                let method = Method::from_bytes(method.as_bytes()).expect("method");
                let mut req = s.http.request(method.clone(), &url);
                if let Some(token) = &token {
                    req = req.bearer_auth(token);
                }
                if path.starts_with("/webhooks/") {
                    let id = format!("iso-{cells}");
                    req = req.json(&json!({"call_data": [crate::support::call(&id, "AUTOMATIC_RECORD", false, None, None)]}));
                } else if path.starts_with("/uploads/") {
                    req = req.body(vec![1u8; 64]);
                } else if let Some(body) = body(method.as_str(), path, hook) {
                    req = req.json(&body);
                }
                let response = req.send().await.expect("request");
                let status = response.status().as_u16();
                let text = response.text().await.expect("body");
                cells += 1;
                let want = expected(path, (guard, ok), who, whose);
                if status != want {
                    failures.push(format!(
                        "{method} {path} as {who:?} on {whose:?}'s: {status}, expected {want}: {}",
                        text.chars().take(200).collect::<String>()
                    ));
                }
                // A successful answer to one company names nothing of the other's.
                if (200..300).contains(&status) && guard != Guard::Public {
                    if let Some(why) = leak(&text, who, whose, a, b) {
                        failures.push(format!("{method} {path} as {who:?}: {why}"));
                    }
                }
            }
        }
    }
    (cells, failures)
}
