//! `/attendances`: one SS 12000 `Attendance` per pupil per reported lesson, in lesson and
//! pupil order, named by `uuid::attendance`. `meta.created` is the lesson's first report;
//! `meta.modified` the last moment something the record shows could have changed: the
//! lesson's roll call (`lesson_reports.modified_at`), or a report or granted leave of the
//! pupil that covers the lesson (made, cancelled or decided).

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::query::{self, Page, Query};
use super::refs::{Ref, Refs};
use super::uuid;
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::db::CHUNK;
use crate::error::AppResult;
use crate::insight::statistics::facts::{self, Fact, Sel};
use crate::schema::*;
use crate::school::calendar::{to_local, utc_window};
use crate::school::ids::{LessonId, PersonId, PupilId, ReasonId, SchoolId};
use crate::school::states::LeaveStatus;

/// How many batches of lessons one request reads to fill a page before it answers with
/// what it has (and the token to go on), so that a narrow filter over a long history
/// never holds a connection for long.
const BATCHES: usize = 20;

/// A reported lesson of a batch.
struct Reported {
    id: LessonId,
    date: NaiveDate,
    by: PersonId,
    at: NaiveDateTime,
    modified: NaiveDateTime,
}

/// The attendances page after (lesson, pupil) `after`.
pub fn page(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    q: &Query,
    limit: usize,
    after: (i64, i64),
) -> AppResult<Page> {
    let schools = query::schools(conn, v, q.organisation)?;
    query::check_students(conn, &schools, &q.students)?;
    let changed = match q.modified.from {
        Some(t) => Some(changed_dates(conn, &schools, t, tz)?),
        None => None,
    };
    let mut found: Vec<(Fact, NaiveDateTime)> = Vec::new();
    let mut lessons: HashMap<LessonId, Reported> = HashMap::new();
    let mut at = after;
    let mut next = None;
    // a lesson holds a class or so: a first batch of lessons for a page, and more (twice
    // as many each time) while a narrow filter leaves the page short
    let mut lessons_wanted = (limit / 16).max(8);
    for round in 0..BATCHES {
        let batch = reported(
            conn,
            &schools,
            q,
            tz,
            at.0,
            lessons_wanted,
            changed.as_ref(),
        )?;
        let Some(last) = batch.last().map(|r| r.id) else {
            break;
        };
        let more = batch.len() > lessons_wanted;
        lessons_wanted = (lessons_wanted * 2).min(limit.max(8));
        found.extend(records(conn, tz, q, &batch, at)?);
        lessons.extend(batch.into_iter().map(|r| (r.id, r)));
        if found.len() > limit {
            found.truncate(limit);
            next = found
                .last()
                .map(|(f, _)| query::token("a", f.lesson.into(), f.pupil.into(), q));
            break;
        }
        if !more {
            break;
        }
        at = (last.into(), i64::MAX);
        if round + 1 == BATCHES {
            next = Some(query::token("a", at.0, at.1, q));
        }
    }
    let data = to_json(conn, &found, &lessons, q.names)?;
    Ok(Page { data, next })
}

/// The reported lessons from `from_lesson` on (at most `limit` + 1) that can hold records
/// of the query; `limit` counts lessons.
fn reported(
    conn: &mut DbConn,
    schools: &[SchoolId],
    q: &Query,
    tz: Tz,
    from_lesson: i64,
    limit: usize,
    changed: Option<&BTreeSet<NaiveDate>>,
) -> AppResult<Vec<Reported>> {
    let mut l = lessons::table
        .inner_join(lesson_reports::table)
        .filter(lessons::school_id.eq_any(schools))
        .filter(lessons::cancelled.eq(false))
        .filter(lessons::id.ge(from_lesson))
        .into_boxed();
    if !q.calendar_events.is_empty() {
        l = l.filter(lessons::id.eq_any(q.calendar_events.clone()));
    }
    if !q.activities.is_empty() {
        l = l.filter(lessons::activity_id.eq_any(q.activities.clone()));
    }
    if !q.students.is_empty() {
        // only the lessons of the students' groups
        let theirs = activity_groups::table
            .inner_join(
                group_memberships::table
                    .on(group_memberships::group_id.eq(activity_groups::group_id)),
            )
            .filter(group_memberships::pupil_id.eq_any(q.students.clone()))
            .select(activity_groups::activity_id);
        l = l.filter(lessons::activity_id.eq_any(theirs));
    }
    // the lesson's start, by its school-local date (exact below)
    if let Some(from) = q.start.from {
        l = l.filter(lessons::lesson_date.ge(to_local(tz, from).date() - Duration::days(1)));
    }
    if let Some(to) = q.start.to {
        l = l.filter(lessons::lesson_date.le(to_local(tz, to).date() + Duration::days(1)));
    }
    // a record is created with the lesson's first report, and modified no earlier
    if let Some(to) = q.created.to.or(q.modified.to) {
        l = l.filter(lesson_reports::reported_at.le(to));
    }
    if let Some(from) = q.created.from {
        l = l.filter(lesson_reports::reported_at.ge(from));
    }
    if let (Some(from), Some(dates)) = (q.modified.from, changed) {
        // the roll call changed after `from`, or a report or leave on its date did
        if dates.len() <= CHUNK {
            let dates: Vec<NaiveDate> = dates.iter().copied().collect();
            l = l.filter(
                lesson_reports::modified_at
                    .gt(from)
                    // a report written before modified_at was: its first report is its change
                    .or(lesson_reports::modified_at
                        .is_null()
                        .and(lesson_reports::reported_at.gt(from)))
                    .or(lessons::lesson_date.eq_any(dates)),
            );
        }
    }
    let rows: Vec<(
        LessonId,
        NaiveDate,
        PersonId,
        NaiveDateTime,
        Option<NaiveDateTime>,
    )> = l
        .select((
            lessons::id,
            lessons::lesson_date,
            lesson_reports::reported_by,
            lesson_reports::reported_at,
            lesson_reports::modified_at,
        ))
        .order(lessons::id)
        .limit(limit as i64 + 1)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, date, by, at, modified)| Reported {
            id,
            date,
            by,
            at,
            modified: modified.unwrap_or(at).max(at),
        })
        .collect())
}

