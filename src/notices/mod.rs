//! Notices to guardians and staff, by e-mail, through an outbox: every notice is a row
//! written in the same transaction as the change that causes it (`enqueue`), and a worker
//! sends due rows (`worker::run_once`), claiming them atomically so that two servers on one
//! database never send the same row twice.

pub mod build;
pub mod channel;
pub mod queue;
pub mod reach;
pub mod sms;
pub mod templates;
pub mod text;
pub mod worker;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::on_backend;
use crate::schema::*;
use crate::school::ids::{
    GroupId, LeaveId, NoticeId, PersonId, PupilId, ReportId, SchoolId, SignalId,
};
use crate::school::states::Role;

/// When the unexplained-absence notices are due.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub tz: Tz,
    pub at: NaiveTime,
    pub delay_minutes: Option<i64>,
}

impl Policy {
    pub fn from_config(c: &crate::config::Config) -> Policy {
        Policy {
            tz: c.timezone,
            at: c.notice_at,
            delay_minutes: c.notice_delay_minutes,
        }
    }

    /// The UTC instant a notice about `date`'s absence is due, reported at `now` (UTC).
    pub fn due(&self, date: NaiveDate, now: NaiveDateTime) -> NaiveDateTime {
        self.due_at(date, now, None)
    }

    /// The same, with the school's own notice time, when it has one, instead of
    /// NARVARO_NOTICE_AT (a delay in minutes still wins: it is the whole service's).
    pub fn due_at(
        &self,
        date: NaiveDate,
        now: NaiveDateTime,
        school_at: Option<NaiveTime>,
    ) -> NaiveDateTime {
        match self.delay_minutes {
            Some(m) => now + Duration::minutes(m),
            None => {
                let at = school_at.unwrap_or(self.at);
                let at = crate::school::calendar::utc_window(self.tz, date, at, at).0;
                at.max(now)
            }
        }
    }
}

/// One notice to write into the outbox.
struct Row<'a> {
    kind: &'a str,
    dedupe_key: String,
    recipient: Option<PersonId>,
    email: Option<String>,
    language: String,
    pupil: Option<PupilId>,
    date: Option<NaiveDate>,
    payload: Value,
    due: NaiveDateTime,
}

/// Writes the notice unless one with its key exists (a lesson reported again, a retry).
fn put(conn: &mut DbConn, r: Row<'_>, now: NaiveDateTime) -> AppResult<()> {
    let addressed = r
        .email
        .as_deref()
        .is_some_and(|e| crate::mail::Email::parse(e).is_some());
    // without an address, a guardian with a number may still be texted (the worker decides)
    let numbered = !addressed
        && match r.recipient {
            Some(p) => people::table
                .find(p)
                .select(people::phone)
                .first::<Option<String>>(conn)?
                .is_some(),
            None => false,
        };
    let status = if addressed || numbered {
        "pending"
    } else {
        "unreachable"
    };
    let values = (
        outbox::kind.eq(r.kind),
        outbox::dedupe_key.eq(&r.dedupe_key),
        outbox::recipient_id.eq(r.recipient),
        outbox::recipient_email.eq(&r.email),
        outbox::pupil_id.eq(r.pupil),
        outbox::notice_date.eq(r.date),
        outbox::language.eq(&r.language),
        outbox::payload.eq(r.payload.to_string()),
        outbox::status.eq(status),
        outbox::due_at.eq(r.due),
        outbox::created_at.eq(now),
    );
    on_backend!(conn, c => diesel::insert_into(outbox::table)
        .values(values)
        .on_conflict(outbox::dedupe_key)
        .do_nothing()
        .execute(c))?;
    Ok(())
}

/// Kinds of e-mail that carry a single-use link (a request for sign-in links or a password
/// reset, and a staff invitation); the worker makes the link when it sends.
pub const LINK_KINDS: [&str; 2] = ["link_request", "invitation"];

pub enum LinkRequest {
    /// The request is queued; the person asking is told the same whatever the address.
    Queued,
    Throttled {
        wait_secs: u64,
    },
}

