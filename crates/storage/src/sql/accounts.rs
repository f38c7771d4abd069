//! Companies, users, sessions and the Incoming Webhook secret.

use async_trait::async_trait;
use kiku_domain::{CompanyId, UserId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

use super::{from_ms, is_unique_violation, ms, parsed, placeholders, Dialect, SqlStore};
use crate::{
    AccountStore, Company, NewUser, Result, StorageError, User, UserPatch, WebhookSecret,
    WebhookUrlStore,
};

const USER_COLUMNS: &str =
    "id, company_id, name, email, is_admin, use_incoming_webhook, created_at_ms";

fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: parsed(row, "id")?,
        company_id: parsed(row, "company_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        admin: row.try_get::<i64, _>("is_admin")? != 0,
        use_incoming_webhook: row.try_get::<i64, _>("use_incoming_webhook")? != 0,
        created_at: from_ms(row.try_get("created_at_ms")?)?,
    })
}

async fn insert_user(tx: &mut Transaction<'_, Any>, user: NewUser) -> Result<User> {
    let id = UserId::new();
    let email = user.email.trim().to_lowercase();
    sqlx::query(
        "INSERT INTO users (id, company_id, name, email, password_hash, is_admin, use_incoming_webhook, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(user.company_id.to_string())
    .bind(&user.name)
    .bind(&email)
    .bind(user.password_hash)
    .bind(i64::from(user.admin))
    .bind(i64::from(user.use_incoming_webhook))
    .bind(ms(user.created_at))
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StorageError::Conflict("a user with this e-mail already exists in this company".into())
        } else {
            e.into()
        }
    })?;
    Ok(User {
        id,
        company_id: user.company_id,
        name: user.name,
        email,
        admin: user.admin,
        use_incoming_webhook: user.use_incoming_webhook,
        created_at: user.created_at,
    })
}

/// Refuses to take the admin right from `user` when no other admin of `company` would be
/// left. The company row is locked first (PostgreSQL), so two admins demoting each other
/// at once are decided one after the other; SQLite's single writer serialises them anyway.
async fn keep_an_admin(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    company: CompanyId,
    user: UserId,
) -> Result<()> {
    sqlx::query(&format!(
        "SELECT id FROM companies WHERE id = $1 {}",
        dialect.lock_row()
    ))
    .bind(company.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM users WHERE company_id = $1 AND id = $2 AND is_admin = 1) AS is_admin, \
           (SELECT COUNT(*) FROM users WHERE company_id = $1 AND id <> $2 AND is_admin = 1) AS others",
    )
    .bind(company.to_string())
    .bind(user.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let is_admin: i64 = row.try_get("is_admin")?;
    let others: i64 = row.try_get("others")?;
    if is_admin > 0 && others == 0 {
        return Err(StorageError::Conflict(
            "this is the company's last admin; make another user admin first".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_company(&self, name: &str, admin: NewUser) -> Result<(Company, User)> {
        let company = Company {
            id: admin.company_id,
            name: name.to_string(),
            created_at: admin.created_at,
        };
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO companies (id, name, created_at_ms) VALUES ($1, $2, $3)")
            .bind(company.id.to_string())
            .bind(name)
            .bind(ms(company.created_at))
            .execute(&mut *tx)
            .await?;
        let user = insert_user(&mut tx, admin).await?;
        tx.commit().await?;
        Ok((company, user))
    }

    async fn company(&self, id: CompanyId) -> Result<Option<Company>> {
        let row = sqlx::query("SELECT id, name, created_at_ms FROM companies WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| {
            Ok(Company {
                id: parsed(&row, "id")?,
                name: row.try_get("name")?,
                created_at: from_ms(row.try_get("created_at_ms")?)?,
            })
        })
        .transpose()
    }

    async fn company_ids(&self) -> Result<Vec<CompanyId>> {
        let rows = sqlx::query("SELECT id FROM companies ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| parsed(row, "id")).collect()
    }

    async fn create_user(&self, user: NewUser) -> Result<User> {
        let mut tx = self.write.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM companies WHERE id = $1")
            .bind(user.company_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StorageError::NotFound("no such company".into()));
        }
        let user = insert_user(&mut tx, user).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn users(&self, company: CompanyId) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE company_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(company.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn user(&self, company: CompanyId, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE company_id = $1 AND id = $2"
        ))
        .bind(company.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<(User, Option<String>)>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1 ORDER BY created_at_ms, id"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok((user_from_row(row)?, row.try_get("password_hash")?)))
            .collect()
    }

    async fn update_user(
        &self,
        company: CompanyId,
        id: UserId,
        patch: UserPatch,
    ) -> Result<Option<User>> {
        let mut tx = self.write.begin().await?;
        if patch.admin == Some(false) {
            keep_an_admin(&mut tx, self.dialect, company, id).await?;
        }
        if let Some(admin) = patch.admin {
            sqlx::query("UPDATE users SET is_admin = $1 WHERE company_id = $2 AND id = $3")
                .bind(i64::from(admin))
                .bind(company.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(permitted) = patch.use_incoming_webhook {
            sqlx::query(
                "UPDATE users SET use_incoming_webhook = $1 WHERE company_id = $2 AND id = $3",
            )
            .bind(i64::from(permitted))
            .bind(company.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE company_id = $1 AND id = $2"
        ))
        .bind(company.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn webhook_users(&self, company: CompanyId, ids: &[UserId]) -> Result<Vec<UserId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id FROM users WHERE company_id = $1 AND use_incoming_webhook = 1 AND id IN ({})",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query(&sql).bind(company.to_string());
        for id in ids {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(|row| parsed(row, "id")).collect()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at_ms, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user.to_string())
            .bind(ms(expires_at))
            .bind(ms(OffsetDateTime::now_utc()))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<User>> {
        let sql = "SELECT u.id, u.company_id, u.name, u.email, u.is_admin, u.use_incoming_webhook, u.created_at_ms \
                   FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at_ms > $2";
        let row = sqlx::query(sql)
            .bind(token_hash)
            .bind(ms(now))
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl WebhookUrlStore for SqlStore {
    async fn create_webhook_secret(
        &self,
        company: CompanyId,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<WebhookSecret> {
        let secret_hash = kiku_domain::webhook_secret::hash(secret);
        sqlx::query(
            "INSERT INTO incoming_webhooks (company_id, secret_hash, created_at_ms) VALUES ($1, $2, $3)",
        )
        .bind(company.to_string())
        .bind(&secret_hash)
        .bind(ms(now))
        .execute(&self.write)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StorageError::Conflict(
                    "the company already has an Incoming Webhook URL; delete it first".into(),
                )
            } else {
                e.into()
            }
        })?;
        Ok(WebhookSecret {
            company_id: company,
            secret_hash,
            created_at: now,
        })
    }

    async fn webhook_secret(&self, company: CompanyId) -> Result<Option<WebhookSecret>> {
        let row = sqlx::query(
            "SELECT secret_hash, created_at_ms FROM incoming_webhooks WHERE company_id = $1",
        )
        .bind(company.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| {
            Ok(WebhookSecret {
                company_id: company,
                secret_hash: row.try_get("secret_hash")?,
                created_at: from_ms(row.try_get("created_at_ms")?)?,
            })
        })
        .transpose()
    }

    async fn delete_webhook_secret(&self, company: CompanyId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM incoming_webhooks WHERE company_id = $1")
            .bind(company.to_string())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