/// The records of a batch of lessons after `after` that the query keeps, each with its
/// `meta.modified`, in (lesson, pupil) order.
fn records(
    conn: &mut DbConn,
    tz: Tz,
    q: &Query,
    batch: &[Reported],
    after: (i64, i64),
) -> AppResult<Vec<(Fact, NaiveDateTime)>> {
    let ids: Vec<LessonId> = batch.iter().map(|r| r.id).collect();
    let (Some(first), Some(last)) = (
        batch.iter().map(|r| r.date).min(),
        batch.iter().map(|r| r.date).max(),
    ) else {
        return Ok(Vec::new());
    };
    let by_id: HashMap<LessonId, &Reported> = batch.iter().map(|r| (r.id, r)).collect();
    let mut facts = facts::collect(conn, Sel::Lessons(&ids), first, last, tz)?;
    facts.retain(|f| {
        (i64::from(f.lesson), i64::from(f.pupil)) > after
            && (q.students.is_empty() || q.students.contains(&f.pupil))
            && q.start
                .holds(utc_window(tz, f.date, f.starts_at, f.ends_at).0)
    });
    let mut pupils: Vec<PupilId> = facts.iter().map(|f| f.pupil).collect();
    pupils.sort_unstable();
    pupils.dedup();
    let changes = Changes::load(conn, &pupils, first, last)?;
    let mut out: Vec<(Fact, NaiveDateTime)> = facts
        .into_iter()
        .filter_map(|f| {
            let lesson = by_id.get(&f.lesson)?;
            let window = utc_window(tz, f.date, f.starts_at, f.ends_at);
            let modified = changes
                .latest(f.pupil, f.date, window)
                .map_or(lesson.modified, |c| c.max(lesson.modified));
            (q.created.holds(lesson.at) && q.modified.holds(modified)).then_some((f, modified))
        })
        .collect();
    out.sort_by_key(|(f, _)| (f.lesson, f.pupil));
    Ok(out)
}

/// When the pupils' reports and granted leave last changed, by what they cover.
struct Changes {
    /// (start, end, made or cancelled) per pupil
    reports: HashMap<PupilId, Vec<(NaiveDateTime, NaiveDateTime, NaiveDateTime)>>,
    /// (first day, last day, decided) per pupil
    leave: HashMap<PupilId, Vec<(NaiveDate, NaiveDate, NaiveDateTime)>>,
}

