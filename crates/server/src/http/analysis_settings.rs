//! The company's analysis settings: language, keywords and score rule. Changing them
//! re-scores every analysed call of the company.

use axum::extract::State;
use axum::Json;
use kiku_domain::analysis::AnalysisSettings;
use serde_json::{json, Value};

use super::auth::{Admin, CurrentUser};
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::app::analysis;

pub async fn show(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<AnalysisSettings>, ApiError> {
    Ok(Json(analysis::settings(&app, me.company_id).await?))
}

pub async fn replace(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(settings): ApiJson<AnalysisSettings>,
) -> Result<Json<Value>, ApiError> {
    let rescoring = analysis::set_settings(&app, me.company_id, &settings).await?;
    Ok(Json(
        json!({ "settings": settings, "rescoring_calls": rescoring }),
    ))
}
