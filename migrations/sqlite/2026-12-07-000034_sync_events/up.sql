-- A sync's calendar events as it reads them, page by page, before they are written: a
-- year's timetable (millions of events in a large municipality) is never held in memory
-- whole. The run's transaction reads them back in batches; the rows are removed when the
-- run ends, whatever its outcome (and a run that died with its process leaves rows the
-- next run removes). No index but the key: an index on the source's ids would make each
-- page's writing several times slower, and the one query that compares them (a
-- snapshot's missing lessons) joins the whole run at once (a hash join on PostgreSQL, an
-- automatic index on SQLite).
CREATE TABLE sync_events (
    id INTEGER PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    -- the source's id of the event, and of its activity
    ext TEXT NOT NULL,
    activity TEXT NOT NULL,
    -- school-local
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL,
    cancelled BOOLEAN NOT NULL
);
