//! The school calendar: the school's time zone against the UTC the database keeps, and
//! the school year and term a date falls in. Said once here for every capability.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;

/// The UTC instants a school-local lesson runs between.
pub fn utc_window(
    tz: Tz,
    date: NaiveDate,
    starts: NaiveTime,
    ends: NaiveTime,
) -> (NaiveDateTime, NaiveDateTime) {
    let utc = |t: NaiveTime| {
        date.and_time(t)
            .and_local_timezone(tz)
            .earliest()
            .map(|d| d.naive_utc())
            .unwrap_or_else(|| date.and_time(t))
    };
    (utc(starts), utc(ends))
}

/// The first day of the school year `date` is in (1 July).
pub fn school_year_start(date: NaiveDate) -> NaiveDate {
    let year = if date.month() >= 7 {
        date.year()
    } else {
        date.year() - 1
    };
    NaiveDate::from_ymd_opt(year, 7, 1).unwrap_or(date)
}

/// The first day of the term `date` is in: 1 January or 1 July.
pub fn term_start(date: NaiveDate) -> NaiveDate {
    let month = if date.month() >= 7 { 7 } else { 1 };
    NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
}

/// A UTC instant as the school's local time.
pub fn to_local(tz: Tz, t: NaiveDateTime) -> NaiveDateTime {
    t.and_utc().with_timezone(&tz).naive_local()
}

/// A school-local moment in UTC (in the hour skipped in spring: as if it were UTC).
pub fn to_utc(tz: Tz, t: NaiveDateTime) -> NaiveDateTime {
    t.and_local_timezone(tz)
        .earliest()
        .map(|d| d.naive_utc())
        .unwrap_or(t)
}
