//! Companies, users and sign-in: argon2id passwords and opaque session tokens.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use kiku_domain::{CompanyId, UserId};
use kiku_storage::{Company, NewUser, User, UserPatch};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::LazyLock;

use super::sign_in_throttle::AccountKey;
use super::{abuse, App, AppError};

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

/// A hash of a random password with the same parameters as real ones, made once: an
/// e-mail without an account (or without a password) is checked against it, so it costs
/// the same Argon2 work as a real account and the time does not tell them apart.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let password: [u8; 16] = rand::random();
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(&password, &salt)
        .map(|h| h.to_string())
        .ok()
});

/// What checking a password against every account of an e-mail found.
#[derive(Debug, PartialEq, Eq)]
pub struct Verification {
    /// The oldest account whose password matched, by its index in the list given.
    pub matched: Option<usize>,
    /// Argon2 verifications run: one per account, and one against the dummy hash when
    /// there are none, so an unknown e-mail costs what a known one does.
    pub argon2_runs: usize,
}

/// Checks `password` against each stored hash (oldest account first), without stopping at
/// a match so the time does not show which one matched.
pub fn verify_all(hashes: &[Option<String>], password: &str) -> Verification {
    let runs = std::cell::Cell::new(0);
    let check = |stored: Option<&str>| {
        stored
            .and_then(|s| PasswordHash::new(s).ok())
            .is_some_and(|hash| {
                runs.set(runs.get() + 1);
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
    };
    let dummy = DUMMY_HASH.as_deref();
    if hashes.is_empty() {
        check(dummy);
    }
    let mut matched = None;
    for (i, stored) in hashes.iter().enumerate() {
        // An account without a password costs the same work and never matches.
        let ok = match stored {
            Some(s) => check(Some(s)),
            None => {
                check(dummy);
                false
            }
        };
        if ok && matched.is_none() {
            matched = Some(i);
        }
    }
    Verification {
        matched,
        argon2_runs: runs.get(),
    }
}

/// Why a sign-in was refused, as logged.
#[derive(Clone, Copy)]
enum Refusal {
    Unknown,
    WrongPassword,
    Throttled,
    Locked,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown",
            Refusal::WrongPassword => "wrong_password",
            Refusal::Throttled => "throttled",
            Refusal::Locked => "locked",
        }
    }
}

fn log_refusal(client: Option<IpAddr>, account: AccountKey, reason: Refusal) {
    let client = client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    tracing::warn!(client = %client, account = %account.tag(), reason = reason.as_str(), "sign-in refused");
}

/// Checks e-mail and password; the same error whichever was wrong. Several companies may
/// have a user with the same e-mail: the oldest whose password matches signs in. Failures
/// are throttled per account and per client address (`client`, when known).
pub async fn sign_in(
    app: &App,
    email: &str,
    password: &str,
    client: Option<IpAddr>,
) -> Result<Session, AppError> {
    let account = AccountKey::of(email);
    if let Err(locked) = abuse::check_lockout(app, &account).await {
        log_refusal(client, account, Refusal::Locked);
        return Err(locked);
    }
    let attempt = match app.sign_in_throttle.begin(account, client, app.clock.now()) {
        Ok(attempt) => attempt,
        Err(retry_after_seconds) => {
            log_refusal(client, account, Refusal::Throttled);
            return Err(AppError::RateLimited {
                message: format!(
                    "too many failed sign-ins; try again in {retry_after_seconds} seconds"
                ),
                retry_after_seconds,
            });
        }
    };
    // An over-long password is refused before any lookup or work, whoever the account.
    let verified = if password.chars().count() > MAX_PASSWORD_CHARS {
        Err(Refusal::WrongPassword)
    } else {
        let mut candidates = app.store.users_by_email(email).await?;
        let hashes: Vec<Option<String>> = candidates.iter().map(|(_, h)| h.clone()).collect();
        let known = hashes.iter().any(Option::is_some);
        let password = password.to_string();
        let verification = password_work(move || verify_all(&hashes, &password)).await?;
        match verification.matched {
            Some(i) if i < candidates.len() => Ok(candidates.swap_remove(i).0),
            _ if known => Err(Refusal::WrongPassword),
            _ => Err(Refusal::Unknown),
        }
    };
    let user = match verified {
        Ok(user) => user,
        Err(reason) => {
            app.sign_in_throttle.failed(attempt);
            log_refusal(client, account, reason);
            // The answer stays 401 even when this failure locked the account; the next
            // attempt gets the 429.
            abuse::failed_sign_in(app, &account).await?;
            return Err(AppError::WrongCredentials);
        }
    };
    app.sign_in_throttle.succeeded(attempt);
    abuse::signed_in(app, &account).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(password: &str) -> Option<String> {
        let salt = SaltString::generate(&mut OsRng);
        Some(
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .expect("hash")
                .to_string(),
        )
    }

    #[test]
    fn unknown_e_mails_cost_the_same_argon2_work_as_known_ones() {
        let real = hash("right password");
        let none = verify_all(&[], "right password");
        let no_password = verify_all(&[None], "right password");
        let wrong = verify_all(std::slice::from_ref(&real), "wrong password");
        let right = verify_all(std::slice::from_ref(&real), "right password");
        for v in [&none, &no_password, &wrong, &right] {
            assert_eq!(v.argon2_runs, 1, "{v:?}");
        }
        assert_eq!(right.matched, Some(0));
        assert_eq!(
            (none.matched, no_password.matched, wrong.matched),
            (None, None, None)
        );
    }

    #[test]
    fn the_dummy_hash_has_the_parameters_of_real_ones() {
        let dummy = DUMMY_HASH.as_deref().expect("dummy hash");
        let dummy = PasswordHash::new(dummy).expect("parses");
        let real = hash("x").expect("hash");
        let real = PasswordHash::new(&real).expect("parses");
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
    }

    #[test]
    fn every_account_of_an_e_mail_is_checked_and_the_oldest_match_wins() {
        let (a, b) = (hash("password a"), hash("password b"));
        let v = verify_all(&[a.clone(), b.clone(), b.clone(), None], "password b");
        assert_eq!(
            v,
            Verification {
                matched: Some(1),
                argon2_runs: 4
            }
        );
        let v = verify_all(&[a, b], "password c");
        assert_eq!(
            v,
            Verification {
                matched: None,
                argon2_runs: 2
            }
        );
    }
}
