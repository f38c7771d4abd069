//! The web UI's part of the matrix: its pages and forms read from the UI router's own
//! list, sent as a browser sends them (the session cookie, each form with the session's
//! CSRF token). Without a session a page or form sends the browser to sign in; a user who
//! is not an admin gets the *not allowed* page (403) for admin pages; another company's
//! resource, or one that does not exist, is the *not found* page (404). Every form also
//! refuses a token that is not the session's (403).

use std::collections::BTreeSet;

use kiku_domain::analysis::AnalysisSettings;
use reqwest::header::{COOKIE, LOCATION};
use reqwest::StatusCode;

use super::{company, fill, leak, same_routes, verdict, Company, Guard, Who, Whose};
use crate::receiver;
use crate::support::{servers, TestServer};
use crate::ui::cookie_session;

/// One row per page or form: its guard and the status of a request that passes it.
const ROWS: &[(&str, &str, Guard, u16)] = &[
    ("GET", "/", Guard::Public, 303),
    ("GET", "/sign-in", Guard::Public, 200),
    ("POST", "/sign-in", Guard::Public, 303),
    ("POST", "/sign-out", Guard::Signed, 303),
    ("GET", "/lang/{code}", Guard::Public, 303),
    ("GET", "/static/{file}", Guard::Public, 200),
    ("GET", "/calls", Guard::Signed, 200),
    ("GET", "/calls/{call_id}", Guard::Signed, 200),
    (
        "GET",
        "/calls/{call_id}/versions/{version}",
        Guard::Signed,
        200,
    ),
    ("POST", "/calls/{call_id}/swap", Guard::Signed, 303),
    ("GET", "/me/notifications", Guard::Signed, 200),
    ("POST", "/me/notifications", Guard::Signed, 200),
    // Only a redirect to the users' page, which is guarded.
    ("GET", "/admin", Guard::Public, 303),
    ("GET", "/admin/users", Guard::Admin, 200),
    ("POST", "/admin/users", Guard::Admin, 303),
    ("POST", "/admin/users/{user_id}", Guard::Admin, 303),
    ("GET", "/admin/webhook", Guard::Admin, 200),
    // The company already has its URL: one per company.
    ("POST", "/admin/webhook", Guard::Admin, 409),
    ("POST", "/admin/webhook/delete", Guard::Admin, 303),
    ("GET", "/admin/settings", Guard::Admin, 200),
    ("POST", "/admin/settings", Guard::Admin, 200),
    ("GET", "/admin/outgoing-webhooks", Guard::Admin, 200),
    ("POST", "/admin/outgoing-webhooks", Guard::Admin, 200),
    ("GET", "/admin/outgoing-webhooks/{id}", Guard::Admin, 200),
    (
        "POST",
        "/admin/outgoing-webhooks/{id}/enabled",
        Guard::Admin,
        303,
    ),
    (
        "POST",
        "/admin/outgoing-webhooks/{id}/replay",
        Guard::Admin,
        200,
    ),
    (
        "POST",
        "/admin/outgoing-webhooks/{id}/delete",
        Guard::Admin,
        303,
    ),
    ("GET", "/admin/tag-rules", Guard::Admin, 200),
    ("POST", "/admin/tag-rules", Guard::Admin, 303),
    ("POST", "/admin/tag-rules/{id}/enabled", Guard::Admin, 303),
    ("POST", "/admin/tag-rules/{id}/apply", Guard::Admin, 200),
    ("POST", "/admin/tag-rules/{id}/delete", Guard::Admin, 303),
    ("GET", "/admin/slack-rules", Guard::Admin, 200),
    ("POST", "/admin/slack-rules", Guard::Admin, 303),
    ("GET", "/admin/slack-rules/{id}", Guard::Admin, 200),
    ("POST", "/admin/slack-rules/{id}", Guard::Admin, 200),
    ("POST", "/admin/slack-rules/{id}/replay", Guard::Admin, 200),
    ("POST", "/admin/slack-rules/{id}/delete", Guard::Admin, 303),
    ("GET", "/admin/crm-connections", Guard::Admin, 200),
    ("POST", "/admin/crm-connections", Guard::Admin, 303),
    ("GET", "/admin/crm-connections/new", Guard::Admin, 200),
    ("GET", "/admin/crm-connections/{id}", Guard::Admin, 200),
    ("POST", "/admin/crm-connections/{id}", Guard::Admin, 200),
    (
        "POST",
        "/admin/crm-connections/{id}/replay",
        Guard::Admin,
        200,
    ),
    (
        "POST",
        "/admin/crm-connections/{id}/delete",
        Guard::Admin,
        303,
    ),
    ("GET", "/admin/email", Guard::Admin, 200),
    ("POST", "/admin/email", Guard::Admin, 200),
    ("POST", "/admin/email/replay", Guard::Admin, 200),
    ("GET", "/admin/audit-log", Guard::Admin, 200),
];

