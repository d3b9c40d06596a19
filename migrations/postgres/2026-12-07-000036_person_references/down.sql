DROP INDEX access_log_reader;
DROP INDEX outbox_recipient;
DROP INDEX audit_log_actor;
DROP INDEX absence_reports_cancelled_by;
DROP INDEX absence_reports_reported_by;
DROP INDEX lesson_reports_reported_by;
DROP INDEX attendance_marks_marked_by;
