//! The roll call: who was in a lesson. A teacher's report stores only the exceptions
//! (absent, late, left early, partly absent); everyone else was present. Pupils covered by
//! a guardian's report or granted leave are pre-marked as valid absence, and no bulk
//! action overwrites them. Every change goes to the audit log, in the same transaction;
//! a form based on an older version of the roll call is refused with what changed.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Entry};
use crate::auth::access::{LessonReach, LessonRef};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code, Refusal};

use crate::schema::*;
use crate::school::absence::{self, Cover};
use crate::school::ids::{
    ActivityId, LessonId, OrganisationId, PersonId, PupilId, ReasonId, SchoolId,
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

/// A lesson as the roll call reads it, in one statement: the lesson, its activity, its
/// groups' names, the organisation whose absence reasons apply (the school's
/// municipality), the substitute's name, the report, and whether a given person teaches
/// it (for access).
struct LessonRow {
    info: LessonInfo,
    activity: ActivityId,
    org: OrganisationId,
    substitute_id: Option<PersonId>,
    teaches: bool,
    report: Option<ReportInfo>,
}

/// The group names of the row's activity, joined by U+001F (no name holds it), as one
/// column: a correlated subquery in each backend's own aggregate.
fn group_names_sql(backend: crate::db::Backend) -> &'static str {
    match backend {
        crate::db::Backend::Sqlite => {
            "(SELECT group_concat(g.name, char(31)) FROM activity_groups ag \
             JOIN \"groups\" g ON g.id = ag.group_id WHERE ag.activity_id = lessons.activity_id)"
        }
        crate::db::Backend::Postgres => {
            "(SELECT string_agg(g.name, chr(31)) FROM activity_groups ag \
             JOIN \"groups\" g ON g.id = ag.group_id WHERE ag.activity_id = lessons.activity_id)"
        }
    }
}

/// The lesson (see [`LessonRow`]); `teacher` is the person asked about (None: nobody).
fn lesson_row(
    conn: &mut DbConn,
    lesson_id: LessonId,
    teacher: Option<PersonId>,
) -> AppResult<Option<LessonRow>> {
    use crate::db::fixed::fixed;
    use diesel::dsl::exists;
    use diesel::sql_types::{Nullable, Text};
    let (substitute, reporter) = diesel::alias!(people as substitute, people as reporter);
    let teacher = teacher.unwrap_or(PersonId(0));
    let groups_sql = group_names_sql(conn.backend());
    // (on the backend's own connection: through the two-backend one, diesel writes the
    // statement's SQL anew on every call)
    let query = || {
        lessons::table
            .inner_join(activities::table)
            .inner_join(organisations::table.on(organisations::id.eq(lessons::school_id)))
            .left_join(
                substitute.on(substitute
                    .field(people::id)
                    .nullable()
                    .eq(lessons::substitute_teacher_id)),
            )
            .left_join(lesson_reports::table.on(lesson_reports::lesson_id.eq(lessons::id)))
            .left_join(
                reporter.on(reporter
                    .field(people::id)
                    .nullable()
                    .eq(lesson_reports::reported_by.nullable())),
            )
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
                (
                    activities::subject_name,
                    fixed::<Nullable<Text>>(groups_sql),
                    organisations::parent_id,
                    exists(
                        activity_teachers::table
                            .filter(activity_teachers::activity_id.eq(lessons::activity_id))
                            .filter(activity_teachers::teacher_id.eq(teacher)),
                    ),
                ),
                (
                    substitute.field(people::given_name),
                    substitute.field(people::family_name),
                )
                    .nullable(),
                (
                    reporter.field(people::given_name),
                    reporter.field(people::family_name),
                    lesson_reports::reported_at,
                    lesson_reports::version,
                    lesson_reports::modified_at,
                )
                    .nullable(),
            ))
    };
    let row: Option<RawLesson> = crate::on_backend!(conn, c => query().first(c).optional())?;
    Ok(row.map(lesson_of))
}

/// The lesson statement's row: the lesson; its subject, groups, organisation and whether
/// the person asked about teaches it; the substitute's name; the report.
type RawLesson = (
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
    (String, Option<String>, Option<OrganisationId>, bool),
    Option<(String, String)>,
    Option<(String, String, NaiveDateTime, i32, Option<NaiveDateTime>)>,
);

