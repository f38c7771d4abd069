-- Portable SQL, like 0001. Jobs are claimed in `fair_ms` order, which interleaves the
-- companies: a job's place is right after its company's last queued job of its kind, or
-- right after the head of the queue, whichever is later (sql/jobs.rs::insert_job). One
-- company's flood of uploads then cannot starve the others.
-- (0011 is left to the CRM connections being built beside this.)
ALTER TABLE jobs ADD COLUMN fair_ms BIGINT NOT NULL DEFAULT 0;
UPDATE jobs SET fair_ms = run_at_ms WHERE state = 'queued';
DROP INDEX jobs_ready;
CREATE INDEX jobs_fair ON jobs (state, kind, fair_ms);
CREATE INDEX jobs_company_fair ON jobs (company_id, kind, state, fair_ms);
