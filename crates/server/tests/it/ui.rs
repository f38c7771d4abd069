//! The web UI in real headless Chromium against the real server on both backends: sign in,
//! the list following a call to *completed* without a reload, the detail's phrases in the
//! right colours and places, the player seeking where a phrase is clicked, the timeline's
//! bars, swap, the language switch; and over plain HTTP: CSRF refusals, another company's
//! call and recording, Range answers. Screenshots are kept as test artefacts.

use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, COOKIE, RANGE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::support::{servers, TestServer};
use crate::swap::completed_call_with;

/// `seconds` of a 440 Hz tone as 16-bit PCM mono WAV at 6 kHz (20 s fit the test upload limit).
pub(crate) fn wav(seconds: u32) -> Vec<u8> {
    let rate = 6_000u32;
    let samples = rate * seconds;
    let mut out = Vec::with_capacity(44 + 2 * samples as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + 2 * samples).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(2 * samples).to_le_bytes());
    for n in 0..samples {
        let v = (f64::from(n) * 440.0 * std::f64::consts::TAU / f64::from(rate)).sin();
        out.extend_from_slice(&((v * 8_000.0) as i16).to_le_bytes());
    }
    out
}

/// A session cookie and its CSRF token, as a browser that signed in has them.
pub(crate) async fn cookie_session(
    s: &TestServer,
    email: &str,
    password: &str,
) -> (String, String) {
    let token = s.login(email, password).await;
    let page = s
        .http
        .get(s.url("/calls"))
        .header(COOKIE, format!("kiku_session={token}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the page")
        .to_string();
    (format!("kiku_session={token}"), csrf)
}

#[tokio::test]
async fn the_call_pages_work_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    for s in servers().await {
        let t = s.tenant("acme").await;
        let call = completed_call_with(&s, &t, "ui-1", wav(20)).await;
        let (_, pending_upload) = s.one_call(&t, "ui-2").await;

        // Signing in leads back to the page asked for.
        browser.goto(&s.url("/calls")).await;
        assert!(browser.url().await.contains("/sign-in?next=/calls"));
        browser.type_into("#email", "admin@acme.example").await;
        browser.type_into("#password", "wrong password").await;
        browser.click("#sign-in").await;
        let problem = browser.text("#sign-in-problem").await;
        assert!(problem.contains("wrong"), "{problem}");
        assert_eq!(
            browser
                .script("return document.getElementById('email').value", json!([]))
                .await,
            json!("admin@acme.example"),
            "a failed form keeps what was typed"
        );
        browser.type_into("#password", "correct horse").await;
        browser.click("#sign-in").await;
        browser
            .wait_until("return location.pathname === '/calls'", 10, "the call list")
            .await;

        // The list, with the not-yet-uploaded call following its status without a reload.
        let rows = browser
            .script("return [...document.querySelectorAll('tr[data-call-id]')].map(r => r.dataset.status)", json!([]))
            .await;
        let mut statuses: Vec<String> = serde_json::from_value(rows).expect("statuses");
        statuses.sort();
        assert_eq!(statuses, vec!["awaiting_upload", "completed"]);
        browser.screenshot(&format!("calls-{}", s.backend)).await;
        let marker = browser
            .script("window.kikuMarker = 1; return true", json!([]))
            .await;
        assert_eq!(marker, json!(true));
        let second = completed_second_call(&s, &pending_upload).await;
        browser
            .wait_until(
                &format!("const r = document.querySelector('tr[data-call-id=\"{second}\"] td.status'); return !!r && r.textContent === 'Completed'"),
                15,
                "the second call to show Completed",
            )
            .await;
        assert_eq!(
            browser
                .script("return window.kikuMarker === 1", json!([]))
                .await,
            json!(true),
            "the page was not reloaded"
        );

        // The user filter offers the company's users.
        let users = browser
            .script("return [...document.querySelectorAll('#filter-user option')].map(o => o.textContent)", json!([]))
            .await;
        assert_eq!(users, json!(["Any", "Admin"]));

        // Searching what was said (the search API's filters).
        browser.type_into("#filter-q", "zebra").await;
        browser.click("#filter-apply").await;
        browser.find("#no-calls").await;
        browser.clear("#filter-q").await;
        browser.type_into("#filter-q", "Northwind").await;
        browser.click("#filter-apply").await;
        browser
            .wait_until(
                "return document.querySelectorAll('tr[data-call-id]').length === 2",
                10,
                "both calls found",
            )
            .await;
        assert_eq!(browser.text("#total").await, "Calls: 2");

        // The detail: phrases in the user's and the customer's colours, named; the
        // language model's minutes line by line; no call notes (the user asks).
        crate::minutes::minutes_written(&s, &t.company_id, &call, "Topic:\nA question.").await;
        browser.goto(&s.url(&format!("/calls/{call}"))).await;
        assert_eq!(
            browser
                .script("return document.getElementById('notes')", json!([]))
                .await,
            json!(null)
        );
        let minutes = browser
            .script(
                "return document.getElementById('minutes').innerText",
                json!([]),
            )
            .await;
        assert_eq!(minutes.as_str().map(str::trim), Some("Topic:\nA question."));
        let user_phrases = browser
            .script("return [...document.querySelectorAll('.phrase.user .text')].map(e => e.textContent)", json!([]))
            .await;
        assert_eq!(
            user_phrases,
            json!(["Hi, could you send the invoice today?", "Thanks."]),
            "speaker 1 was taken for the user"
        );
        let colour = browser
            .script(
                "return getComputedStyle(document.querySelector('.phrase.user .who')).color",
                json!([]),
            )
            .await;
        assert_eq!(colour, json!("rgb(29, 95, 191)"), "user phrases are blue");
        let colour = browser
            .script(
                "return getComputedStyle(document.querySelector('.phrase.customer .who')).color",
                json!([]),
            )
            .await;
        assert_eq!(
            colour,
            json!("rgb(192, 57, 43)"),
            "customer phrases are red"
        );
        assert!(browser.text("#flags").await.contains("Roles need review"));

        // The timeline: bars where the report puts them.
        let (_, api) = s
            .get(&format!("/api/v1/calls/{call}"), &t.admin_token)
            .await;
        let silences = api["analysis"]["analysis"]["silence_positions"]
            .as_array()
            .map_or(0, Vec::len);
        let bars = browser
            .script(
                "return document.querySelectorAll('#track-marks .bar.silence').length",
                json!([]),
            )
            .await;
        assert_eq!(bars, json!(silences));
        let user_bars = browser
            .script("return [...document.querySelectorAll('#track-user .bar')].map(b => [Number(b.dataset.start), b.style.left])", json!([]))
            .await;
        assert_eq!(
            user_bars,
            json!([[8.5, "42.5%"], [16.5, "82.5%"]]),
            "spans of speaker 1 over 20 s"
        );

        // The player seeks to a clicked phrase.
        browser
            .wait_until(
                "return document.getElementById('audio').readyState >= 1",
                15,
                "the recording's metadata",
            )
            .await;
        browser.click("#phrases li:nth-child(3)").await;
        browser
            .wait_until(
                "const t = document.getElementById('audio').currentTime; return t >= 12 && t < 14",
                10,
                "the player at 0:12",
            )
            .await;
        browser.click("#back5").await;
        browser
            .wait_until(
                "const t = document.getElementById('audio').currentTime; return t >= 7 && t < 9.5",
                10,
                "the player 5 s back",
            )
            .await;
        // A click on a word plays from it; the word being played is highlighted
        // ("Sure, go ahead." is said from 12 s to 16 s, a word each 1⅓ s).
        browser
            .click("#phrases li:nth-child(3) .text .w:last-child")
            .await;
        browser
            .wait_until(
                "const t = document.getElementById('audio').currentTime; return t >= 14.6 && t < 16.5",
                10,
                "the player at the word \"ahead.\"",
            )
            .await;
        let spoken = |at: f64| {
            format!("const a = document.getElementById('audio'); a.pause(); if (Math.abs(a.currentTime - {at}) > 0.01) a.currentTime = {at}; return document.querySelector('#phrases .w.spoken')?.textContent ?? null")
        };
        browser
            .wait_until(
                &format!("return ((() => {{ {} }})()) === 'go'", spoken(13.6)),
                10,
                "\"go\" highlighted at 13.6 s",
            )
            .await;
        browser
            .wait_until(
                &format!("return ((() => {{ {} }})()) === null", spoken(16.4)),
                10,
                "no word highlighted in the pause after the phrase",
            )
            .await;
        browser.screenshot(&format!("call-{}", s.backend)).await;

        // Swap (behind the Operation menu's confirmation): the roles flip, a new version.
        browser.click("#operation summary").await;
        browser.click("#swap").await;
        browser
            .wait_until("return document.querySelector('#versions li:last-child strong') !== null && document.querySelectorAll('#versions li').length === 2", 10, "version 2")
            .await;
        let user_phrases = browser
            .script("return [...document.querySelectorAll('.phrase.user .text')].map(e => e.textContent)", json!([]))
            .await;
        assert_eq!(
            user_phrases,
            json!(["Hello, this is Emma from Northwind.", "Sure, go ahead."])
        );
        // The customer's request is now a call note (a question the agent answered);
        // the agent's question was none before the swap.
        let notes = browser
            .script("return [...document.querySelectorAll('#notes .note')].map(n => [n.querySelector('.kind').textContent, n.querySelector('.who').textContent, n.querySelector('.text').textContent, n.querySelector('.details')?.textContent ?? ''])", json!([]))
            .await;
        assert_eq!(
            notes,
            json!([
                [
                    "Request",
                    "Customer",
                    "Hi, could you send the invoice today?",
                    "(today)"
                ],
                [
                    "Question",
                    "Customer",
                    "Hi, could you send the invoice today?",
                    "(today, answered)"
                ]
            ])
        );

        // The Japanese UI.
        browser.click("#lang-switch").await;
        browser
            .wait_until(
                "return document.documentElement.lang === 'ja'",
                10,
                "the Japanese page",
            )
            .await;
        assert!(browser.text("h2").await.contains("録音"), "Japanese labels");
        browser.click("#lang-switch").await;
        browser
            .wait_until(
                "return document.documentElement.lang === 'en'",
                10,
                "the English page",
            )
            .await;

        // Signing out ends the session.
        browser.click("#sign-out").await;
        browser
            .wait_until(
                "return location.pathname === '/sign-in'",
                10,
                "the sign-in page",
            )
            .await;
        browser.goto(&s.url(&format!("/calls/{call}"))).await;
        assert!(browser.url().await.contains("/sign-in?next="));
    }
    browser.close().await;
}

