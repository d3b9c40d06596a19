//! Groups, memberships and duties.

use crate::db::DbConn;
use crate::interop::import::roster::{Mode, Roster, Summary};
use crate::schema::*;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

use super::common::*;
use super::touched::{end_moved, Touched};

/// Classes and other groups.
pub(super) fn groups(
    conn: &mut DbConn,
    r: &Roster,
    orgs: &Ids,
    now: NaiveDateTime,
    sum: &mut Summary,
    t: &mut Touched,
) -> QueryResult<Ids> {
    type GroupValues = (String, String, Option<i32>, i64);
    let group_rows = existing::<GroupValues>(
        conn,
        r.groups.iter().map(|g| g.ext.clone()).collect(),
        |c, chunk| {
            groups::table
                .filter(groups::external_id.eq_any(chunk))
                .select((
                    groups::external_id,
                    groups::id,
                    (
                        groups::name,
                        groups::group_type,
                        groups::school_year,
                        groups::school_id,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut groups_by = ids(&group_rows);
    for g in &r.groups {
        let school = orgs.get(&g.school).copied().unwrap_or_default();
        let want: GroupValues = (g.name.clone(), g.kind.to_string(), g.school_year, school);
        match group_rows.get(&g.ext) {
            Some((_, have)) if *have == want => {}
            Some((id, have)) => {
                let id = *id;
                if have.1 != want.1 {
                    // a class's members take it as their class on every day they are in it
                    t.group(id, NaiveDate::MIN, None);
                }
                sum.updated += diesel::update(groups::table.find(id))
                    .set((
                        groups::name.eq(&g.name),
                        groups::group_type.eq(g.kind),
                        groups::school_year.eq(g.school_year),
                        groups::school_id.eq(school),
                    ))
                    .execute(conn)?;
            }
            None => {
                let id: i64 = diesel::insert_into(groups::table)
                    .values((
                        groups::school_id.eq(school),
                        groups::name.eq(&g.name),
                        groups::group_type.eq(g.kind),
                        groups::school_year.eq(g.school_year),
                        groups::external_id.eq(&g.ext),
                        groups::uuid.eq(source_uuid(&g.ext)?),
                        groups::created_at.eq(now),
                    ))
                    .returning(groups::id)
                    .get_result(conn)?;
                groups_by.insert(g.ext.clone(), id);
                sum.inserted += 1;
            }
        }
    }

    Ok(groups_by)
}

/// Memberships of the imported groups, matched on (group, pupil, start). A group that
/// comes whole (a snapshot's, an SS 12000 group record) loses the memberships it no
/// longer lists; one by one (a OneRoster delta), only those the source names as gone.
pub(super) fn memberships(
    conn: &mut DbConn,
    r: &Roster,
    keys: &Keys,
    today: NaiveDate,
    sum: &mut Summary,
    t: &mut Touched,
) -> QueryResult<()> {
    let (groups_by, persons) = (keys.groups, keys.persons);
    let whole: HashSet<i64> = if keys.removes_missing() {
        r.groups
            .iter()
            .filter_map(|g| groups_by.get(&g.ext).copied())
            .collect()
    } else {
        HashSet::new()
    };
    let gone: HashSet<(i64, i64)> = r
        .gone
        .memberships
        .iter()
        .filter_map(|(g, p)| Some((*groups_by.get(g)?, *persons.get(p)?)))
        .collect();
    let mut group_ids: Vec<i64> = whole
        .iter()
        .copied()
        .chain(
            r.memberships
                .iter()
                .filter_map(|m| groups_by.get(&m.group).copied()),
        )
        .chain(gone.iter().map(|(g, _)| *g))
        .collect();
    group_ids.sort_unstable();
    group_ids.dedup();
    let mut current: HashMap<(i64, i64, NaiveDate), (i64, Option<NaiveDate>)> = HashMap::new();
    for chunk in group_ids.chunks(crate::db::CHUNK) {
        for (id, g, p, s, e) in group_memberships::table
            .filter(group_memberships::group_id.eq_any(chunk))
            .select((
                group_memberships::id,
                group_memberships::group_id,
                group_memberships::pupil_id,
                group_memberships::start_date,
                group_memberships::end_date,
            ))
            .load::<(i64, i64, i64, NaiveDate, Option<NaiveDate>)>(conn)?
        {
            current.insert((g, p, s), (id, e));
        }
    }
    let mut keep: HashSet<i64> = HashSet::new();
    // (group, pupil) → the start of a membership new in the source
    let mut restarted: HashMap<(i64, i64), NaiveDate> = HashMap::new();
    let mut new = Vec::new();
    for m in &r.memberships {
        let (Some(&g), Some(&p)) = (groups_by.get(&m.group), persons.get(&m.pupil)) else {
            continue;
        };
        match current.get(&(g, p, m.start)) {
            Some(&(id, end)) => {
                keep.insert(id);
                if end != m.end {
                    diesel::update(group_memberships::table.find(id))
                        .set(group_memberships::end_date.eq(m.end))
                        .execute(conn)?;
                    sum.updated += 1;
                    t.pupil(p, Some(g), end_moved(m.start, end, m.end));
                }
            }
            None => {
                t.pupil(p, Some(g), (m.start, m.end));
                restarted
                    .entry((g, p))
                    .and_modify(|d: &mut NaiveDate| *d = (*d).min(m.start))
                    .or_insert(m.start);
                new.push((
                    group_memberships::group_id.eq(g),
                    group_memberships::pupil_id.eq(p),
                    group_memberships::start_date.eq(m.start),
                    group_memberships::end_date.eq(m.end),
                ));
            }
        }
    }
    sum.inserted += insert_batched!(conn, group_memberships::table, new);
    for ((g, p, start), (id, end)) in &current {
        if keep.contains(id)
            || !(whole.contains(g) || gone.contains(&(*g, *p)))
            || keys.kept_people.contains(p)
        {
            continue;
        }
        // gone from the source: ended yesterday, or the day before the same pupil's new
        // membership of the group starts; never deleted
        let ended = gone_membership_end(today, *start, restarted.get(&(*g, *p)).copied());
        if needs_end(*end, ended) {
            diesel::update(group_memberships::table.find(*id))
                .set(group_memberships::end_date.eq(ended))
                .execute(conn)?;
            sum.ended += 1;
            t.pupil(*p, Some(*g), end_moved(*start, *end, Some(ended)));
        }
    }

    Ok(())
}

/// Duties of the imported people, matched on (person, organisation, role, group, start).
pub(super) fn duties(
    conn: &mut DbConn,
    r: &Roster,
    keys: &Keys,
    today: NaiveDate,
    sum: &mut Summary,
) -> QueryResult<()> {
    let person_ids: Vec<i64> = keys.persons.values().copied().collect();
    type DutyKey = (i64, i64, String, Option<i64>, NaiveDate);
    type DutyRow = (i64, Option<NaiveDate>, Option<String>);
    let mut duty_rows: HashMap<DutyKey, DutyRow> = HashMap::new();
    for chunk in person_ids.chunks(crate::db::CHUNK) {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i64,
            i64,
            i64,
            String,
            Option<i64>,
            NaiveDate,
            Option<NaiveDate>,
            Option<String>,
        )> = duties::table
            .filter(duties::person_id.eq_any(chunk))
            .select((
                duties::id,
                duties::person_id,
                duties::organisation_id,
                duties::role,
                duties::group_id,
                duties::start_date,
                duties::end_date,
                duties::external_id,
            ))
            .load(conn)?;
        for (id, p, o, role, g, s, e, ext) in rows {
            duty_rows.insert((p, o, role, g, s), (id, e, ext));
        }
    }
    let mut keep: HashSet<i64> = HashSet::new();
    for d in &r.duties {
        let (Some(&p), Some(&o)) = (keys.persons.get(&d.person), keys.orgs.get(&d.org)) else {
            continue;
        };
        let g = d.group.as_ref().and_then(|g| keys.groups.get(g).copied());
        match duty_rows.get(&(p, o, d.role.to_string(), g, d.start)) {
            Some((id, end, ext)) => {
                keep.insert(*id);
                if *end != d.end {
                    diesel::update(duties::table.find(*id))
                        .set(duties::end_date.eq(d.end))
                        .execute(conn)?;
                    sum.updated += 1;
                }
                if d.ext.is_some() && *ext != d.ext {
                    // the source's id, for a later deletedEntities (not a change of the duty)
                    diesel::update(duties::table.find(*id))
                        .set(duties::external_id.eq(d.ext.as_deref()))
                        .execute(conn)?;
                }
            }
            None => {
                diesel::insert_into(duties::table)
                    .values((
                        duties::person_id.eq(p),
                        duties::organisation_id.eq(o),
                        duties::role.eq(d.role),
                        duties::group_id.eq(g),
                        duties::start_date.eq(d.start),
                        duties::end_date.eq(d.end),
                        duties::external_id.eq(d.ext.as_deref()),
                    ))
                    .execute(conn)?;
                sum.inserted += 1;
            }
        }
    }
    // a snapshot ends what it no longer holds in its organisations; changes end what a
    // changed duty record no longer says (its old role or mentor group)
    let in_scope: HashSet<i64> = keys.orgs.values().copied().collect();
    let changed: HashSet<&str> = r.duties.iter().filter_map(|d| d.ext.as_deref()).collect();
    for ((p, o, _, g, start), (id, end, ext)) in &duty_rows {
        // nothing ends for a person or a mentor group whose record could not be read
        let unread =
            keys.kept_people.contains(p) || g.is_some_and(|g| keys.kept_groups.contains(&g));
        if unread {
            continue;
        }
        let gone = match keys.mode {
            Mode::Full => in_scope.contains(o) && !keys.keep_duties,
            Mode::Changes => ext.as_deref().is_some_and(|e| changed.contains(e)),
        };
        if keep.contains(id) || !gone {
            continue;
        }
        let ended = gone_end(today, *start);
        if needs_end(*end, ended) {
            diesel::update(duties::table.find(*id))
                .set(duties::end_date.eq(ended))
                .execute(conn)?;
            sum.ended += 1;
        }
    }

    Ok(())
}
