-- The principal's investigation of repeated or long absence (issue 36, Skollagen 7 kap.
-- 19 a §) and the report of it to the huvudman: a case opened from a signal or by hand,
-- the decision, who takes part, the steps, a part about health that only the principal
-- and elevhälsan read, the conclusion and the closing (src/follow_up/cases.rs).
-- Nothing of a case is deleted by a person; retention removes it with the pupil.
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

-- two duties for the work: a member of the student health team (elevhälsan) at a school,
-- and the huvudman's case officer at the municipality. SQLite cannot change a CHECK
-- constraint: the duties table is built again.
CREATE TABLE duties_new (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'principal', 'teacher', 'mentor', 'school_admin', 'health', 'case_officer')),
    -- for a mentor: the class or mentor group
    group_id BIGINT REFERENCES groups (id),
    start_date DATE NOT NULL,
    end_date DATE,
    external_id TEXT
);
INSERT INTO duties_new (id, person_id, organisation_id, role, group_id, start_date, end_date, external_id)
    SELECT id, person_id, organisation_id, role, group_id, start_date, end_date, external_id FROM duties;
DROP TABLE duties;
ALTER TABLE duties_new RENAME TO duties;
CREATE INDEX duties_person ON duties (person_id);
CREATE INDEX duties_organisation ON duties (organisation_id, role);
CREATE INDEX duties_group ON duties (group_id);
CREATE INDEX duties_external_id ON duties (external_id);

CREATE TABLE absence_cases (
    id INTEGER PRIMARY KEY,
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    -- open | closed
    status TEXT NOT NULL,
    opened_by BIGINT NOT NULL REFERENCES people (id),
    opened_at TIMESTAMP NOT NULL,
    -- the figures behind it: the signal's, or the four weeks before opening
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    absent_minutes INTEGER NOT NULL,
    scheduled_minutes INTEGER NOT NULL,
    -- investigate | not_needed (with the reason the law asks for)
    decision TEXT,
    decided_on DATE,
    decided_by BIGINT REFERENCES people (id),
    decision_reason TEXT,
    deadline DATE,
    conclusion TEXT,
    actions TEXT,
    follow_up_on DATE,
    -- whether an investigation of särskilt stöd (3 kap. 7 §) was started
    special_support BOOLEAN NOT NULL,
    -- improved | support | moved | other
    outcome TEXT,
    closed_by BIGINT REFERENCES people (id),
    closed_at TIMESTAMP,
    CHECK (deadline IS NULL OR decided_on IS NULL OR deadline >= decided_on)
);
-- one open case per pupil: two principals opening one at the same moment get one
CREATE UNIQUE INDEX absence_cases_open ON absence_cases (pupil_id) WHERE status = 'open';
CREATE INDEX absence_cases_school ON absence_cases (school_id, status);
CREATE INDEX absence_cases_pupil ON absence_cases (pupil_id);

-- who takes part: the pupil, guardians, mentors, members of elevhälsan
CREATE TABLE case_participants (
    case_id BIGINT NOT NULL REFERENCES absence_cases (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    -- pupil | guardian | mentor | health | principal
    part TEXT NOT NULL,
    added_by BIGINT NOT NULL REFERENCES people (id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, person_id)
);

-- the steps taken and the meetings held, with their dates
CREATE TABLE case_steps (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES absence_cases (id),
    taken_on DATE NOT NULL,
    -- meeting | talk | letter | other
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    written_by BIGINT NOT NULL REFERENCES people (id),
    written_at TIMESTAMP NOT NULL
);
CREATE INDEX case_steps_case ON case_steps (case_id);

-- notes about health: read by the principal and elevhälsan only, never in an e-mail, an
-- export or the API
CREATE TABLE case_health_notes (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES absence_cases (id),
    note TEXT NOT NULL,
    written_by BIGINT NOT NULL REFERENCES people (id),
    written_at TIMESTAMP NOT NULL
);
CREATE INDEX case_health_notes_case ON case_health_notes (case_id);

-- the report of a started investigation to the huvudman (7 kap. 19 a §): the minimum the
-- huvudman needs, no health notes; the huvudman's officers work them through
CREATE TABLE huvudman_reports (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL UNIQUE REFERENCES absence_cases (id),
    -- the huvudman (the municipality)
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    class_name TEXT,
    started_on DATE NOT NULL,
    principal_id BIGINT NOT NULL REFERENCES people (id),
    -- open | more_info | followed_up | closed
    status TEXT NOT NULL,
    -- what the officer asked for or noted last
    officer_note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX huvudman_reports_organisation ON huvudman_reports (organisation_id, status);

-- the huvudman's default time for an investigation, in days from the decision
ALTER TABLE organisations ADD COLUMN case_deadline_days INTEGER NOT NULL DEFAULT 21;

-- whether a rule's signals are shown to elevhälsan of the pupil's school too
ALTER TABLE signal_rules ADD COLUMN tell_health BOOLEAN NOT NULL DEFAULT FALSE;

-- the municipality a person is registered in (SS 12000 Person.addresses[].municipalityCode
-- of the Folkbokföring address, four digits), and the huvudman's own
-- (Organisation.municipalityCode): a pupil registered elsewhere is reported to the home
-- municipality too (7 kap. 21-22 §§)
ALTER TABLE people ADD COLUMN municipality_code TEXT;
ALTER TABLE organisations ADD COLUMN municipality_code TEXT;

-- when and how the report to the home municipality was sent: post | e_service | hand
-- (a pupil with protected identity: hand only)
CREATE TABLE home_reports (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL UNIQUE REFERENCES absence_cases (id),
    municipality_code TEXT NOT NULL,
    sent_on DATE NOT NULL,
    method TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES people (id),
    recorded_at TIMESTAMP NOT NULL
);

-- The case a signal was turned into. Such a signal stays open until the case is closed
-- (status 'closed'); then the rule may raise it again.
ALTER TABLE signals ADD COLUMN case_id BIGINT REFERENCES absence_cases (id);
DROP INDEX signals_open;
CREATE UNIQUE INDEX signals_open ON signals (rule_id, pupil_id) WHERE status IN ('new', 'seen', 'case');
