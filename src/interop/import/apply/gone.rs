//! What the source says is gone.

use crate::db::DbConn;
use crate::interop::import::roster::{Roster, Summary};
use crate::schema::*;
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;

use super::touched::Touched;

/// What the source names as gone and is not a person: a group's open memberships and
/// mentor duties end; a duty ends; an activity's lessons from today on, and a deleted
/// calendar event, are cancelled (a roll call made is kept). An organisation is never
/// ended by an import: the report says so.
pub(super) fn end_gone(
    conn: &mut DbConn,
    r: &Roster,
    today: NaiveDate,
    sum: &mut Summary,
    t: &mut Touched,
) -> QueryResult<()> {
    let yesterday = today - Duration::days(1);
    let g = &r.gone;
    for chunk in g.groups.chunks(crate::db::CHUNK) {
        let rows: Vec<i64> = groups::table
            .filter(groups::external_id.eq_any(chunk))
            .select(groups::id)
            .load(conn)?;
        for group in rows {
            // its members' days from today on
            t.group(group, today, None);
            sum.ended += diesel::update(
                group_memberships::table
                    .filter(group_memberships::group_id.eq(group))
                    .filter(
                        group_memberships::end_date
                            .is_null()
                            .or(group_memberships::end_date.gt(yesterday)),
                    )
                    .filter(group_memberships::start_date.le(yesterday)),
            )
            .set(group_memberships::end_date.eq(yesterday))
            .execute(conn)?;
            sum.ended += diesel::update(
                duties::table
                    .filter(duties::group_id.eq(group))
                    .filter(
                        duties::end_date
                            .is_null()
                            .or(duties::end_date.gt(yesterday)),
                    )
                    .filter(duties::start_date.le(yesterday)),
            )
            .set(duties::end_date.eq(yesterday))
            .execute(conn)?;
        }
    }
    for chunk in g.duties.chunks(crate::db::CHUNK) {
        sum.ended += diesel::update(
            duties::table
                .filter(duties::external_id.eq_any(chunk))
                .filter(
                    duties::end_date
                        .is_null()
                        .or(duties::end_date.gt(yesterday)),
                )
                .filter(duties::start_date.le(yesterday)),
        )
        .set(duties::end_date.eq(yesterday))
        .execute(conn)?;
    }
    for chunk in g.activities.chunks(crate::db::CHUNK) {
        let acts: Vec<i64> = activities::table
            .filter(activities::external_id.eq_any(chunk))
            .select(activities::id)
            .load(conn)?;
        for act in acts {
            let cancelled: Vec<(i64, NaiveDate)> = diesel::update(
                lessons::table
                    .filter(lessons::activity_id.eq(act))
                    .filter(lessons::lesson_date.ge(today))
                    .filter(lessons::cancelled.eq(false)),
            )
            .set(lessons::cancelled.eq(true))
            .returning((lessons::school_id, lessons::lesson_date))
            .get_results(conn)?;
            sum.ended += cancelled.len();
            for (school, day) in cancelled {
                t.day(school, day);
            }
        }
    }
    for chunk in g.events.chunks(crate::db::CHUNK) {
        let cancelled: Vec<(i64, NaiveDate)> = diesel::update(
            lessons::table
                .filter(lessons::external_id.eq_any(chunk))
                .filter(lessons::cancelled.eq(false)),
        )
        .set(lessons::cancelled.eq(true))
        .returning((lessons::school_id, lessons::lesson_date))
        .get_results(conn)?;
        sum.ended += cancelled.len();
        for (school, day) in cancelled {
            t.day(school, day);
        }
    }
    Ok(())
}
