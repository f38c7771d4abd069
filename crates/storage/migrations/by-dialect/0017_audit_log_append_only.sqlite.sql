-- The audit log is append-only in the database too, not only in the store's API: an
-- UPDATE or DELETE of its rows fails (SQLite has no TRUNCATE). Migration 0017 is the one
-- written per dialect; this is SQLite's, `0017_audit_log_append_only.postgres.sql` the
-- other (`sql/migrations.rs` picks one).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted');
END;
