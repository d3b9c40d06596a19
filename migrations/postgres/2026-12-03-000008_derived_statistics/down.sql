ALTER TABLE absence_days
    ADD CONSTRAINT absence_days_school_id_fkey FOREIGN KEY (school_id) REFERENCES organisations (id),
    ADD CONSTRAINT absence_days_pupil_id_fkey FOREIGN KEY (pupil_id) REFERENCES people (id),
    ADD CONSTRAINT absence_days_class_id_fkey FOREIGN KEY (class_id) REFERENCES groups (id);
