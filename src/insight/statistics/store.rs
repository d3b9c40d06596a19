//! `absence_days`: the facts summed per pupil, school day and school, and
//! `absence_class_days`: those summed per class and day; both kept up to date in the same
//! transaction as every change that moves them. Each refresh recomputes the rows of the
//! pupils and days touched from the facts, so it is right whatever changed. On PostgreSQL
//! an advisory lock per school orders concurrent refreshes of that school (it is held from
//! the refresh to the commit, a few milliseconds), so that the last one to commit has seen
//! the others' marks when it sums the school's classes; refreshes of other schools do not
//! wait for it.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::facts::{self, Fact, Sel};
use crate::db::DbConn;
use crate::db::CHUNK;
use crate::on_backend;
use crate::schema::{absence_class_days, absence_days};
use crate::school::ids::{GroupId, PupilId, SchoolId};

#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable)]
#[diesel(table_name = absence_days, treat_none_as_default_value = false)]
pub struct DayRow {
    pub school_id: SchoolId,
    pub day: NaiveDate,
    pub pupil_id: PupilId,
    pub class_id: Option<GroupId>,
    pub week: i32,
    pub weekday: i32,
    pub scheduled_minutes: i32,
    pub reported_minutes: i32,
    pub valid_minutes: i32,
    pub invalid_minutes: i32,
    pub other_minutes: i32,
    pub lates: i32,
    pub refused_leave_minutes: i32,
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
    rows: HashMap<(PupilId, NaiveDate, SchoolId), DayRow>,
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
                refused_leave_minutes: 0,
            });
        if row.class_id.is_none() {
            row.class_id = f.class;
        }
        row.scheduled_minutes = clamp(i64::from(row.scheduled_minutes) + f.scheduled);
        row.reported_minutes = clamp(i64::from(row.reported_minutes) + f.reported_minutes());
        row.valid_minutes = clamp(i64::from(row.valid_minutes) + f.valid);
        row.invalid_minutes = clamp(i64::from(row.invalid_minutes) + f.invalid);
        row.other_minutes = clamp(i64::from(row.other_minutes) + f.other);
        row.refused_leave_minutes = clamp(i64::from(row.refused_leave_minutes) + f.refused_leave);
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

/// The first key of the statistics' advisory locks ("NRVS"); the second is the school.
const PG_STATISTICS_LOCK: i32 = 0x4E52_5653;

/// On PostgreSQL: waits for other refreshes of these schools to commit (released at the
/// end of this transaction), taking the locks in ascending order so that two refreshes
/// cannot wait for each other. SQLite has one writer at a time already.
fn lock(conn: &mut DbConn, schools: &[SchoolId]) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        let mut schools = schools.to_vec();
        schools.sort_unstable();
        schools.dedup();
        for school in schools {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind::<diesel::sql_types::Integer, _>(PG_STATISTICS_LOCK)
                // school ids are far below 2^31; a larger one shares a lock, which is safe
                .bind::<diesel::sql_types::Integer, _>((i64::from(school) & 0x7FFF_FFFF) as i32)
                .execute(c)?;
        }
    }
    Ok(())
}

/// The schools a refresh of these pupils may touch: where they are enrolled and where
/// their stored rows in the period are.
fn schools_of(
    conn: &mut DbConn,
    pupils: &[PupilId],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<SchoolId>> {
    use crate::schema::people;
    let mut schools = Vec::new();
    for chunk in pupils.chunks(CHUNK) {
        schools.extend(
            people::table
                .filter(people::id.eq_any(chunk))
                .filter(people::school_id.is_not_null())
                .select(people::school_id.assume_not_null())
                .load::<SchoolId>(conn)?,
        );
        schools.extend(
            absence_days::table
                .filter(absence_days::pupil_id.eq_any(chunk))
                .filter(absence_days::day.between(from, to))
                .select(absence_days::school_id)
                .distinct()
                .load::<SchoolId>(conn)?,
        );
    }
    schools.sort_unstable();
    schools.dedup();
    Ok(schools)
}

/// Recomputes a school's per-class sums from its per-pupil sums between two days: of
/// every class, or (`Some`) of these classes only (0: pupils without a class), which is all
/// a change of a few pupils' rows moves.
fn roll_up(
    conn: &mut DbConn,
    school: SchoolId,
    (from, to): (NaiveDate, NaiveDate),
    classes: Option<&[i64]>,
) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Date};
    let old = absence_class_days::table
        .filter(absence_class_days::school_id.eq(school))
        .filter(absence_class_days::day.between(from, to));
    match classes {
        Some(classes) => diesel::delete(old.filter(absence_class_days::class_id.eq_any(classes)))
            .execute(conn)?,
        None => diesel::delete(old).execute(conn)?,
    };
    let pg = matches!(conn, DbConn::Pg(_));
    let p = |n: u8| if pg { format!("${n}") } else { format!("?{n}") };
    // class ids come from the database (numbers), never from a request
    let only = classes.map_or(String::new(), |c| {
        let list: Vec<String> = c.iter().map(i64::to_string).collect();
        format!(" AND COALESCE(class_id, 0) IN ({})", list.join(", "))
    });
    let sql = format!(
        "INSERT INTO absence_class_days (school_id, day, class_id, week, weekday, pupils, \
         scheduled_minutes, reported_minutes, valid_minutes, invalid_minutes, other_minutes, lates, \
         refused_leave_minutes) \
         SELECT school_id, day, COALESCE(class_id, 0), MIN(week), MIN(weekday), COUNT(*), \
         SUM(scheduled_minutes), SUM(reported_minutes), SUM(valid_minutes), \
         SUM(invalid_minutes), SUM(other_minutes), SUM(lates), SUM(refused_leave_minutes) \
         FROM absence_days WHERE school_id = {} AND day >= {} AND day <= {}{only} \
         GROUP BY school_id, day, COALESCE(class_id, 0)",
        p(1),
        p(2),
        p(3)
    );
    on_backend!(conn, c => diesel::sql_query(&sql)
        .bind::<BigInt, _>(school)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .execute(c))?;
    Ok(())
}

