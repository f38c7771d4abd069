-- Portable SQL, like 0001. Jobs of every kind (a JSON payload; a call only for analysis),
-- the outbox of events, and every version of every call's result.

-- SQLite cannot drop NOT NULL from call_id in place: the table is rebuilt.
CREATE TABLE jobs_typed (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    company_id TEXT NOT NULL REFERENCES companies(id),
    call_id TEXT REFERENCES calls(id),
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at_ms BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until_ms BIGINT,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
INSERT INTO jobs_typed (id, kind, company_id, call_id, payload, state, attempts, max_attempts,
                        run_at_ms, lease_owner, lease_until_ms, last_error, created_at_ms, updated_at_ms)
SELECT id, kind, company_id, call_id, '{}', state, attempts, max_attempts,
       run_at_ms, lease_owner, lease_until_ms, last_error, created_at_ms, updated_at_ms
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_typed RENAME TO jobs;
-- Claiming finds ready jobs and expired leases through these two (an OR of two index
-- searches), never by scanning the done jobs that pile up.
CREATE INDEX jobs_ready ON jobs (state, kind, run_at_ms);
CREATE INDEX jobs_leases ON jobs (state, lease_until_ms);
CREATE INDEX jobs_by_call ON jobs (call_id);

-- The outbox: one row per thing that happened to a result, written with the result.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    call_id TEXT REFERENCES calls(id),
    kind TEXT NOT NULL,
    -- The result version it announces (NULL for a failure) and the one it replaces.
    version BIGINT,
    previous_version BIGINT,
    -- The cause, for a failure.
    detail TEXT,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX events_by_call ON events (call_id, created_at_ms);

-- Every version of a call's result; `analyses` keeps the current one. Never updated.
CREATE TABLE analysis_versions (
    call_id TEXT NOT NULL REFERENCES calls(id),
    version BIGINT NOT NULL,
    company_id TEXT NOT NULL REFERENCES companies(id),
    engine TEXT NOT NULL,
    transcript TEXT NOT NULL,
    roles TEXT NOT NULL,
    report TEXT NOT NULL,
    -- analysis, rescore or swap.
    reason TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (call_id, version)
);
INSERT INTO analysis_versions (call_id, version, company_id, engine, transcript, roles, report, reason, created_at_ms)
SELECT call_id, version, company_id, engine, transcript, roles, report, 'analysis', updated_at_ms FROM analyses;
ALTER TABLE analyses ADD COLUMN reason TEXT NOT NULL DEFAULT 'analysis';
