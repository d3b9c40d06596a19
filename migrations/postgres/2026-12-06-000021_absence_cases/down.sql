DROP TABLE home_reports;
ALTER TABLE organisations DROP COLUMN municipality_code;
ALTER TABLE people DROP COLUMN municipality_code;
ALTER TABLE organisations DROP COLUMN case_deadline_days;
ALTER TABLE signal_rules DROP COLUMN tell_health;
ALTER TABLE signals DROP COLUMN case_id;
DROP TABLE huvudman_reports;
DROP TABLE case_health_notes;
DROP TABLE case_steps;
DROP TABLE case_participants;
DROP TABLE absence_cases;
DROP INDEX signals_open;
CREATE UNIQUE INDEX signals_open ON signals (rule_id, pupil_id) WHERE status <> 'dismissed';
DELETE FROM duties WHERE role IN ('health', 'case_officer');
ALTER TABLE duties DROP CONSTRAINT duties_role_check;
ALTER TABLE duties ADD CONSTRAINT duties_role_check
    CHECK (role IN ('admin', 'principal', 'teacher', 'mentor', 'school_admin'));
