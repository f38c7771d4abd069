//! HubSpot: one call engagement per call (`POST /crm/v3/objects/calls`, `PATCH …/{id}` to
//! update) with a private app's token, associated with the contact whose phone number is
//! the customer's (`POST /crm/v3/objects/contacts/search`; association type 194, call →
//! contact). A 429 is waited out as HubSpot's answer says: `Retry-After`, else the
//! rate-limit window of its `X-HubSpot-RateLimit-*` headers.

use std::time::Duration;

use kiku_domain::crm::CrmConfig;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{ApiAnswer, ApiCall, WebhookClient};
use crate::crm::{
    digits, join, json as answer_json, retry_after, Activity, Attempt, CrmTarget, CrmWriter,
    Written,
};

/// HubSpot-defined association type of a call to a contact.
const CALL_TO_CONTACT: u32 = 194;
/// A daily limit resets at midnight of the account's time zone: retried hourly until then.
const DAILY_LIMIT_WAIT: Duration = Duration::from_secs(3600);
/// When a 429 says nothing else: HubSpot's ten-second window.
const DEFAULT_LIMIT_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Hubspot {
    client: WebhookClient,
}

impl Hubspot {
    pub fn new(client: WebhookClient) -> Self {
        Self { client }
    }

    async fn call(&self, method: Method, url: &str, token: &str, body: Option<Value>) -> ApiAnswer {
        self.client
            .api(ApiCall {
                method,
                url,
                headers: vec![("Authorization", format!("Bearer {token}"))],
                body: body.map(|b| ("application/json", b.to_string().into_bytes())),
            })
            .await
    }
}

fn ok(answer: &ApiAnswer) -> bool {
    answer.status.is_some_and(|s| (200..300).contains(&s))
}

impl CrmWriter for Hubspot {
    async fn write(&self, target: &CrmTarget<'_>, activity: &Activity) -> Written {
        let attempt = Attempt::start();
        let fail = |answer: &ApiAnswer, what: &str| {
            attempt.failed(answer, what, error_detail(answer), wait(answer))
        };
        let CrmConfig::Hubspot(h) = target.config else {
            return attempt.wrong_kind("HubSpot");
        };
        let token = h.access_token.expose();
        let base = target.base_url;
        let mut contact = None;
        if let Some(number) = activity.customer_number.as_deref() {
            let url = join(base, "/crm/v3/objects/contacts/search");
            let answer = self
                .call(Method::POST, &url, token, Some(search(number)))
                .await;
            if !ok(&answer) {
                return fail(&answer, "hubspot: search contacts");
            }
            contact = answer_json(&answer)
                .and_then(|v| v["results"][0]["id"].as_str().map(str::to_string));
        }
        let properties = properties(activity);
        let Some(id) = target.record_id else {
            let mut body = json!({"properties": properties});
            if let Some(contact) = &contact {
                body["associations"] = json!([{
                    "to": {"id": contact},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": CALL_TO_CONTACT}]
                }]);
            }
            let url = join(base, "/crm/v3/objects/calls");
            let answer = self.call(Method::POST, &url, token, Some(body)).await;
            if !ok(&answer) {
                return fail(&answer, "hubspot: create call");
            }
            return match answer_json(&answer).and_then(|v| v["id"].as_str().map(str::to_string)) {
                Some(id) => attempt.written(&answer, id),
                None => attempt.failed(&answer, "hubspot: create call", None, None),
            };
        };
        let url = join(base, &format!("/crm/v3/objects/calls/{id}"));
        let answer = self
            .call(
                Method::PATCH,
                &url,
                token,
                Some(json!({"properties": properties})),
            )
            .await;
        if !ok(&answer) {
            return fail(&answer, "hubspot: update call");
        }
        // A contact added since the record was made is associated now (the PUT is
        // idempotent).
        if let Some(contact) = contact {
            let url = join(
                base,
                &format!("/crm/v4/objects/calls/{id}/associations/default/contacts/{contact}"),
            );
            let linked = self.call(Method::PUT, &url, token, None).await;
            if !ok(&linked) {
                return fail(&linked, "hubspot: associate contact");
            }
        }
        attempt.written(&answer, id.to_string())
    }
}

