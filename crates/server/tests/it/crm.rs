//! CRM activity sync over real sockets on both backends, against local fakes of
//! Salesforce, HubSpot and kintone (`crm_fakes.rs`): an analysed call becomes one record
//! per CRM, a swap updates the same records, HubSpot's 429 is waited out, an expired
//! Salesforce session is refreshed once, a kintone that is down is retried and then
//! replayed by an admin, and kintone's error JSON reaches the attempt log. Two events of a
//! call delivered at once on two workers make one record per CRM; a re-score updates it;
//! an older event delivered after a newer one leaves it alone.

use std::time::Duration;

use kiku::clock::Clock;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::crm_fakes::*;
use crate::notifications::eventually;
use crate::support::{call, servers, Tenant, TestServer};
use crate::swap::finish_uploaded;

/// Creates a connection through the API; its id.
pub(crate) async fn connect(s: &TestServer, t: &Tenant, body: Value) -> String {
    let req = s
        .http
        .post(s.url("/api/v1/crm-connections"))
        .bearer_auth(&t.admin_token)
        .json(&body);
    let (status, created) = s.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {created}", s.backend);
    for secret in [SF_CLIENT_SECRET, SF_CLIENT_ID, HUBSPOT_TOKEN, KINTONE_TOKEN] {
        assert!(
            !created.to_string().contains(secret),
            "write-only: {created}"
        );
    }
    created["id"].as_str().expect("id").into()
}

fn kintone_body(fake: &Fake, name: &str, field_map: Value) -> Value {
    json!({"kind": "kintone", "name": name, "base_url": fake.base, "app": KINTONE_APP,
           "api_token": KINTONE_TOKEN, "field_map": field_map})
}

/// A call posted, uploaded and analysed (FROM the user "Agent", 0311112222; TO the
/// customer +81322223333); its id.
async fn analysed_call(s: &TestServer, t: &Tenant) -> String {
    let agent = s.user(t, "pbx-agent@acme.example", true).await;
    let body = json!({"call_data": [call("crm1", "OUTGOING_CALL", true, Some(&agent), None)]});
    let (status, out) = s.post_calls(&t.webhook, &body).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let entry = &out["audio_upload_urls"][0]["crm1"];
    finish_uploaded(s, entry["url"].as_str().expect("url"), vec![1u8; 64]).await;
    entry["call_id"].as_str().expect("id").into()
}

fn start_runner(s: &TestServer, schedule: Vec<Duration>) -> tokio::sync::watch::Sender<bool> {
    start_runner_with(s, schedule, 2)
}

fn start_runner_with(
    s: &TestServer,
    schedule: Vec<Duration>,
    notifications: usize,
) -> tokio::sync::watch::Sender<bool> {
    let counts = kiku::jobs::WorkerCounts {
        analysis: 0,
        jobs: 1,
        deliveries: 1,
        notifications,
    };
    crate::deliveries::start_workers(s, schedule, counts)
}

/// The call's CRM notifications now.
async fn crm_items(s: &TestServer, t: &Tenant, call: &str) -> Vec<Value> {
    let path = format!("/api/v1/calls/{call}/notifications");
    let (_, body) = s.get(&path, &t.admin_token).await;
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["channel"] == "crm")
        .cloned()
        .collect()
}

/// The call's CRM notifications once all `n` have settled.
async fn settled_crm_items(s: &TestServer, t: &Tenant, call: &str, n: usize) -> Vec<Value> {
    eventually("the call's CRM notifications", || async {
        let items = crm_items(s, t, call).await;
        let settled = items
            .iter()
            .all(|i| i["outcome"] != "pending" && i["outcome"] != "retrying");
        (items.len() == n && settled).then_some(items)
    })
    .await
}

