-- A second factor for password accounts (issue 40): a TOTP secret (RFC 6238; base 32)
-- per person, pending until the person typed a first code from it, and the last time step
-- a code was accepted for (a code is never taken twice: the step only grows, in one
-- conditional update). Recovery codes are kept as hashes, each used once.
-- Kept in step with the other tree by tests/it/schema_drift.rs.

CREATE TABLE second_factors (
    person_id BIGINT PRIMARY KEY REFERENCES people (id),
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP,
    UNIQUE (person_id, code_hash)
);
