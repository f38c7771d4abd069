//! Auto-tag rules and the tags they gave calls, in SQL (both dialects). The search finds
//! auto tags as `call_terms` of kind `auto_tag`, remade from `call_auto_tags` whenever a
//! call's auto tags change, in the same transaction.

use async_trait::async_trait;
use kiku_domain::analysis::Report;
use kiku_domain::analysis::{parse_speaker, speaker_name};
use kiku_domain::tag_rule::{KeywordMatch, TagRuleSpec};
use kiku_domain::{CallId, CompanyId, JobKind, TagRuleId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::analyses::queue_over_analyses;
use super::{from_ms, is_foreign_key_violation, ms, parsed, placeholders, Dialect, SqlStore};
use crate::{AutoTag, Result, StorageError, TagRule, TagRulePage, TagRuleStore};

const COLUMNS: &str = "id, company_id, name, keywords, keyword_match, min_count, speaker, tag, \
    enabled, created_at_ms, updated_at_ms";

/// Bound ids per `IN (…)`, well under every backend's parameter limit.
const IDS_PER_STATEMENT: usize = 500;

fn rule_from_row(row: &AnyRow) -> Result<TagRule> {
    let text = |c: &str| -> Result<String> { Ok(row.try_get::<String, _>(c)?) };
    let corrupt = |c: &str, v: &str| StorageError::corrupt(format!("tag rule {c} = {v:?}"));
    let keywords = text("keywords")?;
    let keyword_match = text("keyword_match")?;
    let speaker = text("speaker")?;
    let min_count: i64 = row.try_get("min_count")?;
    Ok(TagRule {
        id: parsed(row, "id")?,
        company_id: parsed(row, "company_id")?,
        spec: TagRuleSpec {
            name: text("name")?,
            keywords: serde_json::from_str(&keywords)
                .map_err(|_| corrupt("keywords", &keywords))?,
            keyword_match: KeywordMatch::parse(&keyword_match)
                .ok_or_else(|| corrupt("keyword_match", &keyword_match))?,
            min_count: u32::try_from(min_count)
                .map_err(|_| corrupt("min_count", &min_count.to_string()))?,
            speaker: parse_speaker(&speaker).ok_or_else(|| corrupt("speaker", &speaker))?,
            tag: text("tag")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
        },
        created_at: from_ms(row.try_get("created_at_ms")?)?,
        updated_at: from_ms(row.try_get("updated_at_ms")?)?,
    })
}

/// The SQL values of a spec's columns, `name` to `enabled`, in [`COLUMNS`] order.
fn bind_spec<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    spec: &'q TagRuleSpec,
) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>> {
    let keywords = serde_json::to_string(&spec.keywords).map_err(StorageError::corrupt)?;
    Ok(query
        .bind(spec.name.as_str())
        .bind(keywords)
        .bind(spec.keyword_match.as_str())
        .bind(i64::from(spec.min_count))
        .bind(speaker_name(spec.speaker))
        .bind(spec.tag.as_str())
        .bind(i64::from(spec.enabled)))
}

/// Tags `call` by the company's enabled rules as `report` (its new current result) says,
/// replacing what those rules said before; tags of disabled rules stay. `None`: a report
/// that does not read, which no rule matches.
pub(super) async fn write_auto_tags(
    conn: &mut AnyConnection,
    dialect: Dialect,
    company: CompanyId,
    call: CallId,
    report: Option<&Report>,
    now: OffsetDateTime,
) -> Result<()> {
    // Shared locks: a rule deleted meanwhile waits for this commit, then takes its tags.
    let rules = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tag_rules WHERE company_id = $1 AND enabled = 1 {}",
        dialect.share_rows()
    ))
    .bind(company.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(rule_from_row)
    .collect::<Result<Vec<_>>>()?;
    if rules.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM call_auto_tags WHERE call_id = $1 AND rule_id IN ({})",
        placeholders(2, rules.len())
    );
    let mut query = sqlx::query(&sql).bind(call.to_string());
    for rule in &rules {
        query = query.bind(rule.id.to_string());
    }
    query.execute(&mut *conn).await?;
    if let Some(report) = report {
        for rule in rules.iter().filter(|r| r.spec.matches(report)) {
            tag(conn, call, rule, now).await?;
        }
    }
    refresh_auto_tag_terms(conn, &[call]).await
}

