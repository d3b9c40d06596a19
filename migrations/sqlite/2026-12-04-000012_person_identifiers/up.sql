-- The identifiers a person signs in with at the municipality's identity provider, as the
-- school administration system sends them (SS 12000 Person.eduPersonPrincipalNames and
-- Person.externalIdentifiers), each import replacing the person's list. Staff signing in
-- through OpenID Connect are matched on these (and on their school e-mail address).
-- people.civic_no from now on holds a keyed hash of the civic number (src/auth/civic.rs),
-- never the number; the server hashes what an older version stored when it starts.
-- Kept in step with migrations/postgres by tests/it/schema_drift.rs.

CREATE TABLE person_identifiers (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    -- eppn (an eduPersonPrincipalName) or external (an externalIdentifier)
    kind TEXT NOT NULL CHECK (kind IN ('eppn', 'external')),
    -- an externalIdentifier's context (a URI the parties agree on); NULL for an eppn
    context TEXT,
    value TEXT NOT NULL,
    globally_unique BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX person_identifiers_person ON person_identifiers (person_id);
CREATE INDEX person_identifiers_value ON person_identifiers (lower(value));
CREATE INDEX people_civic_no ON people (civic_no);
