-- Removing a person (retention) makes the database check every row that may name them.
-- Without an index on the naming column that check reads the whole table: at five
-- school years each removal read millions of marks and lesson reports, half a second
-- in which no roll call could be written on SQLite. The columns that grow with history:
CREATE INDEX attendance_marks_marked_by ON attendance_marks (marked_by);
CREATE INDEX lesson_reports_reported_by ON lesson_reports (reported_by);
CREATE INDEX absence_reports_reported_by ON absence_reports (reported_by);
CREATE INDEX absence_reports_cancelled_by ON absence_reports (cancelled_by);
CREATE INDEX audit_log_actor ON audit_log (actor_id);
CREATE INDEX outbox_recipient ON outbox (recipient_id);
CREATE INDEX access_log_reader ON access_log (reader_id);
