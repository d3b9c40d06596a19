//! The roll call: who was in a lesson. A teacher's report stores only the exceptions
//! (absent, late, left early, partly absent); everyone else was present. Pupils covered by
//! a guardian's report or granted leave are pre-marked as valid absence, and no bulk
//! action overwrites them. Every change goes to the audit log, in the same transaction;
//! a form based on an older version of the roll call is refused with what changed.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Entry};
use crate::auth::access::{LessonReach, LessonRef};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code, Refusal};
use crate::insight::statistics::facts::Sel;
use crate::schema::*;
use crate::school::absence::{self, Cover};
use crate::school::ids::{
    ActivityId, GroupId, LessonId, OrganisationId, PersonId, PupilId, ReasonId, SchoolId,
};
use crate::school::Act;

pub use crate::school::states::MarkStatus as Status;

#[derive(Debug, Clone, Serialize)]
pub struct LessonInfo {
    pub id: LessonId,
    pub date: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub minutes: i32,
    pub subject: String,
    pub groups: Vec<String>,
    pub room: Option<String>,
    pub cancelled: bool,
    pub school_id: SchoolId,
    /// the substitute's name, when the school office gave the lesson to one
    #[serde(skip)]
    pub substitute: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    pub id: ReasonId,
    pub name_sv: String,
    pub name_en: String,
    pub is_valid: bool,
    /// For a reason that is not valid: whether the guardians hear of it the same day (the
    /// principal may decide a reason does not, Skollagen 7 kap. 17 §'s special reasons).
    pub sends_notice: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub status: Status,
    pub minutes: i32,
    pub reason_id: Option<ReasonId>,
}

impl Mark {
    pub const PRESENT: Mark = Mark {
        status: Status::Present,
        minutes: 0,
        reason_id: None,
    };
}

#[derive(Debug, Clone)]
pub struct PupilLine {
    pub id: PupilId,
    /// Empty when withheld (a protected identity shown to someone without a duty for the
    /// pupil): the edge words it.
    pub name: String,
    pub name_withheld: bool,
    pub mark: Mark,
    /// A stored mark (false: present by default, or pre-marked from a cover).
    pub stored: bool,
    pub covered_by: Option<Cover>,
}

#[derive(Debug, Clone)]
pub struct ReportInfo {
    pub by: String,
    pub at: NaiveDateTime,
    pub version: i32,
    /// when a mark last changed after the first report (UTC)
    pub changed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone)]
pub struct RollCall {
    pub lesson: LessonInfo,
    pub pupils: Vec<PupilLine>,
    pub report: Option<ReportInfo>,
    pub reasons: Vec<Reason>,
}

impl RollCall {
    pub fn version(&self) -> i32 {
        self.report.as_ref().map_or(0, |r| r.version)
    }

    /// A reason's names (Swedish, English), when it is one of the lesson's.
    pub fn reason_names(&self, id: ReasonId) -> Option<(&str, &str)> {
        self.reasons
            .iter()
            .find(|r| r.id == id)
            .map(|r| (r.name_sv.as_str(), r.name_en.as_str()))
    }
}

/// The lesson, its activity, and the organisation whose absence reasons apply (the
/// school's municipality), in one query; and the names of its groups.
fn lesson_info(
    conn: &mut DbConn,
    lesson_id: LessonId,
) -> AppResult<(LessonInfo, ActivityId, OrganisationId)> {
    #[allow(clippy::type_complexity)]
    let row: (
        (
            LessonId,
            NaiveDate,
            NaiveTime,
            NaiveTime,
            i32,
            Option<String>,
            bool,
            ActivityId,
            SchoolId,
            Option<PersonId>,
        ),
        String,
        Option<OrganisationId>,
    ) = lessons::table
        .inner_join(activities::table)
        .inner_join(organisations::table.on(organisations::id.eq(lessons::school_id)))
        .filter(lessons::id.eq(lesson_id))
        .select((
            (
                lessons::id,
                lessons::lesson_date,
                lessons::starts_at,
                lessons::ends_at,
                lessons::teaching_minutes,
                lessons::room,
                lessons::cancelled,
                lessons::activity_id,
                lessons::school_id,
                lessons::substitute_teacher_id,
            ),
            activities::subject_name,
            organisations::parent_id,
        ))
        .first(conn)?;
    let (
        (id, date, starts_at, ends_at, minutes, room, cancelled, activity, school_id, sub),
        subject,
        parent,
    ) = row;
    let substitute = match sub {
        Some(p) => people::table
            .find(p)
            .select((people::given_name, people::family_name))
            .first::<(String, String)>(conn)
            .optional()?
            .map(|(g, f)| format!("{g} {f}")),
        None => None,
    };
    let groups = activity_groups::table
        .inner_join(groups::table)
        .filter(activity_groups::activity_id.eq(activity))
        .select(groups::name)
        .order(groups::name)
        .load(conn)?;
    let info = LessonInfo {
        id,
        date,
        starts_at,
        ends_at,
        minutes,
        room,
        cancelled,
        subject,
        groups,
        school_id,
        substitute,
    };
    Ok((info, activity, parent.unwrap_or(school_id.into())))
}

