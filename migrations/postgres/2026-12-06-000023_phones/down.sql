ALTER TABLE people DROP COLUMN phone_chosen;
ALTER TABLE people DROP COLUMN phone;
