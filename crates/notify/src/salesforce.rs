//! Salesforce: one `Task` per call (`TaskSubtype = 'Call'`) through the REST API
//! (`POST /services/data/vNN.N/sobjects/Task/`, `PATCH …/Task/{id}` to update), its
//! `WhoId` the Contact (else Lead) whose phone is the customer's (SOSL `FIND {…} IN PHONE
//! FIELDS`). Tokens come from OAuth 2.0 (`{base_url}/services/oauth2/token`: client
//! credentials, or a refresh token), are kept in memory per connection, and are fetched
//! again once when the API answers 401 `INVALID_SESSION_ID` (an expired session).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kiku_domain::crm::{CrmConfig, SalesforceConfig};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{ApiAnswer, ApiCall, WebhookClient};
use crate::crm::{
    digits, join, json as answer_json, Activity, Attempt, CrmTarget, CrmWriter, Written,
};

/// Salesforce's limits: a Task's `Subject` and `Description`.
const SUBJECT_CHARS: usize = 255;
const DESCRIPTION_CHARS: usize = 32_000;

/// An access token and the instance it is for.
#[derive(Clone)]
struct Session {
    access_token: String,
    instance_url: String,
}

#[derive(Clone)]
pub struct Salesforce {
    client: WebhookClient,
    /// By [`CrmTarget::cache_key`]: a changed connection never uses an old token.
    sessions: Arc<Mutex<HashMap<String, Session>>>,
}

/// A step that did not succeed.
struct Failure {
    answer: ApiAnswer,
    what: &'static str,
}

impl Salesforce {
    pub fn new(client: WebhookClient) -> Self {
        Self {
            client,
            sessions: Arc::default(),
        }
    }

    fn cached(&self, key: &str) -> Option<Session> {
        self.sessions.lock().ok()?.get(key).cloned()
    }

    /// A new token from the token endpoint, kept for the next attempts.
    async fn sign_in(
        &self,
        key: &str,
        base_url: &str,
        sf: &SalesforceConfig,
    ) -> Result<Session, Failure> {
        // Built apart: the serializer is not `Send` and must not live across an await.
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            match &sf.refresh_token {
                Some(refresh) => form
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", refresh.expose()),
                None => form.append_pair("grant_type", "client_credentials"),
            };
            form.append_pair("client_id", sf.client_id.expose())
                .append_pair("client_secret", sf.client_secret.expose());
            form.finish()
        };
        let url = join(base_url, "/services/oauth2/token");
        let answer = self
            .client
            .api(ApiCall {
                method: Method::POST,
                url: &url,
                headers: Vec::new(),
                body: Some(("application/x-www-form-urlencoded", form.into_bytes())),
            })
            .await;
        let session = ok(&answer)
            .then(|| answer_json(&answer))
            .flatten()
            .and_then(|v| {
                Some(Session {
                    access_token: v["access_token"].as_str()?.to_string(),
                    instance_url: v["instance_url"].as_str()?.to_string(),
                })
            });
        let Some(session) = session else {
            let mut answer = answer;
            // A 2xx answer of the token endpoint may hold a token: never into the log.
            if ok(&answer) {
                answer.body.clear();
            }
            return Err(Failure {
                answer,
                what: "salesforce: get a token",
            });
        };
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(key.to_string(), session.clone());
        }
        Ok(session)
    }

    async fn call(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> ApiAnswer {
        let url = join(&session.instance_url, path);
        self.client
            .api(ApiCall {
                method,
                url: &url,
                headers: vec![("Authorization", format!("Bearer {}", session.access_token))],
                body: body.map(|b| ("application/json", b.to_string().into_bytes())),
            })
            .await
    }

    /// The Contact (else Lead) whose phone is `number`.
    async fn who(
        &self,
        session: &Session,
        sf: &SalesforceConfig,
        number: &str,
    ) -> Result<Option<String>, Failure> {
        let d = digits(number);
        // SOSL needs two characters at least; a short extension matches too much.
        if d.len() < 4 {
            return Ok(None);
        }
        let sosl = format!("FIND {{{d}}} IN PHONE FIELDS RETURNING Contact(Id), Lead(Id)");
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &sosl)
            .finish();
        let path = format!("/services/data/{}/search/?{query}", sf.api_version);
        let answer = self.call(session, Method::GET, &path, None).await;
        if !ok(&answer) {
            return Err(Failure {
                answer,
                what: "salesforce: search contacts",
            });
        }
        let found = answer_json(&answer).unwrap_or_default();
        let records = found["searchRecords"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let of = |kind: &str| {
            records
                .iter()
                .find(|r| r["attributes"]["type"] == kind)
                .and_then(|r| r["Id"].as_str().map(str::to_string))
        };
        Ok(of("Contact").or_else(|| of("Lead")))
    }

    /// Search, then create or update, with one session.
    async fn write_with(
        &self,
        session: &Session,
        sf: &SalesforceConfig,
        target: &CrmTarget<'_>,
        activity: &Activity,
    ) -> Result<(ApiAnswer, String), Failure> {
        let who = match activity.customer_number.as_deref() {
            Some(number) => self.who(session, sf, number).await?,
            None => None,
        };
        let mut task = task(activity);
        if let Some(who) = who {
            task["WhoId"] = json!(who);
        }
        let base = format!("/services/data/{}/sobjects/Task", sf.api_version);
        if let Some(id) = target.record_id {
            let answer = self
                .call(session, Method::PATCH, &format!("{base}/{id}"), Some(task))
                .await;
            return if ok(&answer) {
                Ok((answer, id.to_string()))
            } else {
                Err(Failure {
                    answer,
                    what: "salesforce: update Task",
                })
            };
        }
        // Settable on create only.
        task["TaskSubtype"] = json!("Call");
        let answer = self
            .call(session, Method::POST, &format!("{base}/"), Some(task))
            .await;
        let id = ok(&answer)
            .then(|| answer_json(&answer))
            .flatten()
            .and_then(|v| v["id"].as_str().map(str::to_string));
        match id {
            Some(id) => Ok((answer, id)),
            None => Err(Failure {
                answer,
                what: "salesforce: create Task",
            }),
        }
    }
}