async fn log(s: &TestServer, t: &Tenant, connection: &str) -> Vec<Value> {
    let path = format!("/api/v1/crm-connections/{connection}/deliveries");
    let (status, page) = s.get(&path, &t.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analysed_call_becomes_one_record_per_crm_and_a_swap_updates_them() {
    for s in servers().await {
        let b = s.backend;
        let (sf, hs, kt) = (
            Fake::start(Vendor::Salesforce).await,
            Fake::start(Vendor::Hubspot).await,
            Fake::start(Vendor::Kintone).await,
        );
        let t = s.tenant("acme").await;
        let sf_id = connect(
            &s,
            &t,
            json!({"kind": "salesforce", "name": "Salesforce", "base_url": sf.base,
            "client_id": SF_CLIENT_ID, "client_secret": SF_CLIENT_SECRET}),
        )
        .await;
        let hs_id = connect(
            &s,
            &t,
            json!({"kind": "hubspot", "name": "HubSpot", "base_url": hs.base,
            "access_token": HUBSPOT_TOKEN, "content": "summary"}),
        )
        .await;
        let kt_id = connect(
            &s,
            &t,
            kintone_body(
                &kt,
                "kintone",
                json!({
            "started_at": "call_time", "direction": "direction", "duration_seconds": "seconds",
            "customer_number": "phone", "score": "score", "link": "kiku_url", "body": "memo",
            "caller": "caller", "callee": "callee"}),
            ),
        )
        .await;
        let (_, listed) = s.get("/api/v1/crm-connections", &t.admin_token).await;
        assert_eq!(
            listed["items"].as_array().map(Vec::len),
            Some(3),
            "{b}: {listed}"
        );
        let of_kind = |kind: &str| {
            listed["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["kind"] == kind)
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(of_kind("hubspot")["base_url"], format!("{}/", hs.base));
        assert_eq!(of_kind("hubspot")["content"], "summary");
        assert_eq!(of_kind("salesforce")["api_version"], "v62.0");
        assert_eq!(of_kind("kintone")["field_map"]["body"], "memo");
        assert_eq!(of_kind("kintone")["app"], KINTONE_APP);
        for secret in [SF_CLIENT_SECRET, HUBSPOT_TOKEN, KINTONE_TOKEN] {
            assert!(!listed.to_string().contains(secret), "write-only: {listed}");
        }

        // HubSpot's first create meets its ten-second limit.
        hs.limit_next_create();
        let _runner = start_runner(&s, vec![Duration::ZERO; 3]);
        let call_id = analysed_call(&s, &t).await;
        let link = format!("{}/calls/{call_id}", s.base);

        // kintone: one record with the mapped fields.
        eventually("the kintone record", || async {
            (kt.records().len() == 1).then_some(())
        })
        .await;
        let added = &kt.requests("POST", "/k/v1/record.json", 200)[0];
        assert_eq!(added.header("x-cybozu-api-token"), Some(KINTONE_TOKEN));
        let record = &added.json()["record"];
        assert_eq!(added.json()["app"], KINTONE_APP);
        assert_eq!(record["call_time"]["value"], "2026-01-05T01:00:00Z");
        assert_eq!(record["direction"]["value"], "outbound");
        assert_eq!(record["seconds"]["value"], "233");
        assert_eq!(record["phone"]["value"], "+81322223333");
        assert_eq!(record["kiku_url"]["value"], link.as_str());
        assert_eq!(record["caller"]["value"], "Agent (0311112222)");
        let memo = record["memo"]["value"].as_str().expect("memo").to_string();
        assert!(
            memo.contains("(User) ") && memo.contains("(Customer) "),
            "transcript lines: {memo}"
        );

        // Salesforce: a token, the contact found by phone, one Task.
        eventually("the Salesforce Task", || async {
            (!sf.requests("POST", "/services/data/v62.0/sobjects/Task/", 201)
                .is_empty())
            .then_some(())
        })
        .await;
        let created = sf.requests("POST", "/services/data/v62.0/sobjects/Task/", 0);
        assert_eq!(created.len(), 1);
        let task = created[0].json();
        assert_eq!(
            created[0].header("authorization"),
            Some("Bearer 00D5g000004Ab!session-1")
        );
        assert_eq!(task["TaskSubtype"], "Call");
        assert_eq!(task["CallType"], "Outbound");
        assert_eq!(task["CallDurationInSeconds"], 233);
        assert_eq!(task["ActivityDate"], "2026-01-05");
        assert_eq!(task["WhoId"], SF_CONTACT);
        assert_eq!(task["Status"], "Completed");
        assert!(task["Description"].as_str().expect("text").contains(&link));
        assert_eq!(sf.tokens_issued(), 1);

        // HubSpot: 429 first, nothing more before its window has passed, then one call.
        let limited = eventually("HubSpot's 429 in the log", || async {
            log(&s, &t, &hs_id)
                .await
                .first()
                .cloned()
                .filter(|a| a["status"] == 429)
        })
        .await;
        assert_eq!(limited["outcome"], "retrying");
        let error = limited["error"].as_str().expect("error");
        assert!(
            error.contains("RATE_LIMIT") && error.contains("ten_secondly_rolling"),
            "{error}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            hs.requests("POST", "/crm/v3/objects/calls", 0).len(),
            1,
            "{b}: waited"
        );
        s.clock.advance(time::Duration::seconds(11));
        eventually("the HubSpot call", || async {
            (!hs.requests("POST", "/crm/v3/objects/calls", 201).is_empty()).then_some(())
        })
        .await;
        let made = hs.requests("POST", "/crm/v3/objects/calls", 201)[0].json();
        let props = &made["properties"];
        assert_eq!(props["hs_timestamp"], "2026-01-05T01:00:00Z");
        assert_eq!(props["hs_call_direction"], "OUTBOUND");
        assert_eq!(props["hs_call_duration"], "233000");
        assert_eq!(props["hs_call_status"], "COMPLETED");
        assert_eq!(props["hs_call_to_number"], "+81322223333");
        assert_eq!(made["associations"][0]["to"]["id"], HUBSPOT_CONTACT);
        assert_eq!(
            made["associations"][0]["types"][0]["associationTypeId"],
            194
        );

        let first = settled_crm_items(&s, &t, &call_id, 3).await;
        let record_of = |items: &[Value], id: &str| {
            items
                .iter()
                .find(|i| i["target"]["crm_connection_id"] == id)
                .cloned()
                .expect("entry")
        };
        assert_eq!(record_of(&first, &kt_id)["crm_record_id"], "1");
        assert_eq!(record_of(&first, &sf_id)["crm_record_id"], SF_TASK);
        let hubspot_entry = record_of(&first, &hs_id);
        assert_eq!(
            (
                hubspot_entry["crm_record_id"].clone(),
                hubspot_entry["attempts"].clone()
            ),
            (json!(HUBSPOT_CALL), json!(2))
        );
        assert!(
            first.iter().all(|i| i["outcome"] == "delivered"),
            "{first:?}"
        );

        // The session expires; a swap updates the three records, none is made twice.
        sf.expire_sessions();
        let swap = s
            .http
            .post(s.url(&format!("/api/v1/calls/{call_id}/swap")))
            .bearer_auth(&t.admin_token);
        assert_eq!(s.send(swap).await.0, StatusCode::OK);
        let both = settled_crm_items(&s, &t, &call_id, 6).await;
        assert!(
            both.iter().all(|i| i["outcome"] == "delivered"),
            "{b}: {both:?}"
        );

        let put = kt.requests("PUT", "/k/v1/record.json", 200);
        assert_eq!(put.len(), 1);
        assert_eq!(put[0].json()["id"], "1");
        assert_eq!(kt.records().len(), 1, "no second kintone record");
        let swapped_memo = kt.records()[0]["memo"]["value"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert_ne!(swapped_memo, memo, "the swapped transcript");

        assert_eq!(sf.tokens_issued(), 2, "refreshed once");
        assert_eq!(
            sf.requests("GET", "/services/data/v62.0/search/", 401)
                .len(),
            1,
            "the expired session was tried once"
        );
        let patched = sf.requests(
            "PATCH",
            &format!("/services/data/v62.0/sobjects/Task/{SF_TASK}"),
            0,
        );
        assert_eq!(patched.len(), 1);
        assert_eq!(patched[0].status, 204);
        assert_eq!(
            patched[0].header("authorization"),
            Some("Bearer 00D5g000004Ab!session-2")
        );
        assert!(
            patched[0].json()["TaskSubtype"].is_null(),
            "create-only field left out"
        );
        assert!(patched[0].json()["Description"]
            .as_str()
            .expect("text")
            .starts_with("ユーザーと顧客を入れ替えました"));
        assert_eq!(
            sf.requests("POST", "/services/data/v62.0/sobjects/Task/", 0)
                .len(),
            1
        );

        let hs_patch = hs.requests(
            "PATCH",
            &format!("/crm/v3/objects/calls/{HUBSPOT_CALL}"),
            200,
        );
        assert_eq!(hs_patch.len(), 1);
        assert_eq!(hs.requests("POST", "/crm/v3/objects/calls", 201).len(), 1);
        assert_eq!(hs.requests("PUT", "/crm/v4/objects/calls/", 200).len(), 1);

        // Logs carry no credentials.
        for id in [&sf_id, &hs_id, &kt_id] {
            let text = serde_json::to_string(&log(&s, &t, id).await).expect("json");
            for secret in [SF_CLIENT_SECRET, HUBSPOT_TOKEN, KINTONE_TOKEN, "session-"] {
                assert!(!text.contains(secret), "{text}");
            }
        }
        // Admins only.
        let agent = s.user(&t, &format!("agent-{b}@acme.example"), false).await;
        assert!(!agent.is_empty());
        let agent_token = s
            .login(&format!("agent-{b}@acme.example"), "agent password")
            .await;
        assert_eq!(
            s.get("/api/v1/crm-connections", &agent_token).await.0,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_that_is_down_is_retried_logged_and_replayed_and_its_errors_are_shown() {
    for s in servers().await {
        let b = s.backend;
        let kt = Fake::start(Vendor::Kintone).await;
        let strict = Fake::start(Vendor::Kintone).await;
        strict.require_fields(&["customer"]);
        let t = s.tenant("acme").await;
        let down = connect(
            &s,
            &t,
            kintone_body(&kt, "kintone", json!({"body": "memo"})),
        )
        .await;
        let refused = connect(
            &s,
            &t,
            kintone_body(&strict, "strict app", json!({"body": "memo"})),
        )
        .await;
        kt.set_down(true);
        // Retries a minute apart (±20 %): the manual clock decides when they are due.
        let _runner = start_runner(&s, vec![Duration::from_secs(60); 3]);
        let call_id = analysed_call(&s, &t).await;

        let first = eventually("the failed attempt", || async {
            log(&s, &t, &down).await.first().cloned()
        })
        .await;
        assert_eq!(
            (
                first["attempt"].clone(),
                first["status"].clone(),
                first["outcome"].clone()
            ),
            (json!(1), json!(503), json!("retrying")),
            "{b}: {first}"
        );
        assert!(first["error"]
            .as_str()
            .expect("error")
            .starts_with("kintone: add record: answered 503"));

        // kintone's validation error, as kintone words it, and no retry.
        let shown = eventually("kintone's error", || async {
            log(&s, &t, &refused).await.first().cloned()
        })
        .await;
        assert_eq!(
            (shown["status"].clone(), shown["outcome"].clone()),
            (json!(400), json!("failed"))
        );
        assert_eq!(
            shown["error"],
            "kintone: add record: answered 400: CB_VA01 入力内容が正しくありません。 (record.customer.value: 必須です。)"
        );
        assert!(shown["response_head"]
            .as_str()
            .expect("head")
            .contains("\"code\":\"CB_VA01\""));

        kt.set_down(false);
        s.clock.advance(time::Duration::seconds(120));
        let delivered = eventually("the second attempt", || async {
            log(&s, &t, &down)
                .await
                .first()
                .cloned()
                .filter(|a| a["outcome"] == "delivered")
        })
        .await;
        assert_eq!(
            (
                delivered["attempt"].clone(),
                delivered["crm_record_id"].clone()
            ),
            (json!(2), json!("1"))
        );

        // An admin replays the event: the same record is written again, not a second one.
        let event = delivered["event_id"].as_str().expect("event").to_string();
        let replay = s
            .http
            .post(s.url(&format!("/api/v1/crm-connections/{down}/replay")))
            .bearer_auth(&t.admin_token)
            .json(&json!({"event_id": event}));
        assert_eq!(
            s.send(replay).await,
            (StatusCode::ACCEPTED, json!({"replaying": 1}))
        );
        let replayed = eventually("the replay", || async {
            // Made at the same (manual) time as attempt 2: found by its flag, not its place.
            log(&s, &t, &down)
                .await
                .into_iter()
                .find(|a| a["replay"] == true)
        })
        .await;
        assert_eq!(
            (replayed["outcome"].clone(), replayed["status"].clone()),
            (json!("delivered"), json!(200))
        );
        assert_eq!(kt.requests("PUT", "/k/v1/record.json", 200).len(), 1);
        assert_eq!(kt.records().len(), 1);
        // Every failed one since a time: the refused one is queued again (and refused again).
        let again = s
            .http
            .post(s.url(&format!("/api/v1/crm-connections/{refused}/replay")))
            .bearer_auth(&t.admin_token)
            .json(&json!({"failed_since": "2020-01-01T00:00:00Z"}));
        assert_eq!(
            s.send(again).await,
            (StatusCode::ACCEPTED, json!({"replaying": 1}))
        );
        let items = settled_crm_items(&s, &t, &call_id, 2).await;
        let outcomes: Vec<&str> = items.iter().filter_map(|i| i["outcome"].as_str()).collect();
        assert!(
            outcomes.contains(&"delivered") && outcomes.contains(&"failed"),
            "{items:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salesforce_refresh_token_and_a_kintone_guest_space_are_used() {
    for s in servers().await {
        let (sf, kt) = (
            Fake::start(Vendor::Salesforce).await,
            Fake::start(Vendor::Kintone).await,
        );
        let t = s.tenant("acme").await;
        connect(
            &s,
            &t,
            json!({"kind": "salesforce", "name": "Salesforce", "base_url": sf.base,
                "client_id": SF_CLIENT_ID, "client_secret": SF_CLIENT_SECRET,
                "refresh_token": SF_REFRESH_TOKEN}),
        )
        .await;
        let mut guest = kintone_body(&kt, "guest app", json!({"body": "memo"}));
        guest["guest_space_id"] = json!(3);
        connect(&s, &t, guest).await;
        let _runner = start_runner(&s, vec![Duration::ZERO; 3]);
        analysed_call(&s, &t).await;
        eventually("the Task and the guest space's record", || async {
            let task = sf.requests("POST", "/services/data/v62.0/sobjects/Task/", 201);
            (!task.is_empty() && kt.records().len() == 1).then_some(())
        })
        .await;
        let token = &sf.requests("POST", "/services/oauth2/token", 200)[0];
        let form = String::from_utf8_lossy(&token.body).to_string();
        assert!(
            form.contains("grant_type=refresh_token")
                && form.contains(&format!("refresh_token={SF_REFRESH_TOKEN}")),
            "{}: {form}",
            s.backend
        );
        assert_eq!(
            kt.requests("POST", "/k/guest/3/v1/record.json", 200).len(),
            1
        );
    }
}

/// The call's CRM jobs that are waiting for another job's record (postponed: queued,
/// due later than now).
async fn waiting_crm_jobs(s: &TestServer, call: &str) -> usize {
    let call = call.parse().expect("call id");
    let now = s.clock.now();
    s.app
        .store
        .jobs_for_call(call)
        .await
        .expect("jobs")
        .iter()
        .filter(|j| j.kind == kiku_domain::JobKind::DeliverNotification)
        .filter(|j| j.state == kiku_storage::JobState::Queued && j.run_at > now)
        .count()
}

/// Runs the postponed jobs until the call's `n` CRM notifications have settled.
async fn settle_with_clock(s: &TestServer, t: &Tenant, call: &str, n: usize) -> Vec<Value> {
    eventually("the CRM notifications, the clock moving", || async {
        s.clock.advance(time::Duration::seconds(2));
        let items = crm_items(s, t, call).await;
        let settled = items.iter().all(|i| i["outcome"] == "delivered");
        (items.len() == n && settled).then_some(items)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_events_of_a_call_at_once_make_one_record_per_crm_and_a_rescore_updates_it() {
    for s in servers().await {
        let b = s.backend;
        let fakes = [
            Fake::start(Vendor::Salesforce).await,
            Fake::start(Vendor::Hubspot).await,
            Fake::start(Vendor::Kintone).await,
        ];
        let [sf, hs, kt] = &fakes;
        let t = s.tenant("acme").await;
        connect(
            &s,
            &t,
            json!({"kind": "salesforce", "name": "Salesforce", "base_url": sf.base,
            "client_id": SF_CLIENT_ID, "client_secret": SF_CLIENT_SECRET}),
        )
        .await;
        connect(
            &s,
            &t,
            json!({"kind": "hubspot", "name": "HubSpot", "base_url": hs.base,
            "access_token": HUBSPOT_TOKEN}),
        )
        .await;
        let kt_id = connect(
            &s,
            &t,
            kintone_body(kt, "kintone", json!({"body": "memo", "score": "score"})),
        )
        .await;
        for fake in &fakes {
            fake.hold_creates(true);
        }
        // Enough workers for the three held creates and the swap's three jobs beside them.
        let _runner = start_runner_with(&s, vec![Duration::ZERO; 3], 6);
        let call_id = analysed_call(&s, &t).await;
        eventually("the three creates, held", || async {
            fakes.iter().all(|f| f.creates_arrived() == 1).then_some(())
        })
        .await;

        // The swap's event, while every first create is still in flight.
        let swap = s
            .http
            .post(s.url(&format!("/api/v1/calls/{call_id}/swap")))
            .bearer_auth(&t.admin_token);
        assert_eq!(s.send(swap).await.0, StatusCode::OK);
        // Its three jobs run now, on other workers: each waits for the record (a second
        // create arriving would be the duplicate this guards against).
        eventually("the swap's jobs, waiting", || async {
            let duplicate = fakes.iter().any(|f| f.creates_arrived() > 1);
            (duplicate || waiting_crm_jobs(&s, &call_id).await == 3).then_some(())
        })
        .await;
        for fake in &fakes {
            fake.hold_creates(false);
        }
        let items = settle_with_clock(&s, &t, &call_id, 6).await;
        assert_eq!(items.len(), 6, "{b}: {items:?}");
        for fake in &fakes {
            assert_eq!(fake.creates_arrived(), 1, "{b}: one create per CRM");
        }
        let sf_task = "/services/data/v62.0/sobjects/Task/";
        assert_eq!(sf.requests("POST", sf_task, 201).len(), 1);
        assert_eq!(
            sf.requests("PATCH", &format!("{sf_task}{SF_TASK}"), 204)
                .len(),
            1,
            "{b}: the swap updated the Task"
        );
        let hs_call = format!("/crm/v3/objects/calls/{HUBSPOT_CALL}");
        assert_eq!(hs.requests("PATCH", &hs_call, 200).len(), 1);
        let put = kt.requests("PUT", "/k/v1/record.json", 200);
        assert_eq!(put.len(), 1);
        assert_eq!(put[0].json()["id"], "1");
        assert_eq!(kt.records().len(), 1);
        let created = kt.requests("POST", "/k/v1/record.json", 200)[0].json();
        assert_ne!(
            kt.records()[0]["memo"],
            created["record"]["memo"],
            "{b}: the swapped transcript"
        );

        // A re-score updates the same three records.
        let settings = s
            .http
            .put(s.url("/api/v1/settings/analysis"))
            .bearer_auth(&t.admin_token)
            .json(&json!({"score_rule": {
                "base": 91, "duration_points": [[0, 0]], "talk_ratio_weight": 0,
                "talk_ratio_target_percent": 40, "overlap_per_minute_weight": 0,
                "silence_per_minute_weight": 0, "keyword_points": [], "min": 0, "max": 100}}));
        let (status, body) = s.send(settings).await;
        assert_eq!(status, StatusCode::OK, "{b}: {body}");
        let items = settle_with_clock(&s, &t, &call_id, 9).await;
        assert_eq!(items.len(), 9);
        assert_eq!(
            sf.requests("PATCH", &format!("{sf_task}{SF_TASK}"), 204)
                .len(),
            2
        );
        assert_eq!(hs.requests("PATCH", &hs_call, 200).len(), 2);
        assert_eq!(kt.requests("PUT", "/k/v1/record.json", 200).len(), 2);
        for fake in &fakes {
            assert_eq!(fake.creates_arrived(), 1, "{b}: still one record");
        }
        let rescored = kt.records()[0].clone();
        assert_eq!(rescored["score"]["value"], "91.0", "{b}: {rescored}");

        // The first event, replayed after the newer ones, leaves the record alone.
        let (_, history) = s
            .get(
                &format!("/api/v1/calls/{call_id}/notifications"),
                &t.admin_token,
            )
            .await;
        let first_event = history["items"][0]["event_id"].clone();
        let replay = s
            .http
            .post(s.url(&format!("/api/v1/crm-connections/{kt_id}/replay")))
            .bearer_auth(&t.admin_token)
            .json(&json!({"event_id": first_event}));
        assert_eq!(
            s.send(replay).await,
            (StatusCode::ACCEPTED, json!({"replaying": 1}))
        );
        eventually("the replay, done", || async {
            let call = call_id.parse().expect("id");
            let jobs = s.app.store.jobs_for_call(call).await.expect("jobs");
            jobs.iter()
                .all(|j| j.state == kiku_storage::JobState::Done)
                .then_some(())
        })
        .await;
        assert_eq!(kt.requests("PUT", "/k/v1/record.json", 0).len(), 2, "{b}");
        assert_eq!(kt.records()[0], rescored, "{b}: not the older content");
    }
}
