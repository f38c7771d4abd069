//! Slack rules, e-mail recipients and opt-ins, and the notification attempt log (Slack,
//! e-mail, CRM records) in SQL (both dialects).

use async_trait::async_trait;
use kiku_domain::{CompanyId, NotificationAttemptId, SlackRuleId, UserId};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::crm::{keep_record, release_claim};
use super::jobs::settle_held_job;
use super::{
    answer_status, cursor_binds, from_ms, is_foreign_key_violation, ms, parsed, parsed_optional,
    SqlStore,
};
use crate::secrets::Slot;
use crate::{
    AttemptFilter, FinishedNotification, NewSlackRule, NotificationAttempt, NotificationStore,
    Result, SecretKeys, SlackRule, SlackRulePatch, StorageError, UserNotifications,
};

const WEBHOOK_URL: &str = "slack_rules.webhook_url";

const RULE_COLUMNS: &str = "id, company_id, name, webhook_url, enabled, include_summary, filters, \
    created_at_ms, updated_at_ms";

const ATTEMPT_COLUMNS: &str = "id, company_id, call_id, event_id, channel, slack_rule_id, target, \
    attempt, attempted_at_ms, status, latency_ms, response_head, error, outcome, replay, \
    crm_connection_id, crm_record_id";

fn rule(row: &AnyRow, keys: &SecretKeys) -> Result<SlackRule> {
    let filters: String = row.try_get("filters")?;
    let id: SlackRuleId = parsed(row, "id")?;
    let company_id: CompanyId = parsed(row, "company_id")?;
    let webhook_url: String = row.try_get("webhook_url")?;
    let slot = Slot {
        column: WEBHOOK_URL,
        company: company_id,
        row: &id.to_string(),
    };
    Ok(SlackRule {
        id,
        company_id,
        name: row.try_get("name")?,
        webhook_url: keys.open(&webhook_url, slot)?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        include_summary: row.try_get::<i64, _>("include_summary")? != 0,
        filters: serde_json::from_str(&filters)
            .map_err(|_| StorageError::corrupt(format!("slack rule filters = {filters:?}")))?,
        created_at: from_ms(row.try_get("created_at_ms")?)?,
        updated_at: from_ms(row.try_get("updated_at_ms")?)?,
    })
}

fn attempt(row: &AnyRow) -> Result<NotificationAttempt> {
    let number = |column: &str| -> Result<i64> { Ok(row.try_get::<i64, _>(column)?) };
    let status = answer_status(row)?;
    Ok(NotificationAttempt {
        id: parsed(row, "id")?,
        company_id: parsed(row, "company_id")?,
        call_id: parsed_optional(row, "call_id")?,
        event_id: row.try_get("event_id")?,
        channel: row.try_get("channel")?,
        slack_rule_id: parsed_optional(row, "slack_rule_id")?,
        crm_connection_id: parsed_optional(row, "crm_connection_id")?,
        crm_record_id: row.try_get("crm_record_id")?,
        target: row.try_get("target")?,
        attempt: u32::try_from(number("attempt")?).map_err(|_| StorageError::corrupt("attempt"))?,
        attempted_at: from_ms(number("attempted_at_ms")?)?,
        status,
        latency_ms: u64::try_from(number("latency_ms")?).unwrap_or_default(),
        response_head: row.try_get("response_head")?,
        error: row.try_get("error")?,
        outcome: row.try_get("outcome")?,
        replay: number("replay")? != 0,
    })
}

