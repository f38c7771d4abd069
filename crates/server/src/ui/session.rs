//! Who is looking at a page: the session cookie (set at sign-in, `HttpOnly`, `SameSite=Lax`,
//! `Secure` over https), the language, and the CSRF token every form of the page carries.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kiku_storage::User;
use serde::Deserialize;

use super::error::UiError;
use super::i18n::{Lang, Text};
use crate::app::{accounts, AppError};
use crate::http::{cookie_token, AppState};

/// A signed-in person looking at a page.
pub struct Viewer {
    pub user: User,
    pub lang: Lang,
    pub csrf: String,
    session: String,
}

impl Viewer {
    pub fn text(&self) -> &'static Text {
        self.lang.text()
    }

    /// Refuses a state-changing request whose token is not this session's.
    pub fn check_csrf(&self, app: &AppState, given: &str) -> Result<(), UiError> {
        if app.signing_key.verify_csrf(&self.session, given) {
            Ok(())
        } else {
            tracing::warn!(user_id = %self.user.id, "a form without a valid CSRF token was refused");
            Err(UiError::new(
                AppError::Forbidden("the form has expired; reload the page and try again".into()),
                self.lang,
            ))
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(&parts.headers);
        let next = parts.uri.path().to_string();
        let Some(session) = cookie_token(&parts.headers) else {
            return Err(UiError::SignIn { next });
        };
        match accounts::authenticate(app, &session).await {
            Ok(user) => Ok(Viewer {
                csrf: app.signing_key.csrf_token(&session),
                user,
                lang,
                session,
            }),
            Err(AppError::Unauthenticated) => Err(UiError::SignIn { next }),
            Err(e) => Err(UiError::new(e, lang)),
        }
    }
}

/// A form that carries nothing but its CSRF token (a button: swap, delete, create).
#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}
