-- A teacher away for a period (issue 21), marked by the school office on the day page:
-- their lessons in the period show as needing a substitute. No reason is kept (a
-- colleague's illness is not the office's to record).
-- Kept in step with migrations/sqlite by tests/it/schema_drift.rs.

CREATE TABLE staff_absences (
    id BIGSERIAL PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    -- school-local days, both included
    first_day DATE NOT NULL,
    last_day DATE NOT NULL,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    cancelled_by BIGINT REFERENCES people (id),
    CHECK (last_day >= first_day)
);
CREATE INDEX staff_absences_school ON staff_absences (school_id, first_day);
CREATE INDEX staff_absences_person ON staff_absences (person_id, first_day);
