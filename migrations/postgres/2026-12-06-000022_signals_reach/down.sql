DROP TABLE report_updates;
DROP TABLE followup_rounds;
CREATE TABLE threshold_state (
    pupil_id BIGINT PRIMARY KEY REFERENCES people (id),
    above BOOLEAN NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
DELETE FROM signals WHERE rule_id IN (SELECT id FROM signal_rules WHERE created_by IS NULL);
DELETE FROM signal_rules WHERE created_by IS NULL;
ALTER TABLE signals DROP COLUMN pattern;
ALTER TABLE signal_rules DROP COLUMN send_email;
ALTER TABLE signal_rules DROP COLUMN tell_guardians;
ALTER TABLE signal_rules ALTER COLUMN created_by SET NOT NULL;
