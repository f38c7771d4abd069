//! Tenant isolation: every route of the API (read from the router's own list, through the
//! document generated from it) × {company A's admin, A's user, no session, company B's
//! admin} × {a resource of A, one of B, one that does not exist}. Each cell's status
//! follows from the route's guard; every successful answer to one company is searched for
//! the other company's ids. A route without a row here fails the test.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::receiver;
use crate::support::{servers, Tenant, TestServer};
use crate::swap::completed_call;

/// Who sends the request, seen from company A.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Admin,
    User,
    Nobody,
    /// A session of company B.
    OtherAdmin,
}

/// Whose resource the path names.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Whose {
    A,
    B,
    Missing,
}

/// How a route is guarded.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Guard {
    /// No session: the same answer for everyone.
    Public,
    /// The company's secret Incoming Webhook URL or a signed upload URL: the URL is the key.
    Pbx,
    /// Any signed-in user of the company.
    Signed,
    /// An admin of the company.
    Admin,
}

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
    ("GET", "/health", Guard::Public, 200),
    ("GET", "/ready", Guard::Public, 200),
    ("GET", "/metrics", Guard::Public, 200),
    ("GET", "/openapi.json", Guard::Public, 200),
    ("GET", "/openapi/index.html", Guard::Public, 200),
];

/// One company's side of the matrix.
struct Company {
    t: Tenant,
    user_token: String,
    user_id: String,
    call_id: String,
    upload: String,
    endpoint: String,
    slack_rule: String,
    crm: String,
    tag_rule: String,
    /// Everything that names this company's data; none may appear in the other's answers.
    ids: BTreeSet<String>,
}

async fn created(s: &TestServer, token: &str, path: &str, body: Value) -> String {
    let req = s.http.post(s.url(path)).bearer_auth(token).json(&body);
    let (status, out) = s.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {out}");
    out["id"].as_str().expect("id").to_string()
}

async fn company(s: &TestServer, name: &str, hook: &str) -> Company {
    let t = s.tenant(name).await;
    let email = format!("agent@{name}.example");
    let user_id = s.user(&t, &email, true).await;
    let user_token = s.login(&email, "agent password").await;
    let call_id = completed_call(s, &t, &format!("{name}-done")).await;
    let (_, upload) = s.one_call(&t, &format!("{name}-waiting")).await;
    let token = t.admin_token.clone();
    let endpoint = created(
        s,
        &token,
        "/api/v1/outgoing-webhooks",
        json!({"name": name, "url": hook}),
    )
    .await;
    let slack_rule = created(
        s,
        &token,
        "/api/v1/slack-rules",
        json!({"name": name, "webhook_url": hook}),
    )
    .await;
    let crm = created(
        s,
        &token,
        "/api/v1/crm-connections",
        json!({"kind": "hubspot", "name": name, "base_url": hook, "access_token": "token"}),
    )
    .await;
    let tag_rule = created(
        s,
        &token,
        "/api/v1/tag-rules",
        json!({"name": name, "keywords": ["question"], "tag": name}),
    )
    .await;
    let secret = t.webhook.rsplit('/').next().expect("secret").to_string();
    let ids = [
        &t.company_id,
        &user_id,
        &call_id,
        &endpoint,
        &slack_rule,
        &crm,
        &tag_rule,
        &secret,
    ]
    .into_iter()
    .cloned()
    .collect();
    Company {
        t,
        user_token,
        user_id,
        call_id,
        upload,
        endpoint,
        slack_rule,
        crm,
        tag_rule,
        ids,
    }
}

const MISSING: &str = "00000000-0000-4000-8000-000000000000";

/// `path` naming a resource of `whose`.
fn fill(path: &str, whose: Whose, a: &Company, b: &Company) -> String {
    let c = match whose {
        Whose::A => Some(a),
        Whose::B => Some(b),
        Whose::Missing => None,
    };
    let pick = |f: fn(&Company) -> &str| c.map(f).unwrap_or(MISSING).to_string();
    let id = if path.starts_with("/api/v1/outgoing-webhooks") {
        pick(|c| &c.endpoint)
    } else if path.starts_with("/api/v1/slack-rules") {
        pick(|c| &c.slack_rule)
    } else if path.starts_with("/api/v1/crm-connections") {
        pick(|c| &c.crm)
    } else {
        pick(|c| &c.tag_rule)
    };
    path.replace("{id}", &id)
        .replace("{call_id}", &pick(|c| &c.call_id))
        .replace("{user_id}", &pick(|c| &c.user_id))
        .replace("{version}", "1")
}

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
    let s = servers().await.into_iter().next().expect("a server");
    let r = receiver::start().await;
    let hook = r.url("/ok");
    let a = company(&s, "a", &hook).await;
    let b = company(&s, "b", &hook).await;

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
    let missing: Vec<_> = documented.difference(&rows).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the isolation matrix: {missing:?}"
    );
    let stale: Vec<_> = rows.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "rows for routes that no longer exist: {stale:?}"
    );

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
                    _ => s.url(&fill(path, whose, &a, &b)),
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
                } else if let Some(body) = body(method.as_str(), path, &hook) {
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
                    let (other, mine) = match (who, whose) {
                        (Who::OtherAdmin, _) | (Who::Nobody, Whose::B) => (&a, "B"),
                        _ => (&b, "A"),
                    };
                    for id in &other.ids {
                        if text.contains(id.as_str()) {
                            failures.push(format!("{method} {path} as {who:?}: company {mine}'s answer names {id} of the other company"));
                        }
                    }
                }
            }
        }
    }
    assert!(cells > 300, "{cells} cells");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