/// Asks for sign-in links (guardians and pupils) or password resets (staff with an account)
/// for an e-mail address. The request does the same work whatever the address: it checks
/// the limit per client address and queues the request in the outbox, where the worker
/// looks the address up, makes the links and sends them
/// (`auth::sign_in::links_for_request`). So neither the answer nor its timing tells
/// whether the address has an account, and no link secret is ever stored: it is made when
/// the e-mail is sent.
///
/// `now` is the system clock (the limit's window); `due` the outbox's clock.
pub fn request_links(
    conn: &mut DbConn,
    email: &str,
    purpose: crate::auth::links::Purpose,
    addr: &str,
    now: NaiveDateTime,
    due: NaiveDateTime,
) -> AppResult<LinkRequest> {
    conn.write_transaction(|conn| {
        let limit = crate::auth::throttle::Limit::link_requests(addr);
        if let Err(wait_secs) = crate::auth::throttle::take(conn, &[limit], now)? {
            return Ok(LinkRequest::Throttled { wait_secs });
        }
        link_request(conn, email, purpose, due)?;
        crate::audit::record(
            conn,
            crate::audit::Entry {
                at: now,
                actor: None,
                action: crate::auth::throttle::LINK_REQUESTED,
                entity: "person",
                entity_id: None,
                detail: json!({"purpose": purpose.as_str()}),
                client_addr: Some(addr),
            },
        )?;
        Ok(LinkRequest::Queued)
    })
}

/// Queues a request for sign-in links or a password reset for an e-mail address (which may
/// have no account: the worker finds out). Only the address and the purpose are kept, and
/// the address is blanked once the request is handled.
pub fn link_request(
    conn: &mut DbConn,
    email: &str,
    purpose: crate::auth::links::Purpose,
    now: NaiveDateTime,
) -> AppResult<()> {
    let key = crate::auth::secret::random_hex(16).map_err(crate::error::AppError::caused)?;
    put(
        conn,
        Row {
            kind: "link_request",
            dedupe_key: format!("link:{key}"),
            recipient: None,
            email: Some(email.to_string()),
            language: "sv".into(),
            pupil: None,
            date: None,
            payload: json!({"purpose": purpose.as_str()}),
            due: now,
        },
        now,
    )
}

/// Queues a staff invitation; the worker makes the link (valid three days) when it sends.
pub fn invitation(
    conn: &mut DbConn,
    person: PersonId,
    email: &str,
    language: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    put(
        conn,
        Row {
            kind: "invitation",
            dedupe_key: format!("invite:{person}:{}", now.and_utc().timestamp_micros()),
            recipient: Some(person),
            email: Some(email.to_string()),
            language: language.to_string(),
            pupil: None,
            date: None,
            payload: json!({}),
            due: now,
        },
        now,
    )
}

/// id, e-mail, language, wants confirmations
type Guardian = (PersonId, Option<String>, String, bool);

/// The active guardians of a pupil.
fn guardians(conn: &mut DbConn, pupil: PupilId) -> AppResult<Vec<Guardian>> {
    Ok(guardianships::table
        .inner_join(people::table.on(people::id.eq(guardianships::guardian_id)))
        .filter(guardianships::pupil_id.eq(pupil))
        .filter(people::active.eq(true))
        .select((
            people::id,
            people::email,
            people::language,
            people::receive_confirmations,
        ))
        .order(people::id)
        .load(conn)?)
}

