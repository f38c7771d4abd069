-- Portable SQL, like 0001. Who may create or update a call's record in one CRM
-- connection right now: the `deliver_notification` job holding this row. A second job
-- for the same (connection, call) — a swap's event delivered beside the first analysis's
-- on another worker — finds the row held and waits, then updates the record the first
-- one made instead of making a second. A claim counts while its job runs with a live
-- lease (a crashed worker's claim lapses with its lease); the attempt's transaction
-- deletes it.
CREATE TABLE crm_record_claims (
    connection_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    claimed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (connection_id, call_id)
);
CREATE INDEX crm_record_claims_by_job ON crm_record_claims (job_id);
