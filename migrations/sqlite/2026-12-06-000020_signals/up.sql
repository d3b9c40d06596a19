-- Early signals of repeated or long absence (issue 36, Skollagen 7 kap. 19 a §): the
-- huvudman's rules (absence share over a rolling window, school days absent in a row; all,
-- valid or invalid absence) and the signals they raise, once per pupil and rule until
-- someone dismisses it with a reason (src/follow_up/signals.rs).
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

CREATE TABLE signal_rules (
    id INTEGER PRIMARY KEY,
    -- the municipality whose schools it watches
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    -- share | days_in_row
    kind TEXT NOT NULL,
    -- all | valid | invalid
    counts TEXT NOT NULL,
    window_days INTEGER NOT NULL,
    -- share: per cent of the scheduled minutes in the window
    share_pct INTEGER,
    -- days_in_row: whole school days absent in a row, within the window
    days INTEGER,
    tell_mentor BOOLEAN NOT NULL,
    tell_principal BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (window_days BETWEEN 1 AND 366),
    CHECK (share_pct IS NULL OR share_pct BETWEEN 1 AND 100),
    CHECK (days IS NULL OR days BETWEEN 1 AND 366)
);
CREATE INDEX signal_rules_organisation ON signal_rules (organisation_id);

CREATE TABLE signals (
    id INTEGER PRIMARY KEY,
    rule_id BIGINT NOT NULL REFERENCES signal_rules (id),
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    -- new | seen | dismissed
    status TEXT NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    -- the school days the figures are of
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    -- minutes of counted absence and scheduled minutes in the period, days absent in a row
    absent_minutes INTEGER NOT NULL,
    scheduled_minutes INTEGER NOT NULL,
    days_in_row INTEGER NOT NULL,
    seen_by BIGINT REFERENCES people (id),
    seen_at TIMESTAMP,
    dismissed_reason TEXT,
    dismissed_by BIGINT REFERENCES people (id),
    dismissed_at TIMESTAMP
);
-- one open signal per pupil and rule: two evaluations at once raise it once
CREATE UNIQUE INDEX signals_open ON signals (rule_id, pupil_id) WHERE status <> 'dismissed';
CREATE INDEX signals_school ON signals (school_id, status);
CREATE INDEX signals_pupil ON signals (pupil_id);