/// The reasons staff may choose at the school (the municipality's and its own), and the
/// leave reason ("LEDIG") if there is one.
fn reasons_of(
    conn: &mut DbConn,
    org: OrganisationId,
    school: SchoolId,
) -> AppResult<(Vec<Reason>, Option<ReasonId>)> {
    type Row = (ReasonId, String, String, String, bool, bool, bool);
    let rows: Vec<Row> = absence_reasons::table
        .filter(absence_reasons::organisation_id.eq_any([org, school.into()]))
        .filter(absence_reasons::active.eq(true))
        .select((
            absence_reasons::id,
            absence_reasons::code,
            absence_reasons::name_sv,
            absence_reasons::name_en,
            absence_reasons::is_valid,
            absence_reasons::staff_selectable,
            absence_reasons::sends_notice,
        ))
        .order((absence_reasons::sort_order, absence_reasons::id))
        .load(conn)?;
    let leave = rows.iter().find(|r| r.1 == "LEDIG").map(|r| r.0);
    let staff = rows
        .into_iter()
        .filter(|r| r.5)
        .map(
            |(id, _, name_sv, name_en, is_valid, _, sends_notice)| Reason {
                id,
                name_sv,
                name_en,
                is_valid,
                sends_notice,
            },
        )
        .collect();
    Ok((staff, leave))
}

/// The roll call of a lesson the viewer may see (`lesson` comes from `access::lesson`).
pub fn load(conn: &mut DbConn, lesson: &LessonRef, tz: Tz) -> AppResult<RollCall> {
    let (info, activity, org) = lesson_info(conn, lesson.id)?;
    let (reasons, leave_reason) = reasons_of(conn, org, info.school_id)?;
    let date = info.date;
    let members: Vec<(PupilId, String, String, String)> = group_memberships::table
        .inner_join(
            activity_groups::table.on(activity_groups::group_id.eq(group_memberships::group_id)),
        )
        .inner_join(people::table.on(people::id.eq(group_memberships::pupil_id)))
        .filter(activity_groups::activity_id.eq(activity))
        .filter(crate::school::membership::on(date))
        .select((
            people::id,
            people::given_name,
            people::family_name,
            people::security_marking,
        ))
        .distinct()
        .load(conn)?;
    let mut members = members;
    members.sort_by_cached_key(|m| crate::i18n::by_surname(&m.2, &m.1, m.0));
    let ids: Vec<PupilId> = members.iter().map(|m| m.0).collect();
    let marks: HashMap<PupilId, Mark> = attendance_marks::table
        .filter(attendance_marks::lesson_id.eq(lesson.id))
        .select((
            attendance_marks::pupil_id,
            attendance_marks::status,
            attendance_marks::minutes,
            attendance_marks::reason_id,
        ))
        .load::<(PupilId, String, i32, Option<ReasonId>)>(conn)?
        .into_iter()
        .map(|(p, s, minutes, reason_id)| {
            // a mark this version cannot read is never shown as "present": the page fails
            // and the log says which mark
            let status = Status::parse(&s).ok_or_else(|| {
                AppError::internal(format!(
                    "lesson {}: the stored mark of pupil {p} has the unknown status {s:?}",
                    lesson.id
                ))
            })?;
            Ok((
                p,
                Mark {
                    status,
                    minutes,
                    reason_id,
                },
            ))
        })
        .collect::<AppResult<_>>()?;
    let window = crate::school::calendar::utc_window(tz, date, info.starts_at, info.ends_at);
    let covers = absence::covers_for_lesson(
        conn,
        (info.school_id, activity, &ids),
        window,
        date,
        leave_reason,
    )?;
    #[allow(clippy::type_complexity)]
    let report: Option<(String, String, NaiveDateTime, i32, Option<NaiveDateTime>)> =
        lesson_reports::table
            .inner_join(people::table.on(people::id.eq(lesson_reports::reported_by)))
            .filter(lesson_reports::lesson_id.eq(lesson.id))
            .select((
                people::given_name,
                people::family_name,
                lesson_reports::reported_at,
                lesson_reports::version,
                lesson_reports::modified_at,
            ))
            .first(conn)
            .optional()?;
    let hide_protected = lesson.reach == LessonReach::Admin;
    let pupils = members
        .into_iter()
        .map(|(id, given, family, marking)| {
            let covered_by = covers.get(&id).copied();
            let (mark, stored) = match marks.get(&id) {
                Some(m) => (m.clone(), true),
                None => (pre_mark(covered_by, info.minutes), false),
            };
            let name_withheld = hide_protected && marking != "none";
            let name = if name_withheld {
                String::new()
            } else {
                format!("{given} {family}")
            };
            PupilLine {
                id,
                name,
                name_withheld,
                mark,
                stored,
                covered_by,
            }
        })
        .collect();
    Ok(RollCall {
        reasons,
        lesson: info,
        pupils,
        report: report.map(|(g, f, at, version, changed_at)| ReportInfo {
            by: format!("{g} {f}"),
            at,
            version,
            // the first report sets it too (the export's meta.modified)
            changed_at: changed_at.filter(|c| *c > at),
        }),
    })
}

/// A covered pupil is absent with the cover's reason until someone says otherwise.
fn pre_mark(cover: Option<Cover>, minutes: i32) -> Mark {
    match cover {
        Some(c) => Mark {
            status: Status::Absent,
            minutes,
            reason_id: c.reason_id,
        },
        None => Mark::PRESENT,
    }
}

/// One pupil's mark as asked for.
#[derive(Debug, Clone)]
pub struct MarkInput {
    pub pupil_id: PupilId,
    pub status: Status,
    pub minutes: Option<i32>,
    pub reason_id: Option<ReasonId>,
}

impl MarkInput {
    /// The mark this input stores, unchecked: absent takes the whole lesson, a present
    /// pupil keeps no reason.
    pub fn as_mark(&self, lesson_minutes: i32) -> Mark {
        Mark {
            status: self.status,
            minutes: if self.status.takes_minutes() {
                self.minutes.unwrap_or(0)
            } else if self.status == Status::Absent {
                lesson_minutes
            } else {
                0
            },
            reason_id: if self.status == Status::Present {
                None
            } else {
                self.reason_id
            },
        }
    }
}

