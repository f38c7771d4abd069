-- Portable SQL, like 0001. The audit log: one row per admin action (and per swap or
-- export), written by the request or CLI command that did it, never updated or deleted
-- (the store has no statement that would). `actor_id` is the user's id, or `cli` for the
-- operator's command line; `client` the address the request came from (NULL for the CLI);
-- `details` a small JSON object of what the action named (never a secret).
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    details TEXT NOT NULL,
    client TEXT,
    via TEXT NOT NULL
);
CREATE INDEX audit_log_by_company ON audit_log (company_id, at_ms, id);
