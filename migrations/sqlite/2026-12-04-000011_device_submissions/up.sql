-- A roll call saved on a teacher's device without a network carries an id the device
-- gave it (SQLite). The lesson's report remembers the last one that arrived, so the same
-- roll call sent again (its answer lost to a dropped connection) is recognised as already
-- in and not taken for someone else's change.
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

ALTER TABLE lesson_reports ADD COLUMN device_submission TEXT;
