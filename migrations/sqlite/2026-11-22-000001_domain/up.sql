-- Närvaro domain schema (SQLite). Kept column-for-column in step with
-- migrations/postgres; tests/it/schema_drift.rs fails when the two trees differ.
-- Times of day are school-local (lessons); instants are UTC timestamps.

CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    parent_id BIGINT REFERENCES organisations (id),
    org_type TEXT NOT NULL CHECK (org_type IN ('municipality', 'school')),
    name TEXT NOT NULL,
    school_form TEXT CHECK (school_form IN ('forskoleklass', 'grundskola', 'anpassad_grundskola', 'gymnasieskola', 'anpassad_gymnasieskola')),
    school_unit_code TEXT,
    external_id TEXT UNIQUE,
    report_days_ahead INTEGER NOT NULL DEFAULT 7,
    allow_adult_self_report BOOLEAN NOT NULL DEFAULT FALSE,
    alert_threshold_pct INTEGER NOT NULL DEFAULT 15,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX organisations_parent ON organisations (parent_id);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    civic_no TEXT,
    birth_date DATE,
    sex TEXT CHECK (sex IN ('F', 'M', 'X')),
    security_marking TEXT NOT NULL DEFAULT 'none' CHECK (security_marking IN ('none', 'confidential', 'protected')),
    -- the school unit a pupil is enrolled at; staff belong to schools through duties
    school_id BIGINT REFERENCES organisations (id),
    email TEXT,
    language TEXT NOT NULL DEFAULT 'sv' CHECK (language IN ('sv', 'en')),
    receive_confirmations BOOLEAN NOT NULL DEFAULT TRUE,
    username TEXT UNIQUE,
    password_hash TEXT,
    token_version INTEGER NOT NULL DEFAULT 0,
    external_id TEXT UNIQUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    ended_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX people_school ON people (school_id);
CREATE INDEX people_email ON people (email);

CREATE TABLE guardianships (
    id INTEGER PRIMARY KEY,
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    guardian_id BIGINT NOT NULL REFERENCES people (id),
    relation TEXT NOT NULL DEFAULT 'guardian',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (pupil_id, guardian_id)
);
CREATE INDEX guardianships_guardian ON guardianships (guardian_id);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    group_type TEXT NOT NULL CHECK (group_type IN ('class', 'teaching', 'mentor')),
    school_year INTEGER,
    external_id TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX groups_school ON groups (school_id);

CREATE TABLE group_memberships (
    id INTEGER PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES groups (id),
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    start_date DATE NOT NULL,
    end_date DATE,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX group_memberships_group ON group_memberships (group_id, start_date);
CREATE INDEX group_memberships_pupil ON group_memberships (pupil_id);

CREATE TABLE duties (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'principal', 'teacher', 'mentor')),
    -- for a mentor: the class or mentor group
    group_id BIGINT REFERENCES groups (id),
    start_date DATE NOT NULL,
    end_date DATE
);
CREATE INDEX duties_person ON duties (person_id);
CREATE INDEX duties_organisation ON duties (organisation_id, role);
CREATE INDEX duties_group ON duties (group_id);

CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    display_name TEXT NOT NULL,
    subject_code TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    activity_type TEXT NOT NULL DEFAULT 'teaching' CHECK (activity_type IN ('teaching', 'pupil_activity', 'other')),
    external_id TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX activities_school ON activities (school_id);

CREATE TABLE activity_groups (
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    group_id BIGINT NOT NULL REFERENCES groups (id),
    PRIMARY KEY (activity_id, group_id)
);
CREATE INDEX activity_groups_group ON activity_groups (group_id);

CREATE TABLE activity_teachers (
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    teacher_id BIGINT NOT NULL REFERENCES people (id),
    PRIMARY KEY (activity_id, teacher_id)
);
CREATE INDEX activity_teachers_teacher ON activity_teachers (teacher_id);

