//! Leave applications (ledighetsansökan): a guardian (or an adult pupil) applies for whole
//! days with a reason; the mentor may recommend; the principal decides with a comment
//! (Skollagen 7 kap. 18 §). Approved leave covers the lessons as valid absence.

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::auth::access::{self, PupilReach, PupilRef};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code, Refusal};
use crate::schema::*;
use crate::school::ids::{LeaveId, PupilId, SchoolId};
use crate::school::Act;

pub const MAX_DAYS: i64 = 60;

pub use crate::school::states::LeaveStatus;

pub use crate::attendance::leave_delegation::granted_days;

/// What a guardian or an adult pupil applies with: the days, the reason, and why the
/// leave must be in a blocked period when it touches one.
pub struct Application<'a> {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub reason: &'a str,
    pub blocked_reason: Option<&'a str>,
}

pub fn apply(
    conn: &mut DbConn,
    act: &Act,
    pupil: &PupilRef,
    a: &Application,
) -> AppResult<LeaveId> {
    let (start, end, reason) = (a.start, a.end, a.reason);
    let (viewer, today, now) = (act.actor, act.today, act.now);
    if !matches!(pupil.reach, PupilReach::Guardian | PupilReach::Myself) {
        return Err(AppError::Forbidden(
            Refusal::new("leave_applied_guardian_pupil_18").into(),
        ));
    }
    if end < start {
        return Err(AppError::invalid(
            Code::PeriodEndsBeforeStart,
            Refusal::new("period_ends_before_starts"),
        ));
    }
    if start < today {
        return Err(AppError::invalid(
            Code::PeriodInThePast,
            Refusal::new("leave_applied_advance_backwards_time"),
        ));
    }
    if (end - start).num_days() >= MAX_DAYS || (start - today).num_days() > 366 {
        return Err(AppError::invalid(
            Code::PeriodTooLong,
            Refusal::new("apply_most_60_days_within"),
        ));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid(
            Code::ReasonRequired,
            Refusal::new("give_reason_leave_most_500"),
        ));
    }
    let (blocked_reason, rules) = checked_against_rules(conn, pupil, a, today)?;
    // the duplicate check and the insert under the pupil's lock (one of two identical
    // requests at the same moment is stored)
    conn.write_transaction(|conn| {
        conn.lock_person(pupil.id)?;
        let overlapping: i64 = leave_applications::table
            .filter(leave_applications::pupil_id.eq(pupil.id))
            .filter(leave_applications::status.eq_any([
                LeaveStatus::Pending,
                LeaveStatus::Approved,
                LeaveStatus::AwaitingGuardian,
            ]))
            .filter(leave_applications::start_date.le(end))
            .filter(leave_applications::end_date.ge(start))
            .count()
            .get_result(conn)?;
        if overlapping > 0 {
            return Err(AppError::Conflict {
                code: Code::OverlappingLeave,
                message: Refusal::new("already_application_those_days").into(),
            });
        }
        // a guardian's application waits for the other guardians where the rules ask both
        let others = if rules.rules.both_guardians && pupil.reach == PupilReach::Guardian {
            crate::attendance::leave_confirmation::others(conn, pupil.id, viewer.id)?
        } else {
            Vec::new()
        };
        let status = if others.is_empty() {
            LeaveStatus::Pending
        } else {
            LeaveStatus::AwaitingGuardian
        };
        let id: LeaveId = diesel::insert_into(leave_applications::table)
            .values((
                leave_applications::pupil_id.eq(pupil.id),
                leave_applications::start_date.eq(start),
                leave_applications::end_date.eq(end),
                leave_applications::reason.eq(reason),
                leave_applications::applied_by.eq(viewer.id),
                leave_applications::applied_at.eq(now),
                leave_applications::status.eq(status),
                leave_applications::blocked_reason.eq(blocked_reason.as_deref()),
            ))
            .returning(leave_applications::id)
            .get_result(conn)?;
        crate::attendance::leave_confirmation::ask(conn, pupil.id, id, &others, now)?;
        let detail = json!({"pupil_id": pupil.id, "start": start, "end": end, "status": status});
        audit::acted(conn, act, "leave.applied", "leave_application", id, detail)?;
        Ok(id)
    })
}

