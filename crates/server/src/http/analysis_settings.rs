//! The company's analysis settings: language, keywords and score rule. Changing them
//! re-scores every analysed call of the company.

use axum::extract::State;
use axum::Json;
use kiku_domain::analysis::AnalysisSettings;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Admin, CurrentUser};
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::app::analysis;

#[utoipa::path(
    get,
    path = "/api/v1/settings/analysis",
    operation_id = "getAnalysisSettings",
    tag = "AnalysisSettings",
    summary = r#"The company's analysis settings"#,
    description = r#"Any signed-in user. The product's defaults until an admin saves settings."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = r#"The settings."#, content((AnalysisSettings = "application/json", examples(("defaults" = (value = json!({"language": "auto", "keywords": [], "score_rule": {"base": 50.0, "duration_points": [[0.0, 0.0], [5.0, 30.0], [10.0, 50.0], [20.0, 50.0], [30.0, 30.0], [40.0, 0.0], [50.0, -10.0], [60.0, -20.0]], "talk_ratio_weight": -1.0, "talk_ratio_target_percent": 40.0, "overlap_per_minute_weight": -10.0, "silence_per_minute_weight": -10.0, "keyword_points": [], "min": 0.0, "max": 100.0}}))))))),
    ),
)]
pub async fn show(
    State(app): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<AnalysisSettings>, ApiError> {
    Ok(Json(analysis::settings(&app, me.company_id).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/settings/analysis",
    operation_id = "putAnalysisSettings",
    tag = "AnalysisSettings",
    summary = r#"Replace the company's analysis settings and re-score past calls (admin only)"#,
    description = r#"Replaces the whole settings object (a field left out takes its default), then recomputes the report of every analysed call of the company from its stored transcript (keywords, summary, score) before answering. Recognition is not re-run: a new `language` applies to calls analysed from then on."#,
    security(("bearerAuth" = []), ("sessionCookie" = [])),
    request_body(content((AnalysisSettings = "application/json", examples(("japanese" = (summary = r#"Japanese, two keywords, 5 points per 見積"#, value = json!({"language": "ja", "keywords": ["見積", "ご契約"], "score_rule": {"base": 50.0, "duration_points": [[0.0, 0.0], [5.0, 30.0], [10.0, 50.0], [20.0, 50.0], [30.0, 30.0], [40.0, 0.0], [50.0, -10.0], [60.0, -20.0]], "talk_ratio_weight": -1.0, "talk_ratio_target_percent": 40.0, "overlap_per_minute_weight": -10.0, "silence_per_minute_weight": -10.0, "keyword_points": [["見積", 5.0]], "min": 0.0, "max": 100.0}}))))))),
    responses(
        (status = 200, description = r#"Stored; a background job re-scores the company's `rescoring_calls` analysed calls, each changed report becoming a new version."#, content((AnalysisSettingsChange = "application/json", examples(("ok" = (value = json!({"settings": {"language": "ja", "keywords": ["見積", "ご契約"], "score_rule": {"base": 50.0, "duration_points": [[0.0, 0.0], [5.0, 30.0], [10.0, 50.0], [20.0, 50.0], [30.0, 30.0], [40.0, 0.0], [50.0, -10.0], [60.0, -20.0]], "talk_ratio_weight": -1.0, "talk_ratio_target_percent": 40.0, "overlap_per_minute_weight": -10.0, "silence_per_minute_weight": -10.0, "keyword_points": [["見積", 5.0]], "min": 0.0, "max": 100.0}}, "rescoring_calls": 128}))))))),
        (status = 400, description = r#"`malformed_json`: the body is not JSON, or not the expected shape at the top level."#, content((ref("#/components/schemas/Error") = "application/json", examples(("malformed" = (summary = r#"Not JSON"#, value = json!({"code": "malformed_json", "message": "request body is not valid JSON: expected value at line 1 column 1"}))))))),
        (status = 403, description = r#"`forbidden`: signed in but not an admin."#, content((ref("#/components/schemas/Error") = "application/json", examples(("forbidden" = (summary = r#"Not an admin"#, value = json!({"code": "forbidden", "message": "admin only"}))))))),
        (status = 413, description = r#"`payload_too_large`: the request body is over the configured limit."#, content((ref("#/components/schemas/Error") = "application/json", examples(("too_large" = (summary = r#"Too large"#, value = json!({"code": "payload_too_large", "message": "request body is over the limit"}))))))),
        (status = 415, description = r#"`unsupported_media_type`: an explicit non-JSON `Content-Type` on a JSON endpoint (a request with no `Content-Type` is read as JSON)."#, content((ref("#/components/schemas/Error") = "application/json", examples(("unsupported" = (summary = r#"Wrong content type"#, value = json!({"code": "unsupported_media_type", "message": "expected application/json"}))))))),
        (status = 422, description = r#"`invalid_request`: settings that cannot be applied."#, content((ref("#/components/schemas/Error") = "application/json", examples(("keyword" = (summary = r#"Empty keyword"#, value = json!({"code": "invalid_request", "message": "keyword \"   \" must be 1 to 100 characters"}))))))),
    ),
)]
pub async fn replace(
    State(app): State<AppState>,
    Admin(me): Admin,
    ApiJson(settings): ApiJson<AnalysisSettings>,
) -> Result<Json<AnalysisSettingsChange>, ApiError> {
    let rescoring_calls = analysis::set_settings(&app, me.company_id, &settings).await?;
    Ok(Json(AnalysisSettingsChange {
        rescoring_calls,
        settings,
    }))
}

/// The stored settings and the re-scoring they started. Fields in the order the answer
/// has always had (alphabetical).
#[derive(Serialize, ToSchema)]
pub struct AnalysisSettingsChange {
    /// Analysed calls of the company whose report a background job recomputes with the new
    /// settings.
    rescoring_calls: u64,
    #[serde(serialize_with = "super::json::sorted_keys")]
    settings: AnalysisSettings,
}
