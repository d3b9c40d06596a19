//! Building a notice: from a claimed row to the e-mails to send (the template's context
//! from the database, in the recipient's language), or to why it is not sent (the absence
//! became valid, nothing new, no account). Links are made here, as the e-mail is built, so
//! no secret waits in the outbox.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{json, Value};

use super::queue::{Claimed, Outbox};
use crate::auth::secret;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::mail::Mail;
use crate::schema::*;
use crate::school::absence;
use crate::school::ids::{LessonId, NoticeId, PersonId, PupilId};

/// How long a read-confirmation link works.
pub const CONFIRM_DAYS: i64 = 14;

/// What to do with a claimed notice, once built.
pub(super) enum Built {
    /// One e-mail (none for a guardian reached by text message only), or for a link
    /// request one per account with the address; the payload to keep once sent (an absence
    /// notice records the lessons it named); and the text message to send, if any.
    Send(Vec<Mail>, Option<String>, Option<super::text::Text>),
    /// Another notice about the same guardian, pupil and day is being sent right now:
    /// try again when it is done, to list only what it did not.
    Later,
    /// Nothing to say any more (the absence became valid); why.
    Skip(String),
    Unreachable,
}

/// The signed link a guardian presses to confirm a notice was seen.
pub fn confirm_link(state: &Outbox, id: NoticeId, now: NaiveDateTime) -> String {
    let exp = (now + Duration::days(CONFIRM_DAYS)).and_utc().timestamp();
    let sig = secret::mac(&state.secret, "notice-seen", &format!("{id}:{exp}"));
    format!("{}/notices/{id}/seen?exp={exp}&sig={sig}", state.base_url)
}

/// Whether a confirmation link's signature and expiry hold.
pub fn confirm_link_valid(state: &Outbox, id: NoticeId, exp: i64, sig: &str) -> bool {
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
    me: NoticeId,
    guardian: PersonId,
    pupil: PupilId,
    date: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<Option<Vec<LessonId>>> {
    let others: Vec<(String, String, Option<NaiveDateTime>)> = outbox::table
        .filter(outbox::kind.eq("unexplained_absence"))
        .filter(outbox::recipient_id.eq(guardian))
        .filter(outbox::pupil_id.eq(pupil))
        .filter(outbox::notice_date.eq(date))
        .filter(outbox::id.ne(me))
        .filter(outbox::status.eq_any(["sent", "pending"]))
        // a notice whose text message failed named nothing (its e-mail follows)
        .filter(outbox::delivery.is_null().or(outbox::delivery.ne("failed")))
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
        if let Ok(ids) = serde_json::from_value::<Vec<LessonId>>(payload["lessons"].clone()) {
            named.extend(ids);
        }
    }
    Ok(Some(named))
}

/// The lessons of `date` where the pupil is, now, absent without a valid reason (and not
/// with a reason the principal said sends no notice).
fn unexplained_lessons(
    conn: &mut DbConn,
    pupil: PupilId,
    date: NaiveDate,
    tz: chrono_tz::Tz,
    lang: Lang,
) -> AppResult<Vec<(LessonId, Value)>> {
    let rows = absence::history(conn, pupil, date, date, tz)?;
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
                    "starts_at": lang.time(r.starts_at),
                    "ends_at": lang.time(r.ends_at),
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
    Ok(Built::Send(mails, None, None))
}

/// Why a notice was not sent, as stored in `last_error`: a code the staff's page words in
/// the reader's language.
pub const SKIP_MADE_VALID: &str = "skipped: made_valid";
pub const SKIP_NOTHING_NEW: &str = "skipped: nothing_new";
pub const SKIP_NO_ACCOUNT: &str = "skipped: no_account";
pub const SKIP_INACTIVE: &str = "skipped: inactive";

pub(super) fn build(
    conn: &mut DbConn,
    state: &Outbox,
    row: &Claimed,
    now: NaiveDateTime,
) -> AppResult<Built> {
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
    let email = email.filter(|e| crate::mail::Email::parse(e).is_some());
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
        "leave_confirmation" => confirmation_context(conn, &n)?,
        "threshold_alert" => threshold_context(conn, &n)?,
        "signal_raised" | "signal_guardian" => signal_context(conn, &n)?,
        other => return Ok(Built::Skip(format!("unknown notice kind {other}"))),
    };
    let (ctx, keep) = match made {
        Ok(made) => made,
        Err(built) => return Ok(built),
    };
    let text = super::text::plan(conn, state, row, (recipient, lang), &ctx)?;
    let Some(email) = email else {
        // no address: a text message alone, or nobody to tell
        return Ok(match text {
            Some(t) => Built::Send(Vec::new(), keep, Some(t)),
            None => Built::Unreachable,
        });
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
        text,
    ))
}

