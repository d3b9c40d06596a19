ALTER TABLE absence_class_days DROP COLUMN refused_leave_minutes;
ALTER TABLE absence_days DROP COLUMN refused_leave_minutes;
