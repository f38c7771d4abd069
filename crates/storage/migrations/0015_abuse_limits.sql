-- Portable SQL, like 0001. Sign-in lockout: failed sign-ins per account (the SHA-256 hex
-- of the normalised e-mail, never the e-mail) counted in the database, so that every API
-- process sharing it enforces one count and a restart forgets nothing. `failures` counts
-- from `window_started_at_ms`; `locked_until_ms` is set when they reach the limit.
CREATE TABLE sign_in_lockouts (
    account TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_started_at_ms BIGINT NOT NULL,
    locked_until_ms BIGINT
);
-- The per-company caps of the Incoming Webhook: calls awaiting their recording, and bytes
-- of recordings uploaded in the last 24 hours, counted on every batch and upload.
CREATE INDEX calls_awaiting_upload ON calls (company_id) WHERE status = 'awaiting_upload';
CREATE INDEX calls_by_upload_time ON calls (company_id, audio_uploaded_at_ms);