/// Uploads and completes the call waiting at `upload`; its id.
async fn completed_second_call(s: &TestServer, upload: &str) -> String {
    let call = upload
        .split("/uploads/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .expect("call id in the upload URL")
        .to_string();
    crate::swap::finish_uploaded(s, upload, wav(5)).await;
    call
}

#[tokio::test]
async fn pages_refuse_forged_forms_and_other_companies() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let other = s.tenant("other").await;
        let call = completed_call_with(&s, &t, "ui-1", wav(4)).await;
        let (cookie, csrf) = cookie_session(&s, "admin@acme.example", "correct horse").await;

        // A form or a cookie-signed API call without the session's CSRF token is refused.
        let forged = s
            .http
            .post(s.url(&format!("/calls/{call}/swap")))
            .header(COOKIE, &cookie)
            .form(&[("csrf", "0000")])
            .send()
            .await
            .expect("post");
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let page = forged.text().await.expect("html");
        assert!(
            page.contains("request-id"),
            "an error page with the request id"
        );
        let api = s
            .http
            .post(s.url(&format!("/api/v1/calls/{call}/swap")))
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("post");
        assert_eq!(api.status(), StatusCode::FORBIDDEN);
        let api = s
            .http
            .post(s.url(&format!("/api/v1/calls/{call}/swap")))
            .header(COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .expect("post");
        assert_eq!(api.status(), StatusCode::OK, "with the token it works");
        let (status, _) = s
            .send(
                s.http
                    .post(s.url(&format!("/api/v1/calls/{call}/swap")))
                    .bearer_auth(&t.admin_token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "bearer tokens need no CSRF token");

        // Another company's person gets 404 for the page and the recording.
        let (other_cookie, _) = cookie_session(&s, "admin@other.example", "correct horse").await;
        for path in [
            format!("/calls/{call}"),
            format!("/api/v1/calls/{call}/recording"),
            "/calls/not-a-call".to_string(),
        ] {
            let r = s
                .http
                .get(s.url(&path))
                .header(COOKIE, &other_cookie)
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let r = s
            .http
            .get(s.url(&format!("/api/v1/calls/{call}/recording")))
            .bearer_auth(&other.admin_token)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // Pages carry a CSP without inline scripts.
        let r = s.http.get(s.url("/sign-in")).send().await.expect("get");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
    }
}

#[tokio::test]
async fn recordings_answer_range_requests() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        let audio = wav(2);
        let call = completed_call_with(&s, &t, "ui-1", audio.clone()).await;
        let url = s.url(&format!("/api/v1/calls/{call}/recording"));
        let whole = s
            .http
            .get(&url)
            .bearer_auth(&t.admin_token)
            .send()
            .await
            .expect("get");
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()[CONTENT_TYPE], "audio/wav");
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        assert_eq!(
            whole.bytes().await.expect("body").as_ref(),
            audio.as_slice()
        );
        let part = s
            .http
            .get(&url)
            .bearer_auth(&t.admin_token)
            .header(RANGE, "bytes=10-19")
            .send()
            .await
            .expect("get");
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            part.headers()[CONTENT_RANGE].to_str().expect("range"),
            format!("bytes 10-19/{}", audio.len())
        );
        assert_eq!(part.bytes().await.expect("body").as_ref(), &audio[10..20]);
        let past = s
            .http
            .get(&url)
            .bearer_auth(&t.admin_token)
            .header(RANGE, format!("bytes={}-", audio.len()))
            .send()
            .await
            .expect("get");
        assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);

        // A μ-law WAV (browsers cannot play it) is served as 16-bit PCM: the same samples
        // as the speech engine's decoder (symphonia) reads from the stored file.
        let mu: Vec<u8> = (0..4000u32).map(|n| (n * 37 % 256) as u8).collect();
        let stored = mulaw_wav(&mu);
        let call = completed_call_with(&s, &t, "ui-mulaw", stored.clone()).await;
        let url = s.url(&format!("/api/v1/calls/{call}/recording"));
        let served = s
            .http
            .get(&url)
            .bearer_auth(&t.admin_token)
            .send()
            .await
            .expect("get");
        assert_eq!(served.status(), StatusCode::OK);
        let pcm = served.bytes().await.expect("body").to_vec();
        assert_eq!(pcm.len(), 44 + 2 * mu.len());
        assert_eq!(
            (&pcm[..4], &pcm[20..22], &pcm[34..36]),
            (&b"RIFF"[..], &[1u8, 0][..], &[16u8, 0][..])
        );
        let decoded = kiku_analysis::decode::decode(
            stored,
            kiku_domain::AudioFileType::Wav,
            kiku_analysis::decode::Limits::default(),
        )
        .expect("symphonia reads the μ-law file");
        assert_eq!(decoded.channels[0].len(), mu.len());
        for (i, expected) in decoded.channels[0].iter().enumerate() {
            let got = i16::from_le_bytes([pcm[44 + 2 * i], pcm[45 + 2 * i]]);
            assert!(
                (f32::from(got) / 32768.0 - expected).abs() < 1e-3,
                "sample {i}"
            );
        }
        let part = s
            .http
            .get(&url)
            .bearer_auth(&t.admin_token)
            .header(RANGE, "bytes=45-100")
            .send()
            .await
            .expect("get");
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.bytes().await.expect("body").as_ref(), &pcm[45..101]);

        let (status, body): (StatusCode, Value) = s
            .get(
                &format!("/api/v1/calls/{}/recording", uuid_like()),
                &t.admin_token,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
}

