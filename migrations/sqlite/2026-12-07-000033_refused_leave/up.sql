-- Absence despite refused leave (issue 39): invalid absence on a day for which the pupil's
-- leave was applied for and refused is a category of its own ("frånvaro trots avslagen
-- ledighet"), summed per pupil and day and per class and day beside the invalid minutes it
-- is part of. Rows stored before this migration count none until they are computed again
-- (any change to the pupil's day, or `narvaro stats-rebuild`).
-- Kept in step with the other tree by tests/it/schema_drift.rs.

ALTER TABLE absence_days ADD COLUMN refused_leave_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE absence_class_days ADD COLUMN refused_leave_minutes INTEGER NOT NULL DEFAULT 0;
