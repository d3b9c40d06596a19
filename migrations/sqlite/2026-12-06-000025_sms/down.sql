DROP TABLE person_channels;
DROP INDEX outbox_provider_id;
ALTER TABLE outbox DROP COLUMN delivery;
ALTER TABLE outbox DROP COLUMN segments;
ALTER TABLE outbox DROP COLUMN provider_id;
ALTER TABLE outbox DROP COLUMN channel;
