//! Auto-tag rules of a company, for HTTP, the web UI and the CLI alike: create, list,
//! change, delete, and apply one to every past call (a background job).

use kiku_domain::analysis::{parse_speaker, speaker_name};
use kiku_domain::tag_rule::{KeywordMatch, TagRuleSpec};
use kiku_domain::{datetime, CompanyId, TagRuleId};
use kiku_storage::TagRule;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{App, AppError};

/// A rule as sent: everything optional, so that one type serves creating (where `name`,
/// `keywords` and `tag` are required) and changing (where fields left out keep their value).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagRuleRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Matched as the company keywords are: case-insensitive; whole words in spaced
    /// scripts (English), anywhere in Japanese. Repeats (case-insensitive) are dropped.
    #[schema(min_items = 1, max_items = 50)]
    pub keywords: Option<Vec<String>>,
    /// Default `any`.
    #[serde(rename = "match")]
    #[schema(value_type = Option<crate::http::schemas::KeywordMatch>)]
    pub keyword_match: Option<String>,
    /// Default 1.
    #[schema(minimum = 1, maximum = 1000)]
    pub min_count: Option<u32>,
    /// Default `any`.
    #[schema(value_type = Option<crate::http::schemas::TagRuleSpeaker>)]
    pub speaker: Option<String>,
    #[schema(min_length = 1, max_length = 512)]
    pub tag: Option<String>,
    /// Off: calls analysed from now on are not tagged by the rule (tags it gave stay).
    /// Default true.
    pub enabled: Option<bool>,
}

/// A rule as the API and the CLI show it. Fields in the order the answer has always had
/// (alphabetical).
#[derive(Serialize, ToSchema)]
#[schema(as = TagRule)]
pub struct TagRuleView {
    #[schema(format = DateTime)]
    created_at: String,
    enabled: bool,
    id: TagRuleId,
    keywords: Vec<String>,
    #[serde(rename = "match")]
    #[schema(value_type = crate::http::schemas::KeywordMatch)]
    keyword_match: &'static str,
    min_count: u32,
    name: String,
    #[schema(value_type = crate::http::schemas::TagRuleSpeaker)]
    speaker: &'static str,
    tag: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl TagRuleRequest {
    /// `base` with this request's fields put over it, checked.
    fn over(self, base: TagRuleSpec) -> Result<TagRuleSpec, AppError> {
        let keyword_match = match self.keyword_match {
            Some(m) => KeywordMatch::parse(&m)
                .ok_or_else(|| AppError::InvalidRequest("match must be any or all".into()))?,
            None => base.keyword_match,
        };
        let speaker = match self.speaker {
            Some(s) => parse_speaker(&s).ok_or_else(|| {
                AppError::InvalidRequest("speaker must be user, customer or any".into())
            })?,
            None => base.speaker,
        };
        TagRuleSpec {
            name: self.name.unwrap_or(base.name),
            keywords: self.keywords.unwrap_or(base.keywords),
            keyword_match,
            min_count: self.min_count.unwrap_or(base.min_count),
            speaker,
            tag: self.tag.unwrap_or(base.tag),
            enabled: self.enabled.unwrap_or(base.enabled),
        }
        .validate()
        .map_err(|e| AppError::InvalidRequest(e.to_string()))
    }
}

/// Parses a rule id from a path; one that does not read is a rule that does not exist.
pub fn id_of(text: &str) -> Result<TagRuleId, AppError> {
    text.parse().map_err(|_| not_found())
}

fn not_found() -> AppError {
    AppError::NotFound("no such tag rule in this company".into())
}

pub async fn create(
    app: &App,
    company: CompanyId,
    request: TagRuleRequest,
) -> Result<TagRule, AppError> {
    let base = TagRuleSpec {
        name: String::new(),
        keywords: Vec::new(),
        keyword_match: KeywordMatch::Any,
        min_count: 1,
        speaker: None,
        tag: String::new(),
        enabled: true,
    };
    let spec = request.over(base)?;
    Ok(app
        .store
        .create_tag_rule(company, &spec, app.clock.now())
        .await?)
}

pub async fn list(app: &App, company: CompanyId) -> Result<Vec<TagRule>, AppError> {
    Ok(app.store.tag_rules(company).await?)
}

pub async fn show(app: &App, company: CompanyId, id: TagRuleId) -> Result<TagRule, AppError> {
    app.store.tag_rule(company, id).await?.ok_or_else(not_found)
}

/// Changes what the request names; calls analysed from now on follow the new rule, past
/// ones when it is applied again.
pub async fn update(
    app: &App,
    company: CompanyId,
    id: TagRuleId,
    request: TagRuleRequest,
) -> Result<TagRule, AppError> {
    let current = show(app, company, id).await?;
    let spec = request.over(current.spec)?;
    app.store
        .update_tag_rule(company, id, &spec, app.clock.now())
        .await?
        .ok_or_else(not_found)
}

/// Deletes the rule and the tags it gave.
pub async fn delete(app: &App, company: CompanyId, id: TagRuleId) -> Result<(), AppError> {
    if app.store.delete_tag_rule(company, id).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// Queues the rule's application to every analysed call; how many calls it will look at.
pub async fn apply(app: &App, company: CompanyId, id: TagRuleId) -> Result<u64, AppError> {
    let calls = app
        .store
        .queue_tag_rule_application(company, id, app.clock.now())
        .await?
        .ok_or_else(not_found)?;
    app.jobs_queued.notify_waiters();
    Ok(calls)
}

/// A rule as the API and the CLI show it.
pub fn view(rule: &TagRule) -> TagRuleView {
    let s = &rule.spec;
    TagRuleView {
        created_at: datetime::format(rule.created_at),
        enabled: s.enabled,
        id: rule.id,
        keywords: s.keywords.clone(),
        keyword_match: s.keyword_match.as_str(),
        min_count: s.min_count,
        name: s.name.clone(),
        speaker: speaker_name(s.speaker),
        tag: s.tag.clone(),
        updated_at: datetime::format(rule.updated_at),
    }
}
