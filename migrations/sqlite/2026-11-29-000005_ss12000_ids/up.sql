-- SS 12000 identities and change times (SQLite). Every record the SS 12000 export names
-- gets a UUID, stored once: an import keeps the source's id (an SS 12000 UUID; so do the
-- records imported before this migration), everything else gets a random (version 4) one
-- when it is inserted (SQLite cannot give an added column a computed default, so a trigger
-- fills it). A lesson report remembers when its roll call last changed, for the export's
-- meta.modified. Kept in step with migrations/postgres by tests/it/schema_drift.rs.

ALTER TABLE organisations ADD COLUMN uuid TEXT;
UPDATE organisations SET uuid = CASE WHEN lower(external_id) GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN lower(external_id) ELSE lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) END;
CREATE UNIQUE INDEX organisations_uuid ON organisations (uuid);
CREATE TRIGGER organisations_uuid AFTER INSERT ON organisations FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE organisations SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE people ADD COLUMN uuid TEXT;
UPDATE people SET uuid = CASE WHEN lower(external_id) GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN lower(external_id) ELSE lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) END;
CREATE UNIQUE INDEX people_uuid ON people (uuid);
CREATE TRIGGER people_uuid AFTER INSERT ON people FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE people SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE groups ADD COLUMN uuid TEXT;
UPDATE groups SET uuid = CASE WHEN lower(external_id) GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN lower(external_id) ELSE lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) END;
CREATE UNIQUE INDEX groups_uuid ON groups (uuid);
CREATE TRIGGER groups_uuid AFTER INSERT ON groups FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE groups SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE activities ADD COLUMN uuid TEXT;
UPDATE activities SET uuid = CASE WHEN lower(external_id) GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN lower(external_id) ELSE lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) END;
CREATE UNIQUE INDEX activities_uuid ON activities (uuid);
CREATE TRIGGER activities_uuid AFTER INSERT ON activities FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE activities SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE lessons ADD COLUMN uuid TEXT;
UPDATE lessons SET uuid = CASE WHEN lower(external_id) GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN lower(external_id) ELSE lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) END;
CREATE UNIQUE INDEX lessons_uuid ON lessons (uuid);
CREATE TRIGGER lessons_uuid AFTER INSERT ON lessons FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE lessons SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE absence_reports ADD COLUMN uuid TEXT;
UPDATE absence_reports SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
CREATE UNIQUE INDEX absence_reports_uuid ON absence_reports (uuid);
CREATE TRIGGER absence_reports_uuid AFTER INSERT ON absence_reports FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE absence_reports SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE leave_applications ADD COLUMN uuid TEXT;
UPDATE leave_applications SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
CREATE UNIQUE INDEX leave_applications_uuid ON leave_applications (uuid);
CREATE TRIGGER leave_applications_uuid AFTER INSERT ON leave_applications FOR EACH ROW WHEN NEW.uuid IS NULL BEGIN
    UPDATE leave_applications SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

-- when the roll call last changed (its first report until then)
ALTER TABLE lesson_reports ADD COLUMN modified_at TIMESTAMP;
UPDATE lesson_reports SET modified_at = reported_at;
CREATE INDEX lesson_reports_modified ON lesson_reports (modified_at);
-- the export pages a school's reported lessons in id order
CREATE INDEX lessons_school_id ON lessons (school_id, id);
-- the export asks for reports created or cancelled after a moment
CREATE INDEX absence_reports_created ON absence_reports (created_at);
CREATE INDEX absence_reports_cancelled ON absence_reports (cancelled_at);
