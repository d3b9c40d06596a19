-- Pupils of a trip's group who stay at school (issue 21): the office unticks them on the
-- trips page, and the trip does not cover their lessons (their teachers mark them as on
-- any day). A pupil who leaves the group keeps their row until the trip is gone.
-- Kept in step with migrations/sqlite by tests/it/schema_drift.rs.

CREATE TABLE trip_stays (
    trip_id BIGINT NOT NULL REFERENCES trips (id),
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    PRIMARY KEY (trip_id, pupil_id)
);
CREATE INDEX trip_stays_pupil ON trip_stays (pupil_id);
