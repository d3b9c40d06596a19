ALTER TABLE people DROP COLUMN civic_sealed;