/// What building one notice's e-mail needs to know.
struct Notice<'a> {
    state: &'a Outbox,
    row: &'a Claimed,
    recipient: PersonId,
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
fn child(conn: &mut DbConn, id: PupilId) -> AppResult<(String, bool)> {
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
    let pupil: PupilId = serde_json::from_value(payload["pupil_id"].clone())
        .map_err(|_| AppError::internal("notice without pupil"))?;
    let date: NaiveDate =
        serde_json::from_value(payload["date"].clone()).map_err(AppError::caused)?;
    let Some(named) = named_before(conn, row.id, recipient, pupil, date, now)? else {
        return Ok(Err(Built::Later));
    };
    let (ids, lessons): (Vec<LessonId>, Vec<Value>) =
        unexplained_lessons(conn, pupil, date, tz, lang)?
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
    // leave for the day was applied for and refused: the notice says so (issue 39)
    let refused: i64 = leave_applications::table
        .filter(leave_applications::pupil_id.eq(pupil))
        .filter(leave_applications::status.eq(crate::school::states::LeaveStatus::Rejected))
        .filter(leave_applications::start_date.le(date))
        .filter(leave_applications::end_date.ge(date))
        .count()
        .get_result(conn)?;
    Ok(Ok((
        json!({
            "guardian_name": given, "child_name": if protected { Value::Null } else { json!(name) }, "protected": protected,
            "date": lang.day(date), "lessons": if protected { json!([]) } else { json!(lessons) },
            "confirm_url": confirm_link(state, row.id, now), "refused_leave": refused > 0,
        }),
        keep,
    )))
}

/// A guardian's report received (or cancelled).
fn report_context(conn: &mut DbConn, n: &Notice) -> Made {
    let (payload, given, tz, lang) = (n.payload, n.given, n.state.timezone, n.lang);
    let report = payload["report_id"].as_i64().unwrap_or_default();
    let (pupil, s, e): (PupilId, NaiveDateTime, NaiveDateTime) = absence_reports::table
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
        PupilId,
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
           "start_date": s.to_string(), "end_date": e.to_string(), "period": lang.days(s, e), "approved": status == "approved", "declined": status == "declined", "comment": comment,
           "delegated": delegated, "pupil_url": format!("{}/pupils/{pupil}", n.state.base_url)}),
        None,
    )))
}

/// Another guardian's application for leave, waiting for this guardian's answer; none
/// once it no longer waits for them (withdrawn, or answered by telephone before it went).
fn confirmation_context(conn: &mut DbConn, n: &Notice) -> Made {
    let (payload, given, lang) = (n.payload, n.given, n.lang);
    let leave = payload["leave_id"].as_i64().unwrap_or_default();
    let (pupil, s, e, status): (PupilId, NaiveDate, NaiveDate, String) = leave_applications::table
        .find(leave)
        .select((
            leave_applications::pupil_id,
            leave_applications::start_date,
            leave_applications::end_date,
            leave_applications::status,
        ))
        .first(conn)?;
    let answer: Option<String> = leave_confirmations::table
        .filter(leave_confirmations::leave_id.eq(leave))
        .filter(leave_confirmations::guardian_id.eq(n.recipient))
        .select(leave_confirmations::answer)
        .first(conn)
        .optional()?;
    if status != "awaiting_guardian" || answer.as_deref() != Some("waiting") {
        return Ok(Err(Built::Skip(SKIP_NOTHING_NEW.into())));
    }
    let (name, protected) = child(conn, pupil)?;
    Ok(Ok((
        json!({"guardian_name": given, "child_name": if protected { Value::Null } else { json!(name) }, "protected": protected,
           "period": lang.days(s, e), "answer_url": format!("{}/leave-applications/{leave}/answer", n.state.base_url)}),
        None,
    )))
}

/// A signal was raised (`follow_up::signals`): to the staff it is shown to, or to a
/// guardian. The pupil and the period; never the figures, a reason or the rule.
fn signal_context(conn: &mut DbConn, n: &Notice) -> Made {
    let (state, payload, given, lang) = (n.state, n.payload, n.given, n.lang);
    let pupil: PupilId = serde_json::from_value(payload["pupil_id"].clone())
        .map_err(|_| AppError::internal("signal notice without pupil"))?;
    let day = |key: &str| -> AppResult<NaiveDate> {
        serde_json::from_value(payload[key].clone())
            .map_err(|_| AppError::internal("signal notice without its period"))
    };
    let period = lang.days(day("from")?, day("to")?);
    let (name, protected) = child(conn, pupil)?;
    let ctx = if n.row.kind == "signal_guardian" {
        json!({"guardian_name": given, "child_name": if protected { Value::Null } else { json!(name) }, "protected": protected,
           "period": period, "pupil_url": format!("{}/pupils/{pupil}", state.base_url)})
    } else {
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
        json!({"staff_name": given, "pupil_label": label, "period": period,
           "signals_url": format!("{}/signals", state.base_url)})
    };
    Ok(Ok((ctx, None)))
}

/// A pupil crossed the absence threshold (to the mentor and the principal).
fn threshold_context(conn: &mut DbConn, n: &Notice) -> Made {
    let (state, payload, given, lang) = (n.state, n.payload, n.given, n.lang);
    let pupil: PupilId = serde_json::from_value(payload["pupil_id"].clone())
        .map_err(|_| AppError::internal("alert without pupil"))?;
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
