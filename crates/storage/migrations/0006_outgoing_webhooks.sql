-- Outgoing webhooks (portable SQL, like 0001): each company's named endpoints, and one row
-- per delivery attempt for the log. JSON as TEXT, times as unix ms, booleans 0/1.
CREATE TABLE outgoing_webhooks (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    -- Additional headers, a JSON object; the values may be credentials.
    headers TEXT NOT NULL,
    -- Additional payload, a JSON object merged at the payload's top level.
    payload TEXT NOT NULL,
    exclude_phrases BIGINT NOT NULL DEFAULT 0,
    exclude_keywords BIGINT NOT NULL DEFAULT 0,
    enabled BIGINT NOT NULL DEFAULT 1,
    -- The event types it receives, a JSON array of strings.
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- Kept for 24 h after a rotation: both signatures are sent until then.
    previous_secret TEXT,
    previous_secret_until_ms BIGINT,
    -- Why Kiku disabled it (410, failing for days); NULL when enabled or disabled by an admin.
    disabled_reason TEXT,
    -- Since when every attempt failed; NULL after a success.
    failing_since_ms BIGINT,
    last_success_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX outgoing_webhooks_by_company ON outgoing_webhooks (company_id, created_at_ms);

CREATE TABLE outgoing_webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES outgoing_webhooks(id),
    company_id TEXT NOT NULL REFERENCES companies(id),
    event_id TEXT NOT NULL,
    call_id TEXT,
    attempt BIGINT NOT NULL,
    attempted_at_ms BIGINT NOT NULL,
    -- NULL when no response came (timeout, connection error, refused address).
    status BIGINT,
    latency_ms BIGINT NOT NULL,
    -- The first KiB of the response body.
    response_head TEXT NOT NULL,
    error TEXT,
    replay BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outgoing_webhook_deliveries_by_endpoint
    ON outgoing_webhook_deliveries (endpoint_id, attempted_at_ms, id);
CREATE INDEX outgoing_webhook_deliveries_by_call
    ON outgoing_webhook_deliveries (company_id, call_id, attempted_at_ms, id);
