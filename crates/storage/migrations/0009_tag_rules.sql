-- Portable SQL, like 0001: auto-tag rules and the tags they gave calls.

CREATE TABLE tag_rules (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies(id),
    name TEXT NOT NULL,
    -- A JSON array of strings.
    keywords TEXT NOT NULL,
    -- any | all
    keyword_match TEXT NOT NULL,
    min_count BIGINT NOT NULL,
    -- user | customer | any
    speaker TEXT NOT NULL,
    tag TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX tag_rules_by_company ON tag_rules (company_id);

-- The tag each rule gave each call; the search finds them as `call_terms` of kind
-- `auto_tag`, made from these rows in the same transaction.
CREATE TABLE call_auto_tags (
    call_id TEXT NOT NULL REFERENCES calls(id),
    -- No foreign key: a rule is deleted before its tags, so that a result being stored
    -- while the rule goes (it holds the rule with FOR SHARE) never fails on it.
    rule_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (call_id, rule_id)
);
CREATE INDEX call_auto_tags_by_rule ON call_auto_tags (rule_id);
