-- Back to the school forms before specialskola: a specialskola keeps no form.
PRAGMA legacy_alter_table = ON;
CREATE TABLE organisations_new (
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
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    uuid TEXT,
    notice_at TEXT,
    schools_add_reasons BOOLEAN NOT NULL DEFAULT FALSE,
    case_deadline_days INTEGER NOT NULL DEFAULT 21,
    municipality_code TEXT
);
INSERT INTO organisations_new (id, parent_id, org_type, name, school_form, school_unit_code, external_id, report_days_ahead, allow_adult_self_report, alert_threshold_pct, created_at, uuid, notice_at, schools_add_reasons, case_deadline_days, municipality_code)
    SELECT id, parent_id, org_type, name, CASE WHEN school_form = 'specialskola' THEN NULL ELSE school_form END, school_unit_code, external_id, report_days_ahead, allow_adult_self_report, alert_threshold_pct, created_at, uuid, notice_at, schools_add_reasons, case_deadline_days, municipality_code FROM organisations;
DROP TABLE organisations;
ALTER TABLE organisations_new RENAME TO organisations;
CREATE INDEX organisations_parent ON organisations (parent_id);
CREATE UNIQUE INDEX organisations_uuid ON organisations (uuid);
CREATE TRIGGER organisations_uuid AFTER INSERT ON organisations FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE organisations SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;
PRAGMA legacy_alter_table = OFF;
