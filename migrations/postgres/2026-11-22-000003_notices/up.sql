-- Notices (postgres): whether a pupil is above the absence alert threshold, so that the mentor
-- and the principal are alerted once per crossing; and an index for the staff's list of
-- the day's notices. Kept in step with the other tree by tests/it/schema_drift.rs.

CREATE TABLE threshold_state (
    pupil_id BIGINT PRIMARY KEY REFERENCES people (id),
    above BOOLEAN NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

CREATE INDEX outbox_pupil_date ON outbox (pupil_id, notice_date);
