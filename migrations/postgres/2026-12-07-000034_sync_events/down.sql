DROP TABLE sync_events;
