-- SS 12000 identities and change times (PostgreSQL). Every record the SS 12000 export
-- names gets a UUID, stored once: an import keeps the source's id (an SS 12000 UUID),
-- everything else gets a random (version 4) one when it is inserted. A lesson report
-- remembers when its roll call last changed, for the export's meta.modified. Kept in step
-- with migrations/sqlite by tests/it/schema_drift.rs.

ALTER TABLE organisations ADD COLUMN uuid TEXT DEFAULT gen_random_uuid()::text;
ALTER TABLE people ADD COLUMN uuid TEXT DEFAULT gen_random_uuid()::text;
ALTER TABLE groups ADD COLUMN uuid TEXT DEFAULT gen_random_uuid()::text;
ALTER TABLE activities ADD COLUMN uuid TEXT DEFAULT gen_random_uuid()::text;
ALTER TABLE lessons ADD COLUMN uuid TEXT DEFAULT gen_random_uuid()::text;
ALTER TABLE absence_reports ADD COLUMN uuid TEXT DEFAULT gen_random_uuid()::text;
ALTER TABLE leave_applications ADD COLUMN uuid TEXT DEFAULT gen_random_uuid()::text;

-- what an import brought keeps the source's id, when that is a UUID
UPDATE organisations SET uuid = lower(external_id) WHERE external_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$';
UPDATE people SET uuid = lower(external_id) WHERE external_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$';
UPDATE groups SET uuid = lower(external_id) WHERE external_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$';
UPDATE activities SET uuid = lower(external_id) WHERE external_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$';
UPDATE lessons SET uuid = lower(external_id) WHERE external_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$';

CREATE UNIQUE INDEX organisations_uuid ON organisations (uuid);
CREATE UNIQUE INDEX people_uuid ON people (uuid);
CREATE UNIQUE INDEX groups_uuid ON groups (uuid);
CREATE UNIQUE INDEX activities_uuid ON activities (uuid);
CREATE UNIQUE INDEX lessons_uuid ON lessons (uuid);
CREATE UNIQUE INDEX absence_reports_uuid ON absence_reports (uuid);
CREATE UNIQUE INDEX leave_applications_uuid ON leave_applications (uuid);

-- when the roll call last changed (its first report until then)
ALTER TABLE lesson_reports ADD COLUMN modified_at TIMESTAMP;
UPDATE lesson_reports SET modified_at = reported_at;
CREATE INDEX lesson_reports_modified ON lesson_reports (modified_at);
-- the export pages a school's reported lessons in id order
CREATE INDEX lessons_school_id ON lessons (school_id, id);
-- the export asks for reports created or cancelled after a moment
CREATE INDEX absence_reports_created ON absence_reports (created_at);
CREATE INDEX absence_reports_cancelled ON absence_reports (cancelled_at);