async fn tag(
    conn: &mut AnyConnection,
    call: CallId,
    rule: &TagRule,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO call_auto_tags (call_id, rule_id, tag, created_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (call_id, rule_id) DO UPDATE SET tag = excluded.tag",
    )
    .bind(call.to_string())
    .bind(rule.id.to_string())
    .bind(rule.spec.tag.as_str())
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Remakes the `auto_tag` search terms of `calls` from their auto tags.
async fn refresh_auto_tag_terms(conn: &mut AnyConnection, calls: &[CallId]) -> Result<()> {
    for chunk in calls.chunks(IDS_PER_STATEMENT) {
        let ids = placeholders(1, chunk.len());
        for sql in [
            format!("DELETE FROM call_terms WHERE kind = 'auto_tag' AND call_id IN ({ids})"),
            format!(
                "INSERT INTO call_terms (call_id, kind, value, count) \
                 SELECT call_id, 'auto_tag', tag, COUNT(*) FROM call_auto_tags \
                 WHERE call_id IN ({ids}) GROUP BY call_id, tag"
            ),
        ] {
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id.to_string());
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

async fn fetch_rule(
    conn: &mut AnyConnection,
    company: CompanyId,
    id: TagRuleId,
    lock: &str,
) -> Result<Option<TagRule>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tag_rules WHERE company_id = $1 AND id = $2 {lock}"
    ))
    .bind(company.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(rule_from_row)
    .transpose()
}

#[async_trait]
impl TagRuleStore for SqlStore {
    async fn create_tag_rule(
        &self,
        company: CompanyId,
        spec: &TagRuleSpec,
        now: OffsetDateTime,
    ) -> Result<TagRule> {
        let id = TagRuleId::new();
        let sql = format!(
            "INSERT INTO tag_rules ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
        );
        let query = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(company.to_string());
        bind_spec(query, spec)?
            .bind(ms(now))
            .execute(&self.write)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    StorageError::NotFound("no such company".into())
                } else {
                    StorageError::from(e)
                }
            })?;
        let mut conn = self.write.acquire().await?;
        fetch_rule(&mut conn, company, id, "")
            .await?
            .ok_or_else(|| StorageError::corrupt("a tag rule just stored is missing"))
    }

    async fn tag_rules(&self, company: CompanyId) -> Result<Vec<TagRule>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tag_rules WHERE company_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(company.to_string())
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(rule_from_row)
        .collect()
    }

    async fn tag_rule(&self, company: CompanyId, id: TagRuleId) -> Result<Option<TagRule>> {
        let mut conn = self.read.acquire().await?;
        fetch_rule(&mut conn, company, id, "").await
    }

    async fn update_tag_rule(
        &self,
        company: CompanyId,
        id: TagRuleId,
        spec: &TagRuleSpec,
        now: OffsetDateTime,
    ) -> Result<Option<TagRule>> {
        let mut tx = self.write.begin().await?;
        let query = sqlx::query(
            "UPDATE tag_rules SET name = $1, keywords = $2, keyword_match = $3, min_count = $4, \
             speaker = $5, tag = $6, enabled = $7, updated_at_ms = $8 WHERE company_id = $9 AND id = $10",
        );
        let done = bind_spec(query, spec)?
            .bind(ms(now))
            .bind(company.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let rule = fetch_rule(&mut tx, company, id, "").await?;
        tx.commit().await?;
        Ok(rule)
    }

    async fn delete_tag_rule(&self, company: CompanyId, id: TagRuleId) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        // The rule first: a result being stored holds it (shared) until it commits, so the
        // tags read below include any it gave.
        let deleted = sqlx::query("DELETE FROM tag_rules WHERE company_id = $1 AND id = $2")
            .bind(company.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        let calls = sqlx::query("SELECT call_id FROM call_auto_tags WHERE rule_id = $1")
            .bind(id.to_string())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| parsed::<CallId>(row, "call_id"))
            .collect::<Result<Vec<_>>>()?;
        sqlx::query("DELETE FROM call_auto_tags WHERE rule_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        refresh_auto_tag_terms(&mut tx, &calls).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn queue_tag_rule_application(
        &self,
        company: CompanyId,
        id: TagRuleId,
        now: OffsetDateTime,
    ) -> Result<Option<u64>> {
        let mut tx = self.write.begin().await?;
        if fetch_rule(&mut tx, company, id, "").await?.is_none() {
            return Ok(None);
        }
        let payload = serde_json::json!({ "rule_id": id }).to_string();
        let calls =
            queue_over_analyses(&mut tx, company, JobKind::ApplyTagRule, &payload, now).await?;
        tx.commit().await?;
        Ok(Some(calls))
    }

    async fn apply_tag_rule_page(
        &self,
        company: CompanyId,
        id: TagRuleId,
        after: Option<CallId>,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Option<TagRulePage>> {
        let mut tx = self.write.begin().await?;
        let Some(rule) = fetch_rule(&mut tx, company, id, self.dialect.share_rows()).await? else {
            return Ok(None);
        };
        // Locked, so a new version of one of these results waits for this page and is
        // then tagged by the rule itself.
        let after_clause = if after.is_some() {
            "AND call_id > $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT call_id, report FROM analyses WHERE company_id = $1 {after_clause} \
             ORDER BY call_id LIMIT {limit} {}",
            self.dialect.lock_row()
        );
        let mut query = sqlx::query(&sql).bind(company.to_string());
        if let Some(after) = after {
            query = query.bind(after.to_string());
        }
        let rows = query.fetch_all(&mut *tx).await?;
        let mut calls = Vec::with_capacity(rows.len());
        let mut untagged = Vec::new();
        let mut tagged = 0u64;
        for row in &rows {
            let call: CallId = parsed(row, "call_id")?;
            let report: String = row.try_get("report")?;
            // A stored report that no longer reads matches no rule.
            let matched = serde_json::from_str::<Report>(&report)
                .is_ok_and(|report| rule.spec.matches(&report));
            if matched {
                tag(&mut tx, call, &rule, now).await?;
                tagged += 1;
            } else {
                untagged.push(call);
            }
            calls.push(call);
        }
        let Some(&last) = calls.last() else {
            return Ok(None);
        };
        for chunk in untagged.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM call_auto_tags WHERE rule_id = $1 AND call_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(id.to_string());
            for call in chunk {
                query = query.bind(call.to_string());
            }
            query.execute(&mut *tx).await?;
        }
        refresh_auto_tag_terms(&mut tx, &calls).await?;
        tx.commit().await?;
        Ok(Some(TagRulePage {
            last,
            calls: calls.len() as u64,
            tagged,
        }))
    }

    async fn auto_tags(&self, company: CompanyId, calls: &[CallId]) -> Result<Vec<AutoTag>> {
        let mut out = Vec::new();
        for chunk in calls.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT a.call_id, a.rule_id, a.tag, r.name FROM call_auto_tags a \
                 JOIN tag_rules r ON r.id = a.rule_id \
                 WHERE r.company_id = $1 AND a.call_id IN ({}) ORDER BY a.created_at_ms, a.tag",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(company.to_string());
            for call in chunk {
                query = query.bind(call.to_string());
            }
            for row in query.fetch_all(&self.read).await? {
                out.push(AutoTag {
                    call_id: parsed(&row, "call_id")?,
                    rule_id: parsed(&row, "rule_id")?,
                    rule_name: row.try_get("name")?,
                    tag: row.try_get("tag")?,
                });
            }
        }
        Ok(out)
    }
}
