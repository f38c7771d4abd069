//! Users of the admin's company: list, create, and switch admin / Use Incoming Webhook.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::{datetime, CompanyId, UserId};
use kiku_storage::{User, UserPatch};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::Admin;
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::app::accounts::{self, UserInput};
use crate::app::AppError;

/// A user as the API shows it; the password hash never leaves storage.
#[derive(Serialize)]
pub struct UserOut {
    pub user_id: UserId,
    pub company_id: CompanyId,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub use_incoming_webhook: bool,
    pub created_at: String,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            user_id: u.id,
            company_id: u.company_id,
            name: u.name,
            email: u.email,
            admin: u.admin,
            use_incoming_webhook: u.use_incoming_webhook,
            created_at: datetime::format(u.created_at),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    name: String,
    email: String,
    password: Option<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    use_incoming_webhook: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatchIn {
    admin: Option<bool>,
    use_incoming_webhook: Option<bool>,
}

pub async fn list(State(app): State<AppState>, Admin(me): Admin) -> Result<Json<Value>, ApiError> {
    let users = accounts::users(&app, me.company_id).await?;
    let items: Vec<UserOut> = users.into_iter().map(UserOut::from).collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn create(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(input): ApiJson<UserIn>,
) -> Result<(StatusCode, Json<UserOut>), ApiError> {
    let input = UserInput {
        name: input.name,
        email: input.email,
        password: input.password,
        admin: input.admin,
        use_incoming_webhook: input.use_incoming_webhook,
    };
    let user = accounts::create_user(&app, me.company_id, input).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

pub async fn update(
    State(app): State<AppState>,
    Admin(me): Admin,
    Path(user_id): Path<String>,
    ApiJson(input): ApiJson<UserPatchIn>,
) -> Result<Json<UserOut>, ApiError> {
    let id: UserId = user_id
        .parse()
        .map_err(|_| AppError::NotFound("no such user in this company".into()))?;
    let patch = UserPatch {
        admin: input.admin,
        use_incoming_webhook: input.use_incoming_webhook,
    };
    Ok(Json(
        accounts::update_user(&app, me.company_id, id, patch)
            .await?
            .into(),
    ))
}
