-- Trips (issue 21): the school office moves a group out of the timetable for a trip or
-- another school activity. The group's lessons in the period count as the trip's reason
-- (one that is not absence, "Annan skolaktivitet"): the roll call marks the pupils with
-- it until the teacher says otherwise (src/trips.rs, crate::absence::covers_for_lesson).
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

CREATE TABLE trips (
    id INTEGER PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    group_id BIGINT NOT NULL REFERENCES groups (id),
    -- a reason that does not count as absence
    reason_id BIGINT NOT NULL REFERENCES absence_reasons (id),
    title TEXT NOT NULL,
    -- UTC
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    cancelled_by BIGINT REFERENCES people (id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX trips_group ON trips (group_id, starts_at);
CREATE INDEX trips_school ON trips (school_id, starts_at);
