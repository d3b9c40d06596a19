-- The huvudman's rules for leave (issue 39): days of notice before the first day, the
-- longest leave one decision may grant (school days), and the leave per pupil and school
-- year above which only the principal decides (delegation does not apply); NULL is no
-- rule. The municipality sets them, a school may be stricter (src/attendance/leave_rules.rs
-- refuses a looser value, and the stricter of the two applies). Blocked periods (the
-- national tests, say) are the municipality's or a school's: an application touching one
-- needs a stated reason and goes to the principal, which the application keeps.
-- Kept in step with the other tree by tests/it/schema_drift.rs.

CREATE TABLE leave_rules (
    organisation_id BIGINT PRIMARY KEY REFERENCES organisations (id),
    notice_days INTEGER CHECK (notice_days BETWEEN 0 AND 365),
    longest_days INTEGER CHECK (longest_days BETWEEN 1 AND 365),
    principal_above_days INTEGER CHECK (principal_above_days BETWEEN 0 AND 365),
    changed_by BIGINT NOT NULL REFERENCES people (id),
    changed_at TIMESTAMP NOT NULL
);

CREATE TABLE leave_blocked_periods (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    first_day DATE NOT NULL,
    last_day DATE NOT NULL,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (last_day >= first_day)
);
CREATE INDEX leave_blocked_periods_organisation ON leave_blocked_periods (organisation_id, last_day);

-- why leave is asked for in a blocked period (required then), as the guardian wrote it
ALTER TABLE leave_applications ADD COLUMN blocked_reason TEXT;
