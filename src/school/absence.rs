//! What counts as absence, and whether it is valid: the rules every view shares (the roll
//! call, the mentor's week, and the statistics).
//!
//! - A mark counts as absence unless its reason says it does not ("taking part remotely").
//! - Absence is valid when its reason is valid, or when a guardian's absence report or
//!   granted leave covers the lesson, also when the teacher marked the pupil first.
//! - Otherwise it is invalid (a late arrival without a reason, truancy).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::calendar::utc_window;
use crate::school::ids::{
    ActivityId, LeaveId, LessonId, PupilId, ReasonId, ReportId, SchoolId, TripId,
};
use crate::school::states::LeaveStatus;

/// The flags of an absence reason that decide how a mark counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonFlags {
    pub counts_as_absence: bool,
    pub is_valid: bool,
}

/// Absent minutes of one mark, split into valid and invalid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minutes {
    pub valid: i64,
    pub invalid: i64,
}

impl Minutes {
    pub fn total(&self) -> i64 {
        self.valid + self.invalid
    }

    pub fn add(&mut self, other: Minutes) {
        self.valid += other.valid;
        self.invalid += other.invalid;
    }
}

/// How a mark of `minutes` counts, given its reason and whether a report or leave covers it.
pub fn classify(minutes: i32, reason: Option<ReasonFlags>, covered: bool) -> Minutes {
    let minutes = i64::from(minutes.max(0));
    match reason {
        Some(r) if !r.counts_as_absence => Minutes::default(),
        Some(r) if r.is_valid => Minutes {
            valid: minutes,
            invalid: 0,
        },
        _ if covered => Minutes {
            valid: minutes,
            invalid: 0,
        },
        _ => Minutes {
            valid: 0,
            invalid: minutes,
        },
    }
}

/// What marks a pupil absent from a lesson before anyone marked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cover {
    /// what covers the pupil; reads as `"kind": …, "id": …`
    #[serde(flatten)]
    pub by: CoveredBy,
    /// The reason a mark made from it carries.
    #[serde(skip)]
    pub reason_id: Option<ReasonId>,
}

/// What covers a pupil: a guardian's or staff-registered report, granted leave, or a trip
/// of the pupil's group (`crate::attendance::trips`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum CoveredBy {
    AbsenceReport(ReportId),
    Leave(LeaveId),
    Trip(TripId),
}

impl CoveredBy {
    /// The kind's code: "absence_report", "leave" or "trip".
    pub fn kind(&self) -> &'static str {
        match self {
            CoveredBy::AbsenceReport(_) => "absence_report",
            CoveredBy::Leave(_) => "leave",
            CoveredBy::Trip(_) => "trip",
        }
    }
}

impl Cover {
    /// Whether it makes absence valid whatever the mark says: a report or leave does; a
    /// trip only gives its reason, and a pupil who stayed behind and was marked absent
    /// without one is unexplained absence.
    pub fn excuses(&self) -> bool {
        !matches!(self.by, CoveredBy::Trip(_))
    }
}

