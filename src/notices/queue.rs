//! The outbox as a queue: what the worker needs (`Outbox`), claiming due rows atomically
//! (several workers share them), the backoff between attempts, and recording what became
//! of each row. Building a notice is `build.rs`; sending it, `channel.rs`.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::{Database, DbConn};
use crate::error::AppResult;
use crate::mail::Mailer;
use crate::notices::templates::Templates;
use crate::schema::*;
use crate::school::clock::Clock;
use crate::school::ids::{NoticeId, PersonId};
use crate::school::states::OutboxStatus;

/// What the worker needs to send the outbox: the database, the mail transport and the
/// templates, the secret that signs confirmation links, the address links point to, and
/// the clock and time zone the school day runs on.
pub struct Outbox {
    pub db: Database,
    pub mailer: Mailer,
    pub templates: Templates,
    pub secret: Vec<u8>,
    pub base_url: String,
    pub timezone: chrono_tz::Tz,
    pub clock: Clock,
    /// Wakes the worker in this process at once (a sign-in link must not wait a poll).
    wake: tokio::sync::Notify,
    /// notices handled by this process, by outcome (`/metrics`)
    pub counts: crate::ops::metrics::NoticeCounts,
    /// the SMS gateway, when there is one
    pub sms: Option<super::sms::SmsConfig>,
    /// how guardians are told when they have not chosen: email, sms or both
    pub notify_by: String,
}

impl Outbox {
    pub fn new(
        db: Database,
        mailer: Mailer,
        templates: Templates,
        secret: Vec<u8>,
        base_url: String,
        timezone: chrono_tz::Tz,
        clock: Clock,
    ) -> Outbox {
        Outbox {
            db,
            mailer,
            templates,
            secret,
            base_url,
            timezone,
            clock,
            wake: tokio::sync::Notify::new(),
            counts: crate::ops::metrics::NoticeCounts::default(),
            sms: None,
            notify_by: "email".into(),
        }
    }

    /// With text messages through `sms`, and `notify_by` for guardians who have not chosen.
    pub fn with_sms(mut self, sms: Option<super::sms::SmsConfig>, notify_by: &str) -> Outbox {
        self.sms = sms;
        self.notify_by = notify_by.to_string();
        self
    }

    /// Now on the service's clock (UTC, as stored).
    pub fn now(&self) -> NaiveDateTime {
        self.clock.now_utc()
    }

    /// Asks this process's worker to make a pass now rather than at its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits until `wake` is called (or was, since the last wait) or `every` passes.
    pub(super) async fn nap(&self, every: StdDuration) {
        let _ = actix_web::rt::time::timeout(every, self.wake.notified()).await;
    }
}

/// Rows one pass claims at most.
pub const BATCH: i64 = 50;
/// How long a claim holds before another worker may take the row (a crashed sender).
pub const CLAIM_SECS: i64 = 120;
/// After this many temporary failures a notice is marked failed.
pub const MAX_ATTEMPTS: i32 = 30;

/// The wait before attempt `attempts + 1`.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 7) - 1;
    Duration::seconds((60i64 << exp).min(3600))
}

/// A row this worker claimed, to build and send.
pub(super) struct Claimed {
    pub id: NoticeId,
    pub kind: String,
    pub recipient: Option<PersonId>,
    pub email: Option<String>,
    pub payload: String,
    pub attempts: i32,
}