/// The huvudman's rules against an application (notice, the longest leave), and the
/// stated reason it needs when it touches a blocked period (kept only then); with the
/// rules.
fn checked_against_rules(
    conn: &mut DbConn,
    pupil: &PupilRef,
    a: &Application,
    today: NaiveDate,
) -> AppResult<(Option<String>, crate::attendance::leave_rules::Effective)> {
    let rules = crate::attendance::leave_rules::effective(conn, pupil.school_id)?;
    let days = crate::attendance::leave_delegation::school_days(a.start, a.end);
    rules.check_application(a.start, days, today)?;
    let Some(blocked) = rules.blocked_in(a.start, a.end).first().copied() else {
        return Ok((None, rules));
    };
    let why = match a.blocked_reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => Err(AppError::invalid(
            Code::BlockedPeriodReasonRequired,
            Refusal::new("blocked_period_reason_required").with("name", &blocked.name),
        )),
        Some(r) if r.chars().count() > 500 => Err(AppError::invalid(
            Code::ReasonRequired,
            Refusal::new("give_reason_leave_most_500"),
        )),
        Some(r) => Ok(Some(r.to_string())),
    }?;
    Ok((why, rules))
}

/// The pupil an application is about, when the viewer may see them (404 otherwise).
fn pupil_of(conn: &mut DbConn, v: &Viewer, id: LeaveId, today: NaiveDate) -> AppResult<PupilRef> {
    let pupil: PupilId = leave_applications::table
        .find(id)
        .select(leave_applications::pupil_id)
        .first(conn)?;
    access::pupil(conn, v, pupil, today)
}

fn pending(conn: &mut DbConn, id: LeaveId) -> AppResult<()> {
    match status(conn, id)? {
        LeaveStatus::Pending => Ok(()),
        // not yet the school's: the other guardian has not answered
        LeaveStatus::AwaitingGuardian => Err(AppError::Conflict {
            code: Code::LeaveAwaitingGuardian,
            message: Refusal::new("leave_awaiting_guardian").into(),
        }),
        _ => Err(already_decided()),
    }
}

fn already_decided() -> AppError {
    AppError::Conflict {
        code: Code::AlreadyDecided,
        message: Refusal::new("application_already_decided").into(),
    }
}

/// The application, as long as it is still pending: the target of an update that may only
/// move it from pending.
fn still_pending(
    id: LeaveId,
) -> diesel::dsl::Filter<
    diesel::dsl::Find<leave_applications::table, LeaveId>,
    diesel::dsl::Eq<leave_applications::status, LeaveStatus>,
> {
    leave_applications::table
        .find(id)
        .filter(leave_applications::status.eq(LeaveStatus::Pending))
}

use crate::attendance::leave_confirmation::mentors;

/// A mentor's or principal's comment: blank is none, more than 500 characters is refused.
fn checked_comment(comment: Option<&str>) -> AppResult<Option<&str>> {
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > 500) {
        return Err(AppError::invalid(
            Code::CommentTooLong,
            Refusal::new("comment_most_500_characters"),
        ));
    }
    Ok(comment)
}

pub fn recommend(
    conn: &mut DbConn,
    act: &Act,
    id: LeaveId,
    recommended: bool,
    comment: Option<&str>,
) -> AppResult<PupilId> {
    let (v, today, now) = (act.actor, act.today, act.now);
    let pupil = &pupil_of(conn, v, id, today)?;
    if !mentors(conn, v, pupil.id, today)? {
        return Err(AppError::Forbidden(
            Refusal::new("only_pupil_s_mentor_gives").into(),
        ));
    }
    let comment = checked_comment(comment)?;
    conn.write_transaction(|conn| {
        pending(conn, id)?;
        let value = if recommended {
            "recommended"
        } else {
            "not_recommended"
        };
        let moved = diesel::update(still_pending(id))
            .set((
                leave_applications::recommendation.eq(value),
                leave_applications::recommendation_comment.eq(comment),
                leave_applications::recommended_by.eq(v.id),
                leave_applications::recommended_at.eq(now),
            ))
            .execute(conn)?;
        if moved == 0 {
            return Err(already_decided());
        }
        let detail = json!({"recommendation": value});
        audit::acted(
            conn,
            act,
            "leave.recommended",
            "leave_application",
            id,
            detail,
        )?;
        Ok(pupil.id)
    })
}