impl Changes {
    fn load(
        conn: &mut DbConn,
        pupils: &[PupilId],
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<Self> {
        let mut out = Changes {
            reports: HashMap::new(),
            leave: HashMap::new(),
        };
        let earliest = from.and_time(NaiveTime::MIN) - Duration::days(1);
        let latest = to.and_time(NaiveTime::MIN) + Duration::days(2);
        for chunk in pupils.chunks(CHUNK) {
            type Row = (
                PupilId,
                NaiveDateTime,
                NaiveDateTime,
                NaiveDateTime,
                Option<NaiveDateTime>,
            );
            let rows: Vec<Row> = absence_reports::table
                .filter(absence_reports::pupil_id.eq_any(chunk))
                .filter(absence_reports::ends_at.gt(earliest))
                .filter(absence_reports::starts_at.lt(latest))
                .select((
                    absence_reports::pupil_id,
                    absence_reports::starts_at,
                    absence_reports::ends_at,
                    absence_reports::created_at,
                    absence_reports::cancelled_at,
                ))
                .load(conn)?;
            for (p, s, e, made, cancelled) in rows {
                let at = cancelled.map_or(made, |c| c.max(made));
                out.reports.entry(p).or_default().push((s, e, at));
            }
            let rows: Vec<(
                PupilId,
                NaiveDate,
                NaiveDate,
                NaiveDateTime,
                Option<NaiveDateTime>,
            )> = leave_applications::table
                .filter(leave_applications::pupil_id.eq_any(chunk))
                .filter(leave_applications::status.eq(LeaveStatus::Approved))
                .filter(leave_applications::start_date.le(to))
                .filter(leave_applications::end_date.ge(from))
                .select((
                    leave_applications::pupil_id,
                    leave_applications::start_date,
                    leave_applications::end_date,
                    leave_applications::applied_at,
                    leave_applications::decided_at,
                ))
                .load(conn)?;
            for (p, s, e, applied, decided) in rows {
                out.leave
                    .entry(p)
                    .or_default()
                    .push((s, e, decided.unwrap_or(applied)));
            }
        }
        Ok(out)
    }

    /// The last change of what covers the pupil's lesson (its UTC window, its date).
    fn latest(
        &self,
        pupil: PupilId,
        date: NaiveDate,
        (ws, we): (NaiveDateTime, NaiveDateTime),
    ) -> Option<NaiveDateTime> {
        let reports = self.reports.get(&pupil).into_iter().flatten();
        let reports = reports.filter(|(s, e, _)| *s < we && *e > ws).map(|r| r.2);
        let leave = self.leave.get(&pupil).into_iter().flatten();
        let leave = leave
            .filter(|(s, e, _)| *s <= date && *e >= date)
            .map(|l| l.2);
        reports.chain(leave).max()
    }
}

/// The school-local dates whose attendance records a report or granted leave changed
/// after `after` (made, cancelled or decided then), in the schools.
fn changed_dates(
    conn: &mut DbConn,
    schools: &[SchoolId],
    after: NaiveDateTime,
    tz: Tz,
) -> AppResult<BTreeSet<NaiveDate>> {
    let mut out = BTreeSet::new();
    let reports: Vec<(NaiveDateTime, NaiveDateTime)> = absence_reports::table
        .inner_join(people::table.on(people::id.eq(absence_reports::pupil_id)))
        .filter(people::school_id.eq_any(schools))
        .filter(
            absence_reports::created_at
                .gt(after)
                .or(absence_reports::cancelled_at.gt(after)),
        )
        .select((absence_reports::starts_at, absence_reports::ends_at))
        .load(conn)?;
    let leave: Vec<(NaiveDate, NaiveDate)> = leave_applications::table
        .inner_join(people::table.on(people::id.eq(leave_applications::pupil_id)))
        .filter(people::school_id.eq_any(schools))
        .filter(leave_applications::status.eq(LeaveStatus::Approved))
        .filter(leave_applications::decided_at.gt(after))
        .select((leave_applications::start_date, leave_applications::end_date))
        .load(conn)?;
    let spans = reports
        .into_iter()
        .map(|(s, e)| (to_local(tz, s).date(), to_local(tz, e).date()))
        .chain(leave);
    for (first, last) in spans {
        let mut d = first;
        // a report or leave longer than a school year is cut there
        while d <= last && d <= first + Duration::days(400) {
            out.insert(d);
            d += Duration::days(1);
        }
    }
    Ok(out)
}

/// The records as SS 12000 `Attendance`s.
fn to_json(
    conn: &mut DbConn,
    found: &[(Fact, NaiveDateTime)],
    lessons: &HashMap<LessonId, Reported>,
    names: bool,
) -> AppResult<Vec<Value>> {
    let reason_ids: Vec<ReasonId> = found.iter().filter_map(|(f, _)| f.reason).collect();
    let reasons: HashMap<ReasonId, String> = absence_reasons::table
        .filter(absence_reasons::id.eq_any(&reason_ids))
        .select((absence_reasons::id, absence_reasons::name_sv))
        .load::<(ReasonId, String)>(conn)?
        .into_iter()
        .collect();
    let mut wanted: Vec<(Ref, i64)> = Vec::new();
    for (f, _) in found {
        wanted.push((Ref::Lesson, f.lesson.into()));
        wanted.push((Ref::Person, f.pupil.into()));
        if let Some(l) = lessons.get(&f.lesson) {
            wanted.push((Ref::Person, l.by.into()));
        }
    }
    let refs = Refs::load(conn, &wanted, names)?;
    Ok(found
        .iter()
        .filter_map(|(f, modified)| {
            let lesson = lessons.get(&f.lesson)?;
            let mut record = json!({
                "id": uuid::attendance(f.lesson, f.pupil),
                "meta": query::meta(lesson.at, *modified),
                "calendarEvent": refs.of(Ref::Lesson, f.lesson),
                "student": refs.of(Ref::Person, f.pupil),
                "reporter": refs.of(Ref::Person, lesson.by),
                "isReported": true,
                "attendanceMinutes": (f.scheduled - f.valid - f.invalid - f.other).max(0),
                "validAbsenceMinutes": f.valid,
                "invalidAbsenceMinutes": f.invalid,
                "otherAttendanceMinutes": f.other,
                "reportedTimestamp": query::rfc3339(lesson.at),
            });
            // left out when there is none: the standard's absenceReason is a string
            if let Some(reason) = f.reason.and_then(|r| reasons.get(&r).cloned()) {
                record["absenceReason"] = reason.into();
            }
            Some(record)
        })
        .collect())
}