/// A mono 8 kHz μ-law WAV of `samples`.
fn mulaw_wav(samples: &[u8]) -> Vec<u8> {
    let mut f = b"RIFF".to_vec();
    f.extend_from_slice(&(38 + samples.len() as u32).to_le_bytes());
    f.extend_from_slice(b"WAVEfmt ");
    f.extend_from_slice(&18u32.to_le_bytes());
    for v in [7u16, 1] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&8000u32.to_le_bytes());
    f.extend_from_slice(&8000u32.to_le_bytes());
    for v in [1u16, 8, 0] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(b"data");
    f.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    f.extend_from_slice(samples);
    f
}

fn uuid_like() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}

#[tokio::test]
async fn admins_manage_users_and_the_webhook_url_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    for s in servers().await {
        let t = s.tenant("acme").await;
        s.user(&t, "agent@acme.example", false).await;
        let call = completed_call_with(&s, &t, "ui-settings", wav(2)).await;
        let (status, _) = s
            .send(
                s.http
                    .delete(s.url("/api/v1/incoming-webhook"))
                    .bearer_auth(&t.admin_token),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        sign_in(&browser, &s, "admin@acme.example", "correct horse").await;

        // Add a user; a refused form keeps what was typed and says why.
        browser.goto(&s.url("/admin/users")).await;
        browser.type_into("#new-name", "Tanaka").await;
        browser.type_into("#new-email", "agent@acme.example").await;
        browser.click("#create-user").await;
        let problem = browser.text("#user-problem").await;
        assert!(
            problem.contains("e-mail") || problem.contains("email"),
            "{problem}"
        );
        assert_eq!(
            browser
                .script(
                    "return document.getElementById('new-name').value",
                    json!([])
                )
                .await,
            json!("Tanaka")
        );
        browser.clear("#new-email").await;
        browser.type_into("#new-email", "tanaka@acme.example").await;
        browser.click("#new-webhook").await;
        browser.click("#create-user").await;
        browser
            .wait_until("return [...document.querySelectorAll('#users td')].some(td => td.textContent === 'tanaka@acme.example')", 10, "the new user")
            .await;
        let (_, listed) = s.get("/api/v1/users", &t.admin_token).await;
        let tanaka = listed["items"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["email"] == "tanaka@acme.example")
            .expect("created")
            .clone();
        assert_eq!(tanaka["use_incoming_webhook"], true);
        let id = tanaka["user_id"].as_str().expect("id").to_string();
        // Copy ID puts the user's ID on the clipboard (the PBX needs it).
        for permission in ["clipboard-read", "clipboard-write"] {
            browser.grant(permission).await;
        }
        browser
            .click(&format!("tr[data-user-id=\"{id}\"] button.copy"))
            .await;
        assert_eq!(read_clipboard(&browser).await, json!(id));
        browser
            .screenshot(&format!("admin-users-{}", s.backend))
            .await;

        // The Incoming Webhook URL: create, shown once and copied, then masked; delete
        // after confirming.
        browser.goto(&s.url("/admin/webhook")).await;
        browser.find("#no-webhook").await;
        browser.click("#create-url").await;
        browser.find("#shown-once").await;
        let url = browser.text("#webhook-url").await;
        let (_, shown) = s.get("/api/v1/incoming-webhook", &t.admin_token).await;
        let masked = shown["masked_url"].as_str().expect("masked");
        assert_eq!(
            url.rsplit_once('/').map(|(head, _)| head),
            masked.rsplit_once('/').map(|(head, _)| head)
        );
        browser.click("#copy-url").await;
        assert_eq!(read_clipboard(&browser).await, json!(url));
        browser
            .screenshot(&format!("admin-webhook-{}", s.backend))
            .await;
        browser.goto(&s.url("/admin/webhook")).await;
        assert_eq!(browser.text("#webhook-masked-url").await, masked);
        let secret = url.rsplit('/').next().expect("secret");
        assert!(!browser.text("main").await.contains(secret));
        browser.click("#delete-box summary").await;
        browser.click("#delete-url").await;
        browser.find("#no-webhook").await;
        let (status, _) = s.get("/api/v1/incoming-webhook", &t.admin_token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Analysis settings: the simulation shows what a new score rule gives on recent
        // calls before saving; saving queues their re-scoring.
        browser.goto(&s.url("/admin/settings")).await;
        browser
            .script(
                "const rule = JSON.parse(document.getElementById('score-rule').value); \
                 rule.base += 30; document.getElementById('score-rule').value = JSON.stringify(rule); return true",
                json!([]),
            )
            .await;
        browser.click("#simulate").await;
        let row = format!("#simulation tr[data-call-id=\"{call}\"]");
        let now: f64 = browser
            .text(&format!("{row} .now"))
            .await
            .parse()
            .expect("now");
        let then: f64 = browser
            .text(&format!("{row} .then"))
            .await
            .parse()
            .expect("then");
        let (_, api) = s
            .get(&format!("/api/v1/calls/{call}"), &t.admin_token)
            .await;
        let stored = api["analysis"]["analysis"]["score"]
            .as_f64()
            .expect("score");
        assert!((now - stored).abs() < 0.06, "{now} vs {stored}");
        assert!(then > now, "a higher base scores higher: {now} → {then}");
        let (_, unchanged) = s.get("/api/v1/settings/analysis", &t.admin_token).await;
        assert_eq!(
            unchanged["score_rule"]["base"],
            json!(50.0),
            "a simulation saves nothing"
        );
        browser
            .screenshot(&format!("admin-settings-{}", s.backend))
            .await;
        browser
            .script(
                "document.getElementById('score-rule').value = '{'; return true",
                json!([]),
            )
            .await;
        browser.click("#save").await;
        assert!(browser
            .text("#settings-problem")
            .await
            .contains("score rule"));
        browser.goto(&s.url("/admin/settings")).await;
        browser
            .script("const rule = JSON.parse(document.getElementById('score-rule').value); rule.base = 80; document.getElementById('score-rule').value = JSON.stringify(rule); \
                     document.getElementById('vocabulary').value = 'Zentrix\\n  Quillbox \\n\\n'; return true", json!([]))
            .await;
        browser.click("#save").await;
        assert!(
            browser.text("#saved").await.ends_with('1'),
            "one call to re-score"
        );
        let (_, saved) = s.get("/api/v1/settings/analysis", &t.admin_token).await;
        assert_eq!(saved["score_rule"]["base"], json!(80.0));
        // The recogniser's vocabulary, one word per line, blank lines dropped.
        assert_eq!(saved["vocabulary"], json!(["Zentrix", "Quillbox"]));
        browser.goto(&s.url("/admin/settings")).await;
        assert_eq!(
            browser
                .script(
                    "return document.getElementById('vocabulary').value",
                    json!([])
                )
                .await,
            json!("Zentrix\nQuillbox")
        );

        // A user who is not an admin is refused the admin pages, with a page saying so.
        browser.click("#sign-out").await;
        sign_in(&browser, &s, "agent@acme.example", "agent password").await;
        assert_eq!(
            browser
                .script(
                    "return document.getElementById('nav-admin') === null",
                    json!([])
                )
                .await,
            json!(true)
        );
        browser.goto(&s.url("/admin/users")).await;
        let message = browser.text("#error-message").await;
        assert!(message.contains("not allowed"), "{message}");
        browser.goto(&s.url("/calls")).await;
        browser.click("#sign-out").await;
        browser
            .wait_until("return location.pathname === '/sign-in'", 10, "signed out")
            .await;
    }
    browser.close().await;
}

pub(crate) async fn sign_in(browser: &Browser, s: &TestServer, email: &str, password: &str) {
    browser.goto(&s.url("/sign-in")).await;
    browser.type_into("#email", email).await;
    browser.type_into("#password", password).await;
    browser.click("#sign-in").await;
    browser
        .wait_until("return location.pathname === '/calls'", 10, "signed in")
        .await;
}

/// What the page's clipboard holds, read a moment after a click wrote it.
async fn read_clipboard(browser: &Browser) -> Value {
    browser
        .script_async(
            "const done = arguments[arguments.length - 1]; \
             setTimeout(() => navigator.clipboard.readText().then(done, e => done(String(e))), 300)",
        )
        .await
}

#[tokio::test]
async fn admins_manage_outgoing_webhooks_and_replay_deliveries_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    for s in servers().await {
        let r = crate::receiver::start().await;
        let t = s.tenant("acme").await;
        let _runner = crate::deliveries::start_runner(&s);
        sign_in(&browser, &s, "admin@acme.example", "correct horse").await;
        browser.goto(&s.url("/admin/outgoing-webhooks")).await;
        browser.find("#no-endpoints").await;

        // A refused address keeps the form and says why; a receiver that answers the
        // challenge is saved, and its secret is shown once.
        browser.type_into("#endpoint-name", "CRM").await;
        browser
            .type_into("#endpoint-url", "http://10.1.2.3/hook")
            .await;
        browser.click("#add-endpoint").await;
        let problem = browser.text("#endpoint-problem").await;
        assert!(!problem.is_empty());
        assert_eq!(
            browser
                .script(
                    "return document.getElementById('endpoint-name').value",
                    json!([])
                )
                .await,
            json!("CRM")
        );
        browser.clear("#endpoint-url").await;
        browser.type_into("#endpoint-url", &r.url("/d/ok")).await;
        browser.click("#add-endpoint").await;
        assert!(browser.text("#new-secret").await.contains("whsec_"));

        // A completed call is delivered; the log shows it, and a replay sends it again.
        completed_call_with(&s, &t, "ui-hook", wav(2)).await;
        browser.click("#endpoints a").await;
        browser
            .reload_until(
                "return document.querySelectorAll('#deliveries tr.delivered').length === 1",
                15,
                "the delivery logged",
            )
            .await;
        assert_eq!(browser.text("#deliveries .answer").await, "204");
        browser
            .screenshot(&format!("admin-outgoing-{}", s.backend))
            .await;
        browser.click("#deliveries button.replay").await;
        assert!(browser.text("#replaying").await.ends_with('1'));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while r
            .received()
            .iter()
            .filter(|d| d.path == "/d/ok" && d.headers.contains_key("webhook-id"))
            .count()
            < 2
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the replay did not arrive"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }

        // Disable, then delete after confirming.
        browser.click("#toggle-enabled").await;
        browser
            .wait_until(
                "const e = document.getElementById('endpoint-enabled'); \
                 return e !== null && e.textContent.trim().startsWith('No')",
                10,
                "the endpoint disabled",
            )
            .await;
        browser.click("#delete-box summary").await;
        browser.click("#delete-endpoint").await;
        browser.find("#no-endpoints").await;
        browser.goto(&s.url("/calls")).await;
        browser.click("#sign-out").await;
    }
    browser.close().await;
}

