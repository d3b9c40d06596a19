//! The day's changes at a school, made by its office (a school administrator) or its
//! principal on the day page: a substitute for a teacher's lessons, one by one or all of
//! the day at once, and a lesson cancelled or given back.
//!
//! - A substitute reports the lesson like its own teacher (`auth::access` and the roll
//!   call already know `lessons.substitute_teacher_id`). Only staff with a duty at the
//!   school on the lesson's day may stand in, and not the lesson's own teachers.
//! - A cancelled lesson expects no pupils: its minutes leave the statistics at once (the
//!   pupils' days are refreshed in the same transaction). A roll call already made is kept
//!   and the page says so.
//! - A change by hand is marked (`changed_by_hand_at`). A cancellation keeps what the
//!   school administration system said (`source_cancelled`), so that a sync leaves the
//!   hand's value alone until the system changes the lesson itself (`import::apply`).
//! - A teacher can be marked away for a period (no reason is kept): their lessons in it
//!   that have no substitute show as needing one, and "all at once" covers the period.
//! - Lessons more than `PAST_DAYS` back are not changed here. Every change is audited.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Entry};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::{
    ActivityId, LessonId, OrganisationId, PersonId, PupilId, SchoolId, StaffAbsenceId,
};
use crate::school::states::Role;
use crate::school::Act;
use crate::school::{Checked, Refusal};

/// How far back the day page changes lessons (the roll call's corrections go further).
pub const PAST_DAYS: i64 = 14;

/// The roles that may stand in for a teacher.
const STAFF_ROLES: [Role; 4] = [
    Role::Teacher,
    Role::Mentor,
    Role::Principal,
    Role::SchoolAdmin,
];

/// What the viewer's roles alone say of `may_manage`, or None when an administrator's
/// reach needs the school's municipality from the database.
pub fn manages_by_role(v: &Viewer, school: SchoolId) -> Option<AppResult<()>> {
    if v.roles.principal_of.contains(&school) || v.roles.office_of.contains(&school) {
        Some(Ok(()))
    } else if v.roles.admin_of.is_empty() {
        Some(Err(AppError::NotFound))
    } else {
        None
    }
}

