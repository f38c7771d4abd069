//! Outgoing webhook endpoints and their delivery log in SQL (both dialects).

use async_trait::async_trait;
use kiku_domain::{CompanyId, OutgoingWebhookId};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};
use time::OffsetDateTime;

use super::delivery_log::{self, record_attempts};
use super::{
    answer_status, cursor_binds, from_ms, is_foreign_key_violation, ms, parsed, parsed_optional,
    SqlStore,
};
use crate::secrets::Slot;
use crate::{
    DeliveryEffect, DeliveryFilter, FinishedDelivery, NewOutgoingDelivery, NewOutgoingWebhook,
    OutgoingDelivery, OutgoingWebhook, OutgoingWebhookPatch, OutgoingWebhookStore, Result,
    SecretKeys, StorageError,
};

const SECRET: &str = "outgoing_webhooks.secret";
const PREVIOUS_SECRET: &str = "outgoing_webhooks.previous_secret";

const COLUMNS: &str = "id, company_id, name, url, headers, payload, exclude_phrases, \
    exclude_keywords, enabled, events, secret, previous_secret, previous_secret_until_ms, \
    disabled_reason, failing_since_ms, last_success_ms, created_at_ms, updated_at_ms";

fn json_column(row: &AnyRow, column: &str) -> Result<Value> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|_| StorageError::corrupt(format!("{column} = {text:?}")))
}

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<OffsetDateTime>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(from_ms)
        .transpose()
}

fn endpoint(row: &AnyRow, keys: &SecretKeys) -> Result<OutgoingWebhook> {
    let events = json_column(row, "events")?;
    let events = serde_json::from_value(events).map_err(|_| StorageError::corrupt("events"))?;
    let id: OutgoingWebhookId = parsed(row, "id")?;
    let company_id: CompanyId = parsed(row, "company_id")?;
    let row_id = id.to_string();
    let slot = |column| Slot {
        column,
        company: company_id,
        row: &row_id,
    };
    let secret: String = row.try_get("secret")?;
    let previous_secret: Option<String> = row.try_get("previous_secret")?;
    Ok(OutgoingWebhook {
        id,
        company_id,
        name: row.try_get("name")?,
        url: row.try_get("url")?,
        headers: json_column(row, "headers")?,
        payload: json_column(row, "payload")?,
        exclude_phrases: row.try_get::<i64, _>("exclude_phrases")? != 0,
        exclude_keywords: row.try_get::<i64, _>("exclude_keywords")? != 0,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        events,
        secret: keys.open(&secret, slot(SECRET))?,
        previous_secret: previous_secret
            .map(|p| keys.open(&p, slot(PREVIOUS_SECRET)))
            .transpose()?,
        previous_secret_until: optional_time(row, "previous_secret_until_ms")?,
        disabled_reason: row.try_get("disabled_reason")?,
        failing_since: optional_time(row, "failing_since_ms")?,
        last_success: optional_time(row, "last_success_ms")?,
        created_at: from_ms(row.try_get("created_at_ms")?)?,
        updated_at: from_ms(row.try_get("updated_at_ms")?)?,
    })
}

fn delivery(row: &AnyRow) -> Result<OutgoingDelivery> {
    let call_id = parsed_optional(row, "call_id")?;
    let number = |column: &str| -> Result<i64> { Ok(row.try_get::<i64, _>(column)?) };
    let status = answer_status(row)?;
    Ok(OutgoingDelivery {
        id: parsed(row, "id")?,
        endpoint_id: parsed(row, "endpoint_id")?,
        company_id: parsed(row, "company_id")?,
        event_id: row.try_get("event_id")?,
        call_id,
        attempt: u32::try_from(number("attempt")?).map_err(|_| StorageError::corrupt("attempt"))?,
        attempted_at: from_ms(number("attempted_at_ms")?)?,
        status,
        latency_ms: u64::try_from(number("latency_ms")?).unwrap_or_default(),
        response_head: row.try_get("response_head")?,
        error: row.try_get("error")?,
        replay: number("replay")? != 0,
    })
}

fn bool_int(b: bool) -> i64 {
    i64::from(b)
}

