-- Portable SQL: this one file runs on SQLite and PostgreSQL alike.
-- Ids are UUID text, times are unix milliseconds, booleans are 0/1 BIGINT.

CREATE TABLE companies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    is_admin BIGINT NOT NULL DEFAULT 0,
    use_incoming_webhook BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX users_by_company ON users (company_id, created_at_ms);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE incoming_webhooks (
    company_id TEXT PRIMARY KEY REFERENCES companies(id),
    secret TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    call_data_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    call_data TEXT NOT NULL,
    event_type TEXT NOT NULL,
    starts_at_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    audio_key TEXT,
    audio_bytes BIGINT,
    audio_uploaded_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (company_id, call_data_id)
);
CREATE INDEX calls_by_company_time ON calls (company_id, starts_at_ms, id);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    company_id TEXT NOT NULL REFERENCES companies(id),
    call_id TEXT NOT NULL REFERENCES calls(id),
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
CREATE INDEX jobs_ready ON jobs (state, run_at_ms);
CREATE INDEX jobs_by_call ON jobs (call_id);