fn lesson_of(row: RawLesson) -> LessonRow {
    let (lesson, (subject, groups, parent, teaches), sub, report) = row;
    let (id, date, starts_at, ends_at, minutes, room, cancelled, activity, school_id, sub_id) =
        lesson;
    let mut groups: Vec<String> = groups
        .map(|g| g.split('\u{1f}').map(str::to_string).collect())
        .unwrap_or_default();
    groups.sort_unstable();
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
        substitute: sub.map(|(g, f)| format!("{g} {f}")),
    };
    LessonRow {
        info,
        activity,
        org: parent.unwrap_or(school_id.into()),
        substitute_id: sub_id,
        teaches,
        report: report.map(|(g, f, at, version, changed_at)| ReportInfo {
            by: format!("{g} {f}"),
            at,
            version,
            // the first report sets it too (the export's meta.modified)
            changed_at: changed_at.filter(|c| *c > at),
        }),
    }
}

/// The reasons staff may choose at the school (the municipality's and its own), and the
/// leave reason ("LEDIG") if there is one.
fn reasons_of(
    conn: &mut DbConn,
    org: OrganisationId,
    school: SchoolId,
) -> AppResult<(Vec<Reason>, Option<ReasonId>)> {
    type Row = (ReasonId, String, String, String, bool, bool, bool);
    let query = || {
        absence_reasons::table
            // (two comparisons, not a list: on SQLite a list makes diesel prepare the statement
            // anew on every call)
            .filter(
                absence_reasons::organisation_id
                    .eq(org)
                    .or(absence_reasons::organisation_id.eq(OrganisationId::from(school))),
            )
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
    };
    let rows: Vec<Row> = crate::on_backend!(conn, c => query().load(c))?;
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
    let row = lesson_row(conn, lesson.id, None)?.ok_or(AppError::NotFound)?;
    of_row(conn, row, lesson.reach, tz)
}

/// The roll call of a lesson, when the viewer may see it (as `access::lesson` decides;
/// 404 otherwise), in as few statements as it takes: the page's own path.
pub fn open(
    conn: &mut DbConn,
    v: &crate::auth::Viewer,
    id: LessonId,
    tz: Tz,
) -> AppResult<RollCall> {
    let row = lesson_row(conn, id, Some(v.id))?.ok_or(AppError::NotFound)?;
    let reach = crate::auth::access::lesson_reach(
        conn,
        v,
        (row.info.school_id, row.substitute_id),
        row.teaches,
    )?;
    of_row(conn, row, reach, tz)
}

