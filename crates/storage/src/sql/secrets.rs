//! The secrets the database holds, brought to their protected form: each encrypted column
//! (see `crate::secrets`) and the Incoming Webhook secrets' hashes. At every start values
//! still in plain text (written before encryption existed) are encrypted and every
//! encrypted one is checked to open, so a wrong or missing key stops the start with the
//! row it failed on; `reencrypt_secrets` also rewrites values under an old key with the
//! current one. Each rewrite is conditional on the value read, so processes starting
//! together (or a concurrent edit) never overwrite each other.

use kiku_domain::{webhook_secret, CompanyId};
use sqlx::Row;

use super::{parsed, SqlStore};
use crate::secrets::{stored_form, Slot, Stored};
use crate::{Result, SecretCounts};

/// Every encrypted column: `(table, column, slot name)`; rows are named by `id`.
const ENCRYPTED: &[(&str, &str, &str)] = &[
    ("outgoing_webhooks", "secret", "outgoing_webhooks.secret"),
    (
        "outgoing_webhooks",
        "previous_secret",
        "outgoing_webhooks.previous_secret",
    ),
    ("slack_rules", "webhook_url", "slack_rules.webhook_url"),
    (
        "crm_connections",
        "credentials",
        "crm_connections.credentials",
    ),
];

/// Rows read per query.
const PAGE: i64 = 200;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Encrypt plain text, check the rest opens.
    Start,
    /// Also move every value to the current key.
    Reencrypt,
}

impl SqlStore {
    pub(super) async fn protect_stored_secrets(&self) -> Result<()> {
        let counts = self.seal_all(Pass::Start).await?;
        if counts.encrypted_from_plain_text + counts.webhook_secrets_hashed > 0 {
            tracing::info!(
                encrypted = counts.encrypted_from_plain_text,
                hashed = counts.webhook_secrets_hashed,
                "secrets stored in plain text before this version are now protected"
            );
        }
        Ok(())
    }

    pub(super) async fn reencrypt_all(&self) -> Result<SecretCounts> {
        self.seal_all(Pass::Reencrypt).await
    }

    async fn seal_all(&self, pass: Pass) -> Result<SecretCounts> {
        let mut counts = SecretCounts {
            key_id: self.secrets.current_id().to_string(),
            ..SecretCounts::default()
        };
        for &(table, column, slot) in ENCRYPTED {
            self.seal_column(table, column, slot, pass, &mut counts)
                .await?;
        }
        counts.webhook_secrets_hashed = self.hash_webhook_secrets().await?;
        Ok(counts)
    }

    async fn seal_column(
        &self,
        table: &str,
        column: &str,
        slot_name: &'static str,
        pass: Pass,
        counts: &mut SecretCounts,
    ) -> Result<()> {
        let mut after = String::new();
        loop {
            let rows = sqlx::query(&format!(
                "SELECT id, company_id, {column} AS value FROM {table} \
                 WHERE {column} IS NOT NULL AND id > $1 ORDER BY id LIMIT {PAGE}"
            ))
            .bind(&after)
            .fetch_all(&self.write)
            .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.try_get("id")?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let company: CompanyId = parsed(row, "company_id")?;
                let value: String = row.try_get("value")?;
                let slot = Slot {
                    column: slot_name,
                    company,
                    row: &id,
                };
                let plain = match stored_form(&value) {
                    Stored::PlainText => {
                        counts.encrypted_from_plain_text += 1;
                        value.clone()
                    }
                    Stored::Encrypted { key_id } => {
                        let plain = self.secrets.open(&value, slot)?;
                        if pass == Pass::Start || key_id == self.secrets.current_id() {
                            counts.already_current +=
                                u64::from(key_id == self.secrets.current_id());
                            continue;
                        }
                        counts.reencrypted += 1;
                        plain
                    }
                };
                sqlx::query(&format!(
                    "UPDATE {table} SET {column} = $1 WHERE id = $2 AND {column} = $3"
                ))
                .bind(self.secrets.seal(&plain, slot))
                .bind(&id)
                .bind(&value)
                .execute(&self.write)
                .await?;
            }
        }
    }

    /// Hashes the Incoming Webhook secrets still stored as they are (rows from before
    /// migration 0016).
    async fn hash_webhook_secrets(&self) -> Result<u64> {
        let rows = sqlx::query("SELECT company_id, secret_hash FROM incoming_webhooks")
            .fetch_all(&self.write)
            .await?;
        let mut hashed = 0;
        for row in &rows {
            let stored: String = row.try_get("secret_hash")?;
            if webhook_secret::is_hash(&stored) {
                continue;
            }
            let company: String = row.try_get("company_id")?;
            let done = sqlx::query(
                "UPDATE incoming_webhooks SET secret_hash = $1 WHERE company_id = $2 AND secret_hash = $3",
            )
            .bind(webhook_secret::hash(&stored))
            .bind(&company)
            .bind(&stored)
            .execute(&self.write)
            .await?;
            hashed += done.rows_affected();
        }
        Ok(hashed)
    }
}
