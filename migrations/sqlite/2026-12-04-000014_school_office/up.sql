-- The school office (issue 21): a school administrator duty (SS 12000's dutyRole
-- Skoladministratör), who handles the day's changes for their own school; and lessons
-- changed by hand on the day page (src/day_changes.rs).
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

-- SQLite cannot change a CHECK constraint: the duties table is built again.
CREATE TABLE duties_new (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'principal', 'teacher', 'mentor', 'school_admin')),
    -- for a mentor: the class or mentor group
    group_id BIGINT REFERENCES groups (id),
    start_date DATE NOT NULL,
    end_date DATE,
    external_id TEXT
);
INSERT INTO duties_new (id, person_id, organisation_id, role, group_id, start_date, end_date, external_id)
    SELECT id, person_id, organisation_id, role, group_id, start_date, end_date, external_id FROM duties;
DROP TABLE duties;
ALTER TABLE duties_new RENAME TO duties;
CREATE INDEX duties_person ON duties (person_id);
CREATE INDEX duties_organisation ON duties (organisation_id, role);
CREATE INDEX duties_group ON duties (group_id);
CREATE INDEX duties_external_id ON duties (external_id);

-- an administrator's duty at a school (what earlier versions imported Skoladministratör
-- as) is the school's office
UPDATE duties SET role = 'school_admin'
    WHERE role = 'admin' AND organisation_id IN (SELECT id FROM organisations WHERE org_type = 'school');

-- a lesson cancelled or given back by hand: what the school administration system said
-- (NULL: not changed by hand); a sync keeps the hand's value until the system's changes
ALTER TABLE lessons ADD COLUMN source_cancelled BOOLEAN;
-- when the lesson was last changed on the day page (a substitute, a cancellation)
ALTER TABLE lessons ADD COLUMN changed_by_hand_at TIMESTAMP;

-- the school's own time for the day's unexplained-absence notices ("HH:MM", school-local);
-- NULL: NARVARO_NOTICE_AT
ALTER TABLE organisations ADD COLUMN notice_at TEXT;
