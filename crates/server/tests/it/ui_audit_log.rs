//! The audit-log page in real headless Chromium: an admin's actions in the UI and through
//! the API seen there newest first, filtered by action, actor and time range, paged with
//! *Older*, a filter that does not read refused next to the form, the page in Japanese.

use serde_json::{json, Value};

use crate::browser::Browser;
use crate::support::{servers, TestServer};
use crate::ui::sign_in;

/// The audit log's rows as the page shows them: (action, actor, target, via, at).
async fn rows(browser: &Browser) -> Vec<Value> {
    let rows = browser
        .script(
            "return [...document.querySelectorAll('#audit-log tbody tr')].map(r => ({ \
               action: r.dataset.action, \
               actor: r.querySelector('.actor').textContent, \
               target: r.querySelector('.target').textContent, \
               client: r.querySelector('.client').textContent, \
               via: r.querySelector('.via').textContent, \
               at: r.querySelector('.at').textContent }))",
            json!([]),
        )
        .await;
    rows.as_array().cloned().unwrap_or_default()
}

fn field<'a>(rows: &'a [Value], key: &str) -> Vec<&'a str> {
    rows.iter().map(|r| r[key].as_str().unwrap_or("")).collect()
}

/// Sets a filter's select or text field and applies the filters.
async fn filter(browser: &Browser, fields: Value) {
    browser
        .script(
            "for (const [id, v] of Object.entries(arguments[0])) document.getElementById(id).value = v; \
             document.getElementById('filter-apply').click(); return true",
            json!([fields]),
        )
        .await;
}

/// Waits for the page at `path` (and query) after a click or a submitted filter.
async fn arrived(browser: &Browser, query_part: &str) {
    browser
        .wait_until(
            &format!(
                "return location.pathname === '/admin/audit-log' && location.search.includes('{query_part}') \
                 && document.readyState === 'complete'"
            ),
            10,
            query_part,
        )
        .await;
}