/// The company's enabled endpoints subscribed to `event_type`: who an event is delivered
/// to. Their secrets are not read here (an event only queues a job per endpoint).
pub(super) async fn subscribers(
    conn: &mut AnyConnection,
    company: CompanyId,
    event_type: &str,
) -> Result<Vec<OutgoingWebhookId>> {
    let enabled = sqlx::query(
        "SELECT id, events FROM outgoing_webhooks WHERE company_id = $1 AND enabled = 1 \
         ORDER BY created_at_ms, id",
    )
    .bind(company.to_string())
    .fetch_all(&mut *conn)
    .await?;
    // Events are a JSON array in TEXT; a company has few endpoints, filtered here.
    let mut subscribed = Vec::new();
    for row in &enabled {
        let events: Vec<String> = serde_json::from_value(json_column(row, "events")?)
            .map_err(|_| StorageError::corrupt("events"))?;
        if events.iter().any(|t| t == event_type) {
            subscribed.push(parsed(row, "id")?);
        }
    }
    Ok(subscribed)
}

async fn fetch(
    tx: &mut Transaction<'static, Any>,
    keys: &SecretKeys,
    company: CompanyId,
    id: OutgoingWebhookId,
) -> Result<Option<OutgoingWebhook>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM outgoing_webhooks WHERE company_id = $1 AND id = $2"
    ))
    .bind(company.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(|row| endpoint(row, keys))
    .transpose()
}

