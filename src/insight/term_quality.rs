//! Data quality before figures: what would make a term report wrong, counted by school.
//! Lessons not reported, teachers who report few of their lessons, lessons nobody teaches,
//! pupils in no class, a school without its unit code, lessons on days the school is closed,
//! and marks set after the term ended. Each is a code and a count; the edge words them.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use diesel::dsl::{count, count_star, exists, not};
use diesel::prelude::*;
use serde::Serialize;

use super::statistics::Period;
use super::term_report::ReportSchool;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::{OrganisationId, PersonId, SchoolId};

/// A teacher whose share of reported lessons is below this (per cent) is listed.
pub const LOW_REPORTING_PCT: i64 = 90;

/// What can be wrong, in the order a page lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// the school has no school unit code (skolenhetskod)
    NoSchoolUnitCode,
    /// past lessons without a roll call
    UnreportedLessons,
    /// teachers who reported under `LOW_REPORTING_PCT` per cent of their past lessons
    LowReportingTeachers,
    /// lessons with no teacher and no substitute
    LessonsWithoutTeacher,
    /// pupils with lessons but no class at the school
    PupilsWithoutClass,
    /// lessons on a weekend or a holiday of the school or the municipality
    LessonsOffSchoolDays,
    /// marks set after the term's last day
    MarksAfterTerm,
}

impl Problem {
    pub const ALL: [Problem; 7] = [
        Problem::NoSchoolUnitCode,
        Problem::UnreportedLessons,
        Problem::LowReportingTeachers,
        Problem::LessonsWithoutTeacher,
        Problem::PupilsWithoutClass,
        Problem::LessonsOffSchoolDays,
        Problem::MarksAfterTerm,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Problem::NoSchoolUnitCode => "no_school_unit_code",
            Problem::UnreportedLessons => "unreported_lessons",
            Problem::LowReportingTeachers => "low_reporting_teachers",
            Problem::LessonsWithoutTeacher => "lessons_without_teacher",
            Problem::PupilsWithoutClass => "pupils_without_class",
            Problem::LessonsOffSchoolDays => "lessons_off_school_days",
            Problem::MarksAfterTerm => "marks_after_term",
        }
    }
}

/// One school's problems: how many of each kind (only kinds found).
#[derive(Debug, Clone, Serialize)]
pub struct SchoolCheck {
    pub school: ReportSchool,
    pub found: BTreeMap<Problem, i64>,
}

impl SchoolCheck {
    /// How many problems in all.
    pub fn total(&self) -> i64 {
        self.found.values().sum()
    }
}

/// The whole check: every school, with or without problems.
pub fn check(
    conn: &mut DbConn,
    tz: Tz,
    municipalities: &[OrganisationId],
    schools: Vec<ReportSchool>,
    period: Period,
    today: NaiveDate,
) -> AppResult<Vec<SchoolCheck>> {
    let ids: Vec<SchoolId> = schools.iter().map(|s| s.id).collect();
    let mut found: HashMap<SchoolId, BTreeMap<Problem, i64>> = HashMap::new();
    let mut put = |school: SchoolId, p: Problem, n: i64| {
        if n > 0 {
            *found.entry(school).or_default().entry(p).or_default() += n;
        }
    };
    for s in &schools {
        if s.unit_code.is_none() {
            put(s.id, Problem::NoSchoolUnitCode, 1);
        }
    }
    // lessons of today may still be reported
    let past = Period {
        from: period.from,
        to: period.to.min(today - Duration::days(1)),
    };
    if !past.is_empty() {
        for (s, n) in unreported(conn, &ids, past)? {
            put(s, Problem::UnreportedLessons, n);
        }
        for (s, n) in low_reporting(conn, &ids, past)? {
            put(s, Problem::LowReportingTeachers, n);
        }
    }
    let so_far = period.until(today);
    if !so_far.is_empty() {
        for (s, n) in without_teacher(conn, &ids, so_far)? {
            put(s, Problem::LessonsWithoutTeacher, n);
        }
        for (s, n) in without_class(conn, &ids, so_far)? {
            put(s, Problem::PupilsWithoutClass, n);
        }
    }
    for (s, n) in off_days(conn, &ids, municipalities, period)? {
        put(s, Problem::LessonsOffSchoolDays, n);
    }
    for (s, n) in marked_after(conn, tz, &ids, period)? {
        put(s, Problem::MarksAfterTerm, n);
    }
    Ok(schools
        .into_iter()
        .map(|school| SchoolCheck {
            found: found.remove(&school.id).unwrap_or_default(),
            school,
        })
        .collect())
}

/// Past lessons, not cancelled, with no roll call, per school.
fn unreported(conn: &mut DbConn, ids: &[SchoolId], p: Period) -> AppResult<Vec<(SchoolId, i64)>> {
    Ok(lessons::table
        .filter(lessons::school_id.eq_any(ids))
        .filter(lessons::lesson_date.between(p.from, p.to))
        .filter(lessons::cancelled.eq(false))
        .filter(not(exists(
            lesson_reports::table.filter(lesson_reports::lesson_id.eq(lessons::id)),
        )))
        .group_by(lessons::school_id)
        .select((lessons::school_id, count_star()))
        .load(conn)?)
}