#[tokio::test]
async fn admins_manage_auto_tag_rules_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    for s in servers().await {
        let t = s.tenant("acme").await;
        let _runner = crate::deliveries::start_runner(&s);
        let churn: &[(usize, &str)] = &[(0, "ご用件をどうぞ"), (1, "解約したいです")];
        let base =
            |id: &str| crate::search::call_with(id, "AUTOMATIC_TRANSFER", true, None, json!({}));
        let past = crate::search::stored_call(&s, &t, base("ui-past"), Some(churn)).await;
        sign_in(&browser, &s, "admin@acme.example", "correct horse").await;
        browser.goto(&s.url("/admin/tag-rules")).await;
        browser.find("#no-rules").await;

        // Keywords of only spaces are refused, the form kept, the reason shown.
        browser.type_into("#rule-name", "Churn").await;
        browser.type_into("#rule-keywords", "   ").await;
        browser.type_into("#rule-tag", "churn risk").await;
        browser.click("#add-rule").await;
        assert!(browser.text("#rule-problem").await.contains("keywords"));
        let kept = browser
            .script(
                "return document.getElementById('rule-tag').value",
                json!([]),
            )
            .await;
        assert_eq!(kept, json!("churn risk"));
        browser.clear("#rule-keywords").await;
        browser.type_into("#rule-keywords", "解約").await;
        browser
            .script(
                "document.getElementById('rule-speaker').value = 'customer'; return true",
                json!([]),
            )
            .await;
        browser.click("#add-rule").await;
        browser.find("#rules tr[data-rule-id]").await;
        assert!(browser.text("#rules tbody").await.contains("churn risk"));

        // A call analysed now carries the tag on its page; past calls once applied.
        let new = crate::search::stored_call(&s, &t, base("ui-new"), Some(churn)).await;
        browser.goto(&s.url(&format!("/calls/{new}"))).await;
        assert_eq!(browser.text("#auto-tags").await, "churn risk");
        browser.goto(&s.url("/admin/tag-rules")).await;
        browser.click("#rules button.apply-rule").await;
        assert!(browser.text("#applying").await.ends_with('2'));
        browser
            .screenshot(&format!("admin-tag-rules-{}", s.backend))
            .await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            browser.goto(&s.url(&format!("/calls/{past}"))).await;
            let tagged = browser
                .script(
                    "const e = document.getElementById('auto-tags'); return e ? e.textContent : ''",
                    json!([]),
                )
                .await;
            if tagged == json!("churn risk") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the past call was not tagged"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }

        // Disable, then delete after confirming: the tags go with the rule.
        browser.goto(&s.url("/admin/tag-rules")).await;
        browser.click("#rules button.toggle-rule").await;
        browser
            .wait_until(
                "const b = document.querySelector('#rules button.toggle-rule'); \
                 return b !== null && b.textContent === 'Enable'",
                10,
                "the rule disabled",
            )
            .await;
        browser.click("#rules details summary").await;
        browser.click("#rules button.delete-rule").await;
        browser.find("#no-rules").await;
        browser.goto(&s.url(&format!("/calls/{past}"))).await;
        let gone = browser
            .script(
                "return document.getElementById('auto-tags') === null",
                json!([]),
            )
            .await;
        assert_eq!(gone, json!(true));
        browser.click("#sign-out").await;
    }
    browser.close().await;
}
