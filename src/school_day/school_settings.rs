//! A school's own settings, for its principal and office (issue 21): how many days ahead
//! guardians may report, the absence share that alerts mentor and principal, whether pupils
//! of 18 or over report for themselves, the time of the day's absence notices, and the
//! school's holidays and study days.
//!
//! - Each setting belongs to the one school: nothing here touches another school.
//! - A holiday or study day added for a coming day cancels the school's lessons that day
//!   (by hand, as on the day page, so a sync keeps them cancelled and their minutes leave
//!   the statistics); removing it gives back the lessons it cancelled.
//! - Every change is audited with what it was before.

use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use serde_json::json;

use crate::audit;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::ids::{HolidayId, LessonId, SchoolId};
use crate::school::Act;
use crate::school::{Checked, Refusal};
use crate::school_day::day_changes;

/// The settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub report_days_ahead: i32,
    pub allow_adult_self_report: bool,
    pub alert_threshold_pct: i32,
    /// the school's notice time; `None`: NARVARO_NOTICE_AT
    pub notice_at: Option<NaiveTime>,
}

impl Settings {
    /// The form's values, checked: days ahead 0–60, threshold 1–100 %, a time HH:MM or
    /// nothing.
    pub fn parse(
        days: &str,
        threshold: &str,
        notice_at: &str,
        adults: bool,
    ) -> Result<Settings, Refusal> {
        let report_days_ahead = days
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|d| (0..=60).contains(d))
            .ok_or(Refusal::new("days_ahead_must_whole_number"))?;
        let alert_threshold_pct = threshold
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|t| (1..=100).contains(t))
            .ok_or(Refusal::new("absence_threshold_must_whole_number"))?;
        let notice_at = match notice_at.trim() {
            "" => None,
            t => Some(
                NaiveTime::parse_from_str(t, "%H:%M")
                    .map_err(|_| Refusal::new("write_time_absence_notices_hh"))?,
            ),
        };
        Ok(Settings {
            report_days_ahead,
            allow_adult_self_report: adults,
            alert_threshold_pct,
            notice_at,
        })
    }
}

/// A holiday or study day: (id, date, name).
pub type Holiday = (HolidayId, NaiveDate, String);

/// The school's name, settings and holidays from `from` on.
pub fn load(
    conn: &mut DbConn,
    school: SchoolId,
    from: NaiveDate,
) -> AppResult<(String, Settings, Vec<Holiday>)> {
    let (name, days, adults, threshold, at): (String, i32, bool, i32, Option<String>) =
        organisations::table
            .find(school)
            .select((
                organisations::name,
                organisations::report_days_ahead,
                organisations::allow_adult_self_report,
                organisations::alert_threshold_pct,
                organisations::notice_at,
            ))
            .first(conn)?;
    let holidays = holidays::table
        .filter(holidays::organisation_id.eq(school))
        .filter(holidays::holiday_date.ge(from))
        .select((holidays::id, holidays::holiday_date, holidays::name))
        .order((holidays::holiday_date, holidays::id))
        .load(conn)?;
    let settings = Settings {
        report_days_ahead: days,
        allow_adult_self_report: adults,
        alert_threshold_pct: threshold,
        notice_at: at.as_deref().and_then(notice_time),
    };
    Ok((name, settings, holidays))
}

/// A stored notice time ("HH:MM").
pub fn notice_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

/// Saves the settings of one school.
pub fn save(conn: &mut DbConn, ch: &Act, school: SchoolId, new: &Settings) -> AppResult<()> {
    conn.transaction(|conn| {
        let (_, before, _) = load(conn, school, ch.today)?;
        if before == *new {
            return Ok(());
        }
        diesel::update(organisations::table.find(school))
            .set((
                organisations::report_days_ahead.eq(new.report_days_ahead),
                organisations::allow_adult_self_report.eq(new.allow_adult_self_report),
                organisations::alert_threshold_pct.eq(new.alert_threshold_pct),
                organisations::notice_at.eq(new.notice_at.map(|t| t.format("%H:%M").to_string())),
            ))
            .execute(conn)?;
        let side = |s: &Settings| {
            json!({"report_days_ahead": s.report_days_ahead, "allow_adult_self_report": s.allow_adult_self_report,
                "alert_threshold_pct": s.alert_threshold_pct, "notice_at": s.notice_at.map(|t| t.format("%H:%M").to_string())})
        };
        audit::acted(conn, ch, "school.settings", "organisation", school, json!({"from": side(&before), "to": side(new)}))?;
        Ok(())
    })
}

