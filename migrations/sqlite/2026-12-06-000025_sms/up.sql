-- Text messages beside e-mail (issue 37). An outbox row goes out on a channel: `email` (the
-- reader's choice decides whether a text message goes too or instead), `sms`, or
-- `email_fallback` (an e-mail for a text message that failed: always by e-mail). A text
-- message keeps the gateway's id for it, the segments it cost and what the gateway's
-- delivery report said (delivered | failed). Each guardian chooses, per kind of message,
-- e-mail, text message or both (`person_channels`); without a choice the municipality's
-- default holds (NARVARO_NOTIFY_BY).
-- Kept in step with the other tree by tests/it/schema_drift.rs.

ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE outbox ADD COLUMN provider_id TEXT;
ALTER TABLE outbox ADD COLUMN segments INTEGER;
ALTER TABLE outbox ADD COLUMN delivery TEXT;
CREATE INDEX outbox_provider_id ON outbox (provider_id);

CREATE TABLE person_channels (
    person_id BIGINT NOT NULL REFERENCES people (id),
    -- unexplained_absence | report_confirmation | leave_decision | signal_guardian
    kind TEXT NOT NULL,
    -- email | sms | both
    channels TEXT NOT NULL,
    PRIMARY KEY (person_id, kind)
);
