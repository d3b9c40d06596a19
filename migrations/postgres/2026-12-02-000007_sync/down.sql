DROP TABLE sync_runs;
DROP INDEX duties_external_id;
ALTER TABLE duties DROP COLUMN external_id;