/// "Everyone present": every pupil present, except that a pupil covered by a guardian's
/// report or granted leave keeps their mark.
pub fn everyone_present(rc: &RollCall) -> Vec<MarkInput> {
    rc.pupils
        .iter()
        .map(|p| match p.covered_by {
            Some(_) => MarkInput {
                pupil_id: p.id,
                status: p.mark.status,
                minutes: Some(p.mark.minutes),
                reason_id: p.mark.reason_id,
            },
            None => MarkInput {
                pupil_id: p.id,
                status: Status::Present,
                minutes: None,
                reason_id: None,
            },
        })
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub marks: Vec<MarkInput>,
    /// The roll-call version the form was based on; None: apply on top of whatever is stored.
    pub expected_version: Option<i32>,
    /// Why a reported lesson is changed after its day.
    pub correction_reason: Option<String>,
    /// When the teacher saved it on the device, for a roll call kept there without a
    /// network and sent later (UTC); the audit log records it beside the arrival.
    pub saved_on_device: Option<NaiveDateTime>,
    /// The id the device gave such a roll call: sent again, it is recognised as already in.
    pub device_submission: Option<String>,
}

/// A change someone else saved since the form was opened.
#[derive(Debug, Clone)]
pub struct Stale {
    pub current: RollCall,
}

/// Checks one input against the lesson and the reasons; the mark to store.
fn checked_mark(input: &MarkInput, rc: &RollCall) -> AppResult<Mark> {
    let lesson_minutes = rc.lesson.minutes;
    // which pupil the message is about, as the page lists them
    let who = rc
        .pupils
        .iter()
        .find(|p| p.id == input.pupil_id)
        .map_or(String::new(), |p| format!(" ({})", p.name));
    let minutes = if input.status.takes_minutes() {
        match input.minutes {
            Some(m) if m >= 1 && m <= lesson_minutes => m,
            Some(_) => {
                return Err(AppError::refused(
                    Code::BadMinutes,
                    Refusal::new("bad_minutes")
                        .with("max", lesson_minutes)
                        .with("who", who),
                ))
            }
            None => {
                return Err(AppError::refused(
                    Code::MinutesRequired,
                    Refusal::new("minutes_required").with("who", who),
                ))
            }
        }
    } else if input.status == Status::Absent {
        lesson_minutes
    } else {
        0
    };
    let reason_id = match (input.status, input.reason_id) {
        (Status::Present, _) | (_, None) => None,
        (_, Some(r)) if rc.reasons.iter().any(|x| x.id == r) => Some(r),
        (_, Some(r))
            if rc.pupils.iter().any(|p| {
                p.id == input.pupil_id && p.covered_by.and_then(|c| c.reason_id) == Some(r)
            }) =>
        {
            Some(r)
        }
        (_, Some(_)) => {
            return Err(AppError::refused(
                Code::UnknownReason,
                Refusal::new("reason_not_in_school_list"),
            ))
        }
    };
    Ok(Mark {
        status: input.status,
        minutes,
        reason_id,
    })
}

/// Whether the lesson can be reported today: not cancelled, and its day has come.
fn reportable(lesson: &LessonInfo, today: NaiveDate) -> AppResult<()> {
    if lesson.cancelled {
        return Err(AppError::conflict(
            Code::LessonCancelled,
            Refusal::new("lesson_cancelled"),
        ));
    }
    if lesson.date > today {
        return Err(AppError::refused(
            Code::LessonInFuture,
            Refusal::new("lesson_in_future"),
        ));
    }
    Ok(())
}

/// The marks a submission asks for, each checked, per pupil: every pupil must be in the
/// lesson's groups and named once. Covered pupils nobody spoke of keep their pre-mark (it
/// is stored now).
fn wanted_marks(rc: &RollCall, inputs: &[MarkInput]) -> AppResult<HashMap<PupilId, Mark>> {
    let in_lesson: HashSet<PupilId> = rc.pupils.iter().map(|p| p.id).collect();
    let mut wanted: HashMap<PupilId, Mark> = HashMap::new();
    let mut unknown = Vec::new();
    for input in inputs {
        if !in_lesson.contains(&input.pupil_id) {
            unknown.push(input.pupil_id.to_string());
            continue;
        }
        let mark = checked_mark(input, rc)?;
        if wanted.insert(input.pupil_id, mark).is_some() {
            return Err(AppError::refused(
                Code::DuplicatePupil,
                Refusal::new("pupil_twice_in_report").with("pupil", input.pupil_id),
            ));
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::refused(
            Code::PupilNotInLesson,
            Refusal::new("pupils_not_in_lesson").with("pupils", unknown.join(", ")),
        ));
    }
    for p in &rc.pupils {
        if !p.stored && p.covered_by.is_some() && !wanted.contains_key(&p.id) {
            wanted.insert(p.id, p.mark.clone());
        }
    }
    Ok(wanted)
}

/// One pupil's mark that changes: (pupil, stored before, wanted now). A pupil without a
/// stored mark was present.
type Change = (PupilId, Mark, Mark);

/// The marks that differ from what is stored, in the roll call's order.
fn changes(rc: &RollCall, wanted: &HashMap<PupilId, Mark>) -> Vec<Change> {
    rc.pupils
        .iter()
        .filter_map(|p| {
            let stored = if p.stored {
                p.mark.clone()
            } else {
                Mark::PRESENT
            };
            let new = wanted.get(&p.id)?.clone();
            (new != stored).then_some((p.id, stored, new))
        })
        .collect()
}

/// A correction (a reported lesson of an earlier day, changed) needs a reason of at most
/// 500 characters; the reason kept, trimmed, for a correction only.
fn correction_reason(correction: bool, raw: Option<&str>) -> AppResult<Option<&str>> {
    let reason = raw.map(str::trim).filter(|r| !r.is_empty());
    if !correction {
        return Ok(None);
    }
    match reason {
        None => Err(AppError::refused(
            Code::CorrectionReasonRequired,
            Refusal::new("correction_reason_required"),
        )),
        Some(r) if r.chars().count() > 500 => Err(AppError::refused(
            Code::CorrectionReasonTooLong,
            Refusal::new("correction_reason_too_long"),
        )),
        Some(r) => Ok(Some(r)),
    }
}

