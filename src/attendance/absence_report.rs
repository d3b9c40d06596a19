//! Absence reports (frånvaroanmälan): a guardian, an adult pupil, or staff for a guardian
//! who phoned, reports that a pupil will be away for whole days or part of a day. A report
//! covers the pupil's lessons in its period: they show as reported absence in the roll call
//! and count as valid absence (see `crate::school::absence`).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Entry};
use crate::auth::access::{self, PupilReach, PupilRef};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code, Refusal};
use crate::schema::*;
use crate::school::ids::{OrganisationId, PupilId, ReasonId, ReportId, SchoolId};

/// The longest period one report may cover.
pub const MAX_DAYS: i64 = 31;
pub const MAX_MESSAGE: usize = 500;
/// How long after filing it a guardian may always take a report back (a tap by mistake).
pub const UNDO_MINUTES: i64 = 15;

/// Who is reporting, which decides the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    /// A guardian, or a pupil of 18 or over for themself: not backwards in time, and no
    /// further ahead than the school allows.
    Family { adult_pupil: bool },
    /// Staff registering a report (e.g. a guardian phoned): backwards in time too.
    Staff,
}

impl Reporter {
    pub fn of(reach: PupilReach) -> Reporter {
        match reach {
            PupilReach::Guardian => Reporter::Family { adult_pupil: false },
            PupilReach::Myself => Reporter::Family { adult_pupil: true },
            PupilReach::Principal | PupilReach::Teacher | PupilReach::Admin => Reporter::Staff,
        }
    }
}

pub struct NewReport {
    /// School-local start and end.
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    /// "sick", or the code of a reason the reporter may choose.
    pub kind: String,
    pub message: Option<String>,
}

/// A choosable kind of absence for this reporter: (code, Swedish, English).
pub fn kinds(
    conn: &mut DbConn,
    school_id: SchoolId,
    reporter: Reporter,
) -> AppResult<Vec<(String, String, String)>> {
    let owners = crate::attendance::absence_reasons::owners_at(conn, school_id)?;
    let mut q = absence_reasons::table
        .filter(absence_reasons::organisation_id.eq_any(owners))
        .filter(absence_reasons::active.eq(true))
        .filter(absence_reasons::is_valid.eq(true))
        .filter(absence_reasons::counts_as_absence.eq(true))
        .into_boxed();
    q = match reporter {
        Reporter::Family { adult_pupil: false } => {
            q.filter(absence_reasons::guardian_selectable.eq(true))
        }
        Reporter::Family { adult_pupil: true } => {
            q.filter(absence_reasons::pupil_selectable.eq(true))
        }
        Reporter::Staff => q.filter(absence_reasons::staff_selectable.eq(true)),
    };
    Ok(q.select((
        absence_reasons::code,
        absence_reasons::name_sv,
        absence_reasons::name_en,
    ))
    .order((absence_reasons::sort_order, absence_reasons::id))
    .load(conn)?)
}

fn org_of(conn: &mut DbConn, school_id: SchoolId) -> AppResult<OrganisationId> {
    let parent: Option<OrganisationId> = organisations::table
        .find(school_id)
        .select(organisations::parent_id)
        .first(conn)?;
    Ok(parent.unwrap_or(school_id.into()))
}

pub use crate::school::calendar::{to_local, to_utc};

/// Whether a guardian or an adult pupil may still take a report back: always within
/// `UNDO_MINUTES` of filing it, and otherwise until the first lesson it covers has started
/// (a report covering no lesson: until it starts). Staff may always.
pub fn family_may_cancel(
    conn: &mut DbConn,
    tz: Tz,
    pupil: PupilId,
    starts_utc: NaiveDateTime,
    ends_utc: NaiveDateTime,
    created_utc: NaiveDateTime,
    now_utc: NaiveDateTime,
) -> AppResult<bool> {
    if now_utc < created_utc + Duration::minutes(UNDO_MINUTES) || now_utc < starts_utc {
        return Ok(true);
    }
    if now_utc >= ends_utc {
        return Ok(false);
    }
    let (from, to) = (to_local(tz, starts_utc), to_local(tz, ends_utc));
    let mut day = from.date();
    while day <= to.date() {
        let first = crate::school::absence::lessons_on(conn, pupil, day)?
            .into_iter()
            .map(|(s, e)| (day.and_time(s), day.and_time(e)))
            .find(|(s, e)| *s < to && *e > from);
        if let Some((start, _)) = first {
            return Ok(now_utc < to_utc(tz, start));
        }
        day += Duration::days(1);
    }
    Ok(false)
}

