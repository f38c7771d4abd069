//! `kiku secrets reencrypt`: after a key rotation (a new `secrets_key`, the old one moved
//! to `secrets_old_keys`), rewrites every secret stored in the database under the new key,
//! so the old one can be dropped from the configuration.

use clap::Subcommand;
use serde_json::{json, Value};

use crate::app::{App, AppError};

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Rewrite every stored secret under `secrets_key`; prints the counts.
    Reencrypt,
}

pub async fn run(app: &App, command: SecretsCommand) -> Result<Value, AppError> {
    let SecretsCommand::Reencrypt = command;
    let counts = app.store.reencrypt_secrets().await?;
    Ok(json!({
        "key_id": counts.key_id,
        "reencrypted": counts.reencrypted,
        "already_current": counts.already_current,
        "encrypted_from_plain_text": counts.encrypted_from_plain_text,
        "webhook_secrets_hashed": counts.webhook_secrets_hashed,
    }))
}