/// The day page and its changes: the school's principal or office, or an administrator of
/// its municipality; 404 for everyone else.
pub fn may_manage(conn: &mut DbConn, v: &Viewer, school: SchoolId) -> AppResult<()> {
    if let Some(decided) = manages_by_role(v, school) {
        return decided;
    }
    let parent: Option<Option<OrganisationId>> = organisations::table
        .find(school)
        .filter(organisations::org_type.eq("school"))
        .select(organisations::parent_id)
        .first(conn)
        .optional()?;
    match parent.flatten() {
        Some(m) if v.roles.admin_of.contains(&m) => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

/// One lesson of the day.
pub struct DayLesson {
    pub id: LessonId,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub name: String,
    pub groups: String,
    pub substitute: Option<(PersonId, String)>,
    pub cancelled: bool,
    pub by_hand: bool,
    pub reported: bool,
}

/// A teacher's lessons of the day.
pub struct TeacherDay {
    pub teacher: (PersonId, String),
    pub lessons: Vec<DayLesson>,
    /// The teacher's absence that covers the day: (id, first day, last day).
    pub absent: Option<(StaffAbsenceId, NaiveDate, NaiveDate)>,
}

pub struct Day {
    pub school: String,
    pub date: NaiveDate,
    pub teachers: Vec<TeacherDay>,
    /// Who may stand in at the school that day: (id, name).
    pub staff: Vec<(PersonId, String)>,
    /// The school's trips that day: (group, title, school-local start and end).
    pub trips: Vec<(String, String, NaiveDateTime, NaiveDateTime)>,
}

type LessonRow = (
    LessonId,
    ActivityId,
    NaiveTime,
    NaiveTime,
    String,
    bool,
    Option<PersonId>,
    Option<NaiveDateTime>,
);

/// The school's lessons of `date`, by teacher (a lesson with two teachers under both),
/// and its trips that day.
pub fn load(conn: &mut DbConn, school: SchoolId, date: NaiveDate, tz: Tz) -> AppResult<Day> {
    let name: String = organisations::table
        .find(school)
        .select(organisations::name)
        .first(conn)?;
    let rows: Vec<LessonRow> = lessons::table
        .inner_join(activities::table)
        .filter(lessons::school_id.eq(school))
        .filter(lessons::lesson_date.eq(date))
        .select((
            lessons::id,
            lessons::activity_id,
            lessons::starts_at,
            lessons::ends_at,
            activities::display_name,
            lessons::cancelled,
            lessons::substitute_teacher_id,
            lessons::changed_by_hand_at,
        ))
        .order((lessons::starts_at, lessons::id))
        .load(conn)?;
    let activity_ids: Vec<ActivityId> = rows.iter().map(|r| r.1).collect();
    let lesson_ids: Vec<LessonId> = rows.iter().map(|r| r.0).collect();
    let teachers: Vec<(ActivityId, PersonId, String, String)> = activity_teachers::table
        .inner_join(people::table.on(people::id.eq(activity_teachers::teacher_id)))
        .filter(activity_teachers::activity_id.eq_any(&activity_ids))
        .select((
            activity_teachers::activity_id,
            people::id,
            people::given_name,
            people::family_name,
        ))
        .load(conn)?;
    let groups: Vec<(ActivityId, String)> = activity_groups::table
        .inner_join(groups::table)
        .filter(activity_groups::activity_id.eq_any(&activity_ids))
        .select((activity_groups::activity_id, groups::name))
        .order(groups::name)
        .load(conn)?;
    let reported: Vec<LessonId> = lesson_reports::table
        .filter(lesson_reports::lesson_id.eq_any(&lesson_ids))
        .select(lesson_reports::lesson_id)
        .load(conn)?;
    let staff = staff_at(conn, school, date)?;
    let name_of = |id: PersonId| {
        staff
            .iter()
            .find(|s| s.0 == id)
            .map(|s| s.1.clone())
            .or_else(|| {
                teachers
                    .iter()
                    .find(|t| t.1 == id)
                    .map(|t| format!("{} {}", t.2, t.3))
            })
            .unwrap_or_default()
    };
    let mut by_teacher: Vec<TeacherDay> = Vec::new();
    for (id, activity, starts_at, ends_at, title, cancelled, sub, by_hand) in rows {
        let lesson = || DayLesson {
            id,
            starts_at,
            ends_at,
            name: title.clone(),
            groups: groups
                .iter()
                .filter(|g| g.0 == activity)
                .map(|g| g.1.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            substitute: sub.map(|s| (s, name_of(s))),
            cancelled,
            by_hand: by_hand.is_some(),
            reported: reported.contains(&id),
        };
        for t in teachers.iter().filter(|t| t.0 == activity) {
            match by_teacher.iter_mut().find(|d| d.teacher.0 == t.1) {
                Some(d) => d.lessons.push(lesson()),
                None => by_teacher.push(TeacherDay {
                    teacher: (t.1, format!("{} {}", t.2, t.3)),
                    lessons: vec![lesson()],
                    absent: None,
                }),
            }
        }
    }
    by_teacher.sort_by(|a, b| a.teacher.1.cmp(&b.teacher.1));
    mark_away(conn, school, date, &mut by_teacher)?;
    let trips = trips_of_day(conn, school, date, tz)?;
    Ok(Day {
        school: name,
        date,
        teachers: by_teacher,
        staff,
        trips,
    })
}

/// Marks the teachers who are away on `date`.
fn mark_away(
    conn: &mut DbConn,
    school: SchoolId,
    date: NaiveDate,
    teachers: &mut [TeacherDay],
) -> AppResult<()> {
    let away: Vec<(StaffAbsenceId, PersonId, NaiveDate, NaiveDate)> = staff_absences::table
        .filter(staff_absences::school_id.eq(school))
        .filter(staff_absences::cancelled_at.is_null())
        .filter(staff_absences::first_day.le(date))
        .filter(staff_absences::last_day.ge(date))
        .select((
            staff_absences::id,
            staff_absences::person_id,
            staff_absences::first_day,
            staff_absences::last_day,
        ))
        .load(conn)?;
    for t in teachers.iter_mut() {
        t.absent = away
            .iter()
            .find(|a| a.1 == t.teacher.0)
            .map(|a| (a.0, a.2, a.3));
    }
    Ok(())
}

/// The school's trips on `date`: (group, title, school-local start and end).
fn trips_of_day(
    conn: &mut DbConn,
    school: SchoolId,
    date: NaiveDate,
    tz: Tz,
) -> AppResult<Vec<(String, String, NaiveDateTime, NaiveDateTime)>> {
    let midnight = |d: NaiveDate| crate::school::calendar::to_utc(tz, d.and_time(NaiveTime::MIN));
    let (day_starts, day_ends) = (midnight(date), midnight(date + Duration::days(1)));
    Ok(trips::table
        .inner_join(groups::table)
        .filter(trips::school_id.eq(school))
        .filter(trips::cancelled_at.is_null())
        .filter(trips::starts_at.lt(day_ends))
        .filter(trips::ends_at.gt(day_starts))
        .select((groups::name, trips::title, trips::starts_at, trips::ends_at))
        .order((trips::starts_at, trips::id))
        .load::<(String, String, NaiveDateTime, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(g, t, s, e)| {
            let local = |x| crate::school::calendar::to_local(tz, x);
            (g, t, local(s), local(e))
        })
        .collect())
}

/// Staff with a duty at the school on `date`, by name.
fn staff_at(
    conn: &mut DbConn,
    school: SchoolId,
    date: NaiveDate,
) -> AppResult<Vec<(PersonId, String)>> {
    let rows: Vec<(PersonId, String, String)> = duties::table
        .inner_join(people::table.on(people::id.eq(duties::person_id)))
        .filter(duties::organisation_id.eq(school))
        .filter(duties::role.eq_any(STAFF_ROLES))
        .filter(crate::school::duty::on(date))
        .filter(people::active.eq(true))
        .select((people::id, people::given_name, people::family_name))
        .distinct()
        .load(conn)?;
    let mut out: Vec<(PersonId, String)> = rows
        .into_iter()
        .map(|(id, g, f)| (id, format!("{g} {f}")))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// A lesson about to change: (id, date, activity, substitute, cancelled, source's cancelled).
type ToChange = (
    LessonId,
    NaiveDate,
    ActivityId,
    Option<PersonId>,
    bool,
    Option<bool>,
);

/// The lessons when each is the school's and within reach: (id, date, activity, substitute,
/// cancelled, source's cancelled). The writes that follow are conditional on what was read
/// here, so of two identical changes at the same moment one changes and audits.
fn lessons_to_change(
    conn: &mut DbConn,
    school: SchoolId,
    ids: &[LessonId],
    today: NaiveDate,
) -> Checked<Vec<ToChange>> {
    if ids.is_empty() {
        return Ok(Err(Refusal::new("choose_least_one_lesson")));
    }
    let rows: Vec<ToChange> = lessons::table
        .filter(lessons::id.eq_any(ids))
        .filter(lessons::school_id.eq(school))
        .select((
            lessons::id,
            lessons::lesson_date,
            lessons::activity_id,
            lessons::substitute_teacher_id,
            lessons::cancelled,
            lessons::source_cancelled,
        ))
        .order(lessons::id)
        .load(conn)?;
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if rows.len() != wanted.len() {
        return Err(AppError::NotFound);
    }
    if rows.iter().any(|r| r.1 < today - Duration::days(PAST_DAYS)) {
        return Ok(Err(Refusal::new("lessons_more_than_two_weeks")));
    }
    Ok(Ok(rows))
}

/// Gives the lessons to `substitute` (or takes a substitute away, with `None`).
/// Answers how many lessons changed.
pub fn set_substitute(
    conn: &mut DbConn,
    ch: &Act,
    school: SchoolId,
    ids: &[LessonId],
    substitute: Option<PersonId>,
) -> Checked<usize> {
    conn.transaction(|conn| {
        let rows = match lessons_to_change(conn, school, ids, ch.today)? {
            Ok(rows) => rows,
            Err(r) => return Ok(Err(r)),
        };
        if let Some(s) = substitute {
            for (_, date, activity, ..) in &rows {
                if !staff_at(conn, school, *date)?.iter().any(|p| p.0 == s) {
                    return Ok(Err(Refusal::new("substitute_must_have_duty_school")));
                }
                let own: i64 = activity_teachers::table
                    .filter(activity_teachers::activity_id.eq(activity))
                    .filter(activity_teachers::teacher_id.eq(s))
                    .count()
                    .get_result(conn)?;
                if own > 0 {
                    return Ok(Err(Refusal::new("substitute_already_teaches_lesson")));
                }
            }
        }
        let mut changed = 0;
        for (id, _, _, before, ..) in rows {
            if before == substitute {
                continue;
            }
            let target = lessons::table.find(id);
            let set = (
                lessons::substitute_teacher_id.eq(substitute),
                lessons::changed_by_hand_at.eq(Some(ch.now)),
            );
            let done = match before {
                Some(b) => diesel::update(target.filter(lessons::substitute_teacher_id.eq(b)))
                    .set(set)
                    .execute(conn)?,
                None => diesel::update(target.filter(lessons::substitute_teacher_id.is_null()))
                    .set(set)
                    .execute(conn)?,
            };
            if done == 0 {
                continue;
            }
            audit::acted(
                conn,
                ch,
                if substitute.is_some() {
                    "lesson.substitute"
                } else {
                    "lesson.substitute_removed"
                },
                "lesson",
                id,
                json!({"substitute_id": substitute, "before": before, "school_id": school}),
            )?;
            changed += 1;
        }
        Ok(Ok(changed))
    })
}

/// Cancels a lesson, or gives a cancelled one back. Answers whether it had a roll call
/// (which is kept).
pub fn set_cancelled(
    conn: &mut DbConn,
    ch: &Act,
    school: SchoolId,
    id: LessonId,
    cancelled: bool,
) -> Checked<bool> {
    conn.transaction(|conn| {
        let row = match lessons_to_change(conn, school, &[id], ch.today)? {
            Ok(mut rows) => rows.remove(0),
            Err(r) => return Ok(Err(r)),
        };
        let (_, date, activity, _, before, source) = row;
        let reported: i64 = lesson_reports::table
            .filter(lesson_reports::lesson_id.eq(id))
            .count()
            .get_result(conn)?;
        if before == cancelled {
            return Ok(Ok(reported > 0));
        }
        // what the school administration system says stays known; back to its value,
        // the lesson is no longer changed by hand
        let source = source.unwrap_or(before);
        let source_kept = (source != cancelled).then_some(source);
        let done = diesel::update(
            lessons::table
                .find(id)
                .filter(lessons::cancelled.eq(before)),
        )
        .set((
            lessons::cancelled.eq(cancelled),
            lessons::source_cancelled.eq(source_kept),
            lessons::changed_by_hand_at.eq(Some(ch.now)),
        ))
        .execute(conn)?;
        if done == 0 {
            // the same change, made at the same moment by someone else
            return Ok(Ok(reported > 0));
        }
        let pupils: Vec<PupilId> = group_memberships::table
            .inner_join(
                activity_groups::table
                    .on(activity_groups::group_id.eq(group_memberships::group_id)),
            )
            .filter(activity_groups::activity_id.eq(activity))
            .filter(crate::school::membership::on(date))
            .select(group_memberships::pupil_id)
            .distinct()
            .load(conn)?;
        crate::insight::statistics::store::refresh(conn, ch.tz, &pupils, date, date)?;
        audit::record(
            conn,
            Entry {
                at: ch.now,
                actor: Some(ch.actor.id),
                action: if cancelled {
                    "lesson.cancelled"
                } else {
                    "lesson.restored"
                },
                entity: "lesson",
                entity_id: Some(id.into()),
                detail: json!({"school_id": school, "date": date, "roll_call_kept": reported > 0}),
                client_addr: Some(ch.client_addr),
            },
        )?;
        Ok(Ok(reported > 0))
    })
}

/// The longest period one substitution "all at once" or one absence covers.
pub const MAX_PERIOD_DAYS: i64 = 60;

/// A teacher's lessons at the school from `first` to `last` that go ahead (for "all at
/// once").
pub fn lessons_of_teacher(
    conn: &mut DbConn,
    school: SchoolId,
    teacher: PersonId,
    (first, last): (NaiveDate, NaiveDate),
) -> AppResult<Vec<LessonId>> {
    Ok(lessons::table
        .inner_join(
            activity_teachers::table.on(activity_teachers::activity_id.eq(lessons::activity_id)),
        )
        .filter(lessons::school_id.eq(school))
        .filter(lessons::lesson_date.between(first, last))
        .filter(lessons::cancelled.eq(false))
        .filter(activity_teachers::teacher_id.eq(teacher))
        .select(lessons::id)
        .order(lessons::id)
        .load(conn)?)
}

/// Whether a period of days can be changed here: not backwards, not over
/// `MAX_PERIOD_DAYS`, not starting more than `PAST_DAYS` back.
pub fn check_period(today: NaiveDate, first: NaiveDate, last: NaiveDate) -> Result<(), Refusal> {
    if last < first {
        return Err(Refusal::new("last_day_before_first_day"));
    }
    if last - first >= Duration::days(MAX_PERIOD_DAYS) {
        return Err(Refusal::new("most_60_days_time"));
    }
    if first < today - Duration::days(PAST_DAYS) {
        return Err(Refusal::new("lessons_more_than_two_weeks"));
    }
    Ok(())
}

/// Marks a teacher of the school away from `first` to `last` (no reason is kept). The
/// teacher must have a duty at the school on the first day, and no other absence there
/// may overlap it (checked under the teacher's row lock). Answers how many of their
/// lessons in the period go ahead without a substitute.
pub fn mark_absent(
    conn: &mut DbConn,
    ch: &Act,
    school: SchoolId,
    teacher: PersonId,
    (first, last): (NaiveDate, NaiveDate),
) -> Checked<usize> {
    if let Err(r) = check_period(ch.today, first, last) {
        return Ok(Err(r));
    }
    conn.transaction(|conn| {
        if !staff_at(conn, school, first)?.iter().any(|p| p.0 == teacher) {
            return Ok(Err(Refusal::new("choose_someone_who_works_school")));
        }
        conn.lock_person(teacher)?;
        let overlapping: i64 = staff_absences::table
            .filter(staff_absences::school_id.eq(school))
            .filter(staff_absences::person_id.eq(teacher))
            .filter(staff_absences::cancelled_at.is_null())
            .filter(staff_absences::first_day.le(last))
            .filter(staff_absences::last_day.ge(first))
            .count()
            .get_result(conn)?;
        if overlapping > 0 {
            return Ok(Err(Refusal::new("teacher_already_away_part_time")));
        }
        let id: StaffAbsenceId = diesel::insert_into(staff_absences::table)
            .values((
                staff_absences::school_id.eq(school),
                staff_absences::person_id.eq(teacher),
                staff_absences::first_day.eq(first),
                staff_absences::last_day.eq(last),
                staff_absences::created_by.eq(ch.actor.id),
                staff_absences::created_at.eq(ch.now),
            ))
            .returning(staff_absences::id)
            .get_result(conn)?;
        let lessons = lessons_of_teacher(conn, school, teacher, (first, last))?;
        let uncovered: i64 = lessons::table
            .filter(lessons::id.eq_any(&lessons))
            .filter(lessons::substitute_teacher_id.is_null())
            .count()
            .get_result(conn)?;
        audit::acted(conn, ch, "staff.absent", "organisation", school, json!({"absence_id": id, "person_id": teacher, "first_day": first, "last_day": last, "lessons_without_substitute": uncovered}))?;
        Ok(Ok(uncovered as usize))
    })
}

/// Takes a teacher's absence back (the teacher came back, or it was a mistake); their
/// substitutes stay until they are changed.
pub fn end_absence(
    conn: &mut DbConn,
    ch: &Act,
    school: SchoolId,
    absence: StaffAbsenceId,
) -> Checked<()> {
    conn.transaction(|conn| {
        let person: Option<PersonId> = staff_absences::table
            .find(absence)
            .filter(staff_absences::school_id.eq(school))
            .select(staff_absences::person_id)
            .first(conn)
            .optional()?;
        let Some(person) = person else {
            return Err(AppError::NotFound);
        };
        let done = diesel::update(
            staff_absences::table
                .find(absence)
                .filter(staff_absences::cancelled_at.is_null()),
        )
        .set((
            staff_absences::cancelled_at.eq(Some(ch.now)),
            staff_absences::cancelled_by.eq(Some(ch.actor.id)),
        ))
        .execute(conn)?;
        if done == 1 {
            audit::acted(
                conn,
                ch,
                "staff.absence_ended",
                "organisation",
                school,
                json!({"absence_id": absence, "person_id": person}),
            )?;
        }
        Ok(Ok(()))
    })
}