/// Whether the path names a company's resource.
fn names_resource(path: &str) -> bool {
    ["{id}", "{call_id}", "{user_id}"]
        .iter()
        .any(|p| path.contains(p))
}

/// A form that passes validation, so that only the guard, the token and the lookup decide.
fn form(path: &str, csrf: &str, hook: &str) -> Vec<(&'static str, String)> {
    let since = ("since", "2020-01-01T00:00:00Z".to_string());
    let mut fields: Vec<(&'static str, String)> = match path {
        "/sign-in" => vec![
            ("email", "admin@a.example".into()),
            ("password", "correct horse".into()),
        ],
        "/me/notifications" => vec![("email_on_completion", "on".into())],
        "/admin/users" => vec![
            ("name", "New".into()),
            ("email", format!("new-{}@x.example", rand::random::<u32>())),
            ("password", "a long password".into()),
        ],
        "/admin/users/{user_id}" => vec![("use_incoming_webhook", "true".into())],
        "/admin/settings" => {
            let rule = serde_json::to_string(&AnalysisSettings::default().score_rule);
            vec![
                ("action", "simulate".into()),
                ("language", "ja".into()),
                ("score_rule", rule.expect("score rule")),
            ]
        }
        "/admin/outgoing-webhooks" => vec![
            ("name", "new".into()),
            ("url", hook.into()),
            ("call_analysis_completed", "on".into()),
        ],
        "/admin/outgoing-webhooks/{id}/enabled" | "/admin/tag-rules/{id}/enabled" => {
            vec![("enabled", "true".into())]
        }
        "/admin/tag-rules" => vec![
            ("name", "new".into()),
            ("keywords", "x".into()),
            ("keyword_match", "any".into()),
            ("min_count", "1".into()),
            ("speaker", "any".into()),
            ("tag", "x".into()),
        ],
        "/admin/slack-rules" => vec![
            ("name", "new".into()),
            ("webhook_url", hook.into()),
            ("enabled", "on".into()),
        ],
        "/admin/slack-rules/{id}" => vec![("name", "changed".into()), ("enabled", "on".into())],
        "/admin/crm-connections" => vec![
            ("kind", "hubspot".into()),
            ("name", "new".into()),
            ("base_url", hook.into()),
            ("access_token", "t".into()),
            ("content", "transcript".into()),
            ("enabled", "on".into()),
        ],
        "/admin/crm-connections/{id}" => vec![
            ("name", "changed".into()),
            ("base_url", hook.into()),
            ("content", "transcript".into()),
            ("enabled", "on".into()),
        ],
        "/admin/email" => vec![("recipients", "lead@a.example".into())],
        "/admin/email/replay" => vec![since, ("to", "lead@a.example".into())],
        p if p.ends_with("/replay") => vec![since],
        _ => Vec::new(),
    };
    if path != "/sign-in" {
        fields.push(("csrf", csrf.to_string()));
    }
    fields
}

/// The status a cell must get.
fn expected(path: &str, (guard, ok): (Guard, u16), who: Who, whose: Whose) -> u16 {
    match guard {
        Guard::Public | Guard::Pbx => ok,
        Guard::Signed | Guard::Admin => match who {
            Who::Nobody => 303,
            Who::User if guard == Guard::Admin => 403,
            _ if !names_resource(path) => ok,
            Who::Admin | Who::User if whose == Whose::A => ok,
            Who::OtherAdmin if whose == Whose::B => ok,
            _ => 404,
        },
    }
}

/// A browser's session: its cookie and the CSRF token its forms carry.
struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in_as(s: &TestServer, who: Who) -> Option<Session> {
    let (email, password) = match who {
        Who::Nobody => return None,
        Who::Admin => ("admin@a.example", "correct horse"),
        Who::User => ("agent@a.example", "agent password"),
        Who::OtherAdmin => ("admin@b.example", "correct horse"),
    };
    let (cookie, csrf) = cookie_session(s, email, password).await;
    Some(Session { cookie, csrf })
}

