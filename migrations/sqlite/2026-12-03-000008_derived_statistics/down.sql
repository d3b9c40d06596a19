CREATE TABLE absence_days_old (
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    day DATE NOT NULL,
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    class_id BIGINT REFERENCES groups (id),
    week INTEGER NOT NULL,
    weekday INTEGER NOT NULL,
    scheduled_minutes INTEGER NOT NULL,
    reported_minutes INTEGER NOT NULL,
    valid_minutes INTEGER NOT NULL,
    invalid_minutes INTEGER NOT NULL,
    other_minutes INTEGER NOT NULL,
    lates INTEGER NOT NULL,
    PRIMARY KEY (school_id, day, pupil_id)
) WITHOUT ROWID;
INSERT INTO absence_days_old SELECT school_id, day, pupil_id, class_id, week, weekday,
    scheduled_minutes, reported_minutes, valid_minutes, invalid_minutes, other_minutes, lates
    FROM absence_days;
DROP TABLE absence_days;
ALTER TABLE absence_days_old RENAME TO absence_days;
CREATE INDEX absence_days_pupil ON absence_days (pupil_id, day);
