//! The outbox worker: each pass claims due rows (`queue.rs`), builds each notice
//! (`build.rs`), sends it on its channel (`channel.rs`), and records what happened.
//! Temporary failures are retried with exponential backoff (1 minute doubling to an hour);
//! permanent ones mark the notice failed for staff to see.

use std::time::Duration as StdDuration;

use actix_web::web;
use chrono::{Duration, NaiveDateTime};
use tokio::sync::watch;

use super::build::{build, Built};
use super::channel::{Channel, TextChannel};
use super::queue::{backoff, claim, settle, Claimed, Outcome, Settled, BATCH, MAX_ATTEMPTS};
use super::text::Text;
use crate::auth::secret;
use crate::error::{AppError, AppResult};
use crate::mail::MailError;
use crate::school::ids::NoticeId;

pub use super::build::{
    confirm_link, confirm_link_valid, SKIP_INACTIVE, SKIP_MADE_VALID, SKIP_NOTHING_NEW,
    SKIP_NO_ACCOUNT,
};
pub use super::queue::Outbox;

/// Notices sent at the same time (each on its own pooled SMTP connection).
pub const PARALLEL: usize = 8;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassStats {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub unreachable: usize,
}

/// Sends a built notice: its text message first, when there is one (recorded at once, so a
/// retry of the e-mail never texts twice), then its e-mail when the guardian wants both or
/// the text could not be sent. A text refused by the gateway falls back to the e-mail; a
/// temporary failure of a text that stands alone is retried like an e-mail's.
async fn send(
    state: &web::Data<Outbox>,
    id: NoticeId,
    mails: Vec<crate::mail::Mail>,
    text: Option<Text>,
) -> AppResult<Result<(), MailError>> {
    let mut by_mail = text.as_ref().is_none_or(|t| t.email_too);
    let mut text_error = None;
    if let (Some(t), Some(cfg)) = (&text, &state.sms) {
        let report = super::sms::report_url(&state.base_url, &state.secret, id);
        match cfg.send_text(&t.to, &t.message, &report).await {
            Ok(taken) => {
                let (channel, n) = (
                    if t.email_too { "both" } else { "sms" },
                    segments(t, &taken),
                );
                let provider = taken.id.clone();
                state
                    .db
                    .write(move |conn| super::sms::texted(conn, id, &provider, n, channel))
                    .await?;
            }
            Err(MailError::Temporary(e)) if !by_mail => return Ok(Err(MailError::Temporary(e))),
            Err(e) => {
                tracing::warn!(id = %id, error = %e, "a text message failed; the e-mail goes instead");
                text_error = Some(e);
                by_mail = true;
            }
        }
    }
    if !by_mail {
        return Ok(Ok(()));
    }
    if mails.is_empty() {
        // a text that failed, and no address to fall back on
        return Ok(Err(text_error.unwrap_or_else(|| {
            MailError::Permanent("no e-mail address".into())
        })));
    }
    Ok(state.mailer.deliver(id, mails).await)
}

/// The segments a text cost: the gateway's count, else Närvaro's own.
fn segments(t: &Text, taken: &super::sms::Taken) -> i32 {
    taken
        .parts
        .unwrap_or_else(|| i32::try_from(super::sms::segments(&t.message)).unwrap_or(i32::MAX))
}

/// Renders, sends and records one claimed notice.
async fn process(
    state: web::Data<Outbox>,
    row: Claimed,
    me: String,
    now: NaiveDateTime,
) -> AppResult<Outcome> {
    let (id, attempts) = (row.id, row.attempts);
    let link_kind = crate::notices::LINK_KINDS.contains(&row.kind.as_str());
    let st = state.clone();
    // an e-mail with a link makes the link as it is built: a write
    let built = if link_kind {
        state
            .db
            .write(move |conn| build(conn, &st, &row, now))
            .await
    } else {
        state.db.read(move |conn| build(conn, &st, &row, now)).await
    };
    let later = || Some(state.now() + backoff(attempts + 1));
    let mut keep_payload = None;
    let (outcome, error, due): (Outcome, Option<String>, Option<NaiveDateTime>) = match built {
        Ok(Built::Later) => (
            Outcome::Retry,
            None,
            Some(state.now() + Duration::seconds(30)),
        ),
        Ok(Built::Send(mails, kept, text)) => match send(&state, id, mails, text).await? {
            Ok(()) => {
                keep_payload = kept;
                (Outcome::Sent, None, None)
            }
            Err(MailError::Permanent(e)) => (Outcome::Failed, Some(e), None),
            Err(MailError::Temporary(e)) if attempts + 1 >= MAX_ATTEMPTS => (
                Outcome::Failed,
                Some(format!("gave up after {MAX_ATTEMPTS} attempts: {e}")),
                None,
            ),
            Err(MailError::Temporary(e)) => (Outcome::Retry, Some(e), later()),
        },
        Ok(Built::Skip(why)) => (Outcome::Cancelled, Some(why), None),
        Ok(Built::Unreachable) => (Outcome::Unreachable, Some("no e-mail address".into()), None),
        Err(e) => {
            tracing::error!(error = %e, id = %id, "a notice could not be prepared");
            (
                Outcome::Retry,
                Some("could not be prepared".into()),
                later(),
            )
        }
    };
    let settled = Settled {
        id,
        attempts,
        outcome,
        error,
        due,
        keep_payload,
        at: state.now(),
        // a handled link request keeps no address (it may be anybody's)
        forget: link_kind && outcome != Outcome::Retry,
    };
    state
        .db
        .write(move |conn| settle(conn, &me, settled))
        .await?;
    Ok(outcome)
}

