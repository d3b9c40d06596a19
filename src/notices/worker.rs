//! The outbox worker: claims due rows atomically, renders and sends them, and records what
//! happened. Temporary SMTP failures are retried with exponential backoff (1 minute
//! doubling to an hour); permanent ones mark the notice failed for staff to see.

use std::time::Duration as StdDuration;

use actix_web::web;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::auth::secret;
use crate::db::Database;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::mail::Mailer;
use crate::mail::{Mail, MailError};
use crate::notices::templates::Templates;
use crate::schema::*;
use crate::school::absence;
use crate::school::clock::Clock;
use crate::school::ids::PupilId;

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
}

impl Outbox {
    #[allow(clippy::too_many_arguments)]
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
        }
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
    async fn nap(&self, every: StdDuration) {
        let _ = actix_web::rt::time::timeout(every, self.wake.notified()).await;
    }
}

/// Rows one pass claims at most.
pub const BATCH: i64 = 50;
/// Notices sent at the same time (each on its own pooled SMTP connection).
pub const PARALLEL: usize = 8;
/// How long a claim holds before another worker may take the row (a crashed sender).
pub const CLAIM_SECS: i64 = 120;
/// After this many temporary failures a notice is marked failed.
pub const MAX_ATTEMPTS: i32 = 30;
/// How long a read-confirmation link works.
pub const CONFIRM_DAYS: i64 = 14;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassStats {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub unreachable: usize,
}

/// The wait before attempt `attempts + 1`.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 7) - 1;
    Duration::seconds((60i64 << exp).min(3600))
}

struct Claimed {
    id: i64,
    kind: String,
    recipient: Option<i64>,
    email: Option<String>,
    payload: String,
    attempts: i32,
}

#[derive(QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Claims up to `BATCH` due rows in one statement. On PostgreSQL, rows another worker is
/// claiming at this moment are skipped (SKIP LOCKED), so two workers share the work; the
/// outer conditions are checked again under the row lock either way.
fn claim(conn: &mut DbConn, me: &str, now: NaiveDateTime) -> AppResult<Vec<Claimed>> {
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
        .load::<(i64, String, Option<i64>, Option<String>, String, i32)>(conn)?
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

enum Built {
    /// One e-mail, or for a link request one per account with the address; and the
    /// payload to keep once sent (an absence notice records the lessons it named).
    Send(Vec<Mail>, Option<String>),
    /// Another notice about the same guardian, pupil and day is being sent right now:
    /// try again when it is done, to list only what it did not.
    Later,
    /// Nothing to say any more (the absence became valid); why.
    Skip(String),
    Unreachable,
}

/// The signed link a guardian presses to confirm a notice was seen.
pub fn confirm_link(state: &Outbox, id: i64, now: NaiveDateTime) -> String {
    let exp = (now + Duration::days(CONFIRM_DAYS)).and_utc().timestamp();
    let sig = secret::mac(&state.secret, "notice-seen", &format!("{id}:{exp}"));
    format!("{}/notices/{id}/seen?exp={exp}&sig={sig}", state.base_url)
}

/// Whether a confirmation link's signature and expiry hold.
pub fn confirm_link_valid(state: &Outbox, id: i64, exp: i64, sig: &str) -> bool {
    exp > state.clock.now().timestamp()
        && secret::constant_time_eq(
            sig,
            &secret::mac(&state.secret, "notice-seen", &format!("{id}:{exp}")),
        )
}

fn status_label(status: &str, lang: Lang) -> &'static str {
    match status {
        "late" => lang.pick("Sen ankomst", "Late"),
        "left_early" => lang.pick("Gick tidigt", "Left early"),
        "partly_absent" => lang.pick("Delvis frånvarande", "Partly absent"),
        _ => lang.pick("Frånvarande", "Absent"),
    }
}

