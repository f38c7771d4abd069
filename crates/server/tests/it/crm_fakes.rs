//! Local fakes of the three CRMs' APIs, written from their public documentation (no live
//! account is reachable from here). Each checks what the vendor documents as required —
//! method, path, auth header, content type, body fields — answers as the vendor does (ids,
//! error shapes, 401 for an expired session, 429 with rate-limit headers), and keeps every
//! request for the tests to read. A fake can hold the requests that create a record until
//! the test lets them through, so that deliveries meet while one is in flight.

#![allow(dead_code)] // bench/fanout includes this file too and uses part of it

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

pub const SF_CLIENT_ID: &str = "3MVG9-consumer-key";
pub const SF_CLIENT_SECRET: &str = "sf-consumer-secret";
pub const SF_REFRESH_TOKEN: &str = "5Aep861-refresh-token";
pub const HUBSPOT_TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";
pub const KINTONE_TOKEN: &str = "kintone-api-token-1";
pub const KINTONE_APP: u64 = 12;
/// The fake Salesforce's Contact with the customer's phone; the Task id it hands out.
pub const SF_CONTACT: &str = "0035g00000AbCdEAAZ";
pub const SF_TASK: &str = "00T5g00000XyZwVEAV";
/// The fake HubSpot's contact with the customer's phone; the call id it hands out.
pub const HUBSPOT_CONTACT: &str = "501";
pub const HUBSPOT_CALL: &str = "9001";
/// The customer's number in the tests' calls, as digits.
pub const CUSTOMER_DIGITS: &str = "81322223333";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Salesforce,
    Hubspot,
    Kintone,
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    /// With the query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the fake answered.
    pub status: u16,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    /// Salesforce: the access tokens that work now (each sign-in is a session of its own,
    /// valid beside the others until they all expire).
    valid_tokens: Vec<String>,
    tokens_issued: u32,
    /// HubSpot: the next create is answered 429 once.
    limit_next_create: bool,
    /// kintone: answers 503 while down; its records by id.
    down: bool,
    records: Vec<Value>,
    /// kintone: field codes the app requires.
    required: Vec<String>,
}

#[derive(Clone)]
pub struct Fake {
    pub base: String,
    vendor: Vendor,
    state: Arc<Mutex<State>>,
    /// `true`: requests that create a record wait until it turns `false`.
    hold: Arc<tokio::sync::watch::Sender<bool>>,
    /// Create requests that arrived (held or not).
    creates: Arc<std::sync::atomic::AtomicUsize>,
}

