//! `absence_days`: the facts summed per pupil, school day and school, kept up to date in
//! the same transaction as every change that moves them. Each refresh recomputes the rows
//! of the pupils and days touched from the facts, so it is right whatever changed; on
//! PostgreSQL a per-school advisory lock orders concurrent refreshes, so that the last one
//! to commit has seen the others' marks.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::facts::{self, Fact, Sel, CHUNK};
use crate::db::DbConn;
use crate::on_backend;
use crate::schema::absence_days;

#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable)]
#[diesel(table_name = absence_days)]
pub struct DayRow {
    pub pupil_id: i64,
    pub day: NaiveDate,
    pub school_id: i64,
    pub class_id: Option<i64>,
    pub week: i32,
    pub weekday: i32,
    pub scheduled_minutes: i32,
    pub reported_minutes: i32,
    pub valid_minutes: i32,
    pub invalid_minutes: i32,
    pub other_minutes: i32,
    pub lates: i32,
}

/// ISO week as year * 100 + week.
pub fn iso_week(d: NaiveDate) -> i32 {
    let w = d.iso_week();
    w.year() * 100 + w.week() as i32
}

fn clamp(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Sums facts per (pupil, day, school).
#[derive(Default)]
pub struct Days {
    rows: HashMap<(i64, NaiveDate, i64), DayRow>,
}

impl Days {
    pub fn add(&mut self, f: &Fact) {
        let row = self
            .rows
            .entry((f.pupil, f.date, f.school))
            .or_insert_with(|| DayRow {
                pupil_id: f.pupil,
                day: f.date,
                school_id: f.school,
                class_id: f.class,
                week: iso_week(f.date),
                weekday: f.date.weekday().number_from_monday() as i32,
                scheduled_minutes: 0,
                reported_minutes: 0,
                valid_minutes: 0,
                invalid_minutes: 0,
                other_minutes: 0,
                lates: 0,
            });
        if row.class_id.is_none() {
            row.class_id = f.class;
        }
        row.scheduled_minutes = clamp(i64::from(row.scheduled_minutes) + f.scheduled);
        row.reported_minutes = clamp(i64::from(row.reported_minutes) + f.reported_minutes());
        row.valid_minutes = clamp(i64::from(row.valid_minutes) + f.valid);
        row.invalid_minutes = clamp(i64::from(row.invalid_minutes) + f.invalid);
        row.other_minutes = clamp(i64::from(row.other_minutes) + f.other);
        if f.status.as_deref() == Some("late") {
            row.lates += 1;
        }
    }

    pub fn into_rows(self) -> Vec<DayRow> {
        let mut rows: Vec<DayRow> = self.rows.into_values().collect();
        rows.sort_by_key(|r| (r.school_id, r.pupil_id, r.day));
        rows
    }
}

/// On PostgreSQL: waits for other refreshes of the school to commit (released at the end
/// of this transaction). SQLite has one writer at a time already.
fn lock_school(conn: &mut DbConn, school: i64) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        let key = (0x4E41_5256_i64 << 32) | (school & 0xFFFF_FFFF);
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({key})")).execute(c)?;
    }
    Ok(())
}

fn insert(conn: &mut DbConn, rows: &[DayRow]) -> QueryResult<()> {
    for batch in rows.chunks(1000) {
        on_backend!(conn, c => diesel::insert_into(absence_days::table).values(batch).execute(c))?;
    }
    Ok(())
}

/// Recomputes the rows of `pupils` (of `school`) from `from` to `to`. Call it inside the
/// transaction that changed marks, reports, leave or the timetable, after the change.
pub fn refresh(
    conn: &mut DbConn,
    tz: Tz,
    school: i64,
    pupils: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<()> {
    if pupils.is_empty() || to < from {
        return Ok(());
    }
    lock_school(conn, school)?;
    let mut days = Days::default();
    facts::each(conn, Sel::Pupils(pupils), from, to, tz, |f| days.add(f))?;
    for chunk in pupils.chunks(CHUNK) {
        diesel::delete(
            absence_days::table
                .filter(absence_days::pupil_id.eq_any(chunk))
                .filter(absence_days::day.between(from, to)),
        )
        .execute(conn)?;
    }
    insert(conn, &days.into_rows())
}

/// Recomputes every row of a school from `from` to `to` (after a seed or an import).
pub fn rebuild(
    conn: &mut DbConn,
    tz: Tz,
    school: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<usize> {
    lock_school(conn, school)?;
    let mut days = Days::default();
    facts::each(conn, Sel::School(school), from, to, tz, |f| days.add(f))?;
    diesel::delete(
        absence_days::table
            .filter(absence_days::school_id.eq(school))
            .filter(absence_days::day.between(from, to)),
    )
    .execute(conn)?;
    let rows = days.into_rows();
    insert(conn, &rows)?;
    Ok(rows.len())
}

/// The stored rows of a school, for the check that they equal a fresh computation.
pub fn stored(conn: &mut DbConn, school: i64) -> QueryResult<Vec<DayRow>> {
    absence_days::table
        .filter(absence_days::school_id.eq(school))
        .order((
            absence_days::school_id,
            absence_days::pupil_id,
            absence_days::day,
        ))
        .load(conn)
}

/// What the rows of a school should be, computed afresh.
pub fn computed(
    conn: &mut DbConn,
    tz: Tz,
    school: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<DayRow>> {
    let mut days = Days::default();
    facts::each(conn, Sel::School(school), from, to, tz, |f| days.add(f))?;
    Ok(days.into_rows())
}
