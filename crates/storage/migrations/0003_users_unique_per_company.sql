-- Portable SQL, like 0001: an e-mail is unique within a company, not across companies,
-- so an admin of one company cannot learn from a 409 that it exists in another.
-- SQLite cannot drop a column's UNIQUE constraint, so the users table is rebuilt; sessions
-- (the one table referencing users) is rebuilt with it so its foreign key follows the
-- rename on both databases. Dropping sessions before users keeps SQLite's foreign-key
-- check on DROP TABLE satisfied.

CREATE TABLE users_v3 (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT,
    is_admin BIGINT NOT NULL DEFAULT 0,
    use_incoming_webhook BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (company_id, email)
);
INSERT INTO users_v3 (id, company_id, name, email, password_hash, is_admin, use_incoming_webhook, created_at_ms)
    SELECT id, company_id, name, email, password_hash, is_admin, use_incoming_webhook, created_at_ms FROM users;

CREATE TABLE sessions_v3 (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users_v3(id),
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
INSERT INTO sessions_v3 (token_hash, user_id, expires_at_ms, created_at_ms)
    SELECT token_hash, user_id, expires_at_ms, created_at_ms FROM sessions;

DROP TABLE sessions;
DROP TABLE users;
ALTER TABLE users_v3 RENAME TO users;
ALTER TABLE sessions_v3 RENAME TO sessions;

CREATE INDEX users_by_company ON users (company_id, created_at_ms);
-- Sign-in looks an e-mail up across companies.
CREATE INDEX users_by_email ON users (email, created_at_ms);
