-- Both guardians (issue 39): the huvudman's rule (or a school's, stricter) that an
-- application from one guardian waits for the pupil's other guardians to confirm it. Each
-- other guardian's answer is a row: waiting, confirmed or declined (with the reason the
-- applicant is shown); `by_phone` is the staff member who recorded an answer given by
-- telephone, for a guardian who cannot be reached or has a protected identity. An
-- application waiting for them is `awaiting_guardian`; one a guardian declined `declined`.
-- Kept in step with the other tree by tests/it/schema_drift.rs.

ALTER TABLE leave_rules ADD COLUMN both_guardians BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE leave_applications DROP CONSTRAINT leave_applications_status_check;
ALTER TABLE leave_applications ADD CONSTRAINT leave_applications_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'awaiting_guardian', 'declined'));

CREATE TABLE leave_confirmations (
    leave_id BIGINT NOT NULL REFERENCES leave_applications (id),
    guardian_id BIGINT NOT NULL REFERENCES people (id),
    answer TEXT NOT NULL CHECK (answer IN ('waiting', 'confirmed', 'declined')),
    comment TEXT,
    answered_at TIMESTAMP,
    by_phone BIGINT REFERENCES people (id),
    PRIMARY KEY (leave_id, guardian_id)
);
CREATE INDEX leave_confirmations_guardian ON leave_confirmations (guardian_id);