/// For each of `pupils`, what covers them during one lesson of the school's activity (a
/// report that overlaps it wins over leave, and either over a trip of their group).
pub fn covers_for_lesson(
    conn: &mut DbConn,
    (school, activity, pupils): (SchoolId, ActivityId, &[PupilId]),
    window: (NaiveDateTime, NaiveDateTime),
    date: NaiveDate,
    leave_reason: Option<ReasonId>,
) -> AppResult<HashMap<PupilId, Cover>> {
    let mut out = HashMap::new();
    if pupils.is_empty() {
        return Ok(out);
    }
    // the lesson's pupils as a subquery, not a list of binds: the statement is the same
    // for every lesson, so it is prepared once per connection (a list of 30 ids is a new
    // statement to parse each time); the rows are then narrowed to `pupils`
    let of_lesson = || {
        group_memberships::table
            .inner_join(
                activity_groups::table
                    .on(activity_groups::group_id.eq(group_memberships::group_id)),
            )
            .filter(activity_groups::activity_id.eq(activity))
            .filter(crate::school::membership::on(date))
            .select(group_memberships::pupil_id)
    };
    let wanted: std::collections::HashSet<PupilId> = pupils.iter().copied().collect();
    // One statement: the pupils on a trip of one of their groups at the time (but those
    // who stay at school), the pupils with granted leave that day, and the pupils a
    // guardian reported absent at the time; each row says which of the three (1, 2, 3).
    // A trip's rows are all its groups' pupils (a school has few trips at a time, mostly
    // none), narrowed to the lesson's below: a list of ids would make the statement new
    // text for SQLite to prepare on every request.
    use crate::db::fixed::fixed;
    use diesel::sql_types::{BigInt, Integer, Nullable};
    // (a union is built for each backend: diesel's two-backend connection has none)
    let query = || {
        trips::table
            .inner_join(
                group_memberships::table.on(group_memberships::group_id.eq(trips::group_id)),
            )
            .left_join(
                trip_stays::table.on(trip_stays::trip_id
                    .eq(trips::id)
                    .and(trip_stays::pupil_id.eq(group_memberships::pupil_id))),
            )
            .filter(trips::school_id.eq(school))
            .filter(trips::cancelled_at.is_null())
            .filter(trips::starts_at.lt(window.1))
            .filter(trips::ends_at.gt(window.0))
            .filter(crate::school::membership::on(date))
            .filter(trip_stays::trip_id.is_null())
            .select((
                fixed::<Integer>("1"),
                trips::id,
                group_memberships::pupil_id,
                trips::reason_id.nullable(),
            ))
            .union_all(
                leave_applications::table
                    .filter(leave_applications::pupil_id.eq_any(of_lesson()))
                    .filter(leave_applications::status.eq(LeaveStatus::Approved))
                    .filter(leave_applications::start_date.le(date))
                    .filter(leave_applications::end_date.ge(date))
                    .select((
                        fixed::<Integer>("2"),
                        leave_applications::id,
                        leave_applications::pupil_id,
                        fixed::<Nullable<BigInt>>("NULL"),
                    )),
            )
            .union_all(
                absence_reports::table
                    .filter(absence_reports::pupil_id.eq_any(of_lesson()))
                    .filter(absence_reports::cancelled_at.is_null())
                    .filter(absence_reports::starts_at.lt(window.1))
                    .filter(absence_reports::ends_at.gt(window.0))
                    .select((
                        fixed::<Integer>("3"),
                        absence_reports::id,
                        absence_reports::pupil_id,
                        absence_reports::reason_id.nullable(),
                    )),
            )
    };
    let rows: Vec<(i32, i64, PupilId, Option<ReasonId>)> =
        crate::on_backend!(conn, c => query().load(c))?;
    // a trip first, then leave, then a report: the pupil's own leave or report wins over
    // a trip, and of several the newest
    let mut rows: Vec<_> = rows.into_iter().filter(|r| wanted.contains(&r.2)).collect();
    rows.sort_unstable_by_key(|r| (r.0, r.1));
    for (kind, id, pupil, reason) in rows {
        let cover = match kind {
            1 => Cover {
                by: CoveredBy::Trip(TripId(id)),
                reason_id: reason,
            },
            2 => Cover {
                by: CoveredBy::Leave(LeaveId(id)),
                reason_id: leave_reason,
            },
            _ => Cover {
                by: CoveredBy::AbsenceReport(ReportId(id)),
                reason_id: reason,
            },
        };
        out.insert(pupil, cover);
    }
    Ok(out)
}

/// A reason as people read it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReasonName {
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
}

/// One lesson with a mark for the pupil, as the absence history shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LessonAbsence {
    pub lesson_id: LessonId,
    pub date: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub subject: String,
    pub status: String,
    pub minutes: i32,
    pub valid_minutes: i64,
    pub invalid_minutes: i64,
    /// "absence_report", "leave", or null
    pub covered_by: Option<&'static str>,
    /// invalid absence on a day for which leave was applied for and refused (absence
    /// despite refused leave, "frånvaro trots avslagen ledighet")
    pub refused_leave: bool,
    /// The mark's reason, unless it is health-related (shown as reported absence, never
    /// named: GDPR art. 9) or there is none.
    pub reason: Option<ReasonName>,
    /// Invalid absence the guardians do not hear of: its reason sends no notice.
    #[serde(skip)]
    pub silent: bool,
    /// who marked it (the teacher)
    pub marked_by: String,
}

/// (first day, last day, status) of a pupil's leave
type LeaveSpan = (NaiveDate, NaiveDate, LeaveStatus);

