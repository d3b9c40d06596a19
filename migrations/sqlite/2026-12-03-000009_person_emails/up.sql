-- A person's e-mail addresses (SQLite). The school administration system may list
-- several for one person (SS 12000 Email: Privat, Skola elev, Skola personal, Arbete
-- övrigt); every one is kept here, each import replacing the person's list. The address
-- notices go to stays people.email: the import sets it from the list (a school address
-- for staff, a private one for guardians) until the person chooses another on "My
-- account", which sets email_chosen, and from then on the import leaves it alone.
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

ALTER TABLE people ADD COLUMN email_chosen BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE person_emails (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    address TEXT NOT NULL,
    -- the SS 12000 type: Privat, Skola elev, Skola personal or Arbete övrigt
    kind TEXT NOT NULL,
    UNIQUE (person_id, address)
);
CREATE INDEX person_emails_address ON person_emails (lower(address));
