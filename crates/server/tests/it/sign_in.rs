//! Sign-in hardening through real HTTP on both backends: no account probing, throttling
//! with 429 and Retry-After, the session cookie, bearer scheme, per-company e-mails and the
//! last admin.

use kiku_storage::test_support::test_databases;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{
    run_kiku, send_for_retry, servers, servers_with_public_url, TestServer,
    SIGN_IN_ACCOUNT_FAILURES, SIGN_IN_ADDRESS_FAILURES, SIGN_IN_WINDOW,
};

/// Status, `Retry-After` and JSON body of a sign-in.
async fn sign_in(s: &TestServer, email: &str, password: &str) -> (StatusCode, Option<u64>, Value) {
    let body = json!({"email": email, "password": password});
    send_for_retry(s.http.post(s.url("/api/v1/auth/login")).json(&body)).await
}

#[tokio::test]
async fn unknown_e_mails_and_wrong_passwords_get_the_same_answer() {
    for s in servers().await {
        s.tenant("probe").await;
        let (unknown_status, _, unknown) = sign_in(&s, "nobody@probe.example", "whatever1").await;
        let (wrong_status, _, wrong) = sign_in(&s, "admin@probe.example", "whatever1").await;
        assert_eq!(unknown_status, StatusCode::UNAUTHORIZED, "{}", s.backend);
        assert_eq!((wrong_status, &wrong), (unknown_status, &unknown));
        // A user without a password cannot sign in, and looks like no user at all.
        let t = s.tenant("nopass").await;
        let req = s
            .http
            .post(s.url("/api/v1/users"))
            .bearer_auth(&t.admin_token)
            .json(&json!({"name": "P", "email": "pbx@nopass.example"}));
        assert_eq!(s.send(req).await.0, StatusCode::CREATED);
        assert_eq!(
            sign_in(&s, "pbx@nopass.example", "whatever1").await.2,
            unknown
        );
    }
}