async fn api_user(s: &TestServer, token: &str, body: Value) -> String {
    let req = s
        .http
        .post(s.url("/api/v1/users"))
        .bearer_auth(token)
        .json(&body);
    let (status, out) = s.send(req).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{out}");
    out["user_id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn admins_read_filter_and_page_the_audit_log_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    for s in servers().await {
        // The first day, through the API: the admin adds an agent and a second admin, who
        // switches the agent's Incoming Webhook on.
        let t = s.tenant("acme").await;
        let agent = api_user(
            &s,
            &t.admin_token,
            json!({"name": "Agent", "email": "agent@acme.example", "password": "agent password"}),
        )
        .await;
        let boss = api_user(
            &s,
            &t.admin_token,
            json!({"name": "Boss", "email": "boss@acme.example", "password": "boss password", "admin": true}),
        )
        .await;
        let boss_token = s.login("boss@acme.example", "boss password").await;
        let (status, _) = s
            .send(
                s.http
                    .patch(s.url(&format!("/api/v1/users/{agent}")))
                    .bearer_auth(&boss_token)
                    .json(&json!({"use_incoming_webhook": true})),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK);

        // The next day, in the UI: the admin adds a user, then switches the agent off.
        s.clock.advance(time::Duration::days(1));
        sign_in(&browser, &s, "admin@acme.example", "correct horse").await;
        browser.goto(&s.url("/admin/users")).await;
        browser.type_into("#new-name", "Clerk").await;
        browser.type_into("#new-email", "clerk@acme.example").await;
        browser.type_into("#new-password", "clerk password").await;
        browser.click("#create-user").await;
        browser.find("#users tr:nth-child(4)").await;
        browser
            .click(&format!(
                "#users tr[data-user-id='{agent}'] button.switch-webhook"
            ))
            .await;
        // Switched off: the button now offers to switch it on.
        browser
            .wait_until(
                &format!(
                    "const b = document.querySelector(\"#users tr[data-user-id='{agent}'] button.switch-webhook\"); \
                     return b !== null && b.value === 'true' && document.readyState === 'complete'"
                ),
                10,
                "the switch saved",
            )
            .await;

        // The page, from the admin navigation: newest first, each entry's who, what, target,
        // where from and through what.
        browser.click("#nav-audit-log").await;
        browser.find("#audit-log").await;
        let all = rows(&browser).await;
        assert_eq!(
            field(&all, "action"),
            [
                "user.update",
                "user.create",
                "user.update",
                "user.create",
                "user.create"
            ]
        );
        assert_eq!(
            field(&all, "actor"),
            [
                "admin@acme.example",
                "admin@acme.example",
                "boss@acme.example",
                "admin@acme.example",
                "admin@acme.example"
            ]
        );
        assert_eq!(
            field(&all, "via"),
            ["Web UI", "Web UI", "API", "API", "API"]
        );
        assert_eq!(all[0]["target"], json!(agent));
        assert_eq!(all[3]["target"], json!(boss));
        assert!(field(&all, "client").iter().all(|c| *c == "127.0.0.1"));
        let at = field(&all, "at");
        assert!(at.windows(2).all(|w| w[0] >= w[1]), "newest first: {at:?}");
        assert!(at[0].starts_with("2027-01-16") && at[4].starts_with("2027-01-15"));
        browser
            .screenshot(&format!("admin-audit-log-{}", s.backend))
            .await;

        // Filters: by action, by actor, by time range (a date is the whole day).
        filter(&browser, json!({"filter-action": "user.create"})).await;
        arrived(&browser, "action=user.create").await;
        let created = rows(&browser).await;
        assert_eq!(field(&created, "action"), ["user.create"; 3]);
        filter(&browser, json!({"filter-action": "", "filter-actor": boss})).await;
        arrived(&browser, &format!("actor={boss}")).await;
        let by_boss = rows(&browser).await;
        assert_eq!(field(&by_boss, "action"), ["user.update"]);
        assert_eq!(field(&by_boss, "actor"), ["boss@acme.example"]);
        filter(
            &browser,
            json!({"filter-actor": "", "filter-since": "2027-01-16"}),
        )
        .await;
        arrived(&browser, "since=2027-01-16").await;
        assert_eq!(field(&rows(&browser).await, "via"), ["Web UI"; 2]);
        filter(
            &browser,
            json!({"filter-since": "", "filter-until": "2027-01-15"}),
        )
        .await;
        arrived(&browser, "until=2027-01-15").await;
        assert_eq!(field(&rows(&browser).await, "via"), ["API"; 3]);

        // A time that does not read is refused next to the form, which keeps it.
        filter(
            &browser,
            json!({"filter-until": "", "filter-since": "yesterday"}),
        )
        .await;
        arrived(&browser, "since=yesterday").await;
        assert!(browser.text("#audit-problem").await.contains("since"));
        assert_eq!(browser.value("#filter-since").await, json!("yesterday"));

        // Pages of two: Older until the first entry, then back to the newest.
        browser.goto(&s.url("/admin/audit-log?limit=2")).await;
        let mut seen = rows(&browser).await;
        assert_eq!(seen.len(), 2);
        for expected in [2, 1] {
            let older = browser
                .script(
                    "return document.getElementById('older-page').href",
                    json!([]),
                )
                .await;
            browser.click("#older-page").await;
            browser
                .wait_until(
                    &format!(
                        "return location.href === {older} && document.readyState === 'complete'"
                    ),
                    10,
                    "the older page",
                )
                .await;
            let page = rows(&browser).await;
            assert_eq!(page.len(), expected);
            seen.extend(page);
        }
        assert_eq!(seen, all, "the pages hold every entry once, in order");
        let more = browser
            .script(
                "return document.getElementById('older-page') === null",
                json!([]),
            )
            .await;
        assert_eq!(more, json!(true), "no page after the oldest");
        browser.click("#newest-page").await;
        browser
            .wait_until("return !location.search.includes('before=')", 10, "newest")
            .await;
        assert_eq!(rows(&browser).await, all[..2]);

        // Japanese, like every page.
        browser.goto(&s.url("/lang/ja?next=/admin/audit-log")).await;
        assert_eq!(browser.text("h1").await, "監査ログ");
        assert_eq!(field(&rows(&browser).await, "via")[0], "Web画面");
        browser.goto(&s.url("/lang/en?next=/calls")).await;

        // Someone who is not an admin gets the page the other admin pages give them.
        browser.click("#sign-out").await;
        sign_in(&browser, &s, "agent@acme.example", "agent password").await;
        browser.goto(&s.url("/admin/audit-log")).await;
        let refused = browser.text("#error-message").await;
        browser.goto(&s.url("/admin/users")).await;
        assert!(refused.contains("not allowed"), "{refused}");
        assert_eq!(refused, browser.text("#error-message").await);
        browser.goto(&s.url("/calls")).await;
        browser.click("#sign-out").await;
    }
    browser.close().await;
}