fn answer(status: u16, body: Value) -> (u16, Response) {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response = (
        code,
        [("content-type", "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response();
    (status, response)
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The pairs of a form or query string.
fn pairs(text: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{text}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

impl Fake {
    pub async fn start(vendor: Vendor) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = Fake {
            base,
            vendor,
            state: Arc::default(),
            hold: Arc::new(tokio::sync::watch::channel(false).0),
            creates: Arc::default(),
        };
        let handler = fake.clone();
        let router = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let fake = handler.clone();
                async move {
                    if fake.creates_record(&method, uri.path()) {
                        fake.creates
                            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let mut held = fake.hold.subscribe();
                        let _ = held.wait_for(|h| !*h).await;
                    }
                    fake.handle(method, uri, headers, body)
                }
            },
        );
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        fake
    }

    /// The vendor's "create a record" request.
    fn creates_record(&self, method: &Method, path: &str) -> bool {
        *method == Method::POST
            && match self.vendor {
                Vendor::Salesforce => path.ends_with("/sobjects/Task/"),
                Vendor::Hubspot => path == "/crm/v3/objects/calls",
                Vendor::Kintone => path.ends_with("/record.json"),
            }
    }

    /// Holds (`true`) or lets through (`false`) the requests that create a record.
    pub fn hold_creates(&self, hold: bool) {
        self.hold.send_replace(hold);
    }

    /// Create requests that arrived so far, held ones included.
    pub fn creates_arrived(&self) -> usize {
        self.creates.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let path = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
        let mut state = self.state.lock().expect("state");
        let mut seen = Seen {
            method,
            path,
            headers,
            body,
            status: 0,
        };
        let (status, response) = match self.vendor {
            Vendor::Salesforce => salesforce(&mut state, &self.base, &seen),
            Vendor::Hubspot => hubspot(&mut state, &seen),
            Vendor::Kintone => kintone(&mut state, &seen),
        };
        seen.status = status;
        state.seen.push(seen);
        response
    }

    /// Every request received, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().expect("state").seen.clone()
    }

    /// Requests of `method` whose path starts with `prefix`, answered `status` (any: 0).
    pub fn requests(&self, method: &str, prefix: &str, status: u16) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == method && s.path.starts_with(prefix))
            .filter(|s| status == 0 || s.status == status)
            .collect()
    }

    /// Salesforce: every session issued so far expires.
    pub fn expire_sessions(&self) {
        self.state.lock().expect("state").valid_tokens.clear();
    }

    pub fn tokens_issued(&self) -> u32 {
        self.state.lock().expect("state").tokens_issued
    }

    /// HubSpot: answer the next create with 429.
    pub fn limit_next_create(&self) {
        self.state.lock().expect("state").limit_next_create = true;
    }

    /// kintone: 503 for everything while down.
    pub fn set_down(&self, down: bool) {
        self.state.lock().expect("state").down = down;
    }

    /// kintone: the app requires these field codes.
    pub fn require_fields(&self, codes: &[&str]) {
        self.state.lock().expect("state").required = codes.iter().map(|c| c.to_string()).collect();
    }

    /// kintone: the stored records.
    pub fn records(&self) -> Vec<Value> {
        self.state.lock().expect("state").records.clone()
    }
}

/// Salesforce REST API: the OAuth 2.0 token endpoint (client credentials or a refresh
/// token), SOSL search,
/// Task create (201 `{id, success, errors}`) and update (204); 401 `INVALID_SESSION_ID`
/// for a session that was never issued or has expired; errors as `[{message, errorCode}]`.
fn salesforce(st: &mut State, base: &str, r: &Seen) -> (u16, Response) {
    if r.path == "/services/oauth2/token" {
        let form = pairs(&String::from_utf8_lossy(&r.body));
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let good = r.method == Method::POST
            && media_type(&r.headers) == "application/x-www-form-urlencoded"
            && match get("grant_type") {
                Some("client_credentials") => true,
                Some("refresh_token") => get("refresh_token") == Some(SF_REFRESH_TOKEN),
                _ => false,
            }
            && get("client_id") == Some(SF_CLIENT_ID)
            && get("client_secret") == Some(SF_CLIENT_SECRET);
        if !good {
            return answer(
                400,
                json!({"error": "invalid_client", "error_description": "invalid client credentials"}),
            );
        }
        st.tokens_issued += 1;
        let token = format!("00D5g000004Ab!session-{}", st.tokens_issued);
        st.valid_tokens.push(token.clone());
        return answer(
            200,
            json!({"access_token": token, "instance_url": base, "id": format!("{base}/id/00D5g/0055g"),
                   "token_type": "Bearer", "issued_at": "1800000000000", "signature": "c2lnbmF0dXJl"}),
        );
    }
    let bearer = r
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|b| st.valid_tokens.iter().any(|t| t == b)) {
        return answer(
            401,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        );
    }
    let api = "/services/data/v62.0";
    if r.method == Method::GET && r.path.starts_with(&format!("{api}/search/?")) {
        let query = r.path.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let q = pairs(query)
            .into_iter()
            .find(|(n, _)| n == "q")
            .map(|(_, v)| v)
            .unwrap_or_default();
        if !q.starts_with("FIND {") || !q.contains("IN PHONE FIELDS") {
            return answer(
                400,
                json!([{"message": "unexpected token", "errorCode": "MALFORMED_SEARCH"}]),
            );
        }
        let records = if q.contains(&format!("{{{CUSTOMER_DIGITS}}}")) {
            json!([{"attributes": {"type": "Contact", "url": format!("{api}/sobjects/Contact/{SF_CONTACT}")}, "Id": SF_CONTACT}])
        } else {
            json!([])
        };
        return answer(200, json!({"searchRecords": records}));
    }
    let task = format!("{api}/sobjects/Task");
    let body = r.json();
    if media_type(&r.headers) != "application/json" {
        return answer(
            415,
            json!([{"message": "Content type not supported", "errorCode": "UNSUPPORTED_MEDIA_TYPE"}]),
        );
    }
    if r.method == Method::POST && r.path == format!("{task}/") {
        let missing = [
            "Subject",
            "TaskSubtype",
            "Status",
            "ActivityDate",
            "CallType",
        ]
        .into_iter()
        .find(|f| body[*f].is_null());
        if let Some(field) = missing {
            return answer(
                400,
                json!([{"message": format!("Required fields are missing: [{field}]"), "errorCode": "REQUIRED_FIELD_MISSING", "fields": [field]}]),
            );
        }
        return answer(201, json!({"id": SF_TASK, "success": true, "errors": []}));
    }
    if r.method == Method::PATCH && r.path == format!("{task}/{SF_TASK}") {
        if !body["TaskSubtype"].is_null() {
            return answer(
                400,
                json!([{"message": "Unable to create/update fields: TaskSubtype.", "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["TaskSubtype"]}]),
            );
        }
        return (204, StatusCode::NO_CONTENT.into_response());
    }
    answer(
        404,
        json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]),
    )
}