fn ok(answer: &ApiAnswer) -> bool {
    answer.status.is_some_and(|s| (200..300).contains(&s))
}

/// 401 with `INVALID_SESSION_ID`: the token expired or was revoked.
fn session_expired(answer: &ApiAnswer) -> bool {
    answer.status == Some(401)
        && answer_json(answer).is_some_and(|v| {
            v.as_array()
                .into_iter()
                .flatten()
                .any(|e| e["errorCode"] == "INVALID_SESSION_ID")
        })
}

impl CrmWriter for Salesforce {
    async fn write(&self, target: &CrmTarget<'_>, activity: &Activity) -> Written {
        let attempt = Attempt::start();
        let CrmConfig::Salesforce(sf) = target.config else {
            return attempt.wrong_kind("Salesforce");
        };
        let key = target.cache_key;
        let result: Result<(ApiAnswer, String), Failure> = async {
            let (session, fresh) = match self.cached(key) {
                Some(s) => (s, false),
                None => (self.sign_in(key, target.base_url, sf).await?, true),
            };
            match self.write_with(&session, sf, target, activity).await {
                Err(f) if !fresh && session_expired(&f.answer) => {
                    // Once: a token that expires again at once will not be fixed by a third.
                    let session = self.sign_in(key, target.base_url, sf).await?;
                    self.write_with(&session, sf, target, activity).await
                }
                other => other,
            }
        }
        .await;
        match result {
            Ok((answer, id)) => attempt.written(&answer, id),
            Err(Failure { answer, what }) => {
                if session_expired(&answer) {
                    if let Ok(mut sessions) = self.sessions.lock() {
                        sessions.remove(key);
                    }
                }
                let detail = error_detail(&answer);
                attempt.failed(&answer, what, detail, None)
            }
        }
    }
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The Task's fields (`TaskSubtype` is added on create only).
pub fn task(a: &Activity) -> Value {
    json!({
        "Subject": cut(&format!("Call: {}", a.title), SUBJECT_CHARS),
        "Status": "Completed",
        "ActivityDate": a.local_date,
        "CallType": if a.inbound { "Inbound" } else { "Outbound" },
        "CallDurationInSeconds": a.duration_seconds,
        "CallObject": format!("kiku:{}", a.call_id),
        "CallDisposition": if a.answered { "Answered" } else { "No answer" },
        "Description": cut(&a.description(), DESCRIPTION_CHARS),
    })
}

/// Salesforce's error JSON as one line: `[{"message", "errorCode"}]` → `CODE: message`;
/// the token endpoint's `{"error", "error_description"}` likewise.
fn error_detail(answer: &ApiAnswer) -> Option<String> {
    let v = answer_json(answer)?;
    if let Some(error) = v["error"].as_str() {
        let description = v["error_description"].as_str().unwrap_or_default();
        return Some(format!("{error}: {description}"));
    }
    let lines: Vec<String> = v
        .as_array()?
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["errorCode"].as_str().unwrap_or("ERROR"),
                e["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> ApiAnswer {
        ApiAnswer {
            status: Some(status),
            headers: Default::default(),
            body: body.into(),
            error: None,
            latency_ms: 0,
        }
    }

    #[test]
    fn an_expired_session_and_salesforce_errors_are_recognised() {
        let expired =
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        assert!(session_expired(&answer(401, expired)));
        assert!(!session_expired(&answer(403, expired)));
        assert!(!session_expired(&answer(
            401,
            r#"[{"errorCode":"INSUFFICIENT_ACCESS"}]"#
        )));
        assert_eq!(
            error_detail(&answer(401, expired)).as_deref(),
            Some("INVALID_SESSION_ID: Session expired or invalid")
        );
        let token =
            r#"{"error":"invalid_client","error_description":"invalid client credentials"}"#;
        assert_eq!(
            error_detail(&answer(400, token)).as_deref(),
            Some("invalid_client: invalid client credentials")
        );
    }
}