CREATE TABLE lessons (
    id INTEGER PRIMARY KEY,
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    lesson_date DATE NOT NULL,
    starts_at TIME NOT NULL,
    ends_at TIME NOT NULL,
    -- scheduled teaching minutes for a pupil (SS 12000 teachingLengthStudent)
    teaching_minutes INTEGER NOT NULL CHECK (teaching_minutes >= 0),
    room TEXT,
    cancelled BOOLEAN NOT NULL DEFAULT FALSE,
    substitute_teacher_id BIGINT REFERENCES people (id),
    external_id TEXT UNIQUE,
    CHECK (ends_at > starts_at)
);
CREATE INDEX lessons_activity_date ON lessons (activity_id, lesson_date);
CREATE INDEX lessons_school_date ON lessons (school_id, lesson_date);
CREATE INDEX lessons_substitute ON lessons (substitute_teacher_id, lesson_date);

CREATE TABLE holidays (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    holiday_date DATE NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (organisation_id, holiday_date)
);

CREATE TABLE absence_reasons (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL,
    name_sv TEXT NOT NULL,
    name_en TEXT NOT NULL,
    counts_as_absence BOOLEAN NOT NULL DEFAULT TRUE,
    is_valid BOOLEAN NOT NULL,
    -- health data: shown as "reported absence" to anyone who does not need the reason
    is_sick BOOLEAN NOT NULL DEFAULT FALSE,
    staff_selectable BOOLEAN NOT NULL DEFAULT TRUE,
    guardian_selectable BOOLEAN NOT NULL DEFAULT FALSE,
    pupil_selectable BOOLEAN NOT NULL DEFAULT FALSE,
    sends_notice BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    UNIQUE (organisation_id, code)
);

CREATE TABLE lesson_reports (
    lesson_id BIGINT PRIMARY KEY REFERENCES lessons (id),
    reported_by BIGINT NOT NULL REFERENCES people (id),
    reported_at TIMESTAMP NOT NULL,
    -- bumped on every change, so that a stale roll-call form is detected
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE attendance_marks (
    id INTEGER PRIMARY KEY,
    lesson_id BIGINT NOT NULL REFERENCES lessons (id),
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    status TEXT NOT NULL CHECK (status IN ('absent', 'late', 'left_early', 'partly_absent')),
    -- minutes of absence this mark stands for (a whole absence: the lesson's minutes)
    minutes INTEGER NOT NULL CHECK (minutes >= 0),
    reason_id BIGINT REFERENCES absence_reasons (id),
    marked_by BIGINT NOT NULL REFERENCES people (id),
    marked_at TIMESTAMP NOT NULL,
    UNIQUE (lesson_id, pupil_id)
);
CREATE INDEX attendance_marks_pupil ON attendance_marks (pupil_id);

CREATE TABLE absence_reports (
    id INTEGER PRIMARY KEY,
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    reason_id BIGINT NOT NULL REFERENCES absence_reasons (id),
    message TEXT,
    reported_by BIGINT NOT NULL REFERENCES people (id),
    -- true when staff registered it for a guardian (e.g. one who phoned)
    registered_by_staff BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    cancelled_by BIGINT REFERENCES people (id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX absence_reports_pupil ON absence_reports (pupil_id, starts_at);

CREATE TABLE leave_applications (
    id INTEGER PRIMARY KEY,
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    reason TEXT NOT NULL,
    applied_by BIGINT NOT NULL REFERENCES people (id),
    applied_at TIMESTAMP NOT NULL,
    recommendation TEXT CHECK (recommendation IN ('recommended', 'not_recommended')),
    recommendation_comment TEXT,
    recommended_by BIGINT REFERENCES people (id),
    recommended_at TIMESTAMP,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    decided_by BIGINT REFERENCES people (id),
    decided_at TIMESTAMP,
    decision_comment TEXT,
    CHECK (end_date >= start_date)
);
CREATE INDEX leave_applications_pupil ON leave_applications (pupil_id, start_date);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    -- a notice is sent once per key (e.g. unexplained absence: guardian + pupil + day)
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient_id BIGINT REFERENCES people (id),
    recipient_email TEXT,
    pupil_id BIGINT REFERENCES people (id),
    notice_date DATE,
    language TEXT NOT NULL DEFAULT 'sv',
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'cancelled', 'unreachable')),
    due_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    claimed_by TEXT,
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    confirmed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_notice_date ON outbox (notice_date);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT REFERENCES people (id),
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT,
    -- JSON: what changed from what to what, and why
    detail TEXT NOT NULL DEFAULT '{}',
    client_addr TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_log_at ON audit_log (at);
