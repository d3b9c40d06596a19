-- Both guardians (issue 39): the huvudman's rule (or a school's, stricter) that an
-- application from one guardian waits for the pupil's other guardians to confirm it. Each
-- other guardian's answer is a row: waiting, confirmed or declined (with the reason the
-- applicant is shown); `by_phone` is the staff member who recorded an answer given by
-- telephone, for a guardian who cannot be reached or has a protected identity. An
-- application waiting for them is `awaiting_guardian`; one a guardian declined `declined`.
-- Kept in step with the other tree by tests/it/schema_drift.rs.

ALTER TABLE leave_rules ADD COLUMN both_guardians BOOLEAN NOT NULL DEFAULT FALSE;

-- SQLite cannot change a CHECK constraint: leave_applications is built again with the two
-- new states, as in 000030 (src/db/migrate.rs runs this with foreign keys off and checks
-- every reference before it commits; the legacy rename leaves references as they are).
PRAGMA legacy_alter_table = ON;
CREATE TABLE leave_applications_new (
    id INTEGER PRIMARY KEY,
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    reason TEXT NOT NULL,
    applied_by BIGINT NOT NULL REFERENCES people (id),
    applied_at TIMESTAMP NOT NULL,
    recommendation TEXT CHECK (recommendation IN ('recommended', 'not_recommended')),
    recommendation_comment TEXT,
    recommended_by BIGINT REFERENCES people (id),
    recommended_at TIMESTAMP,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'awaiting_guardian', 'declined')),
    decided_by BIGINT REFERENCES people (id),
    decided_at TIMESTAMP,
    decision_comment TEXT,
    uuid TEXT,
    delegation_id BIGINT REFERENCES leave_delegations (id),
    blocked_reason TEXT,
    CHECK (end_date >= start_date)
);
INSERT INTO leave_applications_new (id, pupil_id, start_date, end_date, reason, applied_by, applied_at, recommendation, recommendation_comment, recommended_by, recommended_at, status, decided_by, decided_at, decision_comment, uuid, delegation_id, blocked_reason)
    SELECT id, pupil_id, start_date, end_date, reason, applied_by, applied_at, recommendation, recommendation_comment, recommended_by, recommended_at, status, decided_by, decided_at, decision_comment, uuid, delegation_id, blocked_reason FROM leave_applications;
DROP TABLE leave_applications;
ALTER TABLE leave_applications_new RENAME TO leave_applications;
CREATE INDEX leave_applications_pupil ON leave_applications (pupil_id, start_date);
CREATE UNIQUE INDEX leave_applications_uuid ON leave_applications (uuid);
CREATE TRIGGER leave_applications_uuid AFTER INSERT ON leave_applications FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE leave_applications SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;
PRAGMA legacy_alter_table = OFF;

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