#[async_trait]
impl OutgoingWebhookStore for SqlStore {
    async fn create_outgoing_webhook(&self, new: &NewOutgoingWebhook) -> Result<OutgoingWebhook> {
        let id = OutgoingWebhookId::new();
        let now = ms(new.now);
        sqlx::query(
            "INSERT INTO outgoing_webhooks (id, company_id, name, url, headers, payload, \
             exclude_phrases, exclude_keywords, enabled, events, secret, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(id.to_string())
        .bind(new.company_id.to_string())
        .bind(&new.name)
        .bind(&new.url)
        .bind(new.headers.to_string())
        .bind(new.payload.to_string())
        .bind(bool_int(new.exclude_phrases))
        .bind(bool_int(new.exclude_keywords))
        .bind(bool_int(new.enabled))
        .bind(Value::from(new.events.clone()).to_string())
        .bind(self.secrets.seal(
            &new.secret,
            Slot {
                column: SECRET,
                company: new.company_id,
                row: &id.to_string(),
            },
        ))
        .bind(now)
        .execute(&self.write)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                StorageError::NotFound(format!("company {}", new.company_id))
            } else {
                e.into()
            }
        })?;
        let mut tx = self.read.begin().await?;
        let created = fetch(&mut tx, &self.secrets, new.company_id, id).await?;
        tx.commit().await?;
        created.ok_or_else(|| StorageError::corrupt("outgoing webhook vanished after insert"))
    }

    async fn outgoing_webhooks(&self, company: CompanyId) -> Result<Vec<OutgoingWebhook>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outgoing_webhooks WHERE company_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(company.to_string())
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| endpoint(row, &self.secrets))
        .collect()
    }

    async fn outgoing_webhook(
        &self,
        company: CompanyId,
        id: OutgoingWebhookId,
    ) -> Result<Option<OutgoingWebhook>> {
        let mut tx = self.read.begin().await?;
        let found = fetch(&mut tx, &self.secrets, company, id).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn update_outgoing_webhook(
        &self,
        company: CompanyId,
        id: OutgoingWebhookId,
        patch: &OutgoingWebhookPatch,
        now: OffsetDateTime,
    ) -> Result<Option<OutgoingWebhook>> {
        // COALESCE keeps the stored value for every field the patch leaves out.
        let enabling = patch.enabled == Some(true);
        let done = sqlx::query(
            "UPDATE outgoing_webhooks SET name = COALESCE($3, name), url = COALESCE($4, url), \
             headers = COALESCE($5, headers), payload = COALESCE($6, payload), \
             exclude_phrases = COALESCE($7, exclude_phrases), \
             exclude_keywords = COALESCE($8, exclude_keywords), enabled = COALESCE($9, enabled), \
             events = COALESCE($10, events), \
             disabled_reason = CASE WHEN $11 = 1 THEN NULL ELSE disabled_reason END, \
             failing_since_ms = CASE WHEN $11 = 1 THEN NULL ELSE failing_since_ms END, \
             updated_at_ms = $12 WHERE company_id = $1 AND id = $2",
        )
        .bind(company.to_string())
        .bind(id.to_string())
        .bind(patch.name.clone())
        .bind(patch.url.clone())
        .bind(patch.headers.as_ref().map(Value::to_string))
        .bind(patch.payload.as_ref().map(Value::to_string))
        .bind(patch.exclude_phrases.map(bool_int))
        .bind(patch.exclude_keywords.map(bool_int))
        .bind(patch.enabled.map(bool_int))
        .bind(patch.events.clone().map(|e| Value::from(e).to_string()))
        .bind(bool_int(enabling))
        .bind(ms(now))
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.outgoing_webhook(company, id).await
    }

    async fn delete_outgoing_webhook(
        &self,
        company: CompanyId,
        id: OutgoingWebhookId,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "DELETE FROM outgoing_webhook_deliveries WHERE company_id = $1 AND endpoint_id = $2",
        )
        .bind(company.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM outgoing_webhooks WHERE company_id = $1 AND id = $2")
            .bind(company.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn rotate_outgoing_webhook_secret(
        &self,
        company: CompanyId,
        id: OutgoingWebhookId,
        secret: &str,
        previous_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<OutgoingWebhook>> {
        // The current secret becomes the previous one: decrypted and encrypted again for
        // its new column (a ciphertext only opens where it was written).
        let mut tx = self.write.begin().await?;
        // Two rotations at once: the second waits and moves the first's secret along.
        sqlx::query(&format!(
            "SELECT id FROM outgoing_webhooks WHERE company_id = $1 AND id = $2 {}",
            self.dialect.lock_row()
        ))
        .bind(company.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = fetch(&mut tx, &self.secrets, company, id).await? else {
            return Ok(None);
        };
        let row = id.to_string();
        let slot = |column| Slot {
            column,
            company,
            row: &row,
        };
        sqlx::query(
            "UPDATE outgoing_webhooks SET previous_secret = $3, secret = $4, \
             previous_secret_until_ms = $5, updated_at_ms = $6 WHERE company_id = $1 AND id = $2",
        )
        .bind(company.to_string())
        .bind(id.to_string())
        .bind(self.secrets.seal(&current.secret, slot(PREVIOUS_SECRET)))
        .bind(self.secrets.seal(secret, slot(SECRET)))
        .bind(ms(previous_until))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        let rotated = fetch(&mut tx, &self.secrets, company, id).await?;
        tx.commit().await?;
        Ok(rotated)
    }

    async fn outgoing_webhooks_for_event(
        &self,
        company: CompanyId,
        event_type: &str,
    ) -> Result<Vec<OutgoingWebhook>> {
        Ok(self
            .outgoing_webhooks(company)
            .await?
            .into_iter()
            .filter(|e| e.enabled && e.events.iter().any(|t| t == event_type))
            .collect())
    }

    async fn record_outgoing_delivery(
        &self,
        a: &NewOutgoingDelivery,
        effect: &DeliveryEffect,
    ) -> Result<Option<OutgoingWebhook>> {
        let mut tx = self.write.begin().await?;
        if record_attempts(&mut tx, self.dialect, &[(a, effect)]).await? != [true] {
            return Ok(None);
        }
        let after = fetch(&mut tx, &self.secrets, a.company_id, a.endpoint_id).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn finish_deliveries(
        &self,
        finished: &[FinishedDelivery],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>> {
        let mut tx = self.write.begin().await?;
        let held = delivery_log::finish(&mut tx, self.dialect, finished, now).await?;
        tx.commit().await?;
        Ok(held)
    }

    async fn outgoing_deliveries(
        &self,
        company: CompanyId,
        filter: &DeliveryFilter,
    ) -> Result<Vec<OutgoingDelivery>> {
        let (before_ms, before_id) = cursor_binds(filter.before);
        sqlx::query(
            "SELECT id, endpoint_id, company_id, event_id, call_id, attempt, attempted_at_ms, \
             status, latency_ms, response_head, error, replay FROM outgoing_webhook_deliveries \
             WHERE company_id = $1 AND ($2 IS NULL OR endpoint_id = $2) \
             AND ($3 IS NULL OR call_id = $3) \
             AND ($4 IS NULL OR attempted_at_ms < $4 OR (attempted_at_ms = $4 AND id < $5)) \
             ORDER BY attempted_at_ms DESC, id DESC LIMIT $6",
        )
        .bind(company.to_string())
        .bind(filter.endpoint.map(|e| e.to_string()))
        .bind(filter.call.map(|c| c.to_string()))
        .bind(before_ms)
        .bind(before_id)
        .bind(i64::from(filter.limit))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(delivery)
        .collect()
    }
}
