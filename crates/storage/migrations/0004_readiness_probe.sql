-- One row that `/ready` rewrites: a commit that succeeds proves the database takes writes.
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY,
    checked_at BIGINT NOT NULL
);
