ALTER TABLE organisations DROP COLUMN notice_at;
ALTER TABLE lessons DROP COLUMN changed_by_hand_at;
ALTER TABLE lessons DROP COLUMN source_cancelled;
UPDATE duties SET role = 'admin' WHERE role = 'school_admin';
ALTER TABLE duties DROP CONSTRAINT duties_role_check;
ALTER TABLE duties ADD CONSTRAINT duties_role_check
    CHECK (role IN ('admin', 'principal', 'teacher', 'mentor'));
