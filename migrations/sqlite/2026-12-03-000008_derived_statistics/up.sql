-- absence_days is derived: every row is recomputed from the timetable, the memberships and
-- the marks (statistics::store), in the transaction that moved it, and a test holds it equal
-- to a fresh computation. Its foreign keys checked a row three times over on every write
-- (a year of a municipality is millions of rows) and guarded nothing: people, groups and
-- organisations are never deleted. SQLite drops a foreign key by building the table anew.
CREATE TABLE absence_days_new (
    school_id BIGINT NOT NULL,
    day DATE NOT NULL,
    pupil_id BIGINT NOT NULL,
    -- the pupil's class (a group of type 'class') on that day, if any
    class_id BIGINT,
    -- ISO week as year * 100 + week (202647), and ISO weekday (1 = Monday)
    week INTEGER NOT NULL,
    weekday INTEGER NOT NULL,
    scheduled_minutes INTEGER NOT NULL,
    reported_minutes INTEGER NOT NULL,
    valid_minutes INTEGER NOT NULL,
    invalid_minutes INTEGER NOT NULL,
    -- marked, with a reason that does not count as absence (taking part remotely, say)
    other_minutes INTEGER NOT NULL,
    lates INTEGER NOT NULL,
    PRIMARY KEY (school_id, day, pupil_id)
) WITHOUT ROWID;
INSERT INTO absence_days_new SELECT school_id, day, pupil_id, class_id, week, weekday,
    scheduled_minutes, reported_minutes, valid_minutes, invalid_minutes, other_minutes, lates
    FROM absence_days;
DROP TABLE absence_days;
ALTER TABLE absence_days_new RENAME TO absence_days;
CREATE INDEX absence_days_pupil ON absence_days (pupil_id, day);
