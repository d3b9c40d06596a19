-- Accounts (sqlite): single-use links (guardian sign-in, staff invitation, password reset),
-- and indexes for the sign-in rate limit, which counts recent attempts in the audit log.
-- Kept in step with the other tree by tests/it/schema_drift.rs.

CREATE TABLE one_time_tokens (
    id INTEGER PRIMARY KEY,
    -- a hash of the secret in the link; the secret itself is never stored
    token_hash TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES people (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'invite', 'reset')),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX one_time_tokens_person ON one_time_tokens (person_id, purpose, created_at);

CREATE INDEX audit_log_action_actor ON audit_log (action, entity_id, at);
CREATE INDEX audit_log_action_addr ON audit_log (action, client_addr, at);
CREATE INDEX people_email_lower ON people (lower(email));