pub fn decide(
    conn: &mut DbConn,
    act: &Act,
    id: LeaveId,
    approved: bool,
    comment: Option<&str>,
) -> AppResult<PupilId> {
    let (v, today, now, tz) = (act.actor, act.today, act.now, act.tz);
    let pupil = &pupil_of(conn, v, id, today)?;
    // the principal decides; a mentor of the pupil under the principal's delegation
    let principal = pupil.reach == PupilReach::Principal;
    if !principal && !mentors(conn, v, pupil.id, today)? {
        return Err(AppError::Forbidden(
            Refusal::new("principal_decides_leave").into(),
        ));
    }
    let comment = checked_comment(comment)?;
    conn.write_transaction(|conn| {
        // under the pupil's lock: two mentors' decisions at once count each other's days
        conn.lock_person(pupil.id)?;
        let (from, to): (NaiveDate, NaiveDate) = leave_applications::table
            .find(id)
            .select((leave_applications::start_date, leave_applications::end_date))
            .first(conn)?;
        if approved {
            // granted leave makes absence valid: a closed term's figures would change
            crate::follow_up::terms::refuse_if_closed(conn, pupil.school_id, from, to)?;
        }
        decision_rules(conn, pupil, (from, to), approved)?;
        let delegation = if principal {
            None
        } else {
            match crate::attendance::leave_delegation::covering(
                conn,
                pupil.id,
                pupil.school_id,
                from,
                to,
            )? {
                Ok((delegation, _)) => Some(delegation),
                Err(outside) => return Err(AppError::Forbidden(outside.refusal().into())),
            }
        };
        pending(conn, id)?;
        let status = if approved {
            LeaveStatus::Approved
        } else {
            LeaveStatus::Rejected
        };
        // moves only from pending: of two decisions at the same moment, one is made
        let moved = diesel::update(still_pending(id))
            .set((
                leave_applications::status.eq(status),
                leave_applications::decided_by.eq(v.id),
                leave_applications::decided_at.eq(now),
                leave_applications::decision_comment.eq(comment),
                leave_applications::delegation_id.eq(delegation),
            ))
            .execute(conn)?;
        if moved == 0 {
            return Err(already_decided());
        }
        let detail = json!({"status": status, "delegation_id": delegation});
        audit::acted(conn, act, "leave.decided", "leave_application", id, detail)?;
        crate::notices::leave_decision(conn, pupil.id, id, now)?;
        // granted leave makes the days' absence valid; refused leave makes it absence
        // despite refused leave: either way the days' sums change
        crate::insight::statistics::store::refresh(conn, tz, &[pupil.id], from, to)?;
        Ok(pupil.id)
    })
}

