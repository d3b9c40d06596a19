-- The school office (issue 21): a school administrator duty (SS 12000's dutyRole
-- Skoladministratör), who handles the day's changes for their own school; and lessons
-- changed by hand on the day page (src/day_changes.rs).
-- Kept in step with migrations/sqlite by tests/it/schema_drift.rs.

ALTER TABLE duties DROP CONSTRAINT duties_role_check;
ALTER TABLE duties ADD CONSTRAINT duties_role_check
    CHECK (role IN ('admin', 'principal', 'teacher', 'mentor', 'school_admin'));

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