#[tokio::test]
async fn every_page_and_form_keeps_each_company_to_its_own_data() {
    // The route list: the UI router's own, every page and form in a row.
    let served: BTreeSet<_> = kiku::ui::routes().into_iter().collect();
    let rows: BTreeSet<_> = ROWS.iter().map(|(m, p, _, _)| (*m, *p)).collect();
    same_routes("UI", &served, &rows);

    let r = receiver::start().await;
    let hook = r.url("/ok");
    for s in servers().await {
        let a = company(&s, "a", &hook).await;
        let b = company(&s, "b", &hook).await;
        verdict(s.backend, matrix(&s, &a, &b, &hook).await, 350);
    }
}

/// Every cell on one server: how many, and those that went wrong.
async fn matrix(s: &TestServer, a: &Company, b: &Company, hook: &str) -> (usize, Vec<String>) {
    // A browser does not follow redirects for the test: where they lead is checked.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let sessions = [
        (Who::Admin, sign_in_as(s, Who::Admin).await),
        (Who::User, sign_in_as(s, Who::User).await),
        (Who::OtherAdmin, sign_in_as(s, Who::OtherAdmin).await),
    ];
    let mut failures = Vec::new();
    let mut cells = 0;

    // Every form refuses a token that is not the session's, before doing anything.
    let admin = sessions[0].1.as_ref().expect("admin session");
    for &(method, path, guard, _) in ROWS {
        if method != "POST" || guard == Guard::Public {
            continue;
        }
        let response = http
            .post(s.url(&fill(path, Whose::A, a, b)))
            .header(COOKIE, &admin.cookie)
            .form(&form(path, "0000", hook))
            .send()
            .await
            .expect("request");
        cells += 1;
        if response.status() != StatusCode::FORBIDDEN {
            failures.push(format!(
                "POST {path} with a forged token: {}",
                response.status()
            ));
        }
    }

    // Deletions and sign-outs last, so that the other cells still find what they name.
    let mut order: Vec<_> = ROWS.iter().collect();
    order.sort_by_key(|(_, p, _, _)| p.ends_with("/delete") || *p == "/sign-out");
    for &&(method, path, guard, ok) in &order {
        for who in [Who::Nobody, Who::User, Who::OtherAdmin, Who::Admin] {
            let targets: &[Whose] = if names_resource(path) {
                &[Whose::Missing, Whose::B, Whose::A]
            } else {
                &[Whose::A]
            };
            for &whose in targets {
                // Sign-out ends the session it is sent with: a fresh one for each cell.
                let fresh;
                let session = if path == "/sign-out" {
                    fresh = sign_in_as(s, who).await;
                    fresh.as_ref()
                } else {
                    sessions
                        .iter()
                        .find(|(w, _)| *w == who)
                        .and_then(|(_, session)| session.as_ref())
                };
                let url = s.url(&fill(path, whose, a, b));
                let mut req = match method {
                    "GET" => http.get(&url),
                    _ => http.post(&url).form(&form(
                        path,
                        session.map_or("", |s| s.csrf.as_str()),
                        hook,
                    )),
                };
                if let Some(session) = session {
                    req = req.header(COOKIE, &session.cookie);
                }
                let response = req.send().await.expect("request");
                let status = response.status().as_u16();
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let text = response.text().await.expect("body");
                cells += 1;
                let cell = format!("{method} {path} as {who:?} on {whose:?}'s");
                let want = expected(path, (guard, ok), who, whose);
                if status != want {
                    failures.push(format!(
                        "{cell}: {status}, expected {want}: {}",
                        text.chars().take(200).collect::<String>()
                    ));
                }
                // Without a session: to the sign-in page, then back to the page asked for.
                if guard != Guard::Public
                    && who == Who::Nobody
                    && !location.starts_with("/sign-in?next=/")
                {
                    failures.push(format!("{cell}: sent to {location:?}, not to sign in"));
                }
                // A page or a redirect for one company names nothing of the other's.
                if (200..400).contains(&status) && guard != Guard::Public {
                    if let Some(why) = leak(&format!("{location}\n{text}"), who, whose, a, b) {
                        failures.push(format!("{cell}: {why}"));
                    }
                }
            }
        }
    }
    (cells, failures)
}
