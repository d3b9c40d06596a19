-- Attempts held against a limit (src/auth/throttle.rs): a password or a second factor per
-- account and per client address, sign-in link requests, API client secrets. An attempt is
-- reserved here before the work it limits (the hash), under a lock on its key, so a burst
-- of parallel attempts cannot pass the limit; an attempt that succeeded is taken back.
-- Rows leave when their window is over.
-- Kept in step with migrations/sqlite by tests/it/schema_drift.rs.

CREATE TABLE throttle_hits (
    id BIGSERIAL PRIMARY KEY,
    limit_key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX throttle_hits_key_at ON throttle_hits (limit_key, at);
CREATE INDEX throttle_hits_at ON throttle_hits (at);
