ALTER TABLE organisations DROP COLUMN notice_at;
ALTER TABLE lessons DROP COLUMN changed_by_hand_at;
ALTER TABLE lessons DROP COLUMN source_cancelled;
UPDATE duties SET role = 'admin' WHERE role = 'school_admin';
CREATE TABLE duties_old (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'principal', 'teacher', 'mentor')),
    group_id BIGINT REFERENCES groups (id),
    start_date DATE NOT NULL,
    end_date DATE,
    external_id TEXT
);
INSERT INTO duties_old SELECT id, person_id, organisation_id, role, group_id, start_date, end_date, external_id FROM duties;
DROP TABLE duties;
ALTER TABLE duties_old RENAME TO duties;
CREATE INDEX duties_person ON duties (person_id);
CREATE INDEX duties_organisation ON duties (organisation_id, role);
CREATE INDEX duties_group ON duties (group_id);
CREATE INDEX duties_external_id ON duties (external_id);
