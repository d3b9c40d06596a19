-- Machine credentials (SQLite): an administrator registers an API client for a
-- system that reads Närvaro (a school administration system, a statistics warehouse).
-- It gets a client id and a secret, shown once and kept here only as a hash; with them
-- it asks POST /oauth/token for a short-lived bearer token (OAuth 2.0 client credentials)
-- that reads the schools listed in api_client_schools, within its scopes. Revoking ends
-- its tokens at once. Every call is in the audit log. Kept in step with migrations/postgres
-- by tests/it/schema_drift.rs.

CREATE TABLE api_clients (
    id INTEGER PRIMARY KEY,
    -- what the administrator called it ("Extens, närvaroexport")
    name TEXT NOT NULL,
    -- the public client id ("nrv_" and 24 hex digits)
    client_id TEXT NOT NULL UNIQUE,
    -- BLAKE2b of the secret (a random 256-bit value, so a fast hash is enough)
    secret_hash TEXT NOT NULL,
    -- the municipality whose administrator registered it
    municipality_id BIGINT NOT NULL REFERENCES organisations (id),
    -- space-separated: ss12000.read statistics.read
    scopes TEXT NOT NULL,
    created_by BIGINT REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX api_clients_municipality ON api_clients (municipality_id);

CREATE TABLE api_client_schools (
    api_client_id BIGINT NOT NULL REFERENCES api_clients (id),
    school_id BIGINT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (api_client_id, school_id)
);