/// The huvudman's rules against granting leave: no longer than one decision may grant.
/// (Above the yearly limit and in a blocked period only the principal decides: a mentor's
/// delegation does not reach there, `leave_delegation::covering`.)
fn decision_rules(
    conn: &mut DbConn,
    pupil: &PupilRef,
    (from, to): (NaiveDate, NaiveDate),
    approved: bool,
) -> AppResult<()> {
    if approved {
        let rules = crate::attendance::leave_rules::effective(conn, pupil.school_id)?;
        rules.check_length(crate::attendance::leave_delegation::school_days(from, to))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaveView {
    pub id: LeaveId,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub reason: String,
    pub status: LeaveStatus,
    pub recommendation: Option<String>,
    pub recommendation_comment: Option<String>,
    pub decision_comment: Option<String>,
    /// the delegation a mentor's decision was taken under; none for the principal's
    pub delegation: Option<crate::attendance::leave_delegation::DecidedUnder>,
    /// why the leave must be in a blocked period, as the guardian wrote it (for the decider)
    #[serde(skip)]
    pub blocked_reason: Option<String>,
    /// who applied (a guardian or the adult pupil)
    #[serde(skip)]
    pub applied_by: crate::school::ids::PersonId,
}

/// What the decider sees of a pupil's leave this school year: granted (approved, in the
/// school year) and taken (its days up to today), in school days and in lessons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct YearSummary {
    pub granted_days: i64,
    pub granted_lessons: i64,
    pub taken_days: i64,
    pub taken_lessons: i64,
}

/// The pupil's granted and taken leave in the school year of `today`.
pub fn year_summary(conn: &mut DbConn, pupil: PupilId, today: NaiveDate) -> AppResult<YearSummary> {
    use crate::attendance::leave_delegation::school_days;
    let start = crate::school::calendar::school_year_start(today);
    let end = NaiveDate::from_ymd_opt(start.year() + 1, 6, 30).unwrap_or(today);
    let rows: Vec<(NaiveDate, NaiveDate)> = leave_applications::table
        .filter(leave_applications::pupil_id.eq(pupil))
        .filter(leave_applications::status.eq(LeaveStatus::Approved))
        .filter(leave_applications::end_date.ge(start))
        .filter(leave_applications::start_date.le(end))
        .select((leave_applications::start_date, leave_applications::end_date))
        .load(conn)?;
    let mut s = YearSummary::default();
    for (a, b) in rows {
        let (a, b) = (a.max(start), b.min(end));
        s.granted_days += school_days(a, b);
        s.granted_lessons += crate::attendance::absence_report::lessons_between(conn, pupil, a, b)?;
        if a <= today {
            let until = b.min(today);
            s.taken_days += school_days(a, until);
            s.taken_lessons +=
                crate::attendance::absence_report::lessons_between(conn, pupil, a, until)?;
        }
    }
    Ok(s)
}

/// Where an application stands.
pub fn status(conn: &mut DbConn, id: LeaveId) -> AppResult<LeaveStatus> {
    Ok(leave_applications::table
        .find(id)
        .select(leave_applications::status)
        .first(conn)?)
}

/// The pupil's applications, latest first (at most 50).
pub fn list(conn: &mut DbConn, pupil: PupilId) -> AppResult<Vec<LeaveView>> {
    views(conn, pupil, None)
}

/// One of the pupil's applications.
pub fn one(conn: &mut DbConn, pupil: PupilId, leave: LeaveId) -> AppResult<LeaveView> {
    views(conn, pupil, Some(leave))?
        .pop()
        .ok_or(AppError::NotFound)
}

fn views(conn: &mut DbConn, pupil: PupilId, only: Option<LeaveId>) -> AppResult<Vec<LeaveView>> {
    let mut q = leave_applications::table
        .filter(leave_applications::pupil_id.eq(pupil))
        .into_boxed();
    if let Some(id) = only {
        q = q.filter(leave_applications::id.eq(id));
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        LeaveId,
        NaiveDate,
        NaiveDate,
        String,
        LeaveStatus,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        crate::school::ids::PersonId,
    )> = q
        .select((
            leave_applications::id,
            leave_applications::start_date,
            leave_applications::end_date,
            leave_applications::reason,
            leave_applications::status,
            leave_applications::recommendation,
            leave_applications::recommendation_comment,
            leave_applications::decision_comment,
            leave_applications::blocked_reason,
            leave_applications::applied_by,
        ))
        .order(leave_applications::start_date.desc())
        .limit(50)
        .load(conn)?;
    let mut under = crate::attendance::leave_delegation::decided_under(
        conn,
        &rows.iter().map(|r| r.0).collect::<Vec<_>>(),
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                start_date,
                end_date,
                reason,
                status,
                recommendation,
                recommendation_comment,
                decision_comment,
                blocked_reason,
                applied_by,
            )| LeaveView {
                id,
                start_date,
                end_date,
                reason,
                status,
                recommendation,
                recommendation_comment,
                decision_comment,
                delegation: under.remove(&id),
                blocked_reason,
                applied_by,
            },
        )
        .collect())
}