#[tokio::test]
async fn an_account_is_throttled_after_repeated_failures_even_for_the_right_password() {
    for s in servers().await {
        s.tenant("lock").await;
        let account = "admin@lock.example";
        for _ in 0..SIGN_IN_ACCOUNT_FAILURES {
            assert_eq!(
                sign_in(&s, account, "wrong password").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        let (status, retry_after, body) = sign_in(&s, account, "correct horse").await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: {body}",
            s.backend
        );
        assert_eq!(retry_after, Some(SIGN_IN_WINDOW.as_secs()));
        assert_eq!(body["code"], "too_many_requests");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("900 seconds")),
            "{body}"
        );
        // Spelling the e-mail differently is the same account.
        assert_eq!(
            sign_in(&s, " ADMIN@Lock.example", "correct horse").await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        s.clock.advance(time::Duration::seconds(600));
        assert_eq!(sign_in(&s, account, "correct horse").await.1, Some(300));
        s.clock.advance(time::Duration::seconds(300));
        assert_eq!(
            sign_in(&s, account, "correct horse").await.0,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn unknown_accounts_are_throttled_like_known_ones() {
    for s in servers().await {
        for _ in 0..SIGN_IN_ACCOUNT_FAILURES {
            assert_eq!(
                sign_in(&s, "ghost@nowhere.example", "wrong password")
                    .await
                    .0,
                StatusCode::UNAUTHORIZED
            );
        }
        let (status, retry_after, _) = sign_in(&s, "ghost@nowhere.example", "wrong password").await;
        assert_eq!(
            (status, retry_after),
            (StatusCode::TOO_MANY_REQUESTS, Some(900))
        );
    }
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_account() {
    for s in servers().await {
        s.tenant("reset").await;
        // Twice one failure short of the limit, each time followed by a success: without
        // the reset the second round would reach the limit.
        for _ in 0..2 {
            for _ in 1..SIGN_IN_ACCOUNT_FAILURES {
                let (status, _, _) = sign_in(&s, "admin@reset.example", "wrong password").await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", s.backend);
            }
            let (status, _, body) = sign_in(&s, "admin@reset.example", "correct horse").await;
            assert_eq!(status, StatusCode::OK, "{}: {body}", s.backend);
        }
    }
}

#[tokio::test]
async fn an_address_is_throttled_across_accounts() {
    for s in servers().await {
        s.tenant("spray").await;
        for i in 0..SIGN_IN_ADDRESS_FAILURES {
            let email = format!("user{i}@spray.example");
            assert_eq!(
                sign_in(&s, &email, "wrong password").await.0,
                StatusCode::UNAUTHORIZED
            );
            s.clock.advance(time::Duration::seconds(10));
        }
        let (status, retry_after, body) = sign_in(&s, "admin@spray.example", "correct horse").await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: {body}",
            s.backend
        );
        let waited = 10 * u64::from(SIGN_IN_ADDRESS_FAILURES);
        assert_eq!(retry_after, Some(SIGN_IN_WINDOW.as_secs() - waited));
        s.clock
            .advance(time::Duration::seconds(retry_after.expect("retry") as i64));
        assert_eq!(
            sign_in(&s, "admin@spray.example", "correct horse").await.0,
            StatusCode::OK,
            "the oldest failure left the window"
        );
    }
}

/// Behind a trusted proxy (the test servers trust loopback, `trusted_proxies`), each client
/// the proxy names in `X-Forwarded-For` has its own address limit: one client's spraying
/// does not lock out the others who share the proxy.
#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_counted_alone() {
    for s in servers().await {
        s.tenant("proxied").await;
        let attempt = |forwarded: &'static str, email: String, password: &'static str| {
            s.http
                .post(s.url("/api/v1/auth/login"))
                .header("x-forwarded-for", forwarded)
                .json(&json!({"email": email, "password": password}))
                .send()
        };
        for i in 0..SIGN_IN_ADDRESS_FAILURES {
            let email = format!("user{i}@proxied.example");
            let got = attempt("198.51.100.1", email, "wrong password").await;
            assert_eq!(got.expect("login").status(), StatusCode::UNAUTHORIZED);
        }
        let sprayer = attempt(
            "198.51.100.1",
            "admin@proxied.example".into(),
            "correct horse",
        )
        .await;
        assert_eq!(
            sprayer.expect("login").status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        // A forged entry left of the proxy's own does not escape the limit either.
        let forged = attempt(
            "203.0.113.5, 198.51.100.1",
            "admin@proxied.example".into(),
            "correct horse",
        )
        .await;
        assert_eq!(
            forged.expect("login").status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        let neighbour = attempt(
            "198.51.100.2",
            "admin@proxied.example".into(),
            "correct horse",
        )
        .await;
        assert_eq!(
            neighbour.expect("login").status(),
            StatusCode::OK,
            "{}: another client behind the same proxy signs in",
            s.backend
        );
    }
}

#[tokio::test]
async fn parallel_guesses_cannot_pass_the_limit() {
    for s in servers().await {
        s.tenant("burst").await;
        let guesses = (0..12).map(|_| sign_in(&s, "admin@burst.example", "wrong password"));
        let answers = futures_util::future::join_all(guesses).await;
        let refused = answers
            .iter()
            .filter(|(status, _, _)| *status == StatusCode::UNAUTHORIZED)
            .count();
        assert_eq!(refused, SIGN_IN_ACCOUNT_FAILURES as usize, "{}", s.backend);
        assert!(answers.iter().all(|(status, _, _)| matches!(
            *status,
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
        )));
    }
}

fn set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("set-cookie")
        .to_string()
}

async fn cookies_of_login_and_logout(s: &TestServer, email: &str) -> (String, String) {
    let login = s
        .http
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": "correct horse"}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK);
    let set = set_cookie(&login);
    let token = login.json::<Value>().await.expect("body")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let logout = s
        .http
        .post(s.url("/api/v1/auth/logout"))
        .bearer_auth(token)
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    (set, set_cookie(&logout))
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_kiku_is_reached_over_https() {
    for s in servers().await {
        s.tenant("plain").await;
        let (login, logout) = cookies_of_login_and_logout(&s, "admin@plain.example").await;
        assert!(
            !login.contains("Secure") && !logout.contains("Secure"),
            "{login} / {logout}"
        );
    }
    for s in servers_with_public_url("https://kiku.example").await {
        s.tenant("tls").await;
        let (login, logout) = cookies_of_login_and_logout(&s, "admin@tls.example").await;
        for cookie in [&login, &logout] {
            assert!(
                cookie.contains("; Secure") && cookie.contains("HttpOnly"),
                "{cookie}"
            );
        }
        assert!(logout.starts_with("kiku_session=;") && logout.contains("Max-Age=0"));
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    for s in servers().await {
        let t = s.tenant("scheme").await;
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let req = s
                .http
                .get(s.url("/api/v1/me"))
                .header("authorization", format!("{scheme} {}", t.admin_token));
            assert_eq!(s.send(req).await.0, StatusCode::OK, "{scheme}");
        }
        let req = s
            .http
            .get(s.url("/api/v1/me"))
            .header("authorization", format!("Basic {}", t.admin_token));
        assert_eq!(s.send(req).await.0, StatusCode::UNAUTHORIZED);
    }
}

async fn create_user(
    s: &TestServer,
    token: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    let req = s
        .http
        .post(s.url("/api/v1/users"))
        .bearer_auth(token)
        .json(&json!({"name": "U", "email": email, "password": password}));
    s.send(req).await
}

#[tokio::test]
async fn an_admin_cannot_learn_that_an_e_mail_exists_in_another_company() {
    for s in servers().await {
        let a = s.tenant("ea").await;
        let b = s.tenant("eb").await;
        // B's admin e-mail is free in A: the answer is the same as for any new e-mail.
        let (status, in_a) =
            create_user(&s, &a.admin_token, "ADMIN@eb.example", "password in a").await;
        assert_eq!(status, StatusCode::CREATED, "{}: {in_a}", s.backend);
        let (status, _) =
            create_user(&s, &a.admin_token, "fresh@eb.example", "password in a").await;
        assert_eq!(status, StatusCode::CREATED);
        // Within one company an e-mail is still unique.
        let (status, body) =
            create_user(&s, &a.admin_token, "admin@eb.example", "another one").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("conflict"))
        );
        // Each password signs in to its own company's account.
        let (status, _, in_b) = sign_in(&s, "admin@eb.example", "correct horse").await;
        assert_eq!(
            (status, in_b["company_id"].as_str()),
            (StatusCode::OK, Some(b.company_id.as_str()))
        );
        let (status, _, mine) = sign_in(&s, "admin@eb.example", "password in a").await;
        assert_eq!(
            (status, mine["company_id"].as_str()),
            (StatusCode::OK, Some(a.company_id.as_str()))
        );
        assert_eq!(mine["user_id"], in_a["user_id"]);
        // Neither company's user list shows the other's account.
        let (_, listed) = s.get("/api/v1/users", &b.admin_token).await;
        assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    }
}

async fn set_admin(s: &TestServer, token: &str, user: &str, admin: bool) -> (StatusCode, Value) {
    let req = s
        .http
        .patch(s.url(&format!("/api/v1/users/{user}")))
        .bearer_auth(token)
        .json(&json!({ "admin": admin }));
    s.send(req).await
}

#[tokio::test]
async fn the_last_admin_keeps_the_admin_right() {
    for s in servers().await {
        let t = s.tenant("last").await;
        let (_, me) = s.get("/api/v1/me", &t.admin_token).await;
        let me = me["user_id"].as_str().expect("id").to_string();
        let (status, body) = set_admin(&s, &t.admin_token, &me, false).await;
        assert_eq!(status, StatusCode::CONFLICT, "{}: {body}", s.backend);
        assert_eq!(body["code"], "conflict");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("last admin")),
            "{body}"
        );
        // With a second admin, either may step down, but not both.
        let other = s.user(&t, "second@last.example", false).await;
        assert_eq!(
            set_admin(&s, &t.admin_token, &other, true).await.0,
            StatusCode::OK
        );
        let (status, body) = set_admin(&s, &t.admin_token, &me, false).await;
        assert_eq!(
            (status, body["admin"].clone()),
            (StatusCode::OK, json!(false))
        );
        let second = s.login("second@last.example", "agent password").await;
        assert_eq!(
            set_admin(&s, &second, &other, false).await.0,
            StatusCode::CONFLICT
        );
        let (_, users) = s.get("/api/v1/users", &second).await;
        let admins = users["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|u| u["admin"] == true)
            .count();
        assert_eq!(admins, 1);
    }
}

#[tokio::test]
async fn the_cli_refuses_to_demote_the_last_admin() {
    for db in test_databases().await {
        let dir = tempfile::tempdir().expect("dir");
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_DATABASE_URL", db.url.clone()),
        ];
        let (ok, company) = run_kiku(
            &[
                "company",
                "create",
                "--name",
                "Solo",
                "--admin-email",
                "solo@solo.example",
                "--admin-password",
                "long enough",
            ],
            &env,
        );
        assert!(ok, "{company}");
        let c = company["company_id"].as_str().expect("company").to_string();
        let u = company["admin_user_id"]
            .as_str()
            .expect("admin")
            .to_string();
        let (ok, out) = run_kiku(
            &[
                "user",
                "update",
                "--company",
                &c,
                "--user",
                &u,
                "--admin",
                "false",
            ],
            &env,
        );
        assert!(!ok, "{}: {out}", db.backend);
        assert_eq!(out["error"]["code"], "conflict", "{out}");
        assert!(out["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("last admin")));
    }
}
