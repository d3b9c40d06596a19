-- Sign-ins started at an OpenID Connect provider and not yet back (src/auth/oidc.rs): the
-- state (as a hash), the nonce and the PKCE verifier, for ten minutes, taken once by the
-- callback on whichever instance it reaches. The verifier is emptied once used; rows
-- older than a day are deleted.
-- Kept in step with migrations/sqlite by tests/it/schema_drift.rs.

CREATE TABLE oidc_attempts (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL CHECK (provider IN ('staff', 'guardian')),
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX oidc_attempts_created ON oidc_attempts (created_at);