/// HubSpot CRM API v3/v4: contact search, call engagements (create 201, update 200),
/// default associations; Bearer private app tokens; 429 with `X-HubSpot-RateLimit-*`
/// headers and a `RATE_LIMIT` body; errors as `{status, message, correlationId, category}`.
fn hubspot(st: &mut State, r: &Seen) -> (u16, Response) {
    let error = |status: u16, category: &str, message: &str| {
        answer(
            status,
            json!({"status": "error", "message": message, "correlationId": "6f1c2b7a-0000-4000-8000-000000000000", "category": category}),
        )
    };
    if r.header("authorization") != Some(format!("Bearer {HUBSPOT_TOKEN}").as_str()) {
        return error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found.",
        );
    }
    let body = r.json();
    let json_body = media_type(&r.headers) == "application/json";
    match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/crm/v3/objects/contacts/search") if json_body => {
            let wanted = body["filterGroups"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| g["filters"].as_array().cloned().unwrap_or_default())
                .any(|f| {
                    f["operator"] == "EQ"
                        && matches!(f["propertyName"].as_str(), Some("phone" | "mobilephone"))
                        && f["value"].as_str().is_some_and(|v| v.ends_with(CUSTOMER_DIGITS))
                });
            let results = if wanted {
                json!([{"id": HUBSPOT_CONTACT, "properties": {"phone": "+81322223333"},
                        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", "archived": false}])
            } else {
                json!([])
            };
            let total = results.as_array().map_or(0, Vec::len);
            answer(200, json!({"total": total, "results": results}))
        }
        ("POST", "/crm/v3/objects/calls") if json_body => {
            if st.limit_next_create {
                st.limit_next_create = false;
                let body = json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT", "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
                    "policyName": "TEN_SECONDLY_ROLLING"});
                let response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    [
                        ("content-type", "application/json;charset=UTF-8"),
                        ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
                        ("x-hubspot-ratelimit-max", "100"),
                        ("x-hubspot-ratelimit-remaining", "0"),
                    ],
                    body.to_string(),
                )
                    .into_response();
                return (429, response);
            }
            if body["properties"]["hs_timestamp"].is_null() {
                return error(400, "VALIDATION_ERROR", "Property values were not valid: hs_timestamp is required");
            }
            answer(
                201,
                json!({"id": HUBSPOT_CALL, "properties": body["properties"], "createdAt": "2026-01-05T01:00:00Z",
                       "updatedAt": "2026-01-05T01:00:00Z", "archived": false}),
            )
        }
        ("PATCH", path) if json_body && path == format!("/crm/v3/objects/calls/{HUBSPOT_CALL}") => answer(
            200,
            json!({"id": HUBSPOT_CALL, "properties": body["properties"], "updatedAt": "2026-01-05T01:10:00Z", "archived": false}),
        ),
        ("PUT", path)
            if path
                == format!(
                    "/crm/v4/objects/calls/{HUBSPOT_CALL}/associations/default/contacts/{HUBSPOT_CONTACT}"
                ) =>
        {
            answer(
                200,
                json!({"status": "COMPLETE", "results": [{"from": {"id": HUBSPOT_CALL}, "to": {"id": HUBSPOT_CONTACT},
                       "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}}]}),
            )
        }
        _ => error(404, "OBJECT_NOT_FOUND", "resource not found"),
    }
}

/// kintone REST API: `POST /k/v1/record.json` (`{app, record}` → `{id, revision}`) and
/// `PUT` with `id` (→ `{revision}`), `X-Cybozu-API-Token`; errors as
/// `{code, id, message, errors}`.
fn kintone(st: &mut State, r: &Seen) -> (u16, Response) {
    let error = |status: u16, code: &str, message: &str, errors: Value| {
        answer(
            status,
            json!({"code": code, "id": "1505999166-897850006", "message": message, "errors": errors}),
        )
    };
    if st.down {
        return (
            503,
            (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
        );
    }
    if r.header("x-cybozu-api-token") != Some(KINTONE_TOKEN) {
        return error(401, "GAIA_IA02", "APIトークンが不正です。", json!({}));
    }
    // An app of a guest space answers under `/k/guest/{space}/v1/`.
    let guest = r
        .path
        .strip_prefix("/k/guest/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(space, rest)| space.parse::<u64>().is_ok() && rest == "v1/record.json");
    let known = r.path == "/k/v1/record.json" || guest;
    if !known || media_type(&r.headers) != "application/json" {
        return error(404, "CB_NO01", "指定したAPIが見つかりません。", json!({}));
    }
    let body = r.json();
    if body["app"] != KINTONE_APP {
        return error(
            404,
            "GAIA_AP01",
            "指定したアプリが見つかりません。",
            json!({}),
        );
    }
    let record = body["record"].clone();
    let missing: Vec<String> = st
        .required
        .iter()
        .filter(|code| {
            record[code.as_str()]["value"]
                .as_str()
                .is_none_or(str::is_empty)
        })
        .cloned()
        .collect();
    if !missing.is_empty() {
        let errors: serde_json::Map<String, Value> = missing
            .iter()
            .map(|c| {
                (
                    format!("record.{c}.value"),
                    json!({"messages": ["必須です。"]}),
                )
            })
            .collect();
        return error(
            400,
            "CB_VA01",
            "入力内容が正しくありません。",
            Value::Object(errors),
        );
    }
    match r.method {
        Method::POST => {
            st.records.push(record);
            let id = st.records.len();
            answer(200, json!({"id": id.to_string(), "revision": "1"}))
        }
        Method::PUT => {
            let id: usize = body["id"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .or_else(|| body["id"].as_u64().map(|i| i as usize))
                .unwrap_or(0);
            let Some(stored) = id.checked_sub(1).and_then(|i| st.records.get_mut(i)) else {
                return error(
                    404,
                    "GAIA_RE01",
                    "指定したレコードが見つかりません。",
                    json!({}),
                );
            };
            *stored = record;
            answer(200, json!({"revision": "2"}))
        }
        _ => error(405, "CB_NO01", "指定したAPIが見つかりません。", json!({})),
    }
}
