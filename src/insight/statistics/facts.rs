//! The ground truth of the statistics: one fact per pupil per scheduled lesson, computed
//! from the timetable, the group memberships valid on the lesson's date, the roll calls and
//! the absence reports and granted leave that cover the lesson. Cancelled lessons are not
//! scheduled. `absence_days` (see `super::store`) is these facts summed per pupil and day;
//! figures by subject or activity, and a pupil's lesson list, read the facts directly.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::*;
use crate::school::absence::{self, ReasonFlags};
use crate::school::states::LeaveStatus;

use crate::db::CHUNK;
use crate::school::ids::{ActivityId, GroupId, LessonId, PupilId, ReasonId, SchoolId};

/// Whose facts to compute.
#[derive(Debug, Clone, Copy)]
pub enum Sel<'a> {
    /// every pupil in the school's groups
    School(SchoolId),
    /// these pupils, wherever they have lessons
    Pupils(&'a [PupilId]),
    /// everyone in these lessons (between the dates given)
    Lessons(&'a [LessonId]),
}

/// One pupil in one scheduled (not cancelled) lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub pupil: PupilId,
    pub lesson: LessonId,
    pub activity: ActivityId,
    pub school: SchoolId,
    pub date: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    /// the pupil's class on the lesson's date
    pub class: Option<GroupId>,
    pub scheduled: i64,
    pub reported: bool,
    pub valid: i64,
    pub invalid: i64,
    /// marked with a reason that does not count as absence
    pub other: i64,
    /// of `invalid`, the minutes on a day the pupil's leave was refused (absence despite
    /// refused leave, "frånvaro trots avslagen ledighet")
    pub refused_leave: i64,
    /// the mark's status ("absent", "late", ...), when there is one
    pub status: Option<String>,
    /// the mark's reason
    pub reason: Option<ReasonId>,
}

impl Fact {
    pub fn reported_minutes(&self) -> i64 {
        if self.reported {
            self.scheduled
        } else {
            0
        }
    }
}

/// (pupil or group, start, end)
type Span<T> = (T, NaiveDate, Option<NaiveDate>);

fn on(date: NaiveDate, start: NaiveDate, end: Option<NaiveDate>) -> bool {
    start <= date && end.is_none_or(|e| e >= date)
}

/// Calls `each` with every fact of the selection between two school-local dates
/// (inclusive), lesson by lesson.
pub fn each(
    conn: &mut DbConn,
    sel: Sel<'_>,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
    mut each: impl FnMut(&Fact),
) -> QueryResult<()> {
    let Members {
        by_group: members,
        classes,
        pupils,
    } = members(conn, sel, from, to)?;
    let group_ids: Vec<GroupId> = members.keys().copied().collect();
    if group_ids.is_empty() {
        return Ok(());
    }
    let lessons_in = lessons(conn, sel, &group_ids, from, to)?;
    let marks = marks(conn, sel, from, to)?;
    let covers = Covers::load(conn, &pupils, from, to)?;
    let wanted: Option<HashSet<PupilId>> = match sel {
        Sel::Pupils(p) => Some(p.iter().copied().collect()),
        Sel::School(_) | Sel::Lessons(_) => None,
    };
    let mut seen: HashSet<PupilId> = HashSet::new();
    let mut current = None;
    for (lesson, group, date, starts, ends, minutes, school, activity, report) in lessons_in {
        if current != Some(lesson) {
            current = Some(lesson);
            seen.clear();
        }
        let Some(list) = members.get(&group) else {
            continue;
        };
        let mut window = None;
        for &(pupil, start, end) in list {
            if !on(date, start, end)
                || wanted.as_ref().is_some_and(|w| !w.contains(&pupil))
                || !seen.insert(pupil)
            {
                continue;
            }
            let class = classes.get(&pupil).and_then(|spans| {
                spans
                    .iter()
                    .find(|(_, s, e)| on(date, *s, *e))
                    .map(|(g, _, _)| *g)
            });
            let mut fact = Fact {
                pupil,
                lesson,
                activity,
                school,
                date,
                starts_at: starts,
                ends_at: ends,
                class,
                scheduled: i64::from(minutes.max(0)),
                reported: report.is_some(),
                valid: 0,
                invalid: 0,
                other: 0,
                refused_leave: 0,
                status: None,
                reason: None,
            };
            if let Some((status, marked, reason, flags)) = marks.get(&(lesson, pupil)) {
                let (ws, we) = *window.get_or_insert_with(|| {
                    crate::school::calendar::utc_window(tz, date, starts, ends)
                });
                let covered = covers.cover(pupil, date, (ws, we));
                let m = absence::classify(*marked, *flags, covered);
                fact.valid = m.valid;
                fact.invalid = m.invalid;
                if m.invalid > 0 && covers.refused(pupil, date) {
                    fact.refused_leave = m.invalid;
                }
                if flags.is_some_and(|f| !f.counts_as_absence) {
                    fact.other = i64::from((*marked).max(0));
                }
                fact.status = Some(status.clone());
                fact.reason = *reason;
            }
            each(&fact);
        }
    }
    Ok(())
}

