-- Closing a term (issue 38): the huvudman closes a term for a school after the data-quality
-- check. At most one closing of a school's term is in force (reopened_at IS NULL), which the
-- partial unique index makes the database itself keep, so two administrators closing at
-- once close it once. While it is closed, only the school's principal changes a mark on its
-- lessons, with a reason; each such change is a row of closed_term_changes, which the
-- huvudman's page lists. No pupil is named in either table.
-- Kept in step with the other tree by tests/it/schema_drift.rs.

CREATE TABLE term_closings (
    id INTEGER PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    term_start DATE NOT NULL,
    closed_at TIMESTAMP NOT NULL,
    closed_by BIGINT NOT NULL REFERENCES people (id),
    problems INTEGER NOT NULL,
    reopened_at TIMESTAMP,
    reopened_by BIGINT REFERENCES people (id),
    reopen_reason TEXT
);
CREATE UNIQUE INDEX term_closings_in_force ON term_closings (school_id, term_start) WHERE reopened_at IS NULL;

CREATE TABLE closed_term_changes (
    id INTEGER PRIMARY KEY,
    closing_id BIGINT NOT NULL REFERENCES term_closings (id),
    lesson_id BIGINT NOT NULL REFERENCES lessons (id),
    changed_by BIGINT NOT NULL REFERENCES people (id),
    changed_at TIMESTAMP NOT NULL,
    marks INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX closed_term_changes_closing ON closed_term_changes (closing_id);
