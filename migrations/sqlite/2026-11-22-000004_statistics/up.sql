-- Statistics (sqlite): each pupil's scheduled, reported and absent lesson minutes per school
-- day, and the same summed per class and day, kept up to date in the same transaction as
-- whatever changes them (a roll call, an absence report, a leave decision), so that the
-- figures are live and a school's term or a municipality's year sums a few thousand rows
-- instead of hundreds of thousands of marks. src/statistics rebuilds both from the marks
-- (narvaro stats-rebuild). Kept in step with the other tree by tests/it/schema_drift.rs.

CREATE TABLE absence_days (
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    day DATE NOT NULL,
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    -- the pupil's class (a group of type 'class') on that day, if any
    class_id BIGINT REFERENCES groups (id),
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
CREATE INDEX absence_days_pupil ON absence_days (pupil_id, day);

-- absence_days summed per school, day and class (class_id 0: pupils without a class)
CREATE TABLE absence_class_days (
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    day DATE NOT NULL,
    class_id BIGINT NOT NULL,
    week INTEGER NOT NULL,
    weekday INTEGER NOT NULL,
    pupils INTEGER NOT NULL,
    scheduled_minutes INTEGER NOT NULL,
    reported_minutes INTEGER NOT NULL,
    valid_minutes INTEGER NOT NULL,
    invalid_minutes INTEGER NOT NULL,
    other_minutes INTEGER NOT NULL,
    lates INTEGER NOT NULL,
    PRIMARY KEY (school_id, day, class_id)
) WITHOUT ROWID;
