//! The call list as one SQL query built from a [`CallSearch`]: every filter a bound
//! parameter, keyset pagination on (sort value, id), and a total counted no further than
//! [`EXACT_TOTAL_LIMIT`] + 1 rows.

use kiku_domain::analysis::Role;
use kiku_domain::search::{CallSearch, Cursor, SortKey, SortValue, EXACT_TOTAL_LIMIT};
use kiku_domain::CompanyId;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::calls::{call_from_row, CALL_COLUMNS};
use super::{Dialect, SqlStore};
use crate::{Result, SearchPage, Total};

/// The sort value of calls without a score: below any score a rule can give.
const UNSCORED: f64 = -1.0e9;

enum Arg {
    Text(String),
    Int(i64),
    Float(f64),
}

/// A `WHERE` clause under construction with its bound values (`$1` is the company).
struct Clause {
    /// ` AND …` for each condition but the company's.
    sql: String,
    args: Vec<Arg>,
}

/// Matches of a text search at most, under which SQLite looks the calls up from the
/// matches and sorts them for a page, rather than walking the company's calls in order.
const DRIVE_BY_TEXT_BELOW: u64 = 5_000;

impl Clause {
    /// The whole condition. `by_text`: SQLite takes the calls from the text matches (the
    /// unary `+` keeps it off the company index, which it would otherwise walk whole,
    /// having no statistics to tell that one company is most of the table).
    fn condition(&self, dialect: Dialect, by_text: bool) -> String {
        let company = if by_text && dialect == Dialect::Sqlite {
            "+c.company_id = $1"
        } else {
            "c.company_id = $1"
        };
        format!("{company}{}", self.sql)
    }

    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len() + 1)
    }

    fn and(&mut self, condition: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
    }

    fn list(&mut self, values: impl IntoIterator<Item = Arg>) -> String {
        let marks: Vec<String> = values.into_iter().map(|v| self.arg(v)).collect();
        marks.join(", ")
    }

    /// Calls with a `call_terms` row of one of `kinds` whose value is one of `values`.
    fn term(&mut self, kinds: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let list = self.list(values.iter().map(|v| Arg::Text(v.clone())));
        self.and(&format!(
            "EXISTS (SELECT 1 FROM call_terms t WHERE t.call_id = c.id AND t.kind IN ({kinds}) AND t.value IN ({list}))"
        ));
    }
}

fn sort_expression(sort: SortKey) -> String {
    match sort {
        SortKey::StartsAt => "c.starts_at_ms".into(),
        SortKey::Duration => "c.talk_ms".into(),
        SortKey::Score => format!("COALESCE(c.score, CAST({UNSCORED} AS DOUBLE PRECISION))"),
    }
}

/// Every filter of `search` but the cursor.
fn filters(search: &CallSearch, dialect: Dialect) -> Clause {
    let mut c = Clause {
        sql: String::new(),
        args: Vec::new(),
    };
    if !search.statuses.is_empty() {
        let list = c.list(search.statuses.iter().map(|s| Arg::Text(s.as_str().into())));
        c.and(&format!("c.status IN ({list})"));
    }
    if !search.event_types.is_empty() {
        let list = c.list(
            search
                .event_types
                .iter()
                .map(|s| Arg::Text(s.as_str().into())),
        );
        c.and(&format!("c.event_type IN ({list})"));
    }
    let compare = |c: &mut Clause, column: &str, op: &str, value: Option<Arg>| {
        if let Some(value) = value {
            let mark = c.arg(value);
            c.and(&format!("{column} {op} {mark}"));
        }
    };
    compare(
        &mut c,
        "c.starts_at_ms",
        ">=",
        search.from.map(|t| Arg::Int(super::ms(t))),
    );
    compare(
        &mut c,
        "c.starts_at_ms",
        "<",
        search.to.map(|t| Arg::Int(super::ms(t))),
    );
    compare(
        &mut c,
        "c.answered",
        "=",
        search.answered.map(|a| Arg::Int(i64::from(a))),
    );
    // Durations are whole seconds: 60 s includes a call of 60.4 s.
    compare(
        &mut c,
        "c.talk_ms",
        ">=",
        search.min_duration.map(|s| Arg::Int(i64::from(s) * 1000)),
    );
    compare(
        &mut c,
        "c.talk_ms",
        "<",
        search
            .max_duration
            .map(|s| Arg::Int((i64::from(s) + 1) * 1000)),
    );
    compare(&mut c, "c.score", ">=", search.min_score.map(Arg::Float));
    compare(&mut c, "c.score", "<=", search.max_score.map(Arg::Float));
    compare(
        &mut c,
        "c.group_name",
        "=",
        search.group_name.clone().map(Arg::Text),
    );
    compare(
        &mut c,
        "c.queue_name",
        "=",
        search.queue_name.clone().map(Arg::Text),
    );
    let users: Vec<String> = search.users.iter().map(ToString::to_string).collect();
    c.term("'user'", &users);
    // The PBX's tags and those auto-tag rules gave alike.
    c.term("'tag', 'auto_tag'", &search.tags);
    c.term("'keyword'", &search.keywords);
    let flags: Vec<String> = search
        .flags
        .iter()
        .map(|f| f.as_str().to_string())
        .collect();
    c.term("'call_flag', 'flag'", &flags);
    if let Some(digits) = &search.number {
        let mark = c.arg(Arg::Text(format!("%{digits}")));
        c.and(&format!(
            "EXISTS (SELECT 1 FROM call_terms t WHERE t.call_id = c.id AND t.kind = 'number' AND t.value LIKE {mark})"
        ));
    }
    if let Some(text) = &search.text {
        let role = match search.speaker {
            None => "",
            Some(Role::User) => " AND x.role = 'user'",
            Some(Role::Customer) => " AND x.role = 'customer'",
        };
        for term in &text.terms {
            let condition = match dialect {
                // A phrase query of one of the trigram tables (see search_index): a substring.
                Dialect::Sqlite => {
                    let (table, phrase) = if term.indexable() {
                        ("call_text_trigrams", term.needle().to_string())
                    } else {
                        ("call_text_pairs", term.pair_needle())
                    };
                    let mark = c.arg(Arg::Text(format!("\"{phrase}\"")));
                    format!(
                        "c.id IN (SELECT x.call_id FROM {table} f JOIN call_texts x ON x.id = f.rowid WHERE {table} MATCH {mark}{role})"
                    )
                }
                Dialect::Postgres if term.indexable() => {
                    let mark = c.arg(Arg::Text(term.like_pattern()));
                    format!("c.id IN (SELECT x.call_id FROM call_texts x WHERE x.body LIKE {mark}{role})")
                }
                // Too short for a trigram of the text: one of its pairs.
                Dialect::Postgres => {
                    let mark = c.arg(Arg::Text(format!("%{}%", term.pair_needle())));
                    format!("c.id IN (SELECT x.call_id FROM call_texts x WHERE x.pairs LIKE {mark}{role})")
                }
            };
            c.and(&condition);
        }
    }
    c
}