#[async_trait]
impl NotificationStore for SqlStore {
    async fn create_slack_rule(&self, new: &NewSlackRule) -> Result<SlackRule> {
        let id = SlackRuleId::new();
        sqlx::query(
            "INSERT INTO slack_rules (id, company_id, name, webhook_url, enabled, include_summary, \
             filters, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(id.to_string())
        .bind(new.company_id.to_string())
        .bind(&new.name)
        .bind(self.secrets.seal(
            &new.webhook_url,
            Slot {
                column: WEBHOOK_URL,
                company: new.company_id,
                row: &id.to_string(),
            },
        ))
        .bind(i64::from(new.enabled))
        .bind(i64::from(new.include_summary))
        .bind(new.filters.to_string())
        .bind(ms(new.now))
        .execute(&self.write)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                StorageError::NotFound(format!("company {}", new.company_id))
            } else {
                e.into()
            }
        })?;
        self.slack_rule(new.company_id, id)
            .await?
            .ok_or_else(|| StorageError::corrupt("slack rule vanished after insert"))
    }

    async fn slack_rules(&self, company: CompanyId) -> Result<Vec<SlackRule>> {
        sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM slack_rules WHERE company_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(company.to_string())
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| rule(row, &self.secrets))
        .collect()
    }

    async fn slack_rule(&self, company: CompanyId, id: SlackRuleId) -> Result<Option<SlackRule>> {
        sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM slack_rules WHERE company_id = $1 AND id = $2"
        ))
        .bind(company.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .as_ref()
        .map(|row| rule(row, &self.secrets))
        .transpose()
    }

    async fn update_slack_rule(
        &self,
        company: CompanyId,
        id: SlackRuleId,
        patch: &SlackRulePatch,
        now: OffsetDateTime,
    ) -> Result<Option<SlackRule>> {
        // COALESCE keeps the stored value for every field the patch leaves out.
        let done = sqlx::query(
            "UPDATE slack_rules SET name = COALESCE($3, name), \
             webhook_url = COALESCE($4, webhook_url), enabled = COALESCE($5, enabled), \
             include_summary = COALESCE($6, include_summary), filters = COALESCE($7, filters), \
             updated_at_ms = $8 WHERE company_id = $1 AND id = $2",
        )
        .bind(company.to_string())
        .bind(id.to_string())
        .bind(patch.name.clone())
        .bind(patch.webhook_url.as_ref().map(|url| {
            self.secrets.seal(
                url,
                Slot {
                    column: WEBHOOK_URL,
                    company,
                    row: &id.to_string(),
                },
            )
        }))
        .bind(patch.enabled.map(i64::from))
        .bind(patch.include_summary.map(i64::from))
        .bind(patch.filters.as_ref().map(Value::to_string))
        .bind(ms(now))
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.slack_rule(company, id).await
    }

    async fn delete_slack_rule(&self, company: CompanyId, id: SlackRuleId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM slack_rules WHERE company_id = $1 AND id = $2")
            .bind(company.to_string())
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn email_recipients(&self, company: CompanyId) -> Result<Vec<String>> {
        sqlx::query("SELECT address FROM email_recipients WHERE company_id = $1 ORDER BY position")
            .bind(company.to_string())
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(r.try_get("address")?))
            .collect()
    }

    async fn set_email_recipients(&self, company: CompanyId, addresses: &[String]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM email_recipients WHERE company_id = $1")
            .bind(company.to_string())
            .execute(&mut *tx)
            .await?;
        for (position, address) in addresses.iter().enumerate() {
            sqlx::query(
                "INSERT INTO email_recipients (company_id, address, position) VALUES ($1, $2, $3)",
            )
            .bind(company.to_string())
            .bind(address)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    StorageError::NotFound(format!("company {company}"))
                } else {
                    e.into()
                }
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn user_notifications(
        &self,
        company: CompanyId,
        user: UserId,
    ) -> Result<UserNotifications> {
        let found = sqlx::query(
            "SELECT 1 AS one FROM email_opt_ins WHERE company_id = $1 AND user_id = $2",
        )
        .bind(company.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?;
        Ok(UserNotifications {
            email_on_completion: found.is_some(),
        })
    }

    async fn set_user_notifications(
        &self,
        company: CompanyId,
        user: UserId,
        choice: UserNotifications,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let member = sqlx::query("SELECT 1 AS one FROM users WHERE company_id = $1 AND id = $2")
            .bind(company.to_string())
            .bind(user.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if member.is_none() {
            return Err(StorageError::NotFound(format!("user {user}")));
        }
        sqlx::query("DELETE FROM email_opt_ins WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if choice.email_on_completion {
            sqlx::query(
                "INSERT INTO email_opt_ins (user_id, company_id, created_at_ms) VALUES ($1, $2, $3)",
            )
            .bind(user.to_string())
            .bind(company.to_string())
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn finish_notification(
        &self,
        f: &FinishedNotification,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        // The job first: a worker that lost it writes nothing, not even its attempt.
        if !settle_held_job(&mut tx, f.job, &f.worker, &f.change, now).await? {
            return Ok(false);
        }
        if let Some(a) = &f.attempt {
            sqlx::query(&format!(
                "INSERT INTO notification_attempts ({ATTEMPT_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16, $17)"
            ))
            .bind(NotificationAttemptId::new().to_string())
            .bind(a.company_id.to_string())
            .bind(a.call_id.map(|c| c.to_string()))
            .bind(a.event_id.clone())
            .bind(a.channel.clone())
            .bind(a.slack_rule_id.map(|r| r.to_string()))
            .bind(a.target.clone())
            .bind(i64::from(a.attempt))
            .bind(ms(a.attempted_at))
            .bind(a.status.map(i64::from))
            .bind(i64::try_from(a.latency_ms).unwrap_or(i64::MAX))
            .bind(a.response_head.clone())
            .bind(a.error.clone())
            .bind(a.outcome.clone())
            .bind(i64::from(a.replay))
            .bind(a.crm_connection_id.map(|c| c.to_string()))
            .bind(a.crm_record_id.clone())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(record) = &f.crm_record {
            keep_record(&mut tx, record, now).await?;
        }
        if f.crm_claim {
            release_claim(&mut tx, f.job).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn notification_attempts(
        &self,
        company: CompanyId,
        filter: &AttemptFilter,
    ) -> Result<Vec<NotificationAttempt>> {
        let (before_ms, before_id) = cursor_binds(filter.before);
        sqlx::query(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM notification_attempts WHERE company_id = $1 \
             AND ($2 IS NULL OR call_id = $2) AND ($3 IS NULL OR slack_rule_id = $3) \
             AND ($4 IS NULL OR channel = $4) \
             AND ($5 IS NULL OR attempted_at_ms < $5 OR (attempted_at_ms = $5 AND id < $6)) \
             AND ($8 IS NULL OR crm_connection_id = $8) \
             ORDER BY attempted_at_ms DESC, id DESC LIMIT $7"
        ))
        .bind(company.to_string())
        .bind(filter.call.map(|c| c.to_string()))
        .bind(filter.slack_rule.map(|r| r.to_string()))
        .bind(filter.channel.clone())
        .bind(before_ms)
        .bind(before_id)
        .bind(i64::from(filter.limit))
        .bind(filter.crm_connection.map(|c| c.to_string()))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(attempt)
        .collect()
    }
}