/// The pupil's granted and refused leave touching the period, in one query.
fn granted_and_refused(
    conn: &mut DbConn,
    pupil: PupilId,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<(Vec<LeaveSpan>, Vec<LeaveSpan>)> {
    Ok(leave_applications::table
        .filter(leave_applications::pupil_id.eq(pupil))
        .filter(leave_applications::status.eq_any([LeaveStatus::Approved, LeaveStatus::Rejected]))
        .filter(leave_applications::start_date.le(to))
        .filter(leave_applications::end_date.ge(from))
        .select((
            leave_applications::start_date,
            leave_applications::end_date,
            leave_applications::status,
        ))
        .load::<LeaveSpan>(conn)?
        .into_iter()
        .partition(|l| l.2 == LeaveStatus::Approved))
}

/// The pupil's marked lessons between two school-local dates, newest first.
pub fn history(
    conn: &mut DbConn,
    pupil: PupilId,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> AppResult<Vec<LessonAbsence>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        LessonId,
        NaiveDate,
        NaiveTime,
        NaiveTime,
        String,
        String,
        i32,
        Option<bool>,
        Option<bool>,
        String,
        String,
        Option<(String, String, String, bool, bool)>,
    )> = attendance_marks::table
        .inner_join(lessons::table)
        .inner_join(activities::table.on(activities::id.eq(lessons::activity_id)))
        .left_join(absence_reasons::table)
        .inner_join(people::table.on(people::id.eq(attendance_marks::marked_by)))
        .filter(attendance_marks::pupil_id.eq(pupil))
        .filter(lessons::lesson_date.between(from, to))
        .select((
            lessons::id,
            lessons::lesson_date,
            lessons::starts_at,
            lessons::ends_at,
            activities::subject_name,
            attendance_marks::status,
            attendance_marks::minutes,
            absence_reasons::counts_as_absence.nullable(),
            absence_reasons::is_valid.nullable(),
            people::given_name,
            people::family_name,
            (
                absence_reasons::code,
                absence_reasons::name_sv,
                absence_reasons::name_en,
                absence_reasons::is_sick,
                absence_reasons::sends_notice,
            )
                .nullable(),
        ))
        .order((lessons::lesson_date.desc(), lessons::starts_at.desc()))
        .limit(1000)
        .load(conn)?;
    let start = utc_window(tz, from, NaiveTime::MIN, NaiveTime::MIN).0;
    let end = utc_window(
        tz,
        to + chrono::Duration::days(1),
        NaiveTime::MIN,
        NaiveTime::MIN,
    )
    .0;
    let reports: Vec<(NaiveDateTime, NaiveDateTime)> = absence_reports::table
        .filter(absence_reports::pupil_id.eq(pupil))
        .filter(absence_reports::cancelled_at.is_null())
        .filter(absence_reports::starts_at.lt(end))
        .filter(absence_reports::ends_at.gt(start))
        .select((absence_reports::starts_at, absence_reports::ends_at))
        .load(conn)?;
    let (leave, refused) = granted_and_refused(conn, pupil, from, to)?;
    Ok(rows
        .into_iter()
        .map(
            |(lesson_id, date, s, e, subject, status, minutes, counts, valid, g, f, named)| {
                let (ws, we) = utc_window(tz, date, s, e);
                let covered_by = if reports.iter().any(|r| r.0 < we && r.1 > ws) {
                    Some("absence_report")
                } else if leave.iter().any(|l| l.0 <= date && l.1 >= date) {
                    Some("leave")
                } else {
                    None
                };
                let reason = counts.zip(valid).map(|(c, v)| ReasonFlags {
                    counts_as_absence: c,
                    is_valid: v,
                });
                let m = classify(minutes, reason, covered_by.is_some());
                LessonAbsence {
                    lesson_id,
                    date,
                    starts_at: s,
                    ends_at: e,
                    subject,
                    status,
                    minutes,
                    valid_minutes: m.valid,
                    invalid_minutes: m.invalid,
                    refused_leave: m.invalid > 0
                        && refused.iter().any(|l| l.0 <= date && l.1 >= date),
                    covered_by,
                    silent: named.as_ref().is_some_and(|n| !n.4),
                    reason: named
                        .filter(|n| !n.3)
                        .map(|(code, name_sv, name_en, ..)| ReasonName {
                            code,
                            name_sv,
                            name_en,
                        }),
                    marked_by: format!("{g} {f}"),
                }
            },
        )
        .collect())
}

/// What the child's card says about today.
pub enum TodayState {
    ReportedAbsent,
    OnLeave,
    MarkedAbsent,
    /// Lessons today: the first starts then, the last ends then.
    Expected {
        first: NaiveTime,
        last: NaiveTime,
    },
    /// No lesson today (a weekend, a holiday, a day without the child's groups).
    NoLessons,
}