/// A pending application as the principal's and mentor's list shows it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: LeaveId,
    pub pupil: PupilId,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub reason: String,
    pub recommendation: Option<String>,
    pub given_name: String,
    pub family_name: String,
    /// whether the next step is the viewer's: the principal's decision, or the mentor's
    /// recommendation (or decision, where the principal delegated leave to mentors)
    pub waits_on_viewer: bool,
    /// it still waits for the pupil's other guardian (the both-guardians rule)
    pub awaiting_guardian: bool,
}

/// (id, pupil, start, end, reason, recommendation, given name, family name, school, status)
type PendingRow = (
    LeaveId,
    PupilId,
    NaiveDate,
    NaiveDate,
    String,
    Option<String>,
    String,
    String,
    Option<SchoolId>,
    LeaveStatus,
);

/// Pending applications for the pupils of the viewer's schools (as principal) and of the
/// groups they mentor (today), and those still waiting for a guardian, earliest first; at
/// most 200. An application a mentor has
/// answered waits on the principal, not on the mentor, unless the principal delegated
/// decisions to the mentors of that school.
pub fn pending_for(conn: &mut DbConn, v: &Viewer, today: NaiveDate) -> AppResult<Vec<Pending>> {
    let in_groups = group_memberships::table
        .filter(group_memberships::group_id.eq_any(v.roles.mentor_of.clone()))
        .filter(crate::school::membership::on(today))
        .select(group_memberships::pupil_id);
    let rows: Vec<PendingRow> = leave_applications::table
        .inner_join(people::table.on(people::id.eq(leave_applications::pupil_id)))
        .filter(
            leave_applications::status
                .eq_any([LeaveStatus::Pending, LeaveStatus::AwaitingGuardian]),
        )
        .filter(
            people::school_id
                .eq_any(v.roles.principal_of.clone())
                .or(people::id.eq_any(in_groups)),
        )
        .select((
            leave_applications::id,
            people::id,
            leave_applications::start_date,
            leave_applications::end_date,
            leave_applications::reason,
            leave_applications::recommendation,
            people::given_name,
            people::family_name,
            people::school_id,
            leave_applications::status,
        ))
        .order(leave_applications::start_date)
        .limit(200)
        .load(conn)?;
    // schools where mentors decide themselves
    let mut schools: Vec<SchoolId> = rows.iter().filter_map(|r| r.8).collect();
    schools.sort_unstable();
    schools.dedup();
    let delegated: Vec<SchoolId> = crate::attendance::leave_delegation::running(conn, &schools)?
        .into_iter()
        .map(|d| d.school_id)
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let school = r.8;
            let leads = school.is_some_and(|s| v.roles.principal_of.contains(&s));
            let mentor_decides = school.is_some_and(|s| delegated.contains(&s));
            let awaiting_guardian = r.9 == LeaveStatus::AwaitingGuardian;
            Pending {
                waits_on_viewer: !awaiting_guardian && (leads || r.5.is_none() || mentor_decides),
                awaiting_guardian,
                id: r.0,
                pupil: r.1,
                start_date: r.2,
                end_date: r.3,
                reason: r.4,
                recommendation: r.5,
                given_name: r.6,
                family_name: r.7,
            }
        })
        .collect())
}

/// What a guardian asked to answer another guardian's application reads: the pupil, the
/// application and their own answer.
pub struct ToAnswer {
    pub pupil: PupilRef,
    pub leave: LeaveView,
    pub mine: crate::attendance::leave_confirmation::Awaited,
}

/// The application a guardian is asked to answer (404 for anyone it does not ask).
pub fn to_answer(conn: &mut DbConn, act: &Act, leave: LeaveId) -> AppResult<ToAnswer> {
    let (pupil, mine) = crate::attendance::leave_confirmation::asked(conn, act, leave)?;
    let leave = one(conn, pupil.id, leave)?;
    Ok(ToAnswer { pupil, leave, mine })
}