/// The school's lessons of `date` that are cancelled (`cancelled`) or not.
fn lessons_of_day(
    conn: &mut DbConn,
    school: SchoolId,
    date: NaiveDate,
    cancelled: bool,
) -> AppResult<Vec<(LessonId, Option<bool>)>> {
    Ok(lessons::table
        .filter(lessons::school_id.eq(school))
        .filter(lessons::lesson_date.eq(date))
        .filter(lessons::cancelled.eq(cancelled))
        .select((lessons::id, lessons::source_cancelled))
        .order(lessons::id)
        .load(conn)?)
}

/// Adds a holiday or study day from today on; cancels the school's lessons that day.
/// Answers how many lessons were cancelled.
pub fn add_holiday(
    conn: &mut DbConn,
    ch: &Act,
    school: SchoolId,
    date: NaiveDate,
    name: &str,
) -> Checked<usize> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Ok(Err(Refusal::new("give_day_name_most_100")));
    }
    if date < ch.today {
        return Ok(Err(Refusal::new("holidays_study_days_added_from")));
    }
    conn.transaction(|conn| {
        conn.lock_organisation(school)?;
        let taken: i64 = holidays::table
            .filter(holidays::organisation_id.eq(school))
            .filter(holidays::holiday_date.eq(date))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Ok(Err(Refusal::new("day_already_holiday_school")));
        }
        let id: HolidayId = diesel::insert_into(holidays::table)
            .values((
                holidays::organisation_id.eq(school),
                holidays::holiday_date.eq(date),
                holidays::name.eq(name),
            ))
            .returning(holidays::id)
            .get_result(conn)?;
        let mut cancelled = 0;
        for (lesson, _) in lessons_of_day(conn, school, date, false)? {
            if let Err(r) = day_changes::set_cancelled(conn, ch, school, lesson, true)? {
                return Ok(Err(r));
            }
            cancelled += 1;
        }
        audit::acted(
            conn,
            ch,
            "school.holiday_added",
            "organisation",
            school,
            json!({"holiday_id": id, "date": date, "name": name, "lessons_cancelled": cancelled}),
        )?;
        Ok(Ok(cancelled))
    })
}

/// Removes a coming holiday or study day; gives back the lessons cancelled by hand that day.
pub fn remove_holiday(
    conn: &mut DbConn,
    ch: &Act,
    school: SchoolId,
    holiday: HolidayId,
) -> Checked<usize> {
    conn.transaction(|conn| {
        conn.lock_organisation(school)?;
        let row: Option<(NaiveDate, String)> = holidays::table
            .find(holiday)
            .filter(holidays::organisation_id.eq(school))
            .select((holidays::holiday_date, holidays::name))
            .first(conn)
            .optional()?;
        let Some((date, name)) = row else {
            return Err(crate::error::AppError::NotFound);
        };
        if date < ch.today {
            return Ok(Err(Refusal::new("day_has_passed_removed")));
        }
        diesel::delete(holidays::table.find(holiday)).execute(conn)?;
        let mut restored = 0;
        for (lesson, source) in lessons_of_day(conn, school, date, true)? {
            // only what the hand cancelled; the timetable's own cancellations stay
            if source == Some(false) {
                if let Err(r) = day_changes::set_cancelled(conn, ch, school, lesson, false)? {
                    return Ok(Err(r));
                }
                restored += 1;
            }
        }
        audit::acted(
            conn,
            ch,
            "school.holiday_removed",
            "organisation",
            school,
            json!({"date": date, "name": name, "lessons_restored": restored}),
        )?;
        Ok(Ok(restored))
    })
}
