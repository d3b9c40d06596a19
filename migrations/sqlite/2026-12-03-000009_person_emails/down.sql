DROP TABLE person_emails;
ALTER TABLE people DROP COLUMN email_chosen;