/// The lessons earlier notices of the day to this guardian about this pupil named; None
/// while another such notice is being sent (its lessons are not known yet).
fn named_before(
    conn: &mut DbConn,
    me: i64,
    guardian: i64,
    pupil: i64,
    date: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<Option<Vec<i64>>> {
    let others: Vec<(String, String, Option<NaiveDateTime>)> = outbox::table
        .filter(outbox::kind.eq("unexplained_absence"))
        .filter(outbox::recipient_id.eq(guardian))
        .filter(outbox::pupil_id.eq(pupil))
        .filter(outbox::notice_date.eq(date))
        .filter(outbox::id.ne(me))
        .filter(outbox::status.eq_any(["sent", "pending"]))
        .select((outbox::status, outbox::payload, outbox::claimed_until))
        .load(conn)?;
    let mut named = Vec::new();
    for (status, payload, claimed_until) in others {
        if status == "pending" {
            if claimed_until.is_some_and(|t| t >= now) {
                return Ok(None);
            }
            continue;
        }
        let payload: Value = serde_json::from_str(&payload).unwrap_or_default();
        if let Some(ids) = payload["lessons"].as_array() {
            named.extend(ids.iter().filter_map(Value::as_i64));
        }
    }
    Ok(Some(named))
}

/// The lessons of `date` where the pupil is, now, absent without a valid reason (and not
/// with a reason the principal said sends no notice).
fn unexplained_lessons(
    conn: &mut DbConn,
    pupil: i64,
    date: NaiveDate,
    tz: chrono_tz::Tz,
    lang: Lang,
) -> AppResult<Vec<(i64, Value)>> {
    let rows = absence::history(conn, PupilId(pupil), date, date, tz)?;
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter(|r| r.invalid_minutes > 0 && !r.silent)
        .collect();
    rows.sort_by_key(|r| r.starts_at);
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.lesson_id,
                json!({
                    "starts_at": r.starts_at.format("%H:%M").to_string(),
                    "ends_at": r.ends_at.format("%H:%M").to_string(),
                    "subject": r.subject,
                    "status": status_label(&r.status, lang),
                    "minutes": if r.status == "absent" { Value::Null } else { json!(r.minutes) },
                }),
            )
        })
        .collect())
}

/// The e-mails with a single-use link: the link is made here, when the e-mail is sent, so
/// no secret waits in the outbox.
fn build_link_mail(conn: &mut DbConn, state: &Outbox, row: &Claimed) -> AppResult<Built> {
    use crate::auth::links::Purpose;
    use crate::auth::sign_in;
    // a link's lifetime is a security window: on the system clock, as where it is used
    let now = crate::school::clock::system_now();
    let links = match row.kind.as_str() {
        "link_request" => {
            let payload: Value = serde_json::from_str(&row.payload).map_err(AppError::caused)?;
            let purpose = payload["purpose"]
                .as_str()
                .and_then(Purpose::parse)
                .ok_or_else(|| AppError::internal("link request without purpose"))?;
            let email = row.email.clone().unwrap_or_default();
            conn.write_transaction(|conn| sign_in::links_for_request(conn, &email, purpose, now))?
                .into_iter()
                .map(|l| (l, purpose))
                .collect::<Vec<_>>()
        }
        "invitation" => {
            let Some(person) = row.recipient else {
                return Ok(Built::Unreachable);
            };
            let (given, email, language, active): (String, Option<String>, String, bool) =
                people::table
                    .find(person)
                    .select((
                        people::given_name,
                        people::email,
                        people::language,
                        people::active,
                    ))
                    .first(conn)?;
            let Some(email) = email.filter(|e| crate::mail::Email::parse(e).is_some()) else {
                return Ok(Built::Unreachable);
            };
            if !active {
                return Ok(Built::Skip(SKIP_INACTIVE.into()));
            }
            let link = conn.write_transaction(|conn| {
                sign_in::new_link(conn, person, email, language, given, Purpose::Invite, now)
            })?;
            vec![(link, Purpose::Invite)]
        }
        other => return Ok(Built::Skip(format!("unknown link kind {other}"))),
    };
    if links.is_empty() {
        return Ok(Built::Skip(SKIP_NO_ACCOUNT.into()));
    }
    let mut mails = Vec::new();
    for (l, purpose) in links {
        let (kind, path) = match purpose {
            Purpose::SignIn => ("sign_in_link", "login/link"),
            Purpose::Reset => ("password_reset", "password/new"),
            Purpose::Invite => ("invitation", "password/new"),
        };
        let lang = Lang::parse(&l.language).unwrap_or_default();
        let ctx = json!({
            "given_name": l.given_name,
            "url": format!("{}/{path}/{}", state.base_url, l.token),
        });
        let r = state
            .templates
            .render(kind, lang.code(), &ctx)
            .map_err(AppError::internal)?;
        mails.push(Mail {
            to: l.email,
            subject: r.subject,
            text: r.text,
            html: Some(r.html),
        });
    }
    Ok(Built::Send(mails, None))
}

/// Why a notice was not sent, as stored in `last_error`: a code the staff's page words in
/// the reader's language.
pub const SKIP_MADE_VALID: &str = "skipped: made_valid";
pub const SKIP_NOTHING_NEW: &str = "skipped: nothing_new";
pub const SKIP_NO_ACCOUNT: &str = "skipped: no_account";
pub const SKIP_INACTIVE: &str = "skipped: inactive";

