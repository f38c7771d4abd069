-- Portable SQL, like 0001. A call's minutes (docs/analysis.md, *Minutes*): the latest text
-- the operator's language model wrote, and the version of the result it was written
-- from; written by a `write_minutes` job with its `call_summarization_completed` event.
CREATE TABLE call_minutes (
    call_id TEXT PRIMARY KEY REFERENCES calls(id),
    company_id TEXT NOT NULL REFERENCES companies(id),
    version BIGINT NOT NULL,
    text TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