/// Whether a new mark is absence without a valid reason the guardians hear about the same
/// day: not present, not covered by a report or leave, no valid reason, and the lesson
/// recent (a late correction of an old lesson sends nothing).
fn unexplained(rc: &RollCall, pupil: PupilId, to: &Mark, recent: bool) -> bool {
    if to.status == Status::Present || !recent {
        return false;
    }
    let line = rc.pupils.iter().find(|p| p.id == pupil);
    let covered = line.is_some_and(|l| l.covered_by.is_some_and(|c| c.excuses()));
    let valid = to.reason_id.is_some_and(|r| {
        rc.reasons.iter().any(|x| x.id == r && x.is_valid)
            || line.is_some_and(|l| l.covered_by.and_then(|c| c.reason_id) == Some(r))
    });
    // an invalid reason the principal has said sends no notice
    let silent = to
        .reason_id
        .is_some_and(|r| rc.reasons.iter().any(|x| x.id == r && !x.sends_notice));
    !covered && !valid && !silent
}

/// Claims the lesson's report row, which orders concurrent submissions: bumps its version
/// (only from `expected`, when given) or, for the first report, inserts it. Whether this is
/// the first report; a stale form (or, with `expected`, a lost race for the first report)
/// is `stale()`.
fn claim_report(
    conn: &mut DbConn,
    lesson: LessonId,
    expected: Option<i32>,
    by: PersonId,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let row = lesson_reports::table.filter(lesson_reports::lesson_id.eq(lesson));
    let bumped: Option<i32> = match expected {
        Some(v) => diesel::update(row.filter(lesson_reports::version.eq(v)))
            .set(lesson_reports::version.eq(lesson_reports::version + 1))
            .returning(lesson_reports::version)
            .get_result(conn)
            .optional()?,
        None => diesel::update(row)
            .set(lesson_reports::version.eq(lesson_reports::version + 1))
            .returning(lesson_reports::version)
            .get_result(conn)
            .optional()?,
    };
    if bumped.is_some() {
        return Ok(false);
    }
    let exists: i64 = row.count().get_result(conn)?;
    if exists > 0 || expected.is_some_and(|v| v != 0) {
        return Err(stale());
    }
    // in a savepoint: on PostgreSQL a failed statement would end the whole transaction
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(lesson_reports::table)
            .values((
                lesson_reports::lesson_id.eq(lesson),
                lesson_reports::reported_by.eq(by),
                lesson_reports::reported_at.eq(now),
                lesson_reports::modified_at.eq(Some(now)),
                lesson_reports::version.eq(1),
            ))
            .execute(conn)
    });
    match inserted {
        // Another first report won the race. A submission that named no version (the
        // API's "these marks, whatever is stored") goes on top of it, as it would have a
        // moment later; a form opened before any report is stale.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) if expected.is_none() => {
            diesel::update(row)
                .set(lesson_reports::version.eq(lesson_reports::version + 1))
                .execute(conn)?;
            Ok(false)
        }
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(stale()),
        other => other.map(|_| true).map_err(Into::into),
    }
}