/// Teachers (of their own activities' lessons, substitutes aside) who reported fewer than
/// `LOW_REPORTING_PCT` per cent of them, per school.
fn low_reporting(
    conn: &mut DbConn,
    ids: &[SchoolId],
    p: Period,
) -> AppResult<Vec<(SchoolId, i64)>> {
    let mut out: BTreeMap<SchoolId, i64> = BTreeMap::new();
    for school in ids {
        let rows: Vec<(PersonId, i64, i64)> = lessons::table
            .inner_join(
                activity_teachers::table
                    .on(activity_teachers::activity_id.eq(lessons::activity_id)),
            )
            .left_join(lesson_reports::table)
            .filter(lessons::school_id.eq(school))
            .filter(lessons::lesson_date.between(p.from, p.to))
            .filter(lessons::cancelled.eq(false))
            .filter(lessons::substitute_teacher_id.is_null())
            .group_by(activity_teachers::teacher_id)
            .select((
                activity_teachers::teacher_id,
                count_star(),
                count(lesson_reports::lesson_id.nullable()),
            ))
            .load(conn)?;
        let low = rows
            .iter()
            .filter(|(_, lessons, reported)| reported * 100 < lessons * LOW_REPORTING_PCT)
            .count();
        if low > 0 {
            out.insert(*school, low as i64);
        }
    }
    Ok(out.into_iter().collect())
}

/// Lessons, not cancelled, with no teacher on their activity and no substitute.
fn without_teacher(
    conn: &mut DbConn,
    ids: &[SchoolId],
    p: Period,
) -> AppResult<Vec<(SchoolId, i64)>> {
    Ok(lessons::table
        .filter(lessons::school_id.eq_any(ids))
        .filter(lessons::lesson_date.between(p.from, p.to))
        .filter(lessons::cancelled.eq(false))
        .filter(lessons::substitute_teacher_id.is_null())
        .filter(not(exists(activity_teachers::table.filter(
            activity_teachers::activity_id.eq(lessons::activity_id),
        ))))
        .group_by(lessons::school_id)
        .select((lessons::school_id, count_star()))
        .load(conn)?)
}

/// Pupils with scheduled lessons on a day they were in no class of the school.
fn without_class(
    conn: &mut DbConn,
    ids: &[SchoolId],
    p: Period,
) -> AppResult<Vec<(SchoolId, i64)>> {
    Ok(absence_days::table
        .filter(absence_days::school_id.eq_any(ids))
        .filter(absence_days::day.between(p.from, p.to))
        .filter(absence_days::class_id.is_null())
        .group_by(absence_days::school_id)
        .select((
            absence_days::school_id,
            count(absence_days::pupil_id).aggregate_distinct(),
        ))
        .load(conn)?)
}

/// Lessons, not cancelled, on a Saturday, a Sunday or a holiday of the school or its
/// municipality.
fn off_days(
    conn: &mut DbConn,
    ids: &[SchoolId],
    municipalities: &[OrganisationId],
    p: Period,
) -> AppResult<Vec<(SchoolId, i64)>> {
    let days: Vec<(SchoolId, NaiveDate, i64)> = lessons::table
        .filter(lessons::school_id.eq_any(ids))
        .filter(lessons::lesson_date.between(p.from, p.to))
        .filter(lessons::cancelled.eq(false))
        .group_by((lessons::school_id, lessons::lesson_date))
        .select((lessons::school_id, lessons::lesson_date, count_star()))
        .load(conn)?;
    let mut orgs: Vec<i64> = ids.iter().map(|s| i64::from(*s)).collect();
    orgs.extend(municipalities.iter().map(|m| i64::from(*m)));
    let closed: HashSet<(i64, NaiveDate)> = holidays::table
        .filter(holidays::organisation_id.eq_any(&orgs))
        .filter(holidays::holiday_date.between(p.from, p.to))
        .select((holidays::organisation_id, holidays::holiday_date))
        .load::<(i64, NaiveDate)>(conn)?
        .into_iter()
        .collect();
    let parent: HashMap<SchoolId, Vec<i64>> = organisations::table
        .filter(organisations::id.eq_any(ids))
        .select((organisations::id, organisations::parent_id))
        .load::<(SchoolId, Option<i64>)>(conn)?
        .into_iter()
        .map(|(s, m)| (s, m.into_iter().chain([i64::from(s)]).collect()))
        .collect();
    let mut out: BTreeMap<SchoolId, i64> = BTreeMap::new();
    for (school, day, n) in days {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let holiday = parent
            .get(&school)
            .is_some_and(|orgs| orgs.iter().any(|o| closed.contains(&(*o, day))));
        if weekend || holiday {
            *out.entry(school).or_default() += n;
        }
    }
    Ok(out.into_iter().collect())
}

/// Marks on the term's lessons set after the term's last day (school-local midnight).
fn marked_after(
    conn: &mut DbConn,
    tz: Tz,
    ids: &[SchoolId],
    p: Period,
) -> AppResult<Vec<(SchoolId, i64)>> {
    let end =
        crate::school::calendar::to_utc(tz, (p.to + Duration::days(1)).and_time(NaiveTime::MIN));
    Ok(attendance_marks::table
        .inner_join(lessons::table)
        .filter(lessons::school_id.eq_any(ids))
        .filter(lessons::lesson_date.between(p.from, p.to))
        .filter(attendance_marks::marked_at.ge(end))
        .group_by(lessons::school_id)
        .select((lessons::school_id, count_star()))
        .load(conn)?)
}