fn build(conn: &mut DbConn, state: &Outbox, row: &Claimed, now: NaiveDateTime) -> AppResult<Built> {
    if crate::notices::LINK_KINDS.contains(&row.kind.as_str()) {
        return build_link_mail(conn, state, row);
    }
    let Some(recipient) = row.recipient else {
        return Ok(Built::Unreachable);
    };
    let (given, email, language): (String, Option<String>, String) = people::table
        .find(recipient)
        .select((people::given_name, people::email, people::language))
        .first(conn)?;
    let Some(email) = email.filter(|e| crate::mail::Email::parse(e).is_some()) else {
        return Ok(Built::Unreachable);
    };
    let lang = Lang::parse(&language).unwrap_or_default();
    let payload: Value = serde_json::from_str(&row.payload).map_err(AppError::caused)?;
    let n = Notice {
        state,
        row,
        recipient,
        given: &given,
        lang,
        payload: &payload,
        now,
    };
    let made = match row.kind.as_str() {
        "unexplained_absence" => unexplained_context(conn, &n)?,
        "report_confirmation" => report_context(conn, &n)?,
        "leave_decision" => leave_context(conn, &n)?,
        "threshold_alert" => threshold_context(conn, &n)?,
        other => return Ok(Built::Skip(format!("unknown notice kind {other}"))),
    };
    let (ctx, keep) = match made {
        Ok(made) => made,
        Err(built) => return Ok(built),
    };
    let r = state
        .templates
        .render(&row.kind, lang.code(), &ctx)
        .map_err(AppError::internal)?;
    Ok(Built::Send(
        vec![Mail {
            to: email,
            subject: r.subject,
            text: r.text,
            html: Some(r.html),
        }],
        keep,
    ))
}

/// What building one notice's e-mail needs to know.
struct Notice<'a> {
    state: &'a Outbox,
    row: &'a Claimed,
    recipient: i64,
    /// the recipient's given name
    given: &'a str,
    lang: Lang,
    payload: &'a Value,
    now: NaiveDateTime,
}

/// A template's context and, when it changes, the payload to keep; or, instead, what to
/// do with the notice (later, skip).
type Made = AppResult<Result<(Value, Option<String>), Built>>;

/// A pupil's name, and whether their identity is protected (then no e-mail names them).
fn child(conn: &mut DbConn, id: i64) -> AppResult<(String, bool)> {
    let (g, f, marking): (String, String, String) = people::table
        .find(id)
        .select((
            people::given_name,
            people::family_name,
            people::security_marking,
        ))
        .first(conn)?;
    Ok((format!("{g} {f}"), marking != "none"))
}

/// Absence without a valid reason: the lessons not named in an earlier notice of the day.
fn unexplained_context(conn: &mut DbConn, n: &Notice) -> Made {
    let (state, row, recipient, given, lang, payload, now) = (
        n.state,
        n.row,
        n.recipient,
        n.given,
        n.lang,
        n.payload,
        n.now,
    );
    let tz = state.timezone;
    let pupil = payload["pupil_id"]
        .as_i64()
        .ok_or_else(|| AppError::internal("notice without pupil"))?;
    let date: NaiveDate =
        serde_json::from_value(payload["date"].clone()).map_err(AppError::caused)?;
    let Some(named) = named_before(conn, row.id, recipient, pupil, date, now)? else {
        return Ok(Err(Built::Later));
    };
    let (ids, lessons): (Vec<i64>, Vec<Value>) = unexplained_lessons(conn, pupil, date, tz, lang)?
        .into_iter()
        .filter(|(id, _)| !named.contains(id))
        .unzip();
    if lessons.is_empty() {
        return Ok(Err(Built::Skip(if named.is_empty() {
            SKIP_MADE_VALID.into()
        } else {
            SKIP_NOTHING_NEW.into()
        })));
    }
    let keep = Some(json!({"pupil_id": pupil, "date": date, "lessons": ids}).to_string());
    let (name, protected) = child(conn, pupil)?;
    Ok(Ok((
        json!({
            "guardian_name": given, "child_name": if protected { Value::Null } else { json!(name) }, "protected": protected,
            "date": lang.day(date), "lessons": if protected { json!([]) } else { json!(lessons) },
            "confirm_url": confirm_link(state, row.id, now),
        }),
        keep,
    )))
}

/// A guardian's report received (or cancelled).
fn report_context(conn: &mut DbConn, n: &Notice) -> Made {
    let (payload, given, tz, lang) = (n.payload, n.given, n.state.timezone, n.lang);
    let report = payload["report_id"].as_i64().unwrap_or_default();
    let (pupil, s, e): (i64, NaiveDateTime, NaiveDateTime) = absence_reports::table
        .find(report)
        .select((
            absence_reports::pupil_id,
            absence_reports::starts_at,
            absence_reports::ends_at,
        ))
        .first(conn)?;
    let (name, protected) = child(conn, pupil)?;
    let local = |t: NaiveDateTime| crate::school::calendar::to_local(tz, t);
    // `from` and `to` for templates of one's own written before `period`
    let fmt = |t: NaiveDateTime| local(t).format("%Y-%m-%d %H:%M").to_string();
    Ok(Ok((
        json!({"guardian_name": given, "child_name": if protected { Value::Null } else { json!(name) }, "protected": protected,
           "from": fmt(s), "to": fmt(e), "period": lang.span(local(s), local(e)), "cancelled": payload["cancelled"].as_bool().unwrap_or(false),
           "pupil_url": format!("{}/pupils/{pupil}", n.state.base_url)}),
        None,
    )))
}

