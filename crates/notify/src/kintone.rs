//! kintone: one record per call in the app the admin names (`POST /k/v1/record.json` with
//! `app` and `record`, `PUT` with `id` to update; under `/k/guest/{space}/v1/` for a
//! guest space), authenticated by `X-Cybozu-API-Token`. The record's fields are the Kiku
//! fields of the connection's field map; kintone's error JSON (`code`, `message`,
//! `errors`) goes into the attempt log.

use kiku_domain::crm::{CrmConfig, KikuField, KintoneConfig};
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::client::{ApiAnswer, ApiCall, WebhookClient};
use crate::crm::{join, json as answer_json, Activity, Attempt, CrmTarget, CrmWriter, Written};

#[derive(Clone)]
pub struct Kintone {
    client: WebhookClient,
}

impl Kintone {
    pub fn new(client: WebhookClient) -> Self {
        Self { client }
    }
}

impl CrmWriter for Kintone {
    async fn write(&self, target: &CrmTarget<'_>, activity: &Activity) -> Written {
        let attempt = Attempt::start();
        let CrmConfig::Kintone(k) = target.config else {
            return attempt.wrong_kind("kintone");
        };
        let path = match k.guest_space_id {
            Some(space) => format!("/k/guest/{space}/v1/record.json"),
            None => "/k/v1/record.json".to_string(),
        };
        let url = join(target.base_url, &path);
        let record = record(k, activity);
        let (method, body, what) = match target.record_id {
            Some(id) => (
                Method::PUT,
                json!({"app": k.app, "id": id, "record": record}),
                "kintone: update record",
            ),
            None => (
                Method::POST,
                json!({"app": k.app, "record": record}),
                "kintone: add record",
            ),
        };
        let answer = self
            .client
            .api(ApiCall {
                method,
                url: &url,
                headers: vec![("X-Cybozu-API-Token", k.api_token.expose().to_string())],
                body: Some(("application/json", body.to_string().into_bytes())),
            })
            .await;
        if !answer.status.is_some_and(|s| (200..300).contains(&s)) {
            return attempt.failed(&answer, what, error_detail(&answer), None);
        }
        // POST answers `{"id": "1", "revision": "1"}`; PUT `{"revision": "2"}`.
        let id = match target.record_id {
            Some(id) => Some(id.to_string()),
            None => answer_json(&answer).and_then(|v| match &v["id"] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
        };
        match id {
            Some(id) => attempt.written(&answer, id),
            None => attempt.failed(&answer, what, None, None),
        }
    }
}

/// `{field code: {"value": …}}` for every mapped Kiku field. kintone takes text for every
/// field type it converts (numbers as text, DATETIME as UTC `…Z`).
pub fn record(k: &KintoneConfig, a: &Activity) -> Value {
    let mut out = Map::new();
    for (field, code) in k.field_map.iter() {
        out.insert(code.to_string(), json!({"value": value(field, a)}));
    }
    Value::Object(out)
}

fn value(field: KikuField, a: &Activity) -> String {
    match field {
        KikuField::CallId => a.call_id.clone(),
        KikuField::Title => a.title.clone(),
        KikuField::StartedAt => a.started_at_utc.clone(),
        KikuField::Direction => a.direction().to_string(),
        KikuField::EventType => a.event_type.clone(),
        KikuField::DurationSeconds => a.duration_seconds.to_string(),
        KikuField::Caller => a.caller.clone(),
        KikuField::Callee => a.callee.clone(),
        KikuField::CallerNumber => a.caller_number.clone(),
        KikuField::CalleeNumber => a.callee_number.clone(),
        KikuField::CustomerNumber => a.customer_number.clone().unwrap_or_default(),
        KikuField::Score => format!("{:.1}", a.score),
        KikuField::Link => a.link.clone(),
        KikuField::Body => a.body().to_string(),
        KikuField::Transcript => a.transcript.clone(),
        KikuField::Summary => a.summary.clone(),
    }
}

/// kintone's error JSON as one line: `CB_VA01 入力内容が正しくありません。 (record.x.value: 必須です。)`.
fn error_detail(answer: &ApiAnswer) -> Option<String> {
    let v = answer_json(answer)?;
    let code = v["code"].as_str()?;
    let mut text = format!("{code} {}", v["message"].as_str().unwrap_or_default());
    if let Some(errors) = v["errors"].as_object() {
        let details: Vec<String> = errors
            .iter()
            .map(|(field, e)| {
                let messages: Vec<&str> = e["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                format!("{field}: {}", messages.join(" "))
            })
            .collect();
        if !details.is_empty() {
            text.push_str(&format!(" ({})", details.join("; ")));
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kintone_errors_read_as_one_line() {
        let answer = ApiAnswer {
            body: r#"{"code":"CB_VA01","id":"x","message":"入力内容が正しくありません。","errors":{"record.memo.value":{"messages":["必須です。"]}}}"#.into(),
            status: Some(400),
            headers: Default::default(),
            error: None,
            latency_ms: 0,
        };
        assert_eq!(
            error_detail(&answer).as_deref(),
            Some("CB_VA01 入力内容が正しくありません。 (record.memo.value: 必須です。)")
        );
    }
}
