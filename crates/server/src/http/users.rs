//! Users of the admin's company: list, create, and switch admin / Use Incoming Webhook.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kiku_domain::{datetime, CompanyId, UserId};
use kiku_storage::{User, UserPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::app::accounts::{self, UserInput};
use crate::app::AppError;

/// A user as the API shows it; the password hash never leaves storage.
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserOut {
    /// Stable user ID (a UUID); this is the value a PBX sends as `miitel_user_id`.
    pub user_id: UserId,
    pub company_id: CompanyId,
    pub name: String,
    #[schema(format = "email")]
    pub email: String,
    /// Only admins change settings.
    pub admin: bool,
    /// *Use Incoming Webhook* permission: may this user appear as `miitel_user_id`.
    pub use_incoming_webhook: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The company's users.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    #[serde(serialize_with = "super::json::sorted_keys")]
    items: Vec<UserOut>,
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

#[derive(Deserialize, ToSchema)]
#[schema(as = CreateUserRequest)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    name: String,
    #[schema(format = "email")]
    email: String,
    /// Optional: a user without one cannot sign in.
    #[schema(format = Password)]
    password: Option<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    use_incoming_webhook: bool,
}

/// Fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[schema(as = UpdateUserRequest)]
#[serde(deny_unknown_fields)]
pub struct UserPatchIn {
    admin: Option<bool>,
    use_incoming_webhook: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "listUsers",
    tag = "Users",
    summary = r#"List the company's users (admin only)"#,
    description = r#"Admins copy a user's `user_id` from here to configure the PBX (`miitel_user_id`)."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The company's users."#, content((UserList = "application/json", examples(("ok" = (value = json!({"items": [{"user_id": "9b1d82f5-9845-4158-9c7b-75e7c235d8e7", "name": "RevComm太郎", "email": "taro@example.com", "admin": false, "use_incoming_webhook": true, "created_at": "2025-04-01T09:00:00Z"}]}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
    ),
)]
pub async fn list(
    State(app): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<UserList>, ApiError> {
    let users = accounts::users(&app, me.company_id).await?;
    let items = users.into_iter().map(UserOut::from).collect();
    Ok(Json(UserList { items }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "createUser",
    tag = "Users",
    summary = r#"Create a user (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((UserIn = "application/json", examples(("create" = (value = json!({"name": "RevComm太郎", "email": "taro@example.com", "password": "s3cret-passphrase", "use_incoming_webhook": true}))))))),
    responses(
        (status = 201, description = r#"Created."#, content((UserOut = "application/json", examples(("ok" = (value = json!({"user_id": "9b1d82f5-9845-4158-9c7b-75e7c235d8e7", "name": "RevComm太郎", "email": "taro@example.com", "admin": false, "use_incoming_webhook": true, "created_at": "2025-04-01T09:00:00Z"}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 409, description = r#"`conflict`: a user with this e-mail already exists in this company (other companies' users do not count)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("conflict" = (summary = r#"Conflict"#, value = json!({"code": "conflict", "message": "a user with this e-mail already exists in this company"}))))))),
        (status = 413, description = r#"`payload_too_large`: the request body is over the configured limit."#, content((ref("#/components/schemas/Error") = "application/json", examples(("too_large" = (summary = r#"Too large"#, value = json!({"code": "payload_too_large", "message": "request body is over the limit"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
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

#[utoipa::path(
    patch,
    path = "/api/v1/users/{user_id}",
    operation_id = "updateUser",
    tag = "Users",
    summary = r#"Change a user's admin flag or Use Incoming Webhook permission (admin only)"#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    params(
        ("user_id" = String, Path, format = "uuid"),
    ),
    request_body(content((UserPatchIn = "application/json", examples(("enable" = (value = json!({"use_incoming_webhook": true}))))))),
    responses(
        (status = 200, description = r#"The updated user."#, content((UserOut = "application/json", examples(("ok" = (value = json!({"user_id": "9b1d82f5-9845-4158-9c7b-75e7c235d8e7", "name": "RevComm太郎", "email": "taro@example.com", "admin": false, "use_incoming_webhook": true, "created_at": "2025-04-01T09:00:00Z"}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 404, description = r#"`not_found`: no such user in this company."#, content((ref("#/components/schemas/Error") = "application/json", examples(("not_found" = (summary = r#"Unknown user"#, value = json!({"code": "not_found", "message": "not found"}))))))),
        (status = 409, description = r#"`conflict`: `admin: false` for the company's last admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("conflict" = (summary = r#"Conflict"#, value = json!({"code": "conflict", "message": "this is the company's last admin; make another user admin first"}))))))),
        (status = 413, description = r#"`payload_too_large`: the request body is over the configured limit."#, content((ref("#/components/schemas/Error") = "application/json", examples(("too_large" = (summary = r#"Too large"#, value = json!({"code": "payload_too_large", "message": "request body is over the limit"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_request`: a request field or query parameter is invalid."#, content((ref("#/components/schemas/Error") = "application/json", examples(("invalid" = (summary = r#"Invalid field"#, value = json!({"code": "invalid_request", "message": "per_page must be between 1 and 200"}))))))),
    ),
)]
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
