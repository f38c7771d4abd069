-- Portable SQL, like 0001: what the call list filters and sorts on. The text index differs
-- by database (FTS5 on SQLite, pg_trgm on PostgreSQL) and is made at start, idempotently,
-- by `sql/search_index.rs`.

ALTER TABLE calls ADD COLUMN answered BIGINT NOT NULL DEFAULT 0;
-- Answer to end; 0 when unanswered.
ALTER TABLE calls ADD COLUMN talk_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN group_name TEXT;
ALTER TABLE calls ADD COLUMN queue_name TEXT;
-- The current result's score; NULL until analysed.
ALTER TABLE calls ADD COLUMN score DOUBLE PRECISION;
-- 0 for calls stored before this migration: the server indexes them at start.
ALTER TABLE calls ADD COLUMN search_indexed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX calls_search_pending ON calls (search_indexed);
CREATE INDEX calls_by_company_talk ON calls (company_id, talk_ms, id);
CREATE INDEX calls_by_company_score ON calls (company_id, score, id);
-- Calls found by their text are looked up by id: this answers the company check, the
-- commonest filters and the sort without reading the row (call_data is large).
CREATE INDEX calls_search_lookup ON calls (id, company_id, starts_at_ms, talk_ms, score, status);

-- The multi-valued facts of a call: kind `user`, `number` (digits), `tag`, `call_flag`
-- (from the call data); `keyword` (with its count) and `flag` (from the current result).
CREATE TABLE call_terms (
    call_id TEXT NOT NULL REFERENCES calls(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    count BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (call_id, kind, value)
);
CREATE INDEX call_terms_by_value ON call_terms (kind, value);
