//! Finding calls: a page of the company's calls matching a search, with each call's
//! current result and, for a text search, the phrases where it hit.

use std::collections::HashMap;

use kiku_domain::analysis::Report;
use kiku_domain::search::{snippets, CallSearch, Snippet};
use kiku_domain::{CallId, CompanyId};
use kiku_storage::{AnalysisRecord, CallRecord, SearchPage};

use super::analysis::{details_of, CallAnalysis};
use super::{App, AppError};

/// One call of a search page.
pub struct Found {
    pub call: CallRecord,
    pub analysis: Option<CallAnalysis>,
    /// Empty unless the search has text.
    pub snippets: Vec<Snippet>,
}

/// A page of the search, counted.
pub async fn search(
    app: &App,
    company: CompanyId,
    search: &CallSearch,
) -> Result<(Vec<Found>, SearchPage), AppError> {
    let mut page = app.store.search_calls(company, search, true).await?;
    let calls = std::mem::take(&mut page.items);
    let ids: Vec<CallId> = calls.iter().map(|c| c.id).collect();
    let records = app.store.analyses_of(company, &ids).await?;
    let mut snippets = snippets_of(search, &records);
    let mut details = details_of(app, company, &calls, records).await?;
    let found = calls
        .into_iter()
        .map(|call| Found {
            analysis: details.remove(&call.id),
            snippets: snippets.remove(&call.id).unwrap_or_default(),
            call,
        })
        .collect();
    Ok((found, page))
}

/// Each call's phrases where the text of `search` hit; none without text.
fn snippets_of(search: &CallSearch, records: &[AnalysisRecord]) -> HashMap<CallId, Vec<Snippet>> {
    let Some(text) = &search.text else {
        return HashMap::new();
    };
    records
        .iter()
        .filter_map(|r| {
            // The index was made from this report; one that no longer reads has no phrases.
            let report: Report = serde_json::from_str(&r.report).ok()?;
            Some((r.call_id, snippets(&report.phrases, text, search.speaker)))
        })
        .collect()
}
