DROP INDEX outbox_pupil_date;
DROP TABLE threshold_state;
