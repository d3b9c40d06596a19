-- Delegated leave decisions (SQLite). A principal may delegate decisions on leave to the
-- school's mentors, for applications that keep the pupil's granted leave within a number
-- of school days per school year (commonly 10); the rest stay with the principal. Who
-- delegated, when, and who ended it are kept; a school has at most one running
-- delegation (the partial unique index decides between two at once), and a decision
-- taken under one names it.
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

CREATE TABLE leave_delegations (
    id INTEGER PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    max_days INTEGER NOT NULL CHECK (max_days BETWEEN 1 AND 60),
    delegated_by BIGINT NOT NULL REFERENCES people (id),
    delegated_at TIMESTAMP NOT NULL,
    ended_by BIGINT REFERENCES people (id),
    ended_at TIMESTAMP
);
CREATE UNIQUE INDEX leave_delegations_running ON leave_delegations (school_id) WHERE ended_at IS NULL;

ALTER TABLE leave_applications ADD COLUMN delegation_id BIGINT REFERENCES leave_delegations (id);