/// The roll call of the lesson in `row`: its reasons, its pupils with their marks, and
/// their covers.
fn of_row(conn: &mut DbConn, row: LessonRow, reach: LessonReach, tz: Tz) -> AppResult<RollCall> {
    let LessonRow {
        info,
        activity,
        org,
        report,
        ..
    } = row;
    let (reasons, leave_reason) = reasons_of(conn, org, info.school_id)?;
    let date = info.date;
    let query = || {
        group_memberships::table
            .inner_join(
                activity_groups::table
                    .on(activity_groups::group_id.eq(group_memberships::group_id)),
            )
            .inner_join(people::table.on(people::id.eq(group_memberships::pupil_id)))
            .left_join(
                attendance_marks::table.on(attendance_marks::lesson_id
                    .eq(info.id)
                    .and(attendance_marks::pupil_id.eq(people::id))),
            )
            .filter(activity_groups::activity_id.eq(activity))
            .filter(crate::school::membership::on(date))
            .select((
                people::id,
                people::given_name,
                people::family_name,
                people::security_marking,
                (
                    attendance_marks::status,
                    attendance_marks::minutes,
                    attendance_marks::reason_id,
                )
                    .nullable(),
            ))
            .distinct()
    };
    #[allow(clippy::type_complexity)]
    let mut members: Vec<(
        PupilId,
        String,
        String,
        String,
        Option<(String, i32, Option<ReasonId>)>,
    )> = crate::on_backend!(conn, c => query().load(c))?;
    members.sort_by_cached_key(|m| crate::i18n::by_surname(&m.2, &m.1, m.0));
    let ids: Vec<PupilId> = members.iter().map(|m| m.0).collect();
    let window = crate::school::calendar::utc_window(tz, date, info.starts_at, info.ends_at);
    let covers = absence::covers_for_lesson(
        conn,
        (info.school_id, activity, &ids),
        window,
        date,
        leave_reason,
    )?;
    let hide_protected = reach == LessonReach::Admin;
    let pupils = members
        .into_iter()
        .map(|(id, given, family, marking, stored)| {
            let covered_by = covers.get(&id).copied();
            let mark = match stored {
                Some((s, minutes, reason_id)) => {
                    // a mark this version cannot read is never shown as "present": the
                    // page fails and the log says which mark
                    let status = Status::parse(&s).ok_or_else(|| {
                        AppError::internal(format!(
                            "lesson {}: the stored mark of pupil {id} has the unknown status {s:?}",
                            info.id
                        ))
                    })?;
                    Some(Mark {
                        status,
                        minutes,
                        reason_id,
                    })
                }
                None => None,
            };
            let stored = mark.is_some();
            let mark = mark.unwrap_or_else(|| pre_mark(covered_by, info.minutes));
            let name_withheld = hide_protected && marking != "none";
            let name = if name_withheld {
                String::new()
            } else {
                format!("{given} {family}")
            };
            Ok(PupilLine {
                id,
                name,
                name_withheld,
                mark,
                stored,
                covered_by,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok(RollCall {
        reasons,
        lesson: info,
        pupils,
        report,
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
    let bump = |conn: &mut DbConn| -> diesel::QueryResult<bool> {
        let bumped: Option<i32> = diesel::update(row)
            .set(lesson_reports::version.eq(lesson_reports::version + 1))
            .returning(lesson_reports::version)
            .get_result(conn)
            .optional()?;
        Ok(bumped.is_some())
    };
    let bumped = match expected {
        Some(v) => diesel::update(row.filter(lesson_reports::version.eq(v)))
            .set(lesson_reports::version.eq(lesson_reports::version + 1))
            .returning(lesson_reports::version)
            .get_result::<i32>(conn)
            .optional()?
            .is_some(),
        None => bump(conn)?,
    };
    if bumped {
        return Ok(false);
    }
    let exists: i64 = row.count().get_result(conn)?;
    if exists > 0 {
        // On PostgreSQL another first report may commit between the update above, which
        // found no row, and this count. A submission naming no version goes on top of it.
        return match expected {
            None if bump(conn)? => Ok(false),
            _ => Err(stale()),
        };
    }
    if expected.is_some_and(|v| v != 0) {
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
            bump(conn)?;
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
    // the principal changes marks only of a closed term
    let principal_corrects = lesson.reach == LessonReach::Principal && {
        let date: NaiveDate = lessons::table
            .find(lesson.id)
            .select(lessons::lesson_date)
            .first(conn)?;
        crate::follow_up::terms::closed_on(conn, lesson.school_id, date)?.is_some()
    };
    if !matches!(lesson.reach, LessonReach::Teacher | LessonReach::Substitute)
        && !principal_corrects
    {
        return Err(only_teachers());
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
        let (correction, reason) =
            correction(conn, act, lesson, &before, &changes, first_report, sub)?;
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
        // Guardians hear the same day about absence without a valid reason; those the
        // signal rules that e-mail say (the school's threshold notice among them) when a
        // pupil is caught.
        let recent = date >= today - Duration::days(NOTICE_DAYS);
        let mut absent = Vec::new();
        for (pupil, _, to) in &changes {
            if to.status == Status::Present {
                continue;
            }
            if unexplained(&before, *pupil, to, recent) {
                crate::notices::unexplained_absence(conn, policy, *pupil, date, now)?;
            }
            absent.push(*pupil);
        }
        let school = before.lesson.school_id;
        crate::follow_up::signals::at_once(conn, school, &absent, today, now)?;
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

fn only_teachers() -> AppError {
    AppError::Forbidden(Refusal::new("only_lesson_teachers_report").into())
}

/// Whether the submission corrects (changes a reported lesson of an earlier day, or any
/// lesson of a closed term) and why; a change to a closed term is kept for the huvudman.
fn correction<'a>(
    conn: &mut DbConn,
    act: &Act,
    lesson: &LessonRef,
    before: &RollCall,
    changes: &[Change],
    first_report: bool,
    sub: &'a Submission,
) -> AppResult<(bool, Option<&'a str>)> {
    let closing = closed_term(conn, act.actor, lesson, before)?;
    let correction = !changes.is_empty()
        && (closing.is_some() || (before.lesson.date < act.today && !first_report));
    let reason = correction_reason(correction, sub.correction_reason.as_deref())?;
    if let (Some(closing), Some(reason)) = (closing, reason) {
        crate::follow_up::terms::record_change(
            conn,
            closing,
            lesson.id,
            act.actor.id,
            act.now,
            changes.len(),
            reason,
        )?;
    }
    Ok((correction, reason))
}

/// The closing in force of the lesson's term, if any. While a term is closed only the
/// school's principal changes its marks (with a reason); otherwise only the lesson's
/// teachers report.
fn closed_term(
    conn: &mut DbConn,
    viewer: &crate::school::Viewer,
    lesson: &LessonRef,
    rc: &RollCall,
) -> AppResult<Option<crate::follow_up::terms::ClosingId>> {
    let closing = crate::follow_up::terms::closed_on(conn, rc.lesson.school_id, rc.lesson.date)?;
    let principal = viewer.roles.principal_of.contains(&rc.lesson.school_id);
    match closing {
        Some(_) if !principal => Err(AppError::conflict(
            Code::TermClosed,
            Refusal::new("term_closed"),
        )),
        None if lesson.reach == LessonReach::Principal => Err(only_teachers()),
        _ => Ok(closing),
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
mod tests;