fn insert(conn: &mut DbConn, rows: &[DayRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Sqlite(c) => {
            for batch in rows.chunks(1000) {
                diesel::insert_into(absence_days::table)
                    .values(batch)
                    .execute(c)?;
            }
        }
        // a rebuild's many rows: COPY in the binary format, one statement and no bound
        // parameter a value; a mark's few rows: one INSERT, one round trip
        DbConn::Pg(c) if rows.len() > 1000 => {
            diesel::copy_from(absence_days::table)
                .from_insertable(rows)
                .execute(c)?;
        }
        DbConn::Pg(c) => {
            diesel::insert_into(absence_days::table)
                .values(rows)
                .execute(c)?;
        }
    }
    Ok(())
}

/// Recomputes the rows of `pupils` from `from` to `to`. Call it inside the transaction that
/// changed marks, reports, leave or the timetable, after the change.
pub fn refresh(
    conn: &mut DbConn,
    tz: Tz,
    pupils: &[PupilId],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<()> {
    if pupils.is_empty() || to < from {
        return Ok(());
    }
    let locked = schools_of(conn, pupils, from, to)?;
    lock(conn, &locked)?;
    let mut days = Days::default();
    facts::each(conn, Sel::Pupils(pupils), from, to, tz, |f| days.add(f))?;
    // the classes (0: none) whose sums move, school by school: those of the rows replaced
    // and of the new ones (a pupil who changed class moves two)
    let mut moved: Vec<(SchoolId, i64)> = Vec::new();
    for chunk in pupils.chunks(CHUNK) {
        let rows = absence_days::table
            .filter(absence_days::pupil_id.eq_any(chunk))
            .filter(absence_days::day.between(from, to));
        // (what the delete removed, in the same statement)
        moved.extend(
            diesel::delete(rows)
                .returning((absence_days::school_id, absence_days::class_id))
                .load::<(SchoolId, Option<i64>)>(conn)?
                .into_iter()
                .map(|(s, c)| (s, c.unwrap_or(0))),
        );
    }
    let rows = days.into_rows();
    moved.extend(
        rows.iter()
            .map(|r| (r.school_id, r.class_id.map_or(0, i64::from))),
    );
    moved.sort_unstable();
    moved.dedup();
    let mut schools: Vec<SchoolId> = moved.iter().map(|m| m.0).collect();
    schools.dedup();
    // a lesson at a school the pupil is not enrolled at (rare): its lock too
    let more: Vec<SchoolId> = schools
        .iter()
        .copied()
        .filter(|s| locked.binary_search(s).is_err())
        .collect();
    lock(conn, &more)?;
    insert(conn, &rows)?;
    for school in schools {
        let classes: Vec<i64> = moved
            .iter()
            .filter(|m| m.0 == school)
            .map(|m| m.1)
            .collect();
        roll_up(conn, school, (from, to), Some(&classes))?;
    }
    Ok(())
}

/// Recomputes every row of a school from `from` to `to` (after a seed or an import).
pub fn rebuild(
    conn: &mut DbConn,
    tz: Tz,
    school: SchoolId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<usize> {
    lock(conn, &[school])?;
    let started = std::time::Instant::now();
    let mut days = Days::default();
    facts::each(conn, Sel::School(school), from, to, tz, |f| {
        if f.school == school {
            days.add(f)
        }
    })?;
    let computed = started.elapsed().as_millis() as u64;
    diesel::delete(
        absence_days::table
            .filter(absence_days::school_id.eq(school))
            .filter(absence_days::day.between(from, to)),
    )
    .execute(conn)?;
    let rows = days.into_rows();
    insert(conn, &rows)?;
    let stored = started.elapsed().as_millis() as u64;
    roll_up(conn, school, (from, to), None)?;
    let ms = started.elapsed().as_millis() as u64;
    tracing::debug!(
        school = %school,
        rows = rows.len(),
        computed,
        stored,
        ms,
        "statistics rebuilt"
    );
    Ok(rows.len())
}

/// The stored rows of a school, for the check that they equal a fresh computation.
pub fn stored(conn: &mut DbConn, school: SchoolId) -> QueryResult<Vec<DayRow>> {
    absence_days::table
        .filter(absence_days::school_id.eq(school))
        .order((absence_days::pupil_id, absence_days::day))
        .load(conn)
}

/// What the rows of a school should be, computed afresh.
pub fn computed(
    conn: &mut DbConn,
    tz: Tz,
    school: SchoolId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<DayRow>> {
    let mut days = Days::default();
    facts::each(conn, Sel::School(school), from, to, tz, |f| {
        if f.school == school {
            days.add(f)
        }
    })?;
    Ok(days.into_rows())
}