/// One pass: claims up to `BATCH` due notices and sends them, several at a time (the SMTP
/// transport keeps a pool of connections).
pub async fn run_once(state: &web::Data<Outbox>, me: &str) -> AppResult<PassStats> {
    let now = state.now();
    let who = me.to_string();
    let claimed = state.db.write(move |conn| claim(conn, &who, now)).await?;
    let mut stats = PassStats {
        claimed: claimed.len(),
        ..Default::default()
    };
    let mut first_error = None;
    let mut claimed = claimed.into_iter().peekable();
    let mut tasks = Vec::new();
    while claimed.peek().is_some() {
        tasks.clear();
        for row in claimed.by_ref().take(PARALLEL) {
            tasks.push(actix_web::rt::spawn(process(
                state.clone(),
                row,
                me.to_string(),
                now,
            )));
        }
        for task in tasks.drain(..) {
            let result = task.await;
            match result {
                Ok(Ok(outcome)) => match outcome {
                    Outcome::Sent => stats.sent += 1,
                    Outcome::Retry => stats.retried += 1,
                    Outcome::Failed => stats.failed += 1,
                    Outcome::Cancelled => stats.cancelled += 1,
                    Outcome::Unreachable => stats.unreachable += 1,
                },
                // the claim expires and a later pass takes the row again
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(e) => first_error = first_error.or(Some(AppError::internal(e))),
            }
        }
    }
    for (outcome, n) in [
        ("sent", stats.sent),
        ("retried", stats.retried),
        ("failed", stats.failed),
        ("cancelled", stats.cancelled),
        ("unreachable", stats.unreachable),
    ] {
        state.counts.add(outcome, n);
    }
    match first_error {
        Some(e)
            if stats.sent + stats.retried + stats.failed + stats.cancelled + stats.unreachable
                == 0 =>
        {
            Err(e)
        }
        Some(e) => {
            tracing::warn!(error = %e, "some notices of a pass could not be recorded");
            Ok(stats)
        }
        None => Ok(stats),
    }
}

/// Passes until nothing is due (at most `max_passes`): for `narvaro send-notices`.
pub async fn drain(state: &web::Data<Outbox>, me: &str, max_passes: usize) -> AppResult<PassStats> {
    let mut total = PassStats::default();
    for _ in 0..max_passes {
        let s = run_once(state, me).await?;
        total.claimed += s.claimed;
        total.sent += s.sent;
        total.retried += s.retried;
        total.failed += s.failed;
        total.cancelled += s.cancelled;
        total.unreachable += s.unreachable;
        if s.claimed == 0 || (s.sent + s.failed + s.cancelled + s.unreachable) == 0 {
            break;
        }
    }
    Ok(total)
}

/// A name for this worker in the claims it makes.
pub fn worker_id() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        secret::random_hex(4).unwrap_or_default()
    )
}

/// The worker inside the server: a pass every `every`, and at once again while busy.
///
/// When `stop` turns true (the server is shutting down) it finishes the pass under way,
/// so that it leaves no claimed row behind for another instance to wait `CLAIM_SECS` for,
/// and returns.
pub async fn run(state: web::Data<Outbox>, every: StdDuration, mut stop: watch::Receiver<bool>) {
    let me = worker_id();
    while !*stop.borrow() {
        let busy = match run_once(&state, &me).await {
            Ok(s) => s.claimed as i64 == BATCH,
            Err(e) => {
                tracing::warn!(error = %e, "outbox pass failed");
                false
            }
        };
        if !busy && !*stop.borrow() {
            let nap = state.nap(every);
            let stopped = stop.changed();
            futures_util::pin_mut!(nap, stopped);
            futures_util::future::select(nap, stopped).await;
        }
    }
}
