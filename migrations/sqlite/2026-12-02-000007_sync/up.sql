-- The sync from the school administration system (SQLite): `narvaro sync` pulls the
-- school structure from an SS 12000 server, first whole, then the changes since the last
-- successful run. Each run is a row here, shown to administrators at /admin/sync; at most
-- one runs at a time, across every instance (the partial unique index). A duty keeps the
-- source's id so that a later deletedEntities can end it. Kept in step with
-- migrations/postgres by tests/it/schema_drift.rs.

ALTER TABLE duties ADD COLUMN external_id TEXT;
CREATE INDEX duties_external_id ON duties (external_id);

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY,
    -- the server read (its address, never a credential)
    source TEXT NOT NULL,
    -- full or changes
    mode TEXT NOT NULL,
    -- running, ok or failed
    status TEXT NOT NULL,
    -- a changes run asks for what changed after this moment (the start of the last
    -- successful run, less a margin for clocks)
    since TIMESTAMP,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    -- records read from the server, and what the run did with them
    records BIGINT NOT NULL DEFAULT 0,
    inserted BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    ended BIGINT NOT NULL DEFAULT 0,
    -- why it failed, or what it left out (a line each)
    message TEXT
);
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (status) WHERE status = 'running';
CREATE INDEX sync_runs_started ON sync_runs (started_at);