/// Same-day notices for a pupil's unexplained absence on `date`, one per guardian. What the
/// message lists is decided when it is sent, so absence made valid before then is left out
/// (and a notice with nothing left is not sent). A notice still waiting covers every
/// absence of the day marked before it goes; an absence marked after the day's notice went
/// out (or while it is being sent) gets a follow-up notice, which lists only the lessons
/// no earlier notice named (Skollagen 7 kap. 17 §: every unexplained absence of the day).
pub fn unexplained_absence(
    conn: &mut DbConn,
    policy: &Policy,
    pupil: PupilId,
    date: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<()> {
    // the pupil's school's own notice time (set on its settings page), if any
    let school_at: Option<NaiveTime> = people::table
        .find(pupil)
        .inner_join(organisations::table.on(people::school_id.eq(organisations::id.nullable())))
        .select(organisations::notice_at)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten()
        .and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M").ok());
    for (g, email, language, _) in guardians(conn, pupil)? {
        if waiting_absence_notice(conn, g, pupil, date, now)? {
            continue;
        }
        let earlier: i64 = outbox::table
            .filter(outbox::kind.eq("unexplained_absence"))
            .filter(outbox::recipient_id.eq(g))
            .filter(outbox::pupil_id.eq(pupil))
            .filter(outbox::notice_date.eq(date))
            .count()
            .get_result(conn)?;
        // the first notice of the day keeps the key it always had
        let dedupe_key = match earlier {
            0 => format!("absence:{g}:{pupil}:{date}"),
            n => format!("absence:{g}:{pupil}:{date}:{n}"),
        };
        put(
            conn,
            Row {
                kind: "unexplained_absence",
                dedupe_key,
                recipient: Some(g),
                email,
                language,
                pupil: Some(pupil),
                date: Some(date),
                payload: json!({"pupil_id": pupil, "date": date}),
                due: policy.due_at(date, now, school_at),
            },
            now,
        )?;
    }
    Ok(())
}

/// Whether a notice of the day to this guardian about this pupil is still waiting to be
/// sent and not yet taken by a worker, so that it will list this absence too. On
/// PostgreSQL the row stays locked until the caller commits, so a worker cannot claim it
/// (and read the marks) in between.
fn waiting_absence_notice(
    conn: &mut DbConn,
    guardian: PersonId,
    pupil: PupilId,
    date: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<bool> {
    use diesel::sql_types::{BigInt, Date, Timestamp};
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        id: i64,
    }
    const WAITING: &str = "SELECT id FROM outbox WHERE kind = 'unexplained_absence' \
        AND recipient_id = $1 AND pupil_id = $2 AND notice_date = $3 AND status = 'pending' \
        AND (claimed_until IS NULL OR claimed_until < $4)";
    let sql = match conn.backend() {
        crate::db::Backend::Postgres => format!("{WAITING} FOR UPDATE"),
        crate::db::Backend::Sqlite => WAITING.replace('$', "?"),
    };
    let rows: Vec<Id> = on_backend!(conn, c => diesel::sql_query(&sql)
        .bind::<BigInt, _>(guardian)
        .bind::<BigInt, _>(pupil)
        .bind::<Date, _>(date)
        .bind::<Timestamp, _>(now)
        .load(c))?;
    Ok(!rows.is_empty())
}

/// How long a report's confirmation waits before it goes out: an undo within it (a
/// mis-tapped "Sjuk i dag") withdraws the confirmation, and neither e-mail is sent.
pub const CONFIRMATION_HOLD_SECS: i64 = 60;

/// Confirms an absence report (or its cancellation) to every guardian who wants them. The
/// confirmation of a new report is held [`CONFIRMATION_HOLD_SECS`]; a cancellation
/// withdraws a confirmation still held (nobody was told, so nobody is told of the undo)
/// and confirms the undo to those who were told.
pub fn report_confirmation(
    conn: &mut DbConn,
    pupil: PupilId,
    report: ReportId,
    cancelled: bool,
    now: NaiveDateTime,
) -> AppResult<()> {
    let what = if cancelled { "cancelled" } else { "created" };
    for (g, email, language, wants) in guardians(conn, pupil)? {
        if !wants {
            continue;
        }
        if cancelled {
            // a conditional update: a worker that has claimed the row has it, and then the
            // guardian hears of the undo too
            let withdrawn = diesel::update(
                outbox::table
                    .filter(outbox::dedupe_key.eq(format!("report:{report}:created:{g}")))
                    .filter(outbox::status.eq("pending"))
                    .filter(
                        outbox::claimed_until
                            .is_null()
                            .or(outbox::claimed_until.lt(now)),
                    ),
            )
            .set(outbox::status.eq("cancelled"))
            .execute(conn)?;
            if withdrawn > 0 {
                continue;
            }
        }
        let due = if cancelled {
            now
        } else {
            now + chrono::Duration::seconds(CONFIRMATION_HOLD_SECS)
        };
        put(
            conn,
            Row {
                kind: "report_confirmation",
                dedupe_key: format!("report:{report}:{what}:{g}"),
                recipient: Some(g),
                email,
                language,
                pupil: Some(pupil),
                date: Some(now.date()),
                payload: json!({"report_id": report, "cancelled": cancelled}),
                due,
            },
            now,
        )?;
    }
    Ok(())
}

/// Tells the guardians the principal's decision on a leave application.
pub fn leave_decision(
    conn: &mut DbConn,
    pupil: PupilId,
    leave: LeaveId,
    now: NaiveDateTime,
) -> AppResult<()> {
    about_leave(conn, ("leave_decision", "leave"), (pupil, leave), None, now)
}

/// Asks a guardian to confirm (or decline) the leave another guardian applied for
/// (`attendance::leave_confirmation`); the message links to the answer.
pub fn leave_confirmation(
    conn: &mut DbConn,
    pupil: PupilId,
    leave: LeaveId,
    guardian: PersonId,
    now: NaiveDateTime,
) -> AppResult<()> {
    let what = ("leave_confirmation", "leave-confirm");
    about_leave(conn, what, (pupil, leave), Some(guardian), now)
}

/// Tells the guardian who applied that another guardian declined the application: as a
/// leave decision (the guardian's choice of channel for those applies), which the
/// application's status words.
pub fn leave_declined(
    conn: &mut DbConn,
    pupil: PupilId,
    leave: LeaveId,
    applicant: PersonId,
    now: NaiveDateTime,
) -> AppResult<()> {
    let what = ("leave_decision", "leave");
    about_leave(conn, what, (pupil, leave), Some(applicant), now)
}

/// A notice of `kind` about a leave application to the pupil's guardians (or only to
/// `only` among them), keyed `{key}:{leave}:{guardian}`.
fn about_leave(
    conn: &mut DbConn,
    (kind, key): (&str, &str),
    (pupil, leave): (PupilId, LeaveId),
    only: Option<PersonId>,
    now: NaiveDateTime,
) -> AppResult<()> {
    for (g, email, language, _) in guardians(conn, pupil)? {
        if only.is_some_and(|o| o != g) {
            continue;
        }
        put(
            conn,
            Row {
                kind,
                dedupe_key: format!("{key}:{leave}:{g}"),
                recipient: Some(g),
                email,
                language,
                pupil: Some(pupil),
                date: Some(now.date()),
                payload: json!({"leave_id": leave}),
                due: now,
            },
            now,
        )?;
    }
    Ok(())
}

/// Whom a raised signal is e-mailed to: the staff its rule shows it to (when the rule
/// e-mails them), and the guardians.
#[derive(Debug, Clone, Copy)]
pub struct Tell {
    /// e-mail the staff below
    pub staff: bool,
    pub mentor: bool,
    pub principal: bool,
    pub health: bool,
    pub guardians: bool,
}

/// E-mails about a signal just raised (`follow_up::signals`): to the pupil's mentors today,
/// the school's principals and elevhälsan as the rule says, and to the guardians. The
/// e-mails name the pupil and the period, never the figures or a reason.
#[allow(clippy::too_many_arguments)]
pub fn signal_raised(
    conn: &mut DbConn,
    signal: SignalId,
    tell: Tell,
    pupil: PupilId,
    school: SchoolId,
    period: (NaiveDate, NaiveDate),
    today: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<()> {
    let payload = json!({"signal_id": signal, "pupil_id": pupil, "from": period.0, "to": period.1});
    let mut to: Vec<(&str, PersonId, Option<String>, String)> = Vec::new();
    if tell.staff && (tell.mentor || tell.principal || tell.health) {
        let groups: Vec<GroupId> = group_memberships::table
            .filter(group_memberships::pupil_id.eq(pupil))
            .filter(crate::school::membership::on(today))
            .select(group_memberships::group_id)
            .load(conn)?;
        let mut roles = Vec::new();
        if tell.principal {
            roles.push(Role::Principal);
        }
        if tell.health {
            roles.push(Role::Health);
        }
        let mentor_groups = if tell.mentor { groups } else { Vec::new() };
        let staff: Vec<(PersonId, Option<String>, String)> = duties::table
            .inner_join(people::table.on(people::id.eq(duties::person_id)))
            .filter(crate::school::duty::on(today))
            .filter(
                duties::role
                    .eq(Role::Mentor)
                    .and(duties::group_id.eq_any(mentor_groups))
                    .or(duties::role
                        .eq_any(roles)
                        .and(duties::organisation_id.eq(school))),
            )
            .filter(people::active.eq(true))
            .select((people::id, people::email, people::language))
            .distinct()
            .load(conn)?;
        to.extend(
            staff
                .into_iter()
                .map(|(p, e, l)| ("signal_raised", p, e, l)),
        );
    }
    if tell.guardians {
        let family = guardians(conn, pupil)?;
        to.extend(
            family
                .into_iter()
                .map(|(g, e, l, _)| ("signal_guardian", g, e, l)),
        );
    }
    for (kind, person, email, language) in to {
        put(
            conn,
            Row {
                kind,
                dedupe_key: format!("signal:{signal}:{person}"),
                recipient: Some(person),
                email,
                language,
                pupil: Some(pupil),
                date: Some(today),
                payload: payload.clone(),
                due: now,
            },
            now,
        )?;
    }
    Ok(())
}

/// One unexplained-absence notice of a day, as the notices page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct DayNotice {
    pub id: NoticeId,
    pub status: String,
    pub confirmed_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub pupil: PupilId,
    pub given_name: String,
    pub family_name: String,
    pub recipient_email: Option<String>,
    /// how it went out: `email`, `sms`, or `email_fallback` (e-mail after a failed text)
    pub channel: String,
    /// a text message's delivery report: `delivered` or `failed` (none yet: waiting)
    pub delivery: Option<String>,
}

impl DayNotice {
    /// Not confirmed by a guardian, and not cancelled.
    pub fn unconfirmed(&self) -> bool {
        self.confirmed_at.is_none() && self.status != "cancelled"
    }

    /// Sent (or failed, or with no one to send to) and not confirmed: someone should call.
    pub fn needs_follow_up(&self) -> bool {
        self.confirmed_at.is_none()
            && matches!(self.status.as_str(), "sent" | "failed" | "unreachable")
    }
}

/// The unexplained-absence notices of `date` about the pupils the viewer follows: those of
/// the schools they lead or administer and those of the groups they mentor (on that date),
/// by pupil name; at most 2,000.
pub fn of_day(conn: &mut DbConn, v: &Viewer, date: NaiveDate) -> AppResult<Vec<DayNotice>> {
    let mut schools = v.roles.principal_of.clone();
    if !v.roles.admin_of.is_empty() {
        schools.extend(
            crate::auth::access::admin_schools(conn, v)?
                .into_iter()
                .map(|s| s.0),
        );
    }
    let mentored = group_memberships::table
        .filter(group_memberships::group_id.eq_any(v.roles.mentor_of.clone()))
        .filter(crate::school::membership::on(date))
        .select(group_memberships::pupil_id);
    Ok(outbox::table
        .inner_join(people::table.on(people::id.nullable().eq(outbox::pupil_id)))
        .filter(outbox::kind.eq("unexplained_absence"))
        .filter(outbox::notice_date.eq(date))
        .filter(
            people::school_id
                .eq_any(schools)
                .or(people::id.eq_any(mentored)),
        )
        .select((
            outbox::id,
            outbox::status,
            outbox::confirmed_at,
            outbox::last_error,
            people::id,
            people::given_name,
            people::family_name,
            outbox::recipient_email,
            outbox::channel,
            outbox::delivery,
        ))
        .order((people::family_name, people::given_name, outbox::id))
        .limit(2000)
        .load(conn)?)
}

/// When the guardian confirmed an unexplained-absence notice, if they have (404 for any
/// other notice).
pub fn confirmed_at(conn: &mut DbConn, id: NoticeId) -> AppResult<Option<NaiveDateTime>> {
    Ok(outbox::table
        .find(id)
        .filter(outbox::kind.eq("unexplained_absence"))
        .select(outbox::confirmed_at)
        .first(conn)?)
}

/// The guardian saw the notice (its signed link was checked): confirmed once, audited;
/// confirming again changes nothing.
pub fn confirm(conn: &mut DbConn, id: NoticeId, now: NaiveDateTime, addr: &str) -> AppResult<()> {
    conn.transaction(|conn| {
        let (recipient, confirmed): (Option<PersonId>, Option<NaiveDateTime>) = outbox::table
            .find(id)
            .filter(outbox::kind.eq("unexplained_absence"))
            .select((outbox::recipient_id, outbox::confirmed_at))
            .first(conn)?;
        if confirmed.is_none() {
            diesel::update(outbox::table.find(id))
                .set(outbox::confirmed_at.eq(now))
                .execute(conn)?;
            crate::audit::record(
                conn,
                crate::audit::Entry {
                    at: now,
                    actor: recipient,
                    action: "notice.confirmed",
                    entity: "notice",
                    entity_id: Some(id.into()),
                    detail: json!({}),
                    client_addr: Some(addr),
                },
            )?;
        }
        Ok(())
    })
}
