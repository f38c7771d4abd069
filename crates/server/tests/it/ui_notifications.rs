//! The notification pages in real headless Chromium on both backends: an admin adds a
//! Slack rule (a refused one first), changes and deletes it, sets the company's e-mail
//! recipients, adds kintone and HubSpot connections through their forms (a refused one
//! first), changes and deletes them; the attempt logs and replays; a call's
//! notifications on its page as the API lists them; secrets never in a page; a user's
//! own e-mail choice kept; the admin pages refused to other users; forms without the
//! CSRF token refused; the pages in Japanese.

use std::time::Duration;

use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::crm_fakes::{Fake, Vendor, HUBSPOT_TOKEN, KINTONE_TOKEN};
use crate::notifications::{eventually, start_runner, Slack};
use crate::support::{servers, Tenant, TestServer};
use crate::swap::completed_call_with;
use crate::ui::{cookie_session, sign_in, wav};

/// The call's notifications once none is waiting or retrying.
async fn settled(s: &TestServer, t: &Tenant, call: &str, n: usize) -> Vec<Value> {
    let path = format!("/api/v1/calls/{call}/notifications");
    eventually("the call's notifications to settle", || async {
        let (_, body) = s.get(&path, &t.admin_token).await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        let done = items
            .iter()
            .all(|i| i["outcome"] == "delivered" || i["outcome"] == "failed");
        (items.len() == n && done).then_some(items)
    })
    .await
}

/// (channel, outcome) of each notification the call's page lists.
async fn on_page(browser: &Browser) -> Vec<(String, String)> {
    let rows = browser
        .script(
            "return [...document.querySelectorAll('#notifications tbody tr')]\
             .map(r => [r.cells[0].textContent, r.dataset.outcome])",
            json!([]),
        )
        .await;
    let mut rows: Vec<(String, String)> = serde_json::from_value(rows).expect("rows");
    rows.sort();
    rows
}

fn channel_name(channel: &str) -> &'static str {
    match channel {
        "slack" => "Slack",
        "email" => "E-mail",
        "crm" => "CRM",
        _ => "Outgoing webhook",
    }
}

