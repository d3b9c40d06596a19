ALTER TABLE lesson_reports DROP COLUMN device_submission;
