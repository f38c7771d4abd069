//! Companies, users and sign-in: argon2id passwords and opaque session tokens.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use kiku_domain::{CompanyId, UserId};
use kiku_storage::{Company, NewUser, User, UserPatch};
use sha2::{Digest, Sha256};

use super::{App, AppError};

/// What creating a user needs; the password is optional (such a user cannot sign in).
pub struct UserInput {
    pub name: String,
    pub email: String,
    pub password: Option<String>,
    pub admin: bool,
    pub use_incoming_webhook: bool,
}

/// A signed-in session: the token goes to the client once; only its hash is stored.
pub struct Session {
    pub token: String,
    pub user: User,
    pub expires_at: time::OffsetDateTime,
}

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 1024;

fn checked(input: &UserInput) -> Result<(), AppError> {
    let name_len = input.name.trim().chars().count();
    if name_len == 0 || name_len > 255 {
        return Err(AppError::InvalidRequest(
            "name must be 1 to 255 characters long".into(),
        ));
    }
    let email = input.email.trim();
    let plausible = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.contains(char::is_whitespace);
    if !plausible {
        return Err(AppError::InvalidRequest(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    if let Some(p) = &input.password {
        let n = p.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
            return Err(AppError::InvalidRequest(format!(
                "password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long"
            )));
        }
    }
    Ok(())
}

/// Each argon2 run takes ~19 MiB and tens of milliseconds of CPU: at most this many run at
/// once, off the async threads, so a burst of sign-ins can neither exhaust memory nor
/// stall other requests.
static PASSWORD_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

async fn password_work<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let _permit = PASSWORD_WORK.acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)
}

async fn hash_password(password: String) -> Result<String, AppError> {
    password_work(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))
}

async fn new_user(app: &App, company: CompanyId, input: UserInput) -> Result<NewUser, AppError> {
    checked(&input)?;
    let password_hash = match input.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    Ok(NewUser {
        company_id: company,
        name: input.name.trim().to_string(),
        email: input.email.trim().to_string(),
        password_hash,
        admin: input.admin,
        use_incoming_webhook: input.use_incoming_webhook,
        created_at: app.clock.now(),
    })
}

/// Bootstraps a company and its first admin.
pub async fn create_company(
    app: &App,
    name: &str,
    admin: UserInput,
) -> Result<(Company, User), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(AppError::InvalidRequest(
            "company name must be 1 to 255 characters long".into(),
        ));
    }
    if admin.password.is_none() {
        return Err(AppError::InvalidRequest(
            "the first admin needs a password".into(),
        ));
    }
    let admin = new_user(
        app,
        CompanyId::new(),
        UserInput {
            admin: true,
            ..admin
        },
    )
    .await?;
    Ok(app.store.create_company(name, admin).await?)
}

pub async fn create_user(
    app: &App,
    company: CompanyId,
    input: UserInput,
) -> Result<User, AppError> {
    let user = new_user(app, company, input).await?;
    Ok(app.store.create_user(user).await?)
}

pub async fn update_user(
    app: &App,
    company: CompanyId,
    id: UserId,
    patch: UserPatch,
) -> Result<User, AppError> {
    app.store
        .update_user(company, id, patch)
        .await?
        .ok_or_else(|| AppError::NotFound("no such user in this company".into()))
}

pub async fn users(app: &App, company: CompanyId) -> Result<Vec<User>, AppError> {
    if app.store.company(company).await?.is_none() {
        return Err(AppError::NotFound("no such company".into()));
    }
    Ok(app.store.users(company).await?)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks e-mail and password; the same error whichever was wrong.
pub async fn sign_in(app: &App, email: &str, password: &str) -> Result<Session, AppError> {
    let refused = || AppError::WrongCredentials;
    // Interim: the oldest account with this e-mail (sign-in checks them all later on).
    let Some((user, Some(stored))) = app.store.users_by_email(email).await?.into_iter().next()
    else {
        return Err(refused());
    };
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(refused());
    }
    let password = password.to_string();
    let verified = password_work(move || {
        PasswordHash::new(&stored).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    })
    .await?;
    if !verified {
        return Err(refused());
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let expires_at = app.clock.now() + app.session_ttl;
    app.store
        .create_session(&token_hash(&token), user.id, expires_at)
        .await?;
    Ok(Session {
        token,
        user,
        expires_at,
    })
}

pub async fn sign_out(app: &App, token: &str) -> Result<(), AppError> {
    Ok(app.store.delete_session(&token_hash(token)).await?)
}

/// The user a session token belongs to, if it is still valid.
pub async fn authenticate(app: &App, token: &str) -> Result<User, AppError> {
    app.store
        .session_user(&token_hash(token), app.clock.now())
        .await?
        .ok_or(AppError::Unauthenticated)
}