#[derive(QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Claims up to `BATCH` due rows in one statement. On PostgreSQL, rows another worker is
/// claiming at this moment are skipped (SKIP LOCKED), so two workers share the work; the
/// outer conditions are checked again under the row lock either way.
pub(super) fn claim(conn: &mut DbConn, me: &str, now: NaiveDateTime) -> AppResult<Vec<Claimed>> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    // Numbered parameters: `$n` on PostgreSQL, `?n` on SQLite (where `$n` would be a named
    // parameter numbered by the order it first appears in, not by its digits).
    const PICK: &str = "SELECT id FROM outbox WHERE status = 'pending' AND due_at <= $3 \
        AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY due_at, id LIMIT $4";
    let until = now + Duration::seconds(CLAIM_SECS);
    let won: Vec<ClaimedId> = crate::on_backend!(conn, c => {
        let (lock, mark) = if c.backend_is_postgres() { (" FOR UPDATE SKIP LOCKED", "$") } else { ("", "?") };
        diesel::sql_query(format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE id IN ({PICK}{lock}) \
             AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < $3) RETURNING id"
        ).replace('$', mark))
        .bind::<Text, _>(me)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(BATCH)
        .load(c)
    })?;
    let won: Vec<i64> = won.into_iter().map(|r| r.id).collect();
    if won.is_empty() {
        return Ok(Vec::new());
    }
    Ok(outbox::table
        .filter(outbox::id.eq_any(&won))
        .select((
            outbox::id,
            outbox::kind,
            outbox::recipient_id,
            outbox::recipient_email,
            outbox::payload,
            outbox::attempts,
        ))
        .order(outbox::id)
        .load::<(
            NoticeId,
            String,
            Option<PersonId>,
            Option<String>,
            String,
            i32,
        )>(conn)?
        .into_iter()
        .map(|(id, kind, recipient, email, payload, attempts)| Claimed {
            id,
            kind,
            recipient,
            email,
            payload,
            attempts,
        })
        .collect())
}

/// Which backend a concrete connection is, for the one statement whose SQL differs.
trait BackendName {
    fn backend_is_postgres(&self) -> bool;
}

impl BackendName for diesel::SqliteConnection {
    fn backend_is_postgres(&self) -> bool {
        false
    }
}

impl BackendName for diesel::PgConnection {
    fn backend_is_postgres(&self) -> bool {
        true
    }
}

/// What became of one claimed notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Sent,
    Retry,
    Failed,
    Cancelled,
    Unreachable,
}

impl Outcome {
    /// The row's status afterwards (a retry waits as pending).
    pub(super) fn status(self) -> OutboxStatus {
        match self {
            Outcome::Sent => OutboxStatus::Sent,
            Outcome::Retry => OutboxStatus::Pending,
            Outcome::Failed => OutboxStatus::Failed,
            Outcome::Cancelled => OutboxStatus::Cancelled,
            Outcome::Unreachable => OutboxStatus::Unreachable,
        }
    }
}

/// What to record of one handled row.
pub(super) struct Settled {
    pub id: NoticeId,
    pub attempts: i32,
    pub outcome: Outcome,
    pub error: Option<String>,
    /// when to try again (a retry)
    pub due: Option<NaiveDateTime>,
    /// the payload to keep once sent (an absence notice records the lessons it named)
    pub keep_payload: Option<String>,
    pub at: NaiveDateTime,
    /// a handled link request keeps no address (it may be anybody's)
    pub forget: bool,
}

/// Records what became of a row this worker (`me`) claimed, and releases the claim. A
/// claim that expired and was taken by another worker is left to that one.
pub(super) fn settle(conn: &mut DbConn, me: &str, s: Settled) -> AppResult<()> {
    let Settled {
        id,
        attempts,
        outcome,
        error,
        due,
        keep_payload,
        at,
        forget,
    } = s;
    let status = outcome.status();
    if forget {
        let link_request = outbox::table
            .find(id)
            .filter(outbox::kind.eq("link_request"));
        diesel::update(link_request)
            .set((
                outbox::recipient_email.eq(None::<String>),
                outbox::payload.eq("{}"),
            ))
            .execute(conn)?;
    }
    let target = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::claimed_by.eq(me));
    diesel::update(target)
        .set((
            outbox::status.eq(status.as_str()),
            outbox::attempts.eq(attempts + 1),
            outbox::last_error.eq(error),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::sent_at.eq((status == OutboxStatus::Sent).then_some(at)),
        ))
        .execute(conn)?;
    if let Some(due) = due {
        diesel::update(outbox::table.find(id))
            .set(outbox::due_at.eq(due))
            .execute(conn)?;
    }
    if let Some(payload) = keep_payload {
        diesel::update(outbox::table.find(id))
            .set(outbox::payload.eq(payload))
            .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_to_an_hour() {
        let mins: Vec<i64> = (1..=9).map(|a| super::backoff(a).num_minutes()).collect();
        assert_eq!(mins, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
