//! The call list as a CSV file, for the HTTP export and `kiku call export` alike: paged
//! through the database with the search's cursor and handed on a chunk at a time, so memory
//! stays flat however many calls match and the first bytes leave before the last page is read.

use std::collections::HashMap;

use bytes::Bytes;
use kiku_domain::analysis::Report;
use kiku_domain::search::csv::{header, row, ExportCall};
use kiku_domain::search::CallSearch;
use kiku_domain::{CallId, CompanyId, UserId};
use tokio::sync::mpsc;

use super::analysis::settings;
use super::{App, AppError};

/// Calls read per page, each page one chunk of the file.
const EXPORT_PAGE: u32 = 500;

/// The file's character encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// With a byte order mark, so that Excel reads Japanese right.
    Utf8,
    /// What Japanese Excel assumes without a BOM; characters Shift_JIS lacks become
    /// `&#NNNN;` references (the WHATWG encoder's rule).
    ShiftJis,
}

impl Encoding {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().replace('-', "_").as_str() {
            "utf_8" | "utf8" => Some(Encoding::Utf8),
            "shift_jis" | "sjis" => Some(Encoding::ShiftJis),
            _ => None,
        }
    }

    pub fn charset(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::ShiftJis => "shift_jis",
        }
    }

    fn encode(self, text: String) -> Bytes {
        match self {
            Encoding::Utf8 => Bytes::from(text),
            Encoding::ShiftJis => {
                let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
                Bytes::from(bytes.into_owned())
            }
        }
    }
}

/// The encoding named by a query's `encoding` (UTF-8 when absent).
pub fn encoding_of(pairs: &[(String, String)]) -> Result<Encoding, AppError> {
    match pairs.iter().rev().find(|(k, _)| k == "encoding") {
        None => Ok(Encoding::Utf8),
        Some((_, v)) => Encoding::parse(v).ok_or_else(|| {
            AppError::InvalidQuery(kiku_domain::search::ParamError {
                parameter: "encoding".into(),
                reason: "must be utf-8 or shift_jis".into(),
            })
        }),
    }
}

/// Writes the company's calls matching `search` (its order; its cursor, if any, is where
/// the file starts) to `out` as CSV chunks; the number of calls written. Stops quietly
/// when the receiver is gone (a client that hung up).
pub async fn export(
    app: &App,
    company: CompanyId,
    mut search: CallSearch,
    encoding: Encoding,
    out: mpsc::Sender<Bytes>,
) -> Result<u64, AppError> {
    let keywords = settings(app, company).await?.normalised_keywords();
    let names: HashMap<UserId, String> = app
        .store
        .users(company)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut text = String::new();
    if encoding == Encoding::Utf8 {
        text.push('\u{feff}');
    }
    text.push_str(&csv_lines(&[header(&keywords)])?);
    if out.send(encoding.encode(text)).await.is_err() {
        return Ok(0);
    }
    search.per_page = EXPORT_PAGE;
    let mut written = 0u64;
    loop {
        let page = app.store.search_calls(company, &search, false).await?;
        let ids: Vec<_> = page.items.iter().map(|c| c.id).collect();
        let reports: HashMap<_, Report> = app
            .store
            .analyses_of(company, &ids)
            .await?
            .into_iter()
            // A stored report that no longer reads leaves the result's cells blank.
            .filter_map(|r| Some((r.call_id, serde_json::from_str(&r.report).ok()?)))
            .collect();
        let mut auto_tags: HashMap<CallId, Vec<String>> = HashMap::new();
        for tag in app.store.auto_tags(company, &ids).await? {
            auto_tags.entry(tag.call_id).or_default().push(tag.tag);
        }
        let rows: Vec<Vec<String>> = page
            .items
            .iter()
            .map(|c| {
                let user_name = c
                    .data
                    .referenced_users()
                    .find_map(|(_, id)| names.get(&id))
                    .map(String::as_str);
                let call = ExportCall {
                    id: c.id,
                    data: &c.data,
                    status: c.status,
                    user_name,
                    report: reports.get(&c.id),
                    auto_tags: auto_tags.get(&c.id).map_or(&[], Vec::as_slice),
                };
                row(&call, &keywords)
            })
            .collect();
        written += rows.len() as u64;
        if !rows.is_empty() && out.send(encoding.encode(csv_lines(&rows)?)).await.is_err() {
            return Ok(written);
        }
        match page.next_cursor {
            Some(next) => search.cursor = Some(next),
            None => return Ok(written),
        }
    }
}

/// Rows in RFC 4180 syntax (quoted where needed, CRLF line ends).
fn csv_lines(rows: &[Vec<String>]) -> Result<String, AppError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in rows {
        writer.write_record(r).map_err(AppError::internal)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::internal(e.into_error()))?;
    String::from_utf8(bytes).map_err(AppError::internal)
}
