DROP TABLE leave_confirmations;
-- an application still waiting for a guardian, or declined by one, was never decided
UPDATE leave_applications SET status = 'withdrawn' WHERE status IN ('awaiting_guardian', 'declined');
ALTER TABLE leave_applications DROP CONSTRAINT leave_applications_status_check;
ALTER TABLE leave_applications ADD CONSTRAINT leave_applications_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn'));
ALTER TABLE leave_rules DROP COLUMN both_guardians;
