-- absence_days is derived: every row is recomputed from the timetable, the memberships and
-- the marks (statistics::store), in the transaction that moved it, and a test holds it equal
-- to a fresh computation. Its foreign keys checked a row three times over on every write
-- (a year of a municipality is millions of rows) and guarded nothing: people, groups and
-- organisations are never deleted.
ALTER TABLE absence_days
    DROP CONSTRAINT absence_days_school_id_fkey,
    DROP CONSTRAINT absence_days_pupil_id_fkey,
    DROP CONSTRAINT absence_days_class_id_fkey;