/// Stores one changed mark: present deletes the row, a first exception inserts it, a
/// changed exception updates it.
fn write_mark(
    conn: &mut DbConn,
    lesson: LessonId,
    (pupil, from, to): &Change,
    by: PersonId,
    now: NaiveDateTime,
) -> AppResult<()> {
    let row = attendance_marks::table
        .filter(attendance_marks::lesson_id.eq(lesson))
        .filter(attendance_marks::pupil_id.eq(pupil));
    if to.status == Status::Present {
        diesel::delete(row).execute(conn)?;
    } else if from.status == Status::Present {
        diesel::insert_into(attendance_marks::table)
            .values((
                attendance_marks::lesson_id.eq(lesson),
                attendance_marks::pupil_id.eq(pupil),
                attendance_marks::status.eq(to.status),
                attendance_marks::minutes.eq(to.minutes),
                attendance_marks::reason_id.eq(to.reason_id),
                attendance_marks::marked_by.eq(by),
                attendance_marks::marked_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::update(row)
            .set((
                attendance_marks::status.eq(to.status),
                attendance_marks::minutes.eq(to.minutes),
                attendance_marks::reason_id.eq(to.reason_id),
                attendance_marks::marked_by.eq(by),
                attendance_marks::marked_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Saves a roll call. `Ok(Err(Stale))` when the form was based on an older version; nothing
/// is stored then. Any invalid value refuses the whole submission.
pub fn submit(
    conn: &mut DbConn,
    act: &Act,
    lesson: &LessonRef,
    sub: &Submission,
    policy: &crate::notices::Policy,
) -> AppResult<Result<RollCall, Stale>> {
    let (viewer, today, now, addr) = (act.actor, act.today, act.now, act.client_addr);
    let tz = policy.tz;
    if !matches!(lesson.reach, LessonReach::Teacher | LessonReach::Substitute) {
        return Err(AppError::Forbidden(
            Refusal::new("only_lesson_teachers_report").into(),
        ));
    }
    if stored_device_submission(conn, lesson.id, sub)? {
        return Ok(Ok(load(conn, lesson, tz)?));
    }
    let attempt = conn.transaction(|conn| {
        let first_report = claim_report(conn, lesson.id, sub.expected_version, viewer.id, now)?;
        if let Some(id) = &sub.device_submission {
            diesel::update(lesson_reports::table.filter(lesson_reports::lesson_id.eq(lesson.id)))
                .set(lesson_reports::device_submission.eq(id))
                .execute(conn)?;
        }
        let before = load(conn, lesson, tz)?;
        reportable(&before.lesson, today)?;
        let wanted = wanted_marks(&before, &sub.marks)?;
        let changes = changes(&before, &wanted);
        let correction = before.lesson.date < today && !first_report && !changes.is_empty();
        let reason = correction_reason(correction, sub.correction_reason.as_deref())?;
        let side = |m: &Mark| json!({"status": m.status.as_str(), "minutes": m.minutes, "reason_id": m.reason_id});
        if !changes.is_empty() && !first_report {
            // the export's meta.modified of the lesson's attendance records
            diesel::update(lesson_reports::table.find(lesson.id))
                .set(lesson_reports::modified_at.eq(Some(now)))
                .execute(conn)?;
        }
        for change in &changes {
            write_mark(conn, lesson.id, change, viewer.id, now)?;
            let (pupil, from, to) = change;
            audit::record(conn, Entry {
                at: now,
                actor: Some(viewer.id),
                action: "attendance.changed",
                entity: "lesson",
                entity_id: Some(lesson.id.into()),
                detail: json!({"pupil_id": pupil, "from": side(from), "to": side(to), "reason": reason}),
                client_addr: Some(addr),
            })?;
        }
        // The statistics follow in the same transaction: the first report makes every
        // pupil's minutes reported; later, only changed marks move the figures.
        let moved: Vec<PupilId> = if first_report {
            before.pupils.iter().map(|p| p.id).collect()
        } else {
            changes.iter().map(|c| c.0).collect()
        };
        let date = before.lesson.date;
        crate::insight::statistics::store::refresh(conn, tz, &moved, date, date)?;
        // Guardians hear the same day about absence without a valid reason; the mentor and
        // the principal when a pupil crosses the absence threshold.
        let recent = date >= today - Duration::days(NOTICE_DAYS);
        for (pupil, _, to) in &changes {
            if to.status == Status::Present {
                continue;
            }
            if unexplained(&before, *pupil, to, recent) {
                crate::notices::unexplained_absence(conn, policy, *pupil, date, now)?;
            }
            crate::notices::check_threshold(conn, *pupil, today, tz, now)?;
        }
        audit::record(conn, Entry {
            at: now,
            actor: Some(viewer.id),
            action: if first_report { "lesson.reported" } else { "lesson.resubmitted" },
            entity: "lesson",
            entity_id: Some(lesson.id.into()),
            detail: json!({"changes": changes.len(), "correction": correction, "reason": reason,
                "substitute": lesson.reach == crate::auth::access::LessonReach::Substitute,
                "saved_on_device_at": sub.saved_on_device, "arrived_at": sub.saved_on_device.map(|_| now)}),
            client_addr: Some(addr),
        })?;
        Ok::<_, AppError>(after_changes(before, &changes, !first_report, now))
    });
    match attempt {
        Ok(after) => Ok(Ok(after)),
        Err(AppError::Conflict {
            code: Code::StaleRollCall,
            ..
        }) => {
            // the same roll call kept on a device, replayed at the same moment by two of
            // its tries: the one that lost the race is acknowledged like a later replay
            if stored_device_submission(conn, lesson.id, sub)? {
                return Ok(Ok(load(conn, lesson, tz)?));
            }
            Ok(Err(Stale {
                current: load(conn, lesson, tz)?,
            }))
        }
        Err(e) => Err(e),
    }
}

/// Whether the lesson's report already holds this roll call kept on a device.
fn stored_device_submission(
    conn: &mut DbConn,
    lesson: LessonId,
    sub: &Submission,
) -> diesel::QueryResult<bool> {
    let Some(id) = &sub.device_submission else {
        return Ok(false);
    };
    let found: i64 = lesson_reports::table
        .filter(lesson_reports::lesson_id.eq(lesson))
        .filter(lesson_reports::device_submission.eq(id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// The roll call as it stands after `changes`, from the one loaded inside the save's
/// transaction (after the report was claimed, so its report is current): what [`load`]
/// would read again, without reading it. A mark set to present is no stored row, and a
/// covered pupil's shows the cover again.
fn after_changes(
    mut rc: RollCall,
    changes: &[Change],
    resubmitted: bool,
    now: NaiveDateTime,
) -> RollCall {
    let minutes = rc.lesson.minutes;
    for (pupil, _, to) in changes {
        if let Some(p) = rc.pupils.iter_mut().find(|p| p.id == *pupil) {
            p.stored = to.status != Status::Present;
            p.mark = if p.stored {
                to.clone()
            } else {
                pre_mark(p.covered_by, minutes)
            };
        }
    }
    if resubmitted && !changes.is_empty() {
        if let Some(r) = rc.report.as_mut() {
            r.changed_at = Some(now);
        }
    }
    rc
}

/// Absence marked on a lesson older than this many days (a late correction) sends no notice.
const NOTICE_DAYS: i64 = 7;

/// Inside the transaction: the form is stale (rolls back; `submit` answers `Stale`).
fn stale() -> AppError {
    AppError::Conflict {
        code: Code::StaleRollCall,
        message: String::new().into(),
    }
}

/// A line of a teacher's lesson list.
#[derive(Debug, Clone, Serialize)]
pub struct LessonLine {
    pub id: LessonId,
    pub date: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub subject: String,
    pub group: String,
    pub room: Option<String>,
    pub cancelled: bool,
    pub reported: bool,
    pub substitute: bool,
}

/// The lessons a teacher teaches or stands in for between two dates, in time order.
pub fn teacher_lessons(
    conn: &mut DbConn,
    viewer: &crate::auth::Viewer,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<LessonLine>> {
    let teacher = viewer.id;
    // the activities of a teacher whose duty has ended are not theirs any more (as the
    // lesson and its roll call answer 404); a substitution given to them still is
    let as_teacher = (!viewer.roles.teacher_at.is_empty()).then_some(teacher);
    let own = activity_teachers::table
        .filter(activity_teachers::teacher_id.nullable().eq(as_teacher))
        .select(activity_teachers::activity_id);
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        LessonId,
        NaiveDate,
        NaiveTime,
        NaiveTime,
        String,
        Option<String>,
        bool,
        Option<PersonId>,
        ActivityId,
        Option<LessonId>,
    )> = lessons::table
        .inner_join(activities::table)
        .left_join(lesson_reports::table)
        .filter(lessons::lesson_date.between(from, to))
        .filter(
            lessons::activity_id
                .eq_any(own)
                .or(lessons::substitute_teacher_id.eq(teacher)),
        )
        .select((
            lessons::id,
            lessons::lesson_date,
            lessons::starts_at,
            lessons::ends_at,
            activities::subject_name,
            lessons::room,
            lessons::cancelled,
            lessons::substitute_teacher_id,
            lessons::activity_id,
            lesson_reports::lesson_id.nullable(),
        ))
        .order((lessons::lesson_date, lessons::starts_at, lessons::id))
        .load(conn)?;
    let activity_ids: Vec<ActivityId> = rows
        .iter()
        .map(|r| r.8)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut group_names: HashMap<ActivityId, Vec<String>> = HashMap::new();
    for (activity, name) in activity_groups::table
        .inner_join(groups::table)
        .filter(activity_groups::activity_id.eq_any(&activity_ids))
        .select((activity_groups::activity_id, groups::name))
        .order(groups::name)
        .load::<(ActivityId, String)>(conn)?
    {
        group_names.entry(activity).or_default().push(name);
    }
    Ok(rows
        .into_iter()
        .map(|r| LessonLine {
            id: r.0,
            date: r.1,
            starts_at: r.2,
            ends_at: r.3,
            subject: r.4,
            room: r.5,
            cancelled: r.6,
            substitute: r.7 == Some(teacher),
            group: group_names
                .get(&r.8)
                .map(|g| g.join(", "))
                .unwrap_or_default(),
            reported: r.9.is_some(),
        })
        .collect())
}

/// The date `n` school days (Monday to Friday) before `today`.
pub fn school_days_back(today: NaiveDate, n: u32) -> NaiveDate {
    let mut d = today;
    let mut left = n;
    while left > 0 {
        d -= Duration::days(1);
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    d
}

/// One pupil's week for the mentor.
#[derive(Debug, Clone, Serialize)]
pub struct WeekRow {
    pub pupil_id: PupilId,
    pub name: String,
    pub scheduled_minutes: i64,
    pub valid_minutes: i64,
    pub invalid_minutes: i64,
    pub lates: i64,
}

impl WeekRow {
    pub fn absence_pct(&self) -> f64 {
        if self.scheduled_minutes == 0 {
            0.0
        } else {
            100.0 * (self.valid_minutes + self.invalid_minutes) as f64
                / self.scheduled_minutes as f64
        }
    }
}

/// A group's absence from `from` to `to` (inclusive) per pupil: scheduled minutes follow
/// the memberships valid on each lesson's date and skip cancelled lessons.
pub fn group_week(
    conn: &mut DbConn,
    group: GroupId,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> AppResult<Vec<WeekRow>> {
    let members: Vec<(PupilId, String, String)> = group_memberships::table
        .inner_join(people::table.on(people::id.eq(group_memberships::pupil_id)))
        .filter(group_memberships::group_id.eq(group))
        .filter(crate::school::membership::during(from, to))
        .select((people::id, people::given_name, people::family_name))
        .distinct()
        .load(conn)?;
    period_rows(conn, members, from, to, tz)
}

/// Scheduled, valid and invalid minutes per pupil over a period (inclusive dates): the
/// statistics' facts (`crate::insight::statistics::facts`) summed per pupil.
pub fn period_rows(
    conn: &mut DbConn,
    members: Vec<(PupilId, String, String)>,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> AppResult<Vec<WeekRow>> {
    let ids: Vec<PupilId> = members.iter().map(|m| m.0).collect();
    // Swedish school lists go by surname
    let order: HashMap<PupilId, (Vec<u32>, Vec<u32>, PupilId)> = members
        .iter()
        .map(|(id, g, f)| (*id, crate::i18n::by_surname(f, g, *id)))
        .collect();
    let mut rows: HashMap<PupilId, WeekRow> = members
        .into_iter()
        .map(|(id, g, f)| {
            let row = WeekRow {
                pupil_id: id,
                name: format!("{g} {f}"),
                scheduled_minutes: 0,
                valid_minutes: 0,
                invalid_minutes: 0,
                lates: 0,
            };
            (id, row)
        })
        .collect();
    crate::insight::statistics::facts::each(conn, Sel::Pupils(&ids), from, to, tz, |f| {
        if let Some(row) = rows.get_mut(&f.pupil) {
            row.scheduled_minutes += f.scheduled;
            row.valid_minutes += f.valid;
            row.invalid_minutes += f.invalid;
            if f.status.as_deref() == Some("late") {
                row.lates += 1;
            }
        }
    })?;
    let mut rows: Vec<WeekRow> = rows.into_values().collect();
    rows.sort_by(|a, b| order.get(&a.pupil_id).cmp(&order.get(&b.pupil_id)));
    Ok(rows)
}

/// A lesson in brief: when, what, for which groups, where, and whether it is reported.
pub struct Summary {
    pub date: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub subject: String,
    /// the groups' names, in order
    pub groups: Vec<String>,
    pub room: Option<String>,
    pub cancelled: bool,
    pub reported: bool,
}

/// The lesson in brief; the caller has checked access (`access::lesson`).
pub fn summary(conn: &mut DbConn, l: &LessonRef) -> AppResult<Summary> {
    let (date, starts_at, ends_at, room, cancelled, subject): (
        NaiveDate,
        NaiveTime,
        NaiveTime,
        Option<String>,
        bool,
        String,
    ) = lessons::table
        .inner_join(activities::table)
        .filter(lessons::id.eq(l.id))
        .select((
            lessons::lesson_date,
            lessons::starts_at,
            lessons::ends_at,
            lessons::room,
            lessons::cancelled,
            activities::subject_name,
        ))
        .first(conn)?;
    let groups: Vec<String> = activity_groups::table
        .inner_join(groups::table)
        .filter(activity_groups::activity_id.eq(l.activity_id))
        .select(groups::name)
        .order(groups::name)
        .load(conn)?;
    let reported: i64 = lesson_reports::table
        .filter(lesson_reports::lesson_id.eq(l.id))
        .count()
        .get_result(conn)?;
    Ok(Summary {
        date,
        starts_at,
        ends_at,
        subject,
        groups,
        room,
        cancelled,
        reported: reported > 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::school::absence::CoveredBy;
    use crate::school::ids::ReportId;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn line(id: i64, stored: Option<Mark>, cover: Option<Option<i64>>) -> PupilLine {
        let covered_by = cover.map(|reason_id| Cover {
            by: CoveredBy::AbsenceReport(ReportId(900 + id)),
            reason_id: reason_id.map(ReasonId),
        });
        PupilLine {
            id: PupilId(id),
            name: format!("Elev {id}"),
            name_withheld: false,
            mark: stored.clone().unwrap_or_else(|| pre_mark(covered_by, 60)),
            stored: stored.is_some(),
            covered_by,
        }
    }

    fn reason(id: i64, is_valid: bool) -> Reason {
        Reason {
            id: ReasonId(id),
            name_sv: format!("Orsak {id}"),
            name_en: format!("Reason {id}"),
            is_valid,
            sends_notice: id != 8,
        }
    }

    /// A 60-minute lesson on Monday 30 November 2026 with pupils 1 (no mark), 2 (stored
    /// late 10 min), 3 (covered by a report with reason 7, valid) and 4 (covered, no reason);
    /// reasons 5 (not valid), 6 (valid) and 8 (not valid, sends no notice).
    fn roll_call() -> RollCall {
        RollCall {
            lesson: LessonInfo {
                id: LessonId(1),
                date: day("2026-11-30"),
                starts_at: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
                ends_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                minutes: 60,
                subject: "Matematik".into(),
                groups: vec!["7A".into()],
                room: None,
                cancelled: false,
                school_id: SchoolId(1),
                substitute: None,
            },
            pupils: vec![
                line(1, None, None),
                line(
                    2,
                    Some(Mark {
                        status: Status::Late,
                        minutes: 10,
                        reason_id: None,
                    }),
                    None,
                ),
                line(3, None, Some(Some(7))),
                line(4, None, Some(None)),
            ],
            report: None,
            reasons: vec![reason(5, false), reason(6, true), reason(8, false)],
        }
    }

    fn input(pupil: i64, status: Status, minutes: Option<i32>, reason: Option<i64>) -> MarkInput {
        MarkInput {
            pupil_id: PupilId(pupil),
            status,
            minutes,
            reason_id: reason.map(ReasonId),
        }
    }

    fn code(e: AppError) -> &'static str {
        e.code().as_str()
    }

    #[test]
    fn absent_takes_the_whole_lesson_and_late_needs_minutes_within_it() {
        let rc = roll_call();
        let m = checked_mark(&input(1, Status::Absent, Some(5), None), &rc).unwrap();
        assert_eq!((m.status, m.minutes), (Status::Absent, 60));
        let m = checked_mark(&input(1, Status::Late, Some(60), None), &rc).unwrap();
        assert_eq!(m.minutes, 60);
        for bad in [Some(0), Some(61), Some(-3)] {
            let e = checked_mark(&input(1, Status::Late, bad, None), &rc).unwrap_err();
            assert_eq!(code(e), "bad_minutes");
        }
        let e = checked_mark(&input(1, Status::PartlyAbsent, None, None), &rc).unwrap_err();
        assert_eq!(code(e), "minutes_required");
    }

    #[test]
    fn a_reason_comes_from_the_school_list_or_the_pupils_own_cover() {
        let rc = roll_call();
        let m = checked_mark(&input(1, Status::Absent, None, Some(6)), &rc).unwrap();
        assert_eq!(m.reason_id, Some(ReasonId(6)));
        // present never keeps a reason
        let m = checked_mark(&input(1, Status::Present, None, Some(6)), &rc).unwrap();
        assert_eq!(m.reason_id, None);
        // reason 7 is pupil 3's cover, not the school's list: only pupil 3 may use it
        assert!(checked_mark(&input(3, Status::Absent, None, Some(7)), &rc).is_ok());
        let e = checked_mark(&input(1, Status::Absent, None, Some(7)), &rc).unwrap_err();
        assert_eq!(code(e), "unknown_reason");
    }

    #[test]
    fn every_pupil_once_and_in_the_lesson() {
        let rc = roll_call();
        let twice = [
            input(1, Status::Absent, None, None),
            input(1, Status::Present, None, None),
        ];
        assert_eq!(
            code(wanted_marks(&rc, &twice).unwrap_err()),
            "duplicate_pupil"
        );
        let stranger = [
            input(99, Status::Absent, None, None),
            input(98, Status::Late, Some(3), None),
        ];
        let e = wanted_marks(&rc, &stranger).unwrap_err();
        assert_eq!(e.code().as_str(), "pupil_not_in_lesson");
        let Some(crate::error::Said::Refusal(r)) = e.said() else {
            panic!("a refusal with a code: {e}")
        };
        assert_eq!(r.code, "pupils_not_in_lesson");
        assert_eq!(r.args, [("pupils", "99, 98".to_string())]);
    }

    #[test]
    fn covered_pupils_nobody_spoke_of_keep_their_pre_mark() {
        let rc = roll_call();
        let wanted = wanted_marks(&rc, &[input(3, Status::Present, None, None)]).unwrap();
        // pupil 3 was spoken of (present), pupil 4 keeps absent without a reason
        assert_eq!(wanted[&PupilId(3)], Mark::PRESENT);
        assert_eq!(wanted[&PupilId(4)].status, Status::Absent);
        assert_eq!(wanted[&PupilId(4)].minutes, 60);
        assert!(!wanted.contains_key(&PupilId(1)) && !wanted.contains_key(&PupilId(2)));
    }

    #[test]
    fn only_differences_from_what_is_stored_are_changes() {
        let rc = roll_call();
        let inputs = [
            input(1, Status::Present, None, None),
            input(2, Status::Late, Some(10), None),
            input(3, Status::Absent, None, Some(7)),
        ];
        let wanted = wanted_marks(&rc, &inputs).unwrap();
        let ch = changes(&rc, &wanted);
        // 1: present as before; 2: the same late; 3 and 4: pre-marks not yet stored
        let pupils: Vec<PupilId> = ch.iter().map(|c| c.0).collect();
        assert_eq!(pupils, vec![PupilId(3), PupilId(4)]);
        assert!(ch.iter().all(|c| c.1 == Mark::PRESENT));
        let back = wanted_marks(&rc, &[input(2, Status::Present, None, None)]).unwrap();
        let ch = changes(&rc, &back);
        assert_eq!(ch[0].0, PupilId(2));
        assert_eq!(ch[0].1.status, Status::Late);
        assert_eq!(ch[0].2, Mark::PRESENT);
    }

    #[test]
    fn a_correction_needs_a_short_reason_and_nothing_else_does() {
        assert_eq!(correction_reason(false, None).unwrap(), None);
        assert_eq!(
            correction_reason(false, Some(&"x".repeat(900))).unwrap(),
            None
        );
        assert_eq!(
            correction_reason(true, Some("  fel elev  ")).unwrap(),
            Some("fel elev")
        );
        let e = correction_reason(true, Some("   ")).unwrap_err();
        assert_eq!(code(e), "correction_reason_required");
        let e = correction_reason(true, Some(&"å".repeat(501))).unwrap_err();
        assert_eq!(code(e), "correction_reason_too_long");
        assert!(correction_reason(true, Some(&"å".repeat(500))).is_ok());
    }

    #[test]
    fn everyone_present_keeps_the_covered_pupils_marks() {
        let rc = roll_call();
        let marks = everyone_present(&rc);
        let wanted = wanted_marks(&rc, &marks).unwrap();
        assert_eq!(wanted[&PupilId(1)], Mark::PRESENT);
        assert_eq!(
            wanted[&PupilId(2)],
            Mark::PRESENT,
            "the late mark is replaced"
        );
        assert_eq!(wanted[&PupilId(3)].status, Status::Absent);
        assert_eq!(wanted[&PupilId(3)].reason_id, Some(ReasonId(7)));
        assert_eq!(wanted[&PupilId(4)].status, Status::Absent);
        let ch = changes(&rc, &wanted);
        assert_eq!(
            ch.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![PupilId(2), PupilId(3), PupilId(4)]
        );
    }

    #[test]
    fn an_input_reads_as_the_mark_it_would_store() {
        let late = input(1, Status::Late, Some(12), Some(6));
        assert_eq!(
            late.as_mark(60),
            Mark {
                status: Status::Late,
                minutes: 12,
                reason_id: Some(ReasonId(6))
            }
        );
        let absent = input(1, Status::Absent, Some(3), None);
        assert_eq!(absent.as_mark(45).minutes, 45);
        let present = input(1, Status::Present, Some(9), Some(6));
        assert_eq!(present.as_mark(60), Mark::PRESENT);
    }

    #[test]
    fn cancelled_and_future_lessons_are_not_reported() {
        let mut rc = roll_call();
        assert!(reportable(&rc.lesson, day("2026-11-30")).is_ok());
        let e = reportable(&rc.lesson, day("2026-11-29")).unwrap_err();
        assert_eq!(code(e), "lesson_in_future");
        rc.lesson.cancelled = true;
        let e = reportable(&rc.lesson, day("2026-12-01")).unwrap_err();
        assert_eq!(code(e), "lesson_cancelled");
    }

    #[test]
    fn guardians_hear_of_recent_absence_without_a_valid_reason_or_cover() {
        let rc = roll_call();
        let absent = |reason| Mark {
            status: Status::Absent,
            minutes: 60,
            reason_id: reason,
        };
        assert!(unexplained(&rc, PupilId(1), &absent(None), true));
        assert!(
            unexplained(&rc, PupilId(1), &absent(Some(ReasonId(5))), true),
            "reason 5 is not valid"
        );
        assert!(
            !unexplained(&rc, PupilId(1), &absent(Some(ReasonId(6))), true),
            "reason 6 is valid"
        );
        assert!(
            !unexplained(&rc, PupilId(1), &absent(Some(ReasonId(8))), true),
            "reason 8 is not valid, but the principal said it sends no notice"
        );
        assert!(
            !unexplained(&rc, PupilId(1), &absent(None), false),
            "an old lesson"
        );
        assert!(
            !unexplained(&rc, PupilId(4), &absent(None), true),
            "covered by a report"
        );
        assert!(!unexplained(&rc, PupilId(1), &Mark::PRESENT, true));
        let late = Mark {
            status: Status::Late,
            minutes: 5,
            reason_id: None,
        };
        assert!(unexplained(&rc, PupilId(2), &late, true));
    }
}
