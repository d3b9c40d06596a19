ALTER TABLE leave_applications DROP COLUMN blocked_reason;
DROP TABLE leave_blocked_periods;
DROP TABLE leave_rules;
