//! Tenant isolation: every route of the API ([`api`]) and of the web UI ([`ui`]), each read
//! from the router's own list, × {company A's admin, A's user, no session, company B's
//! admin} × {a resource of A, one of B, one that does not exist}, on every backend. Each
//! cell's status follows from the route's guard; every successful answer to one company
//! is searched for the other company's ids. A route without a row fails the test.

mod api;
mod ui;

use std::collections::BTreeSet;
use std::fmt::Debug;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{Tenant, TestServer};
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
    crate::minutes::minutes_written(s, &t.company_id, &call_id, &format!("{name} minutes")).await;
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
    let (_, me) = s.get("/api/v1/me", &token).await;
    let admin_id = me["user_id"].as_str().expect("admin id").to_string();
    let admin_email = format!("admin@{name}.example");
    let ids = [
        &t.company_id,
        &admin_id,
        &admin_email,
        &email,
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

/// `path` (an API route or a UI page) naming a resource of `whose`.
fn fill(path: &str, whose: Whose, a: &Company, b: &Company) -> String {
    let c = match whose {
        Whose::A => Some(a),
        Whose::B => Some(b),
        Whose::Missing => None,
    };
    let pick = |f: fn(&Company) -> &str| c.map(f).unwrap_or(MISSING).to_string();
    let id = if path.contains("/outgoing-webhooks/") {
        pick(|c| &c.endpoint)
    } else if path.contains("/slack-rules/") {
        pick(|c| &c.slack_rule)
    } else if path.contains("/crm-connections/") {
        pick(|c| &c.crm)
    } else {
        pick(|c| &c.tag_rule)
    };
    let filled = path
        .replace("{id}", &id)
        .replace("{call_id}", &pick(|c| &c.call_id))
        .replace("{user_id}", &pick(|c| &c.user_id))
        .replace("{version}", "1")
        .replace("{code}", "en")
        .replace("{file}", "kiku.css");
    // The page of a new CRM connection is of one kind.
    if path == "/admin/crm-connections/new" {
        filled + "?kind=hubspot"
    } else {
        filled
    }
}

/// Why a successful answer for `who` about `whose` resource names the other company's
/// data, if it does.
fn leak(text: &str, who: Who, whose: Whose, a: &Company, b: &Company) -> Option<String> {
    let (other, mine) = match (who, whose) {
        (Who::OtherAdmin, _) | (Who::Nobody, Whose::B) => (a, "B"),
        _ => (b, "A"),
    };
    other
        .ids
        .iter()
        .find(|id| text.contains(id.as_str()))
        .map(|id| format!("company {mine}'s answer names {id} of the other company"))
}

/// The router's routes and the matrix's rows name the same routes, both ways.
fn same_routes<T: Ord + Debug>(what: &str, served: &BTreeSet<T>, rows: &BTreeSet<T>) {
    let missing: Vec<_> = served.difference(rows).collect();
    assert!(
        missing.is_empty(),
        "{what} routes without a row in the isolation matrix: {missing:?}"
    );
    let stale: Vec<_> = rows.difference(served).collect();
    assert!(
        stale.is_empty(),
        "rows for {what} routes that no longer exist: {stale:?}"
    );
}

/// Fails with every cell that went wrong on `backend`, or when fewer than `min` ran.
fn verdict(backend: &str, (cells, failures): (usize, Vec<String>), min: usize) {
    assert!(cells > min, "{backend}: {cells} cells");
    assert!(
        failures.is_empty(),
        "{backend}: {} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
