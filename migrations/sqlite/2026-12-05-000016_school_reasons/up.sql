-- A school's own absence reasons (issue 21): a municipality may let its schools add
-- reasons of their own (absence_reasons.organisation_id = the school), offered at that
-- school beside the municipality's (src/absence_reasons.rs).
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

-- on a municipality's row: whether its schools' principals and offices may add reasons
ALTER TABLE organisations ADD COLUMN schools_add_reasons BOOLEAN NOT NULL DEFAULT FALSE;
