UPDATE people SET language = 'sv' WHERE language NOT IN ('sv', 'en');
ALTER TABLE people DROP CONSTRAINT people_language_check;
ALTER TABLE people ADD CONSTRAINT people_language_check CHECK (language IN ('sv', 'en'));