fn bind<'q>(sql: &'q str, company: CompanyId, args: &'q [Arg]) -> Query<'q, Any, AnyArguments<'q>> {
    let mut query = sqlx::query(sql).bind(company.to_string());
    for arg in args {
        query = match arg {
            Arg::Text(t) => query.bind(t.as_str()),
            Arg::Int(i) => query.bind(*i),
            Arg::Float(f) => query.bind(*f),
        };
    }
    query
}

impl SqlStore {
    pub(super) async fn search(
        &self,
        company: CompanyId,
        search: &CallSearch,
        with_total: bool,
    ) -> Result<SearchPage> {
        let mut clause = filters(search, self.dialect);
        let has_text = search.text.is_some();
        let total = if with_total {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM calls c WHERE {} LIMIT {}) counted",
                clause.condition(self.dialect, has_text),
                EXACT_TOTAL_LIMIT + 1
            );
            let n: i64 = bind(&sql, company, &clause.args)
                .fetch_one(&self.read)
                .await?
                .try_get("n")?;
            let n = u64::try_from(n).unwrap_or_default();
            Some(Total {
                count: n.min(EXACT_TOTAL_LIMIT),
                is_lower_bound: n > EXACT_TOTAL_LIMIT,
            })
        } else {
            None
        };
        let key = sort_expression(search.sort);
        if let Some(cursor) = &search.cursor {
            let value = match cursor.value {
                SortValue::Int(v) => Arg::Int(v),
                SortValue::Float(v) => Arg::Float(v),
            };
            let v = clause.arg(value);
            let id = clause.arg(Arg::Text(cursor.call.to_string()));
            // A row comparison, which both databases read as a range of the sort's index.
            clause.and(&format!("({key}, c.id) < ({v}, {id})"));
        }
        let limit = i64::from(search.per_page.max(1));
        let columns = CALL_COLUMNS
            .split(", ")
            .map(|col| format!("c.{col}"))
            .collect::<Vec<_>>()
            .join(", ");
        // Few matches: look them up and sort; many: a page is found soon in sort order.
        let by_text = has_text && total.is_some_and(|t| t.count < DRIVE_BY_TEXT_BELOW);
        // The page's ids first, so that only they (not every candidate) are read whole.
        let sql = format!(
            "SELECT {columns}, {key} AS sort_value FROM calls c WHERE c.id IN \
             (SELECT c.id FROM calls c WHERE {} ORDER BY {key} DESC, c.id DESC LIMIT {}) \
             ORDER BY {key} DESC, c.id DESC",
            clause.condition(self.dialect, by_text),
            limit + 1
        );
        let mut rows = bind(&sql, company, &clause.args)
            .fetch_all(&self.read)
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = match rows.last() {
            Some(last) if more => Some(Cursor {
                sort: search.sort,
                value: match search.sort {
                    SortKey::Score => SortValue::Float(last.try_get("sort_value")?),
                    SortKey::StartsAt | SortKey::Duration => {
                        SortValue::Int(last.try_get("sort_value")?)
                    }
                },
                call: super::parsed(last, "id")?,
            }),
            _ => None,
        };
        Ok(SearchPage {
            items: rows.iter().map(call_from_row).collect::<Result<_>>()?,
            total,
            next_cursor,
        })
    }
}
