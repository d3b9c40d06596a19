-- A person's telephone number (issue 37): from the school administration system (SS 12000
-- Person.phoneNumbers, OneRoster users.csv sms and phone) or set by the person on "My
-- account", stored in E.164 ("+46701234567"). A number the person set is theirs from then
-- on: later imports leave it alone (phone_chosen), as with the e-mail address.
-- Kept in step with the other tree by tests/it/schema_drift.rs.

ALTER TABLE people ADD COLUMN phone TEXT;
ALTER TABLE people ADD COLUMN phone_chosen BOOLEAN NOT NULL DEFAULT FALSE;
