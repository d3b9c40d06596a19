ALTER TABLE organisations DROP COLUMN schools_add_reasons;