/// The memberships overlapping a period: each group's pupils, each pupil's classes (both
/// with the dates they run), and every pupil once.
struct Members {
    by_group: HashMap<GroupId, Vec<Span<PupilId>>>,
    classes: HashMap<PupilId, Vec<Span<GroupId>>>,
    pupils: Vec<PupilId>,
}

/// (pupil, group, start, end, the group's type)
type Membership = (PupilId, GroupId, NaiveDate, Option<NaiveDate>, String);

/// The memberships of the selection that overlap the period.
fn members(
    conn: &mut DbConn,
    sel: Sel<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Members> {
    // (pupil, group, start, end, type)
    let mut memberships: Vec<Membership> = Vec::new();
    let overlapping = crate::school::membership::during(from, to);
    let cols = (
        group_memberships::pupil_id,
        group_memberships::group_id,
        group_memberships::start_date,
        group_memberships::end_date,
        groups::group_type,
    );
    match sel {
        Sel::School(school) => {
            memberships = group_memberships::table
                .inner_join(groups::table)
                .filter(groups::school_id.eq(school))
                .filter(overlapping)
                .select(cols)
                .load(conn)?;
        }
        Sel::Pupils(pupils) => {
            for chunk in pupils.chunks(CHUNK) {
                memberships.extend(
                    group_memberships::table
                        .inner_join(groups::table)
                        .filter(group_memberships::pupil_id.eq_any(chunk))
                        .filter(overlapping)
                        .select(cols)
                        .load::<Membership>(conn)?,
                );
            }
        }
        Sel::Lessons(ids) => {
            for chunk in ids.chunks(CHUNK) {
                let groups_of: Vec<GroupId> = activity_groups::table
                    .inner_join(
                        lessons::table.on(lessons::activity_id.eq(activity_groups::activity_id)),
                    )
                    .filter(lessons::id.eq_any(chunk))
                    .select(activity_groups::group_id)
                    .distinct()
                    .load(conn)?;
                memberships.extend(
                    group_memberships::table
                        .inner_join(groups::table)
                        .filter(group_memberships::group_id.eq_any(&groups_of))
                        .filter(overlapping)
                        .select(cols)
                        .load::<Membership>(conn)?,
                );
            }
            memberships.sort();
            memberships.dedup();
        }
    }
    let mut members: HashMap<GroupId, Vec<Span<PupilId>>> = HashMap::new();
    let mut classes: HashMap<PupilId, Vec<Span<GroupId>>> = HashMap::new();
    let mut pupils: Vec<PupilId> = Vec::new();
    for (pupil, group, start, end, kind) in &memberships {
        members
            .entry(*group)
            .or_default()
            .push((*pupil, *start, *end));
        if kind == "class" {
            classes
                .entry(*pupil)
                .or_default()
                .push((*group, *start, *end));
        }
        pupils.push(*pupil);
    }
    pupils.sort_unstable();
    pupils.dedup();
    for spans in classes.values_mut() {
        spans.sort();
    }
    Ok(Members {
        by_group: members,
        classes,
        pupils,
    })
}

/// A scheduled lesson as one of its groups has it: (lesson, group, date, starts, ends,
/// minutes, school, activity, the report's lesson id when reported).
type LessonRow = (
    LessonId,
    GroupId,
    NaiveDate,
    NaiveTime,
    NaiveTime,
    i32,
    SchoolId,
    ActivityId,
    Option<LessonId>,
);

/// The scheduled (not cancelled) lessons of these groups, by lesson and group.
fn lessons(
    conn: &mut DbConn,
    sel: Sel<'_>,
    group_ids: &[GroupId],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<LessonRow>> {
    let mut lessons_in: Vec<LessonRow> = Vec::new();
    let only: Option<&[LessonId]> = match sel {
        Sel::Lessons(ids) => Some(ids),
        _ => None,
    };
    for chunk in group_ids.chunks(CHUNK) {
        let mut q = lessons::table
            .inner_join(
                activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
            )
            .left_join(lesson_reports::table)
            .filter(activity_groups::group_id.eq_any(chunk))
            .filter(lessons::lesson_date.between(from, to))
            .filter(lessons::cancelled.eq(false))
            .into_boxed();
        if let Some(ids) = only {
            q = q.filter(lessons::id.eq_any(ids));
        }
        lessons_in.extend(
            q.select((
                lessons::id,
                activity_groups::group_id,
                lessons::lesson_date,
                lessons::starts_at,
                lessons::ends_at,
                lessons::teaching_minutes,
                lessons::school_id,
                lessons::activity_id,
                lesson_reports::lesson_id.nullable(),
            ))
            .load::<LessonRow>(conn)?,
        );
    }
    lessons_in.sort_unstable_by_key(|l| (l.0, l.1));

    Ok(lessons_in)
}

/// A stored mark: (status, minutes, reason, the reason's flags).
type Mark = (String, i32, Option<ReasonId>, Option<ReasonFlags>);

/// The selection's marks in the period, by (lesson, pupil).
fn marks(
    conn: &mut DbConn,
    sel: Sel<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<HashMap<(LessonId, PupilId), Mark>> {
    type MarkRow = (
        LessonId,
        PupilId,
        String,
        i32,
        Option<ReasonId>,
        Option<bool>,
        Option<bool>,
    );
    let mut marks: HashMap<(LessonId, PupilId), Mark> = HashMap::new();
    let mark_cols = (
        attendance_marks::lesson_id,
        attendance_marks::pupil_id,
        attendance_marks::status,
        attendance_marks::minutes,
        attendance_marks::reason_id,
        absence_reasons::counts_as_absence.nullable(),
        absence_reasons::is_valid.nullable(),
    );
    let mut keep = |rows: Vec<MarkRow>| {
        for (lesson, pupil, status, minutes, reason, counts, valid) in rows {
            let flags = counts.zip(valid).map(|(c, v)| ReasonFlags {
                counts_as_absence: c,
                is_valid: v,
            });
            marks.insert((lesson, pupil), (status, minutes, reason, flags));
        }
    };
    let base = || {
        attendance_marks::table
            .inner_join(lessons::table)
            .left_join(absence_reasons::table)
            .filter(lessons::lesson_date.between(from, to))
            .select(mark_cols)
            .into_boxed()
    };
    match sel {
        Sel::School(school) => keep(base().filter(lessons::school_id.eq(school)).load(conn)?),
        Sel::Lessons(ids) => {
            for chunk in ids.chunks(CHUNK) {
                keep(
                    base()
                        .filter(attendance_marks::lesson_id.eq_any(chunk))
                        .load(conn)?,
                );
            }
        }
        Sel::Pupils(ids) => {
            for chunk in ids.chunks(CHUNK) {
                keep(
                    base()
                        .filter(attendance_marks::pupil_id.eq_any(chunk))
                        .load(conn)?,
                );
            }
        }
    }

    Ok(marks)
}

/// What covers the pupils: guardians' reports (UTC instants) and granted leave (dates);
/// and the days of refused leave, which make invalid absence absence despite refused leave.
struct Covers {
    reports: HashMap<PupilId, Vec<(NaiveDateTime, NaiveDateTime)>>,
    leave: HashMap<PupilId, Vec<(NaiveDate, NaiveDate)>>,
    refused: HashMap<PupilId, Vec<(NaiveDate, NaiveDate)>>,
}

impl Covers {
    fn load(
        conn: &mut DbConn,
        pupils: &[PupilId],
        from: NaiveDate,
        to: NaiveDate,
    ) -> QueryResult<Covers> {
        let mut reports: HashMap<PupilId, Vec<(NaiveDateTime, NaiveDateTime)>> = HashMap::new();
        let mut leave: HashMap<PupilId, Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
        let mut refused: HashMap<PupilId, Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
        let earliest = from.and_time(NaiveTime::MIN) - Duration::days(1);
        let latest = to.and_time(NaiveTime::MIN) + Duration::days(2);
        for chunk in pupils.chunks(CHUNK) {
            let rows: Vec<(PupilId, NaiveDateTime, NaiveDateTime)> = absence_reports::table
                .filter(absence_reports::pupil_id.eq_any(chunk))
                .filter(absence_reports::cancelled_at.is_null())
                .filter(absence_reports::ends_at.gt(earliest))
                .filter(absence_reports::starts_at.lt(latest))
                .select((
                    absence_reports::pupil_id,
                    absence_reports::starts_at,
                    absence_reports::ends_at,
                ))
                .load(conn)?;
            for (p, s, e) in rows {
                reports.entry(p).or_default().push((s, e));
            }
            // granted and refused leave in one query
            let rows: Vec<(PupilId, NaiveDate, NaiveDate, LeaveStatus)> = leave_applications::table
                .filter(leave_applications::pupil_id.eq_any(chunk))
                .filter(
                    leave_applications::status
                        .eq_any([LeaveStatus::Approved, LeaveStatus::Rejected]),
                )
                .filter(leave_applications::start_date.le(to))
                .filter(leave_applications::end_date.ge(from))
                .select((
                    leave_applications::pupil_id,
                    leave_applications::start_date,
                    leave_applications::end_date,
                    leave_applications::status,
                ))
                .load(conn)?;
            for (p, s, e, status) in rows {
                let to = if status == LeaveStatus::Approved {
                    &mut leave
                } else {
                    &mut refused
                };
                to.entry(p).or_default().push((s, e));
            }
        }
        Ok(Covers {
            reports,
            leave,
            refused,
        })
    }

    /// Whether leave was applied for and refused for the date.
    fn refused(&self, pupil: PupilId, date: NaiveDate) -> bool {
        self.refused
            .get(&pupil)
            .is_some_and(|l| l.iter().any(|(s, e)| *s <= date && *e >= date))
    }

    /// Whether a report overlaps the lesson's window (UTC) or granted leave takes its date.
    fn cover(
        &self,
        pupil: PupilId,
        date: NaiveDate,
        (ws, we): (NaiveDateTime, NaiveDateTime),
    ) -> bool {
        self.reports
            .get(&pupil)
            .is_some_and(|r| r.iter().any(|(s, e)| *s < we && *e > ws))
            || self
                .leave
                .get(&pupil)
                .is_some_and(|l| l.iter().any(|(s, e)| *s <= date && *e >= date))
    }
}

/// All facts of the selection, in lesson order.
pub fn collect(
    conn: &mut DbConn,
    sel: Sel<'_>,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> QueryResult<Vec<Fact>> {
    let mut out = Vec::new();
    each(conn, sel, from, to, tz, |f| out.push(f.clone()))?;
    Ok(out)
}
