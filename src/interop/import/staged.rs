//! A sync's calendar events waiting in the database (`sync_events`): staged page by page
//! as they are read, outside the run's transaction, and read back in batches inside it, so
//! that a year's timetable is never in memory whole. The rows go when the run ends.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::roster::Event;
use crate::db::DbConn;
use crate::schema::sync_events as t;

/// Events read back at a time.
pub const BATCH: i64 = 5_000;

#[derive(Insertable)]
#[diesel(table_name = t)]
struct Row<'a> {
    run_id: i64,
    ext: &'a str,
    activity: &'a str,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    minutes: i32,
    cancelled: bool,
}

/// Stages one page of `run`'s events.
pub fn stage(c: &mut DbConn, run: i64, events: &[Event]) -> QueryResult<()> {
    let rows: Vec<Row> = events
        .iter()
        .map(|e| Row {
            run_id: run,
            ext: &e.ext,
            activity: &e.activity,
            starts_at: e.start,
            ends_at: e.end,
            minutes: e.minutes,
            cancelled: e.cancelled,
        })
        .collect();
    // SQLite takes at most 32,766 bound values a statement: 8 columns × 2,000 rows
    for chunk in rows.chunks(2_000) {
        crate::on_backend!(c, c => diesel::insert_into(t::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// The next batch of `run`'s events after the row `after` (0: the first), with the last
/// row's id; empty at the end.
pub fn batch(c: &mut DbConn, run: i64, after: i64) -> QueryResult<(Vec<Event>, i64)> {
    type R = (i64, String, String, NaiveDateTime, NaiveDateTime, i32, bool);
    let rows: Vec<R> = t::table
        .filter(t::run_id.eq(run))
        .filter(t::id.gt(after))
        .order(t::id)
        .limit(BATCH)
        .select((
            t::id,
            t::ext,
            t::activity,
            t::starts_at,
            t::ends_at,
            t::minutes,
            t::cancelled,
        ))
        .load(c)?;
    let last = rows.last().map(|r| r.0).unwrap_or(after);
    let events = rows
        .into_iter()
        .map(|(_, ext, activity, start, end, minutes, cancelled)| Event {
            ext,
            activity,
            start,
            end,
            minutes,
            cancelled,
        })
        .collect();
    Ok((events, last))
}

/// The activities `run`'s events name, each with one of the events naming it.
pub fn activities(c: &mut DbConn, run: i64) -> QueryResult<Vec<(String, String)>> {
    t::table
        .filter(t::run_id.eq(run))
        .group_by(t::activity)
        .select((t::activity, diesel::dsl::min(t::ext).assume_not_null()))
        .load(c)
}

/// Removes `run`'s events, and those of runs no longer running (a run that died with its
/// process).
pub fn clear(c: &mut DbConn, run: i64) -> QueryResult<usize> {
    use crate::schema::sync_runs as runs;
    use crate::school::states::SyncStatus;
    let running = runs::table
        .filter(runs::status.eq(SyncStatus::Running))
        .filter(runs::id.ne(run))
        .select(runs::id);
    diesel::delete(t::table.filter(t::run_id.eq(run).or(t::run_id.ne_all(running)))).execute(c)
}
