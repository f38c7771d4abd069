-- The audit log is append-only in the database too, not only in the store's API: an
-- UPDATE, DELETE or TRUNCATE of it fails. Migration 0017 is the one written per dialect;
-- this is PostgreSQL's, `0017_audit_log_append_only.sqlite.sql` the other
-- (`sql/migrations.rs` picks one).
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
-- TRUNCATE skips row triggers.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