/// (channel name, outcome) of the API's items, as the page names channels.
fn expected(items: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            let channel = channel_name(i["channel"].as_str().unwrap_or_default());
            (
                channel.to_string(),
                i["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Waits for the page of the one made by the form just sent (`/admin/{list}/{id}`) with
/// `marker` on it.
async fn wait_for_page(browser: &Browser, list: &str, marker: &str) {
    let check = format!(
        "return /^\\/admin\\/{list}\\/[0-9a-f-]{{36}}$/.test(location.pathname) \
         && document.querySelector('{marker}') !== null"
    );
    browser.wait_until(&check, 10, list).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_slack_rules_and_e_mail_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    for s in servers().await {
        let b = s.backend;
        let slack = Slack::start().await;
        let t = s.tenant("acme").await;
        s.user(&t, "agent@acme.example", false).await;
        let _runner = start_runner(&s, vec![Duration::ZERO; 2]);
        // The query stands for the secret part of a Slack webhook URL.
        let secret = format!("sekret-{b}");
        let hook = slack.url(&format!("/ok?hook={secret}"));
        sign_in(&browser, &s, "admin@acme.example", "correct horse").await;
        browser.goto(&s.url("/admin/slack-rules")).await;
        browser.find("#no-rules").await;

        // A refused rule says why and keeps the form, but not the URL (a credential).
        browser.type_into("#rule-name", "Alerts").await;
        browser.type_into("#rule-webhook-url", &hook).await;
        browser.type_into("#rule-min-score", "80").await;
        browser.type_into("#rule-max-score", "20").await;
        browser.click("#save-rule").await;
        let problem = browser.text("#rule-problem").await;
        assert!(problem.contains("min_score"), "{b}: {problem}");
        assert_eq!(browser.value("#rule-name").await, json!("Alerts"));
        assert_eq!(browser.value("#rule-min-score").await, json!("80"));
        assert_eq!(browser.value("#rule-webhook-url").await, json!(""));
        assert!(!browser.html().await.contains(&secret), "{b}: URL echoed");

        // Saved: the rule's page shows where it posts, never the URL.
        browser.clear("#rule-min-score").await;
        browser.clear("#rule-max-score").await;
        browser.type_into("#rule-webhook-url", &hook).await;
        browser.click("#rule-summary").await;
        browser
            .click("input[name=event_types][value=AUTOMATIC_RECORD]")
            .await;
        browser.click("#save-rule").await;
        wait_for_page(&browser, "slack-rules", "#webhook-set").await;
        assert!(browser.text("#webhook-set").await.contains("127.0.0.1"));
        assert!(!browser.html().await.contains(&secret), "{b}: URL echoed");
        let (_, rules) = s.get("/api/v1/slack-rules", &t.admin_token).await;
        let rule = &rules["items"][0];
        assert_eq!(rule["name"], "Alerts", "{b}: {rules}");
        assert_eq!(rule["include_summary"], true);
        assert_eq!(rule["filters"]["event_types"], json!(["AUTOMATIC_RECORD"]));
        let rule_id = rule["id"].as_str().expect("id").to_string();

        // Changed with the URL left empty: the URL is kept.
        browser.clear("#rule-name").await;
        browser.type_into("#rule-name", "Sales alerts").await;
        browser.click("#save-rule").await;
        browser
            .wait_until(
                "return document.getElementById('saved') !== null",
                10,
                "saved",
            )
            .await;
        let (_, rule) = s
            .get(&format!("/api/v1/slack-rules/{rule_id}"), &t.admin_token)
            .await;
        assert_eq!(rule["name"], "Sales alerts");
        assert_eq!(rule["webhook_host"], "127.0.0.1");
        assert_eq!(rule["filters"]["event_types"], json!(["AUTOMATIC_RECORD"]));

        // E-mail: SMTP is not configured here, and the page says so; a bad address is
        // refused with the text kept.
        browser.goto(&s.url("/admin/email")).await;
        browser.find("#smtp-missing").await;
        browser
            .type_into("#recipients", "ops@acme.example\nnot an address")
            .await;
        browser.click("#save-recipients").await;
        assert!(!browser.text("#recipients-problem").await.is_empty());
        assert_eq!(
            browser.value("#recipients").await,
            json!("ops@acme.example\nnot an address")
        );
        browser.clear("#recipients").await;
        browser.type_into("#recipients", "ops@acme.example").await;
        browser.click("#save-recipients").await;
        browser.find("#saved").await;
        let (_, settings) = s.get("/api/v1/email-notifications", &t.admin_token).await;
        assert_eq!(settings["recipients"], json!(["ops@acme.example"]));
        assert_eq!(settings["smtp_configured"], false);

        // An analysed call: the Slack message goes out with the URL kept through the
        // change; the e-mail fails (no SMTP). The call's page lists both as the API does.
        let call = completed_call_with(&s, &t, "ui-notify", wav(2)).await;
        let items = settled(&s, &t, &call, 2).await;
        assert_eq!(
            expected(&items),
            vec![
                ("E-mail".to_string(), "failed".to_string()),
                ("Slack".to_string(), "delivered".to_string())
            ],
            "{b}: {items:?}"
        );
        assert_eq!(slack.posts(&format!("/ok?hook={secret}")).len(), 1);
        browser.goto(&s.url(&format!("/calls/{call}"))).await;
        assert_eq!(on_page(&browser).await, expected(&items));
        assert_eq!(
            browser
                .text("#notifications tr[data-outcome=delivered] .target a")
                .await,
            "Sales alerts"
        );
        assert_eq!(
            browser
                .text("#notifications tr[data-outcome=failed] .target")
                .await,
            "ops@acme.example"
        );
        browser
            .script(
                "document.querySelector('section.notifications').scrollIntoView(); return true",
                json!([]),
            )
            .await;
        browser.screenshot(&format!("call-notifications-{b}")).await;

        // The rule's attempt log, and a replay posts the message again.
        browser
            .goto(&s.url(&format!("/admin/slack-rules/{rule_id}")))
            .await;
        browser
            .reload_until(
                "return document.querySelectorAll('#deliveries tr.delivered').length === 1",
                15,
                "the Slack attempt logged",
            )
            .await;
        browser
            .script(
                "document.getElementById('rule-filters').scrollIntoView(); return true",
                json!([]),
            )
            .await;
        browser.screenshot(&format!("admin-slack-{b}")).await;
        browser.click("#deliveries button.replay").await;
        assert!(browser.text("#replaying").await.ends_with('1'));
        eventually("the replayed Slack message", || async {
            (slack.posts(&format!("/ok?hook={secret}")).len() == 2).then_some(())
        })
        .await;

        // The e-mails' log names the recipient; a replay sends to it again.
        browser.goto(&s.url("/admin/email")).await;
        assert_eq!(
            browser.text("#deliveries tr.failed .recipient").await,
            "ops@acme.example"
        );
        browser.click("#deliveries button.replay").await;
        assert!(browser.text("#replaying").await.ends_with('1'));

        // Deleted after confirming.
        browser
            .goto(&s.url(&format!("/admin/slack-rules/{rule_id}")))
            .await;
        browser.click("#delete-box summary").await;
        browser.click("#delete-rule").await;
        browser.find("#no-rules").await;
        let (_, rules) = s.get("/api/v1/slack-rules", &t.admin_token).await;
        assert_eq!(rules["items"], json!([]));

        // A user who is not an admin: their own e-mail choice, kept; no admin pages and
        // no notifications on a call's page.
        browser.goto(&s.url("/calls")).await;
        browser.click("#sign-out").await;
        sign_in(&browser, &s, "agent@acme.example", "agent password").await;
        let agent = s.login("agent@acme.example", "agent password").await;
        browser.click("#nav-mine").await;
        browser.find("#mine-form").await;
        assert_eq!(browser.text("#my-email").await, "agent@acme.example");
        for on in [true, false] {
            browser.click("#email-me").await;
            browser.click("#save-mine").await;
            browser.find("#saved").await;
            browser.goto(&s.url("/me/notifications")).await;
            let ticked = browser
                .script(
                    "return document.getElementById('email-me').checked",
                    json!([]),
                )
                .await;
            assert_eq!(ticked, json!(on), "{b}: the choice kept");
            let (_, mine) = s.get("/api/v1/me/notifications", &agent).await;
            assert_eq!(mine["email_on_completion"], on, "{b}");
        }
        for path in [
            "/admin/slack-rules".to_string(),
            format!("/admin/slack-rules/{rule_id}"),
            "/admin/crm-connections".to_string(),
            "/admin/crm-connections/new?kind=kintone".to_string(),
            "/admin/email".to_string(),
        ] {
            browser.goto(&s.url(&path)).await;
            let message = browser.text("#error-message").await;
            assert!(message.contains("not allowed"), "{b} {path}: {message}");
        }
        browser.goto(&s.url(&format!("/calls/{call}"))).await;
        browser.find("#phrases").await;
        let shown = browser
            .script(
                "return document.querySelector('section.notifications') !== null",
                json!([]),
            )
            .await;
        assert_eq!(shown, json!(false), "{b}: notifications are for admins");
        browser.click("#sign-out").await;
    }
    browser.close().await;
}

/// Deletes the connection whose page is open, after confirming.
async fn delete_connection(browser: &Browser) {
    browser.click("#delete-box summary").await;
    browser.click("#delete-connection").await;
    browser
        .wait_until(
            "return location.pathname === '/admin/crm-connections'",
            10,
            "the list",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_crm_connections_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    for s in servers().await {
        let b = s.backend;
        let kintone = Fake::start(Vendor::Kintone).await;
        let t = s.tenant("acme").await;
        let _runner = start_runner(&s, vec![Duration::ZERO; 2]);
        sign_in(&browser, &s, "admin@acme.example", "correct horse").await;
        browser.goto(&s.url("/admin/crm-connections")).await;
        browser.find("#no-connections").await;

        // kintone's form; without a field map it is refused, the token not kept.
        browser.click("#connect-kintone").await;
        browser.find("#map-body").await;
        browser.clear("#connection-name").await;
        browser.type_into("#connection-name", "Sales kintone").await;
        browser
            .type_into("#connection-base-url", &kintone.base)
            .await;
        browser.type_into("#setting-app", "12").await;
        browser.type_into("#setting-api_token", KINTONE_TOKEN).await;
        browser.click("#save-connection").await;
        let problem = browser.text("#connection-problem").await;
        assert!(problem.contains("field_map"), "{b}: {problem}");
        assert_eq!(
            browser.value("#connection-name").await,
            json!("Sales kintone")
        );
        assert_eq!(browser.value("#setting-app").await, json!("12"));
        assert_eq!(browser.value("#setting-api_token").await, json!(""));
        assert!(
            !browser.html().await.contains(KINTONE_TOKEN),
            "{b}: token echoed"
        );

        browser.type_into("#setting-api_token", KINTONE_TOKEN).await;
        browser.type_into("#map-body", "memo").await;
        browser.type_into("#map-score", "score").await;
        browser.click("#save-connection").await;
        wait_for_page(&browser, "crm-connections", ".secret-set").await;
        assert!(
            !browser.html().await.contains(KINTONE_TOKEN),
            "{b}: token echoed"
        );
        assert_eq!(browser.value("#map-body").await, json!("memo"));
        let (_, listed) = s.get("/api/v1/crm-connections", &t.admin_token).await;
        let c = &listed["items"][0];
        assert_eq!(c["kind"], "kintone", "{b}: {listed}");
        assert_eq!(c["app"], 12);
        assert_eq!(c["base_url"], json!(format!("{}/", kintone.base)));
        assert_eq!(c["field_map"], json!({"body": "memo", "score": "score"}));
        let id = c["id"].as_str().expect("id").to_string();

        // Changed with the token left empty: the token is kept.
        browser.clear("#connection-name").await;
        browser
            .type_into("#connection-name", "kintone (sales)")
            .await;
        browser
            .script(
                "document.getElementById('connection-content').value = 'summary'; return true",
                json!([]),
            )
            .await;
        browser.click("#save-connection").await;
        browser.find("#saved").await;
        let (_, c) = s
            .get(&format!("/api/v1/crm-connections/{id}"), &t.admin_token)
            .await;
        assert_eq!(
            (&c["name"], &c["content"]),
            (&json!("kintone (sales)"), &json!("summary"))
        );

        // An analysed call becomes a record (the fake checks the kept token); its page
        // shows the record id the API gives.
        let call = completed_call_with(&s, &t, "ui-crm", wav(2)).await;
        let items = settled(&s, &t, &call, 1).await;
        assert_eq!(items[0]["outcome"], "delivered", "{b}: {items:?}");
        let record = items[0]["crm_record_id"]
            .as_str()
            .expect("record id")
            .to_string();
        assert_eq!(kintone.records().len(), 1);
        browser.goto(&s.url(&format!("/calls/{call}"))).await;
        assert_eq!(on_page(&browser).await, expected(&items));
        assert_eq!(browser.text("#notifications .record").await, record);
        assert_eq!(
            browser.text("#notifications .target a").await,
            "kintone (sales)"
        );

        // The attempt log; a replay updates the same record.
        browser
            .goto(&s.url(&format!("/admin/crm-connections/{id}")))
            .await;
        browser
            .reload_until(
                "return document.querySelectorAll('#deliveries tr.delivered').length === 1",
                15,
                "the CRM attempt logged",
            )
            .await;
        browser.screenshot(&format!("admin-crm-{b}")).await;
        browser.click("#deliveries button.replay").await;
        assert!(browser.text("#replaying").await.ends_with('1'));
        eventually("the record updated", || async {
            (kintone.requests("PUT", "/k/v1/record.json", 200).len() == 1).then_some(())
        })
        .await;
        assert_eq!(kintone.records().len(), 1, "{b}: updated, not duplicated");

        // HubSpot's form: the vendor's address by default; then deleted.
        browser.goto(&s.url("/admin/crm-connections")).await;
        browser.click("#connect-hubspot").await;
        browser
            .type_into("#setting-access_token", HUBSPOT_TOKEN)
            .await;
        browser.click("#save-connection").await;
        wait_for_page(&browser, "crm-connections", ".secret-set").await;
        assert!(
            !browser.html().await.contains(HUBSPOT_TOKEN),
            "{b}: token echoed"
        );
        let (_, listed) = s.get("/api/v1/crm-connections", &t.admin_token).await;
        let hubspot = listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["kind"] == "hubspot")
            .cloned()
            .expect("the HubSpot connection");
        assert_eq!(hubspot["base_url"], "https://api.hubapi.com");
        delete_connection(&browser).await;
        browser.find("#connections").await;
        browser
            .goto(&s.url(&format!("/admin/crm-connections/{id}")))
            .await;
        delete_connection(&browser).await;
        browser.find("#no-connections").await;
        browser.click("#sign-out").await;
    }
    browser.close().await;
}

#[tokio::test]
async fn notification_forms_without_the_csrf_token_are_refused_and_pages_speak_japanese() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let (cookie, _) = cookie_session(&s, "admin@acme.example", "correct horse").await;
        let forms: [(&str, &[(&str, &str)]); 4] = [
            (
                "/admin/slack-rules",
                &[("name", "Forged"), ("webhook_url", "http://127.0.0.1:9/x")],
            ),
            (
                "/admin/crm-connections",
                &[
                    ("kind", "hubspot"),
                    ("name", "Forged"),
                    ("access_token", "t"),
                ],
            ),
            ("/admin/email", &[("recipients", "forged@acme.example")]),
            ("/me/notifications", &[("email_on_completion", "on")]),
        ];
        for (path, fields) in forms {
            let mut form = vec![("csrf", "0000")];
            form.extend_from_slice(fields);
            let r = s
                .http
                .post(s.url(path))
                .header(COOKIE, &cookie)
                .form(&form)
                .send()
                .await
                .expect("post");
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{} {path}", s.backend);
        }
        let (_, rules) = s.get("/api/v1/slack-rules", &t.admin_token).await;
        let (_, crms) = s.get("/api/v1/crm-connections", &t.admin_token).await;
        let (_, email) = s.get("/api/v1/email-notifications", &t.admin_token).await;
        let (_, mine) = s.get("/api/v1/me/notifications", &t.admin_token).await;
        assert_eq!(
            (&rules["items"], &crms["items"], &email["recipients"]),
            (&json!([]), &json!([]), &json!([]))
        );
        assert_eq!(mine["email_on_completion"], false);

        // The pages speak Japanese too.
        for (path, words) in [
            ("/admin/slack-rules", "Slack通知ルールはまだありません"),
            ("/admin/crm-connections", "CRM連携はまだありません"),
            ("/admin/email", "SMTPサーバーが設定されていません"),
            ("/me/notifications", "自分の通話の音声認識が完了したら"),
        ] {
            let page = s
                .http
                .get(s.url(path))
                .header(COOKIE, &cookie)
                .header("accept-language", "ja")
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("html");
            assert!(page.contains(words), "{} {path}", s.backend);
        }

        // A connection form of no kind, or of one Kiku does not know, is an error page
        // that says why (found by the isolation matrix: it was axum's plain-text 400).
        for query in ["", "?kind=zoho"] {
            let r = s
                .http
                .get(s.url(&format!("/admin/crm-connections/new{query}")))
                .header(COOKIE, &cookie)
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            let page = r.text().await.expect("html");
            assert!(
                page.contains("id=\"request-id\"") && page.contains("kind"),
                "{query}: {page}"
            );
        }
    }
}
