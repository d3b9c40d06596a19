//! What the source says is gone, and the statistics of the schools an import touched.

use crate::db::DbConn;
use crate::interop::import::roster::{Known, Roster, Summary};
use crate::schema::*;
use crate::school::ids::SchoolId;
use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::common::*;

/// What the source names as gone and is not a person: a group's open memberships and
/// mentor duties end; a duty ends; an activity's lessons from today on, and a deleted
/// calendar event, are cancelled (a roll call made is kept). An organisation is never
/// ended by an import: the report says so. The schools touched.
pub(super) fn end_gone(
    conn: &mut DbConn,
    r: &Roster,
    today: NaiveDate,
    sum: &mut Summary,
) -> QueryResult<Vec<i64>> {
    let yesterday = today - Duration::days(1);
    let mut schools = Vec::new();
    let g = &r.gone;
    for chunk in g.groups.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, i64)> = groups::table
            .filter(groups::external_id.eq_any(chunk))
            .select((groups::id, groups::school_id))
            .load(conn)?;
        for (group, school) in rows {
            schools.push(school);
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
        let acts: Vec<(i64, i64)> = activities::table
            .filter(activities::external_id.eq_any(chunk))
            .select((activities::id, activities::school_id))
            .load(conn)?;
        for (act, school) in acts {
            schools.push(school);
            sum.ended += diesel::update(
                lessons::table
                    .filter(lessons::activity_id.eq(act))
                    .filter(lessons::lesson_date.ge(today))
                    .filter(lessons::cancelled.eq(false)),
            )
            .set(lessons::cancelled.eq(true))
            .execute(conn)?;
        }
    }
    for chunk in g.events.chunks(crate::db::CHUNK) {
        schools.extend(
            lessons::table
                .filter(lessons::external_id.eq_any(chunk))
                .filter(lessons::cancelled.eq(false))
                .select(lessons::school_id)
                .load::<i64>(conn)?,
        );
        sum.ended += diesel::update(
            lessons::table
                .filter(lessons::external_id.eq_any(chunk))
                .filter(lessons::cancelled.eq(false)),
        )
        .set(lessons::cancelled.eq(true))
        .execute(conn)?;
    }
    Ok(schools)
}

/// The schools a roster of changes writes to (for the statistics).
pub(super) fn touched_schools(
    conn: &mut DbConn,
    r: &Roster,
    known: &Known,
    keys: &Keys,
    acts: &Ids,
) -> QueryResult<Vec<i64>> {
    let mut schools: Vec<i64> = r
        .groups
        .iter()
        .map(|g| &g.school)
        .chain(r.activities.iter().map(|a| &a.school))
        .filter_map(|ext| keys.orgs.get(ext).copied())
        .collect();
    let mut group_ids: Vec<i64> = r
        .memberships
        .iter()
        .filter_map(|m| keys.groups.get(&m.group).copied())
        .collect();
    group_ids.sort_unstable();
    group_ids.dedup();
    for chunk in group_ids.chunks(crate::db::CHUNK) {
        schools.extend(
            groups::table
                .filter(groups::id.eq_any(chunk))
                .select(groups::school_id)
                .load::<i64>(conn)?,
        );
    }
    let mut act_ids: Vec<i64> = r
        .events
        .iter()
        .map(|e| &e.activity)
        .chain(known.staged_activities.iter().map(|(a, _)| a))
        .filter_map(|a| acts.get(a).copied())
        .collect();
    act_ids.sort_unstable();
    act_ids.dedup();
    for chunk in act_ids.chunks(crate::db::CHUNK) {
        schools.extend(
            activities::table
                .filter(activities::id.eq_any(chunk))
                .select(activities::school_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(schools)
}

/// Rebuilds the statistics of the roster's schools over all their lessons.
pub(super) fn refresh_statistics(conn: &mut DbConn, tz: Tz, school_ids: &[i64]) -> QueryResult<()> {
    for &school in school_ids {
        let (lo, hi): (Option<NaiveDate>, Option<NaiveDate>) = lessons::table
            .filter(lessons::school_id.eq(school))
            .select((
                diesel::dsl::min(lessons::lesson_date),
                diesel::dsl::max(lessons::lesson_date),
            ))
            .first(conn)?;
        if let (Some(lo), Some(hi)) = (lo, hi) {
            crate::insight::statistics::store::rebuild(conn, tz, SchoolId(school), lo, hi)?;
        }
    }
    Ok(())
}
