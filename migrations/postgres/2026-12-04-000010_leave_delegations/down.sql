ALTER TABLE leave_applications DROP COLUMN delegation_id;
DROP TABLE leave_delegations;
