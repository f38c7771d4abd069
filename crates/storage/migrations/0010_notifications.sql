-- Notifications (portable SQL, like 0001): Slack rules, e-mail recipients and the users who
-- asked for e-mail, and one row per attempt to send a Slack message or an e-mail.
CREATE TABLE slack_rules (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    name TEXT NOT NULL,
    -- Slack's incoming-webhook URL: a credential, never shown after it is saved.
    webhook_url TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    include_summary BIGINT NOT NULL DEFAULT 0,
    -- A JSON object: user_ids, event_types, tags, min_score, max_score.
    filters TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX slack_rules_by_company ON slack_rules (company_id, created_at_ms);

-- Company-wide recipients of the e-mail sent when a call's recognition completes.
CREATE TABLE email_recipients (
    company_id TEXT NOT NULL REFERENCES companies(id),
    address TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (company_id, address)
);

-- Users who asked to be e-mailed when recognition of their calls completes.
CREATE TABLE email_opt_ins (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    company_id TEXT NOT NULL REFERENCES companies(id),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX email_opt_ins_by_company ON email_opt_ins (company_id);

-- Every attempt, kept when its Slack rule is deleted (the call's history stays whole).
CREATE TABLE notification_attempts (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    call_id TEXT,
    event_id TEXT NOT NULL,
    -- slack or email.
    channel TEXT NOT NULL,
    slack_rule_id TEXT,
    -- The rule's name at the time, or the e-mail address.
    target TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    attempted_at_ms BIGINT NOT NULL,
    -- HTTP status (Slack) or SMTP reply code (e-mail); NULL when no answer came.
    status BIGINT,
    latency_ms BIGINT NOT NULL,
    response_head TEXT NOT NULL,
    error TEXT,
    -- delivered, retrying or failed.
    outcome TEXT NOT NULL,
    replay BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notification_attempts_by_call
    ON notification_attempts (company_id, call_id, attempted_at_ms, id);
CREATE INDEX notification_attempts_by_target
    ON notification_attempts (company_id, channel, target, attempted_at_ms, id);
CREATE INDEX notification_attempts_by_rule
    ON notification_attempts (slack_rule_id, attempted_at_ms, id);