/// Whether any day of the period is a school day (a weekday that is not a holiday).
fn has_school_day(
    conn: &mut DbConn,
    school_id: SchoolId,
    org: OrganisationId,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<bool> {
    let holidays: Vec<NaiveDate> = holidays::table
        .filter(holidays::organisation_id.eq_any([school_id.into(), org]))
        .filter(holidays::holiday_date.between(from, to))
        .select(holidays::holiday_date)
        .load(conn)?;
    let mut d = from;
    while d <= to {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d) {
            return Ok(true);
        }
        d += Duration::days(1);
    }
    Ok(false)
}

/// Whether the pupil has a lesson (not cancelled) between two dates (a weekend course, say).
fn has_lessons(
    conn: &mut DbConn,
    pupil: PupilId,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<bool> {
    Ok(lessons_between(conn, pupil, from, to)? > 0)
}

/// The pupil's lessons (not cancelled) from one date to another, both included: of the
/// groups the pupil was in then.
pub fn lessons_between(
    conn: &mut DbConn,
    pupil: PupilId,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<i64> {
    let groups = group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .filter(crate::school::membership::during(from, to))
        .select(group_memberships::group_id);
    // a lesson of two of the pupil's groups once
    let n = lessons::table
        .inner_join(
            activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
        )
        .filter(activity_groups::group_id.eq_any(groups))
        .filter(lessons::lesson_date.between(from, to))
        .filter(lessons::cancelled.eq(false))
        .select(lessons::id)
        .distinct()
        .load::<i64>(conn)?
        .len() as i64;
    Ok(n)
}

/// Stores a report after checking it against the rules; its id.
pub fn create(
    conn: &mut DbConn,
    viewer: &Viewer,
    pupil: &PupilRef,
    new: &NewReport,
    tz: Tz,
    now_local: NaiveDateTime,
    addr: &str,
) -> AppResult<ReportId> {
    let reporter = Reporter::of(pupil.reach);
    let days_ahead: i32 = organisations::table
        .find(pupil.school_id)
        .select(organisations::report_days_ahead)
        .first(conn)?;
    let org = org_of(conn, pupil.school_id)?;
    check_period(new, reporter, now_local, days_ahead)?;
    let last_day = (new.to - Duration::seconds(1)).date();
    if !has_school_day(conn, pupil.school_id, org, new.from.date(), last_day)?
        && !has_lessons(conn, pupil.id, new.from.date(), last_day)?
    {
        return Err(AppError::refused(
            Code::PeriodWithoutSchoolDays,
            Refusal::new("period_without_school_days"),
        ));
    }
    let code = kind_code(&new.kind);
    check_kind(&code, &kinds(conn, pupil.school_id, reporter)?)?;
    let reason_id: ReasonId = absence_reasons::table
        .filter(absence_reasons::organisation_id.eq_any([org, pupil.school_id.into()]))
        .filter(absence_reasons::code.eq(&code))
        .select(absence_reasons::id)
        .first(conn)?;
    let message = clean_message(new.message.as_deref())?;
    let (from_utc, until_utc, now_utc) = (
        to_utc(tz, new.from),
        to_utc(tz, new.to),
        to_utc(tz, now_local),
    );
    // The overlap check and the insert happen under the pupil's lock: two identical
    // requests at the same moment store one report, and the other gets the 409.
    conn.write_transaction(|conn| {
        conn.lock_person(pupil.id)?;
        crate::follow_up::terms::refuse_if_closed(conn, pupil.school_id, new.from.date(), last_day)?;
        let overlapping: Option<(NaiveDateTime, NaiveDateTime)> = absence_reports::table
            .filter(absence_reports::pupil_id.eq(pupil.id))
            .filter(absence_reports::cancelled_at.is_null())
            .filter(absence_reports::starts_at.lt(until_utc))
            .filter(absence_reports::ends_at.gt(from_utc))
            .select((absence_reports::starts_at, absence_reports::ends_at))
            .first(conn)
            .optional()?;
        if let Some((s, e)) = overlapping {
            let (s, e) = (to_local(tz, s), to_local(tz, e));
            return Err(AppError::Conflict {
                code: Code::OverlappingReport,
                message: Refusal::new("report_overlaps")
                    .with("from", s.format("%Y-%m-%d %H:%M"))
                    .with("to", e.format("%Y-%m-%d %H:%M"))
                    .into(),
            });
        }
        let id: ReportId = diesel::insert_into(absence_reports::table)
            .values((
                absence_reports::pupil_id.eq(pupil.id),
                absence_reports::starts_at.eq(from_utc),
                absence_reports::ends_at.eq(until_utc),
                absence_reports::reason_id.eq(reason_id),
                absence_reports::message.eq(message),
                absence_reports::reported_by.eq(viewer.id),
                absence_reports::registered_by_staff.eq(reporter == Reporter::Staff),
                absence_reports::created_at.eq(now_utc),
            ))
            .returning(absence_reports::id)
            .get_result(conn)?;
        audit::record(conn, Entry {
            at: to_utc(tz, now_local),
            actor: Some(viewer.id),
            action: "absence_report.created",
            entity: "absence_report",
            entity_id: Some(id.into()),
            detail: json!({"pupil_id": pupil.id, "from": new.from, "to": new.to, "reason_id": reason_id, "by_staff": reporter == Reporter::Staff}),
            client_addr: Some(addr),
        })?;
        crate::notices::report_confirmation(conn, pupil.id, id, false, now_utc)?;
        crate::insight::statistics::store::refresh(conn, tz, &[pupil.id], new.from.date(), new.to.date())?;
        Ok(id)
    })
}

/// The period's rules: it ends after it starts and spans at most `MAX_DAYS`; a guardian or
/// pupil reports from today on and at most `days_ahead` days ahead, staff up to a year back.
fn check_period(
    new: &NewReport,
    reporter: Reporter,
    now_local: NaiveDateTime,
    days_ahead: i32,
) -> AppResult<()> {
    let today = now_local.date();
    if new.to <= new.from {
        return Err(AppError::refused(
            Code::PeriodEndsBeforeStart,
            Refusal::new("period_ends_before_starts"),
        ));
    }
    if new.to - new.from > Duration::days(MAX_DAYS) {
        return Err(AppError::refused(
            Code::PeriodTooLong,
            Refusal::new("report_too_long").with("max_days", MAX_DAYS),
        ));
    }
    if let Reporter::Family { .. } = reporter {
        if new.from.date() < today || new.to <= now_local {
            return Err(AppError::refused(
                Code::PeriodInThePast,
                Refusal::new("report_in_the_past"),
            ));
        }
        if new.from.date() > today + Duration::days(days_ahead.into()) {
            return Err(AppError::refused(
                Code::PeriodTooFarAhead,
                Refusal::new("report_too_far_ahead").with("days", days_ahead),
            ));
        }
    } else if new.from.date() < today - Duration::days(366) {
        return Err(AppError::refused(
            Code::PeriodTooOld,
            Refusal::new("period_over_a_year_back"),
        ));
    }
    Ok(())
}

/// The reason code a report's kind names: "sick" is SJUK, other codes as written, upper case.
fn kind_code(kind: &str) -> String {
    let kind = kind.trim();
    if kind.eq_ignore_ascii_case("sick") {
        "SJUK".to_string()
    } else {
        kind.to_uppercase()
    }
}

/// The code must be one of the kinds the reporter may use; the error lists them.
fn check_kind(code: &str, allowed: &[(String, String, String)]) -> AppResult<()> {
    if allowed.iter().any(|(c, _, _)| c == code) {
        return Ok(());
    }
    let list: Vec<String> = allowed
        .iter()
        .map(|(c, _, _)| {
            if c == "SJUK" {
                "sick".into()
            } else {
                c.to_lowercase()
            }
        })
        .collect();
    Err(AppError::refused(
        Code::UnknownKind,
        Refusal::new("report_kind_unknown").with("kinds", list.join(", ")),
    ))
}

/// The message to the school: trimmed, none when blank, at most `MAX_MESSAGE` characters.
fn clean_message(raw: Option<&str>) -> AppResult<Option<&str>> {
    let message = raw.map(str::trim).filter(|m| !m.is_empty());
    if message.is_some_and(|m| m.chars().count() > MAX_MESSAGE) {
        return Err(AppError::refused(
            Code::MessageTooLong,
            Refusal::new("report_message_too_long").with("max", MAX_MESSAGE),
        ));
    }
    Ok(message)
}

fn pupil_of(conn: &mut DbConn, report: ReportId) -> AppResult<PupilId> {
    Ok(absence_reports::table
        .find(report)
        .select(absence_reports::pupil_id)
        .first(conn)?)
}

fn already_cancelled() -> AppError {
    AppError::conflict(
        Code::AlreadyCancelled,
        Refusal::new("report_already_cancelled"),
    )
}

/// Cancels a report of a pupil the viewer may see (404 otherwise): a guardian or the adult
/// pupil before it starts, staff at any time. Answers the pupil's id.
pub fn cancel(
    conn: &mut DbConn,
    viewer: &Viewer,
    tz: Tz,
    report: ReportId,
    today: NaiveDate,
    now_utc: NaiveDateTime,
    addr: &str,
) -> AppResult<PupilId> {
    let pupil_id = pupil_of(conn, report)?;
    let pupil = access::pupil(conn, viewer, pupil_id, today)?;
    #[allow(clippy::type_complexity)]
    let (starts, ends, created, cancelled): (
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
        Option<NaiveDateTime>,
    ) = absence_reports::table
        .find(report)
        .select((
            absence_reports::starts_at,
            absence_reports::ends_at,
            absence_reports::created_at,
            absence_reports::cancelled_at,
        ))
        .first(conn)?;
    if cancelled.is_some() {
        return Err(already_cancelled());
    }
    if matches!(Reporter::of(pupil.reach), Reporter::Family { .. })
        && !family_may_cancel(conn, tz, pupil_id, starts, ends, created, now_utc)?
    {
        return Err(AppError::conflict(
            Code::ReportStarted,
            Refusal::new("report_already_started"),
        ));
    }
    conn.write_transaction(|conn| {
        let (from, to) = (to_local(tz, starts).date(), to_local(tz, ends).date());
        crate::follow_up::terms::refuse_if_closed(conn, pupil.school_id, from, to)?;
        // only the request that moves it from active to cancelled goes on
        let moved = diesel::update(
            absence_reports::table
                .find(report)
                .filter(absence_reports::cancelled_at.is_null()),
        )
        .set((
            absence_reports::cancelled_at.eq(now_utc),
            absence_reports::cancelled_by.eq(viewer.id),
        ))
        .execute(conn)?;
        if moved == 0 {
            return Err(already_cancelled());
        }
        audit::record(
            conn,
            Entry {
                at: now_utc,
                actor: Some(viewer.id),
                action: "absence_report.cancelled",
                entity: "absence_report",
                entity_id: Some(report.into()),
                detail: json!({"pupil_id": pupil_id}),
                client_addr: Some(addr),
            },
        )?;
        crate::notices::report_confirmation(conn, pupil_id, report, true, now_utc)?;
        crate::insight::statistics::store::refresh(conn, tz, &[pupil_id], from, to)?;
        Ok(pupil_id)
    })
}

/// A report as its reader may see it: no reason name and no message unless they may.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub id: ReportId,
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub cancelled: bool,
    pub registered_by_staff: bool,
    pub reported_by: String,
    /// Only for the pupil's guardians, the pupil, and staff with a duty for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The reason's name for staff; guardians see "reported absence" (no diagnosis): worded
    /// at the edge from `kind_names`.
    pub kind: String,
    /// The reason's names (Swedish, English) for staff with a duty for the pupil; None for
    /// everyone else.
    #[serde(skip)]
    pub kind_names: Option<(String, String)>,
    pub cancellable: bool,
}

/// The pupil's reports overlapping a period (school-local dates).
pub fn list(
    conn: &mut DbConn,
    pupil: &PupilRef,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
    now_utc: NaiveDateTime,
) -> AppResult<Vec<ReportView>> {
    let start = to_utc(tz, from.and_time(NaiveTime::MIN));
    let end = to_utc(tz, (to + Duration::days(1)).and_time(NaiveTime::MIN));
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        ReportId,
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
        Option<NaiveDateTime>,
        bool,
        Option<String>,
        String,
        String,
        String,
        String,
    )> = absence_reports::table
        .inner_join(absence_reasons::table)
        .inner_join(people::table.on(people::id.eq(absence_reports::reported_by)))
        .filter(absence_reports::pupil_id.eq(pupil.id))
        .filter(absence_reports::starts_at.lt(end))
        .filter(absence_reports::ends_at.gt(start))
        .select((
            absence_reports::id,
            absence_reports::starts_at,
            absence_reports::ends_at,
            absence_reports::created_at,
            absence_reports::cancelled_at,
            absence_reports::registered_by_staff,
            absence_reports::message,
            absence_reasons::name_sv,
            absence_reasons::name_en,
            people::given_name,
            people::family_name,
        ))
        .order(absence_reports::starts_at.desc())
        .load(conn)?;
    let staff = Reporter::of(pupil.reach) == Reporter::Staff;
    // staff with a duty for the pupil; an administrator reads neither reason nor message
    let duty = matches!(pupil.reach, PupilReach::Teacher | PupilReach::Principal);
    let may_read_message = !staff || duty;
    let mut out = Vec::with_capacity(rows.len());
    for (id, s, e, created, cancelled, by_staff, message, sv, en, g, f) in rows {
        let cancellable = cancelled.is_none()
            && (staff || family_may_cancel(conn, tz, pupil.id, s, e, created, now_utc)?);
        out.push(ReportView {
            id,
            from: to_local(tz, s),
            to: to_local(tz, e),
            cancelled: cancelled.is_some(),
            registered_by_staff: by_staff,
            reported_by: format!("{g} {f}"),
            message: message.filter(|_| may_read_message),
            kind: String::new(),
            kind_names: duty.then_some((sv, en)),
            cancellable,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn report(from: &str, to: &str) -> NewReport {
        NewReport {
            from: at(from),
            to: at(to),
            kind: "sick".into(),
            message: None,
        }
    }

    const FAMILY: Reporter = Reporter::Family { adult_pupil: false };

    fn period_code(r: &NewReport, who: Reporter, now: &str) -> Option<&'static str> {
        check_period(r, who, at(now), 14)
            .err()
            .map(|e| e.code().as_str())
    }

    #[test]
    fn a_guardian_reports_from_now_up_to_the_schools_days_ahead() {
        let now = "2026-11-30 07:10";
        assert_eq!(
            period_code(&report("2026-11-30 00:00", "2026-12-01 00:00"), FAMILY, now),
            None
        );
        // today's day, even if it began before now, as long as it has not ended
        assert_eq!(
            period_code(&report("2026-11-30 13:00", "2026-11-30 15:00"), FAMILY, now),
            None
        );
        assert_eq!(
            period_code(&report("2026-11-27 00:00", "2026-11-28 00:00"), FAMILY, now),
            Some("period_in_the_past")
        );
        assert_eq!(
            period_code(&report("2026-11-30 06:00", "2026-11-30 07:00"), FAMILY, now),
            Some("period_in_the_past")
        );
        assert_eq!(
            period_code(&report("2026-12-14 00:00", "2026-12-15 00:00"), FAMILY, now),
            None
        );
        assert_eq!(
            period_code(&report("2026-12-15 00:00", "2026-12-16 00:00"), FAMILY, now),
            Some("period_too_far_ahead")
        );
    }

    #[test]
    fn staff_register_up_to_a_year_back_and_nobody_beyond_the_limits() {
        let now = "2026-11-30 07:10";
        let staff = Reporter::Staff;
        assert_eq!(
            period_code(&report("2026-11-02 00:00", "2026-11-03 00:00"), staff, now),
            None
        );
        assert_eq!(
            period_code(&report("2025-11-28 00:00", "2025-11-29 00:00"), staff, now),
            Some("period_too_old")
        );
        for who in [FAMILY, staff] {
            assert_eq!(
                period_code(&report("2026-12-02 00:00", "2026-12-01 00:00"), who, now),
                Some("period_ends_before_start")
            );
            assert_eq!(
                period_code(&report("2026-12-01 00:00", "2026-12-01 00:00"), who, now),
                Some("period_ends_before_start")
            );
            assert_eq!(
                period_code(&report("2026-12-01 00:00", "2027-01-02 00:00"), who, now),
                Some("period_too_long")
            );
        }
    }

    #[test]
    fn sick_is_the_sjuk_code_and_other_kinds_must_be_the_schools() {
        assert_eq!(kind_code(" Sick "), "SJUK");
        assert_eq!(kind_code("tandl"), "TANDL");
        let allowed = vec![
            ("SJUK".to_string(), "Sjuk".to_string(), "Sick".to_string()),
            (
                "TANDL".to_string(),
                "Tandläkare".to_string(),
                "Dentist".to_string(),
            ),
        ];
        assert!(check_kind("TANDL", &allowed).is_ok());
        let e = check_kind("SEMESTER", &allowed).unwrap_err();
        assert_eq!(e.code().as_str(), "unknown_kind");
        let Some(crate::error::Said::Refusal(r)) = e.said() else {
            panic!("a refusal with a code: {e}")
        };
        assert_eq!(r.args, [("kinds", "sick, tandl".to_string())]);
    }

    #[test]
    fn a_message_is_trimmed_optional_and_bounded() {
        assert_eq!(clean_message(None).unwrap(), None);
        assert_eq!(clean_message(Some("  \n ")).unwrap(), None);
        assert_eq!(clean_message(Some(" feber ")).unwrap(), Some("feber"));
        let long = "ä".repeat(MAX_MESSAGE + 1);
        let e = clean_message(Some(&long)).unwrap_err();
        assert_eq!(e.code().as_str(), "message_too_long");
        let just = "ä".repeat(MAX_MESSAGE);
        assert!(clean_message(Some(&just)).is_ok());
    }
}
