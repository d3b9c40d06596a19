-- Signals reach further (issue 36): a school adds rules of its own beside the huvudman's
-- (a rule's organisation is then the school), a rule may tell the guardians and may e-mail
-- those it is shown to the moment it is raised, rules that read single lessons (the same
-- subject, the same lesson slot, single lessons missed on a day at school) say which
-- subject or slot a signal is of, and the huvudman follows its reports up in rounds.
-- The school's threshold notice (organisations.alert_threshold_pct, threshold_state)
-- becomes such a rule of each school: written by nobody (created_by NULL), e-mailed.
-- Kept in step with migrations/sqlite by tests/it/schema_drift.rs.

ALTER TABLE signal_rules ALTER COLUMN created_by DROP NOT NULL;
-- the pupil's guardians get a short e-mail when the signal is raised
ALTER TABLE signal_rules ADD COLUMN tell_guardians BOOLEAN NOT NULL DEFAULT FALSE;
-- those the signal is shown to get an e-mail when it is raised
ALTER TABLE signal_rules ADD COLUMN send_email BOOLEAN NOT NULL DEFAULT FALSE;
-- subject: the subject's code; slot: ISO weekday and start, "2 08:10"
ALTER TABLE signals ADD COLUMN pattern TEXT;

INSERT INTO signal_rules (organisation_id, kind, counts, window_days, share_pct, days,
        tell_mentor, tell_principal, tell_health, tell_guardians, send_email, active,
        created_by, created_at)
    SELECT id, 'share', 'all', 30, alert_threshold_pct, NULL, TRUE, TRUE, FALSE, FALSE, TRUE,
        TRUE, NULL, CURRENT_TIMESTAMP
    FROM organisations
    WHERE org_type = 'school' AND alert_threshold_pct BETWEEN 1 AND 100;
DROP TABLE threshold_state;

-- the dates the huvudman follows its open reports up on (e.g. in weeks 11 and 41)
CREATE TABLE followup_rounds (
    id BIGSERIAL PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    due_on DATE NOT NULL,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, due_on)
);

-- what the principal wrote about a report, in a round or between rounds
CREATE TABLE report_updates (
    id BIGSERIAL PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES huvudman_reports (id),
    round_id BIGINT REFERENCES followup_rounds (id),
    body TEXT NOT NULL,
    written_by BIGINT NOT NULL REFERENCES people (id),
    written_at TIMESTAMP NOT NULL
);
CREATE INDEX report_updates_report ON report_updates (report_id);