impl TodayState {
    /// Whether "sick today" means something: a lesson today that has not ended yet, and
    /// nothing filed for the day already.
    pub fn sick_today_helps(&self, now: NaiveTime) -> bool {
        match self {
            TodayState::Expected { last, .. } => *last > now,
            // a teacher's mark today: a report still turns it into valid absence
            TodayState::MarkedAbsent => true,
            _ => false,
        }
    }
}

/// The pupil's lessons (not cancelled) on a day, school-local start and end, earliest first.
pub fn lessons_on(
    conn: &mut DbConn,
    pupil: PupilId,
    date: NaiveDate,
) -> AppResult<Vec<(NaiveTime, NaiveTime)>> {
    let groups = group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .filter(crate::school::membership::on(date))
        .select(group_memberships::group_id);
    Ok(lessons::table
        .inner_join(
            activity_groups::table.on(activity_groups::activity_id.eq(lessons::activity_id)),
        )
        .filter(activity_groups::group_id.eq_any(groups))
        .filter(lessons::lesson_date.eq(date))
        .filter(lessons::cancelled.eq(false))
        .select((lessons::starts_at, lessons::ends_at))
        .distinct()
        .order(lessons::starts_at)
        .load(conn)?)
}

/// Whether the pupil is reported absent, on leave, marked absent (or late) or expected
/// today, in that order.
pub fn today_state(
    conn: &mut DbConn,
    pupil: PupilId,
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> AppResult<TodayState> {
    let (start, end) = utc_window(
        tz,
        today,
        NaiveTime::MIN,
        NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN),
    );
    let reported: i64 = absence_reports::table
        .filter(absence_reports::pupil_id.eq(pupil))
        .filter(absence_reports::cancelled_at.is_null())
        .filter(absence_reports::starts_at.lt(end))
        .filter(absence_reports::ends_at.gt(start))
        .count()
        .get_result(conn)?;
    if reported > 0 {
        return Ok(TodayState::ReportedAbsent);
    }
    let leave: i64 = leave_applications::table
        .filter(leave_applications::pupil_id.eq(pupil))
        .filter(leave_applications::status.eq(LeaveStatus::Approved))
        .filter(leave_applications::start_date.le(today))
        .filter(leave_applications::end_date.ge(today))
        .count()
        .get_result(conn)?;
    if leave > 0 {
        return Ok(TodayState::OnLeave);
    }
    let marked: i64 = attendance_marks::table
        .inner_join(lessons::table)
        .filter(attendance_marks::pupil_id.eq(pupil))
        .filter(lessons::lesson_date.eq(today))
        .count()
        .get_result(conn)?;
    if marked > 0 {
        return Ok(TodayState::MarkedAbsent);
    }
    let day = lessons_on(conn, pupil, today)?;
    Ok(match (day.first(), day.iter().map(|l| l.1).max()) {
        (Some(first), Some(last)) => TodayState::Expected {
            first: first.0,
            last,
        },
        _ => TodayState::NoLessons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: ReasonFlags = ReasonFlags {
        counts_as_absence: true,
        is_valid: true,
    };
    const INVALID: ReasonFlags = ReasonFlags {
        counts_as_absence: true,
        is_valid: false,
    };
    const REMOTE: ReasonFlags = ReasonFlags {
        counts_as_absence: false,
        is_valid: true,
    };

    #[test]
    fn marks_count_by_reason_and_cover() {
        assert_eq!(
            classify(60, None, false),
            Minutes {
                valid: 0,
                invalid: 60
            }
        );
        assert_eq!(
            classify(60, None, true),
            Minutes {
                valid: 60,
                invalid: 0
            }
        );
        assert_eq!(
            classify(10, Some(VALID), false),
            Minutes {
                valid: 10,
                invalid: 0
            }
        );
        // a guardian's report makes even an "unexplained" mark valid
        assert_eq!(
            classify(60, Some(INVALID), true),
            Minutes {
                valid: 60,
                invalid: 0
            }
        );
        assert_eq!(classify(60, Some(INVALID), false).invalid, 60);
        assert_eq!(classify(60, Some(REMOTE), false).total(), 0);
        assert_eq!(classify(-5, None, false).total(), 0);
    }

    #[test]
    fn lesson_windows_are_converted_to_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let (s, e) = utc_window(
            chrono_tz::Europe::Stockholm,
            d,
            NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        );
        assert_eq!(
            s,
            d.and_hms_opt(7, 0, 0).unwrap(),
            "CET is UTC+1 in November"
        );
        assert_eq!(e, d.and_hms_opt(8, 0, 0).unwrap());
    }
}
