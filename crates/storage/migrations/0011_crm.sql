-- CRM activity sync (portable SQL, like 0001): each company's CRM connections, the CRM
-- record each call became in each of them, and two columns of the notification attempt
-- log for CRM attempts.
CREATE TABLE crm_connections (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    -- salesforce, hubspot or kintone.
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- NULL: the vendor's public address (kintone always has one).
    base_url TEXT,
    -- A JSON object admins may see (kintone's app and field map, Salesforce's API version).
    settings TEXT NOT NULL,
    -- A JSON object of tokens and secrets: write-only, never shown after it is saved.
    credentials TEXT NOT NULL,
    -- transcript or summary.
    content TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX crm_connections_by_company ON crm_connections (company_id, created_at_ms);

-- The CRM's id of the record a call became, per connection, and the version of the
-- result it holds: a swap updates that record instead of making a second one, and an
-- older version never overwrites a newer one. No foreign key to the connection: a
-- connection is deleted with its rows, and an attempt finishing meanwhile must not fail.
CREATE TABLE crm_records (
    connection_id TEXT NOT NULL,
    call_id TEXT NOT NULL REFERENCES calls(id),
    company_id TEXT NOT NULL REFERENCES companies(id),
    record_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (connection_id, call_id)
);

ALTER TABLE notification_attempts ADD COLUMN crm_connection_id TEXT;
ALTER TABLE notification_attempts ADD COLUMN crm_record_id TEXT;
CREATE INDEX notification_attempts_by_crm
    ON notification_attempts (crm_connection_id, attempted_at_ms, id);
