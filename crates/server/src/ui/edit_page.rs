//! What the page of one Slack rule or CRM connection shows besides the stored settings:
//! the form as typed when a change was refused (and why), *saved*, or a replay's count.
//! A refusal a form can show is a 422 with the service's reason; anything else is an
//! error page.

use axum::http::StatusCode;

use super::error::UiError;
use super::i18n::Lang;
use crate::app::AppError;

/// Why a form was refused, when the form can say it.
pub fn refused(e: AppError, lang: Lang) -> Result<String, UiError> {
    match e {
        AppError::InvalidRequest(_) | AppError::UnsafeUrl(_) | AppError::Conflict(_) => {
            Ok(e.to_string())
        }
        other => Err(UiError::new(other, lang)),
    }
}

pub struct Shown<D> {
    /// What was typed, when a change was refused.
    pub draft: Option<D>,
    pub problem: Option<String>,
    pub saved: bool,
    pub replaying: Option<u64>,
}

impl<D> Default for Shown<D> {
    fn default() -> Self {
        Shown {
            draft: None,
            problem: None,
            saved: false,
            replaying: None,
        }
    }
}

impl<D> Shown<D> {
    /// After a change: saved, or refused with what was typed.
    pub fn after_change<T>(
        changed: Result<T, AppError>,
        typed: impl FnOnce() -> D,
        lang: Lang,
    ) -> Result<Self, UiError> {
        Ok(match changed {
            Ok(_) => Shown {
                saved: true,
                ..Shown::default()
            },
            Err(e) => Shown {
                problem: Some(refused(e, lang)?),
                draft: Some(typed()),
                ..Shown::default()
            },
        })
    }

    pub fn replayed(count: u64) -> Self {
        Shown {
            replaying: Some(count),
            ..Shown::default()
        }
    }

    pub fn status(&self) -> StatusCode {
        if self.problem.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        }
    }
}
