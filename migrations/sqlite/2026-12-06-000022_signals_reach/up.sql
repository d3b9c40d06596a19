-- Signals reach further (issue 36): a school adds rules of its own beside the huvudman's
-- (a rule's organisation is then the school), a rule may tell the guardians and may e-mail
-- those it is shown to the moment it is raised, rules that read single lessons (the same
-- subject, the same lesson slot, single lessons missed on a day at school) say which
-- subject or slot a signal is of, and the huvudman follows its reports up in rounds.
-- The school's threshold notice (organisations.alert_threshold_pct, threshold_state)
-- becomes such a rule of each school: written by nobody (created_by NULL), e-mailed.
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

-- SQLite cannot drop a NOT NULL: signal_rules is built again, and signals with it (its
-- only child), children before parents, so that no foreign key is ever left dangling.
CREATE TABLE signal_rules_new (
    id INTEGER PRIMARY KEY,
    -- the municipality whose schools it watches, or the one school it was added for
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    -- share | days_in_row | term_share | occasions | weekday | subject | slot | single_lessons
    kind TEXT NOT NULL,
    -- all | valid | invalid
    counts TEXT NOT NULL,
    window_days INTEGER NOT NULL,
    share_pct INTEGER,
    days INTEGER,
    tell_mentor BOOLEAN NOT NULL,
    tell_principal BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    -- nobody for the rules that were the schools' threshold notices
    created_by BIGINT REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    tell_health BOOLEAN NOT NULL DEFAULT FALSE,
    -- the pupil's guardians get a short e-mail when the signal is raised
    tell_guardians BOOLEAN NOT NULL DEFAULT FALSE,
    -- those the signal is shown to get an e-mail when it is raised
    send_email BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (window_days BETWEEN 1 AND 366),
    CHECK (share_pct IS NULL OR share_pct BETWEEN 1 AND 100),
    CHECK (days IS NULL OR days BETWEEN 1 AND 366)
);
INSERT INTO signal_rules_new (id, organisation_id, kind, counts, window_days, share_pct, days,
        tell_mentor, tell_principal, active, created_by, created_at, tell_health)
    SELECT id, organisation_id, kind, counts, window_days, share_pct, days, tell_mentor,
        tell_principal, active, created_by, created_at, tell_health
    FROM signal_rules;

CREATE TABLE signals_new (
    id INTEGER PRIMARY KEY,
    rule_id BIGINT NOT NULL REFERENCES signal_rules_new (id),
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    -- new | seen | case | dismissed | closed
    status TEXT NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    absent_minutes INTEGER NOT NULL,
    scheduled_minutes INTEGER NOT NULL,
    days_in_row INTEGER NOT NULL,
    seen_by BIGINT REFERENCES people (id),
    seen_at TIMESTAMP,
    dismissed_reason TEXT,
    dismissed_by BIGINT REFERENCES people (id),
    dismissed_at TIMESTAMP,
    case_id BIGINT REFERENCES absence_cases (id),
    -- subject: the subject's code; slot: ISO weekday and start, "2 08:10"
    pattern TEXT
);
INSERT INTO signals_new (id, rule_id, pupil_id, school_id, status, raised_at, period_from,
        period_to, absent_minutes, scheduled_minutes, days_in_row, seen_by, seen_at,
        dismissed_reason, dismissed_by, dismissed_at, case_id)
    SELECT id, rule_id, pupil_id, school_id, status, raised_at, period_from, period_to,
        absent_minutes, scheduled_minutes, days_in_row, seen_by, seen_at, dismissed_reason,
        dismissed_by, dismissed_at, case_id
    FROM signals;

DROP TABLE signals;
DROP TABLE signal_rules;
-- renaming the parent rewrites signals_new's reference to it
ALTER TABLE signal_rules_new RENAME TO signal_rules;
ALTER TABLE signals_new RENAME TO signals;
CREATE INDEX signal_rules_organisation ON signal_rules (organisation_id);
CREATE UNIQUE INDEX signals_open ON signals (rule_id, pupil_id) WHERE status IN ('new', 'seen', 'case');
CREATE INDEX signals_school ON signals (school_id, status);
CREATE INDEX signals_pupil ON signals (pupil_id);

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
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    due_on DATE NOT NULL,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, due_on)
);

-- what the principal wrote about a report, in a round or between rounds
CREATE TABLE report_updates (
    id INTEGER PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES huvudman_reports (id),
    round_id BIGINT REFERENCES followup_rounds (id),
    body TEXT NOT NULL,
    written_by BIGINT NOT NULL REFERENCES people (id),
    written_at TIMESTAMP NOT NULL
);
CREATE INDEX report_updates_report ON report_updates (report_id);