/// Contacts whose phone or mobile phone is the number, as given or as digits.
fn search(number: &str) -> Value {
    let mut values = vec![number.to_string()];
    let d = digits(number);
    if d != number && !d.is_empty() {
        values.push(d);
    }
    let groups: Vec<Value> = values
        .iter()
        .flat_map(|v| {
            ["phone", "mobilephone"]
                .map(|p| json!({"filters": [{"propertyName": p, "operator": "EQ", "value": v}]}))
        })
        .collect();
    json!({"filterGroups": groups, "properties": ["phone", "mobilephone"], "limit": 1})
}

/// The call engagement's properties. `hs_call_body` is rich text: escaped, lines as `<br>`.
/// `hs_call_recording_url` is not set: Kiku serves recordings to signed-in users only, so
/// HubSpot could not play it; the body links to the call instead.
pub fn properties(a: &Activity) -> Value {
    let escaped = a
        .description()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "<br>");
    json!({
        "hs_timestamp": a.started_at_utc,
        "hs_call_title": a.title,
        "hs_call_body": escaped,
        "hs_call_direction": if a.inbound { "INBOUND" } else { "OUTBOUND" },
        "hs_call_duration": (a.duration_seconds * 1000).to_string(),
        "hs_call_from_number": a.caller_number,
        "hs_call_to_number": a.callee_number,
        "hs_call_status": if a.answered { "COMPLETED" } else { "NO_ANSWER" },
    })
}

/// How long a 429 asks to wait: `Retry-After`; for the daily limit an hour; else the
/// window of `X-HubSpot-RateLimit-Interval-Milliseconds`.
fn wait(answer: &ApiAnswer) -> Option<Duration> {
    if answer.status != Some(429) {
        return None;
    }
    if let Some(after) = retry_after(answer) {
        return Some(after);
    }
    let daily = answer_json(answer).is_some_and(|v| v["policyName"] == "DAILY");
    if daily {
        return Some(DAILY_LIMIT_WAIT);
    }
    let interval = answer
        .headers
        .get("x-hubspot-ratelimit-interval-milliseconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis);
    Some(interval.unwrap_or(DEFAULT_LIMIT_WAIT))
}

/// HubSpot's error JSON as one line: `VALIDATION_ERROR: Property values were not valid`.
fn error_detail(answer: &ApiAnswer) -> Option<String> {
    let v = answer_json(answer)?;
    let message = v["message"].as_str()?;
    let category = v["category"]
        .as_str()
        .or_else(|| v["errorType"].as_str())
        .unwrap_or("error");
    Some(format!("{category}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn limited(headers: &[(&'static str, &'static str)], body: Value) -> ApiAnswer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        ApiAnswer {
            status: Some(429),
            headers: map,
            body: body.to_string(),
            error: None,
            latency_ms: 0,
        }
    }

    #[test]
    fn a_429_waits_as_hubspot_says() {
        let secs = Duration::from_secs;
        let window = [("x-hubspot-ratelimit-interval-milliseconds", "10000")];
        assert_eq!(wait(&limited(&window, json!({}))), Some(secs(10)));
        let both = [("retry-after", "3"), window[0]];
        assert_eq!(
            wait(&limited(&both, json!({}))),
            Some(secs(3)),
            "Retry-After first"
        );
        let daily = json!({"errorType": "RATE_LIMIT", "policyName": "DAILY"});
        assert_eq!(wait(&limited(&window, daily)), Some(DAILY_LIMIT_WAIT));
        assert_eq!(wait(&limited(&[], json!({}))), Some(DEFAULT_LIMIT_WAIT));
        let mut not_limited = limited(&window, json!({}));
        not_limited.status = Some(503);
        assert_eq!(wait(&not_limited), None);
        let error = json!({"status": "error", "message": "Property values were not valid", "category": "VALIDATION_ERROR"});
        assert_eq!(
            error_detail(&limited(&[], error)).as_deref(),
            Some("VALIDATION_ERROR: Property values were not valid")
        );
    }

    #[test]
    fn contacts_are_searched_by_the_number_as_given_and_as_digits() {
        let body = search("+81 3-2222-3333");
        let groups = body["filterGroups"].as_array().expect("groups");
        assert_eq!(
            groups.len(),
            4,
            "two properties × two spellings, within HubSpot's five"
        );
        assert_eq!(groups[2]["filters"][0]["value"], "81322223333");
        assert_eq!(
            search("0311112222")["filterGroups"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }
}
