-- Who read what (issue 40): each read of a pupil's records (the pupil page, absence
-- history, a statistics drill-down, a register extract, an API read by person) is a row,
-- apart from the change audit and with a retention of its own (NARVARO_ACCESS_LOG_DAYS,
-- a year unless set). The reader is a person, or an API client acting for none. `kind`
-- is what was read; `route` the route pattern (never the path).
-- Kept in step with the other tree by tests/it/schema_drift.rs.

CREATE TABLE access_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    reader_id BIGINT REFERENCES people (id),
    client_id BIGINT REFERENCES api_clients (id),
    pupil_id BIGINT NOT NULL REFERENCES people (id),
    kind TEXT NOT NULL,
    route TEXT NOT NULL,
    client_addr TEXT
);
CREATE INDEX access_log_pupil_at ON access_log (pupil_id, at);
CREATE INDEX access_log_at ON access_log (at);
