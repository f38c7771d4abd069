-- Portable SQL, like 0001: analysis results, per-company analysis settings, and the
-- progress of a running analysis. JSON documents are stored as TEXT.

CREATE TABLE analyses (
    call_id TEXT PRIMARY KEY REFERENCES calls(id),
    company_id TEXT NOT NULL REFERENCES companies(id),
    -- 1 on first store, +1 on every change (re-analysis, re-score, role swap).
    version BIGINT NOT NULL,
    engine TEXT NOT NULL,
    -- What was heard, role-free.
    transcript TEXT NOT NULL,
    -- Which speaker is the user.
    roles TEXT NOT NULL,
    -- Metrics computed from transcript and roles.
    report TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX analyses_by_company ON analyses (company_id, call_id);

CREATE TABLE analysis_settings (
    company_id TEXT PRIMARY KEY REFERENCES companies(id),
    settings TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- 0..=100 while the call is analysing, NULL otherwise.
ALTER TABLE calls ADD COLUMN progress_percent BIGINT;
