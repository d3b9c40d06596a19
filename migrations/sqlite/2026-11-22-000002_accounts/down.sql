DROP INDEX people_email_lower;
DROP INDEX audit_log_action_addr;
DROP INDEX audit_log_action_actor;
DROP TABLE one_time_tokens;