/// The principal's decision on leave.
fn leave_context(conn: &mut DbConn, n: &Notice) -> Made {
    let (payload, given, lang) = (n.payload, n.given, n.lang);
    let leave = payload["leave_id"].as_i64().unwrap_or_default();
    let (pupil, s, e, status, comment, delegation): (
        i64,
        NaiveDate,
        NaiveDate,
        String,
        Option<String>,
        Option<i64>,
    ) = leave_applications::table
        .find(leave)
        .select((
            leave_applications::pupil_id,
            leave_applications::start_date,
            leave_applications::end_date,
            leave_applications::status,
            leave_applications::decision_comment,
            leave_applications::delegation_id,
        ))
        .first(conn)?;
    // a mentor's decision under the principal's delegation says so, and its limit
    let delegated: Option<i32> = match delegation {
        Some(d) => Some(
            leave_delegations::table
                .find(d)
                .select(leave_delegations::max_days)
                .first(conn)?,
        ),
        None => None,
    };
    let (name, protected) = child(conn, pupil)?;
    Ok(Ok((
        json!({"guardian_name": given, "child_name": if protected { Value::Null } else { json!(name) }, "protected": protected,
           "start_date": s.to_string(), "end_date": e.to_string(), "period": lang.days(s, e), "approved": status == "approved", "comment": comment,
           "delegated": delegated, "pupil_url": format!("{}/pupils/{pupil}", n.state.base_url)}),
        None,
    )))
}

/// A pupil crossed the absence threshold (to the mentor and the principal).
fn threshold_context(conn: &mut DbConn, n: &Notice) -> Made {
    let (state, payload, given, lang) = (n.state, n.payload, n.given, n.lang);
    let pupil = payload["pupil_id"]
        .as_i64()
        .ok_or_else(|| AppError::internal("alert without pupil"))?;
    let (name, protected) = child(conn, pupil)?;
    let label = if protected {
        format!(
            "{} (id {pupil})",
            lang.pick(
                "En elev med skyddad identitet",
                "A pupil with a protected identity"
            )
        )
    } else {
        name
    };
    Ok(Ok((
        json!({"staff_name": given, "pupil_label": label, "percent": payload["percent"], "threshold": payload["threshold"],
           "days": payload["days"], "pupil_url": format!("{}/pupils/{pupil}", state.base_url)}),
        None,
    )))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retry,
    Failed,
    Cancelled,
    Unreachable,
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
        Ok(Built::Send(mails, kept)) => match send_all(&state, id, mails).await {
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
            tracing::error!(error = %e, id, "a notice could not be prepared");
            (
                Outcome::Retry,
                Some("could not be prepared".into()),
                later(),
            )
        }
    };
    let status = match outcome {
        Outcome::Sent => "sent",
        Outcome::Retry => "pending",
        Outcome::Failed => "failed",
        Outcome::Cancelled => "cancelled",
        Outcome::Unreachable => "unreachable",
    };
    let sent_at = state.now();
    // a handled link request keeps no address (it may be anybody's)
    let forget = link_kind && outcome != Outcome::Retry;
    state
        .db
        .write(move |conn| {
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
                    outbox::status.eq(status),
                    outbox::attempts.eq(attempts + 1),
                    outbox::last_error.eq(error),
                    outbox::claimed_until.eq(None::<NaiveDateTime>),
                    outbox::sent_at.eq((status == "sent").then_some(sent_at)),
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
        })
        .await?;
    Ok(outcome)
}

/// Sends the e-mails of one outbox row; the first failure stops it. Each message's
/// Message-ID names the row (and its place among the row's messages), so a message sent
/// again after a crash between the SMTP server's "250" and the row's "sent" carries the
/// same Message-ID, and the receiving side can tell it is the same message.
async fn send_all(state: &Outbox, row: i64, mails: Vec<Mail>) -> Result<(), MailError> {
    for (n, mail) in mails.into_iter().enumerate() {
        state
            .mailer
            .send(mail, &format!("notice.{row}.{n}"))
            .await?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_to_an_hour() {
        let mins: Vec<i64> = (1..=9).map(|a| super::backoff(a).num_minutes()).collect();
        assert_eq!(mins, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
