//! The stored rows a roster of changes refers to but does not hold.

use crate::db::DbConn;
use crate::interop::import::roster::{Known, Roster};
use crate::schema::*;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// The stored rows a roster of changes refers to but does not hold, by the source's ids.
pub fn known(conn: &mut DbConn, r: &Roster) -> QueryResult<Known> {
    let own_orgs: HashSet<&str> = r.orgs.iter().map(|o| o.ext.as_str()).collect();
    let own_persons: HashSet<&str> = r.persons.iter().map(|p| p.ext.as_str()).collect();
    let own_groups: HashSet<&str> = r.groups.iter().map(|g| g.ext.as_str()).collect();
    let own_acts: HashSet<&str> = r.activities.iter().map(|a| a.ext.as_str()).collect();
    let wanted = |refs: Vec<&String>, own: &HashSet<&str>| -> Vec<String> {
        let set: HashSet<&String> = refs
            .into_iter()
            .filter(|x| !own.contains(x.as_str()))
            .collect();
        set.into_iter().cloned().collect()
    };
    let org_refs = wanted(
        r.orgs
            .iter()
            .filter_map(|o| o.parent.as_ref())
            .chain(r.persons.iter().filter_map(|p| p.school.as_ref()))
            .chain(r.groups.iter().map(|g| &g.school))
            .chain(r.duties.iter().map(|d| &d.org))
            .chain(r.activities.iter().map(|a| &a.school))
            .collect(),
        &own_orgs,
    );
    let person_refs = wanted(
        r.responsibles
            .iter()
            .flat_map(|(p, g)| [p, g])
            .chain(r.memberships.iter().map(|m| &m.pupil))
            .chain(r.duties.iter().map(|d| &d.person))
            .chain(r.activities.iter().flat_map(|a| &a.teachers))
            .collect(),
        &own_persons,
    );
    let group_refs = wanted(
        r.memberships
            .iter()
            .map(|m| &m.group)
            .chain(r.duties.iter().filter_map(|d| d.group.as_ref()))
            .chain(r.activities.iter().flat_map(|a| &a.groups))
            .collect(),
        &own_groups,
    );
    let staged = match r.staged_events {
        Some(run) => staged_activities(conn, r, run)?,
        None => Vec::new(),
    };
    let act_refs = wanted(
        r.events
            .iter()
            .map(|e| &e.activity)
            .chain(staged.iter().map(|(a, _)| a))
            .collect(),
        &own_acts,
    );
    Ok(Known {
        orgs: lookup(conn, org_refs, Table::Orgs)?,
        persons: lookup(conn, person_refs, Table::People)?,
        groups: lookup(conn, group_refs, Table::Groups)?,
        activities: lookup(conn, act_refs, Table::Activities)?,
        staged_activities: staged,
    })
}

/// The activities the staged events of `run` name, each with one event naming it, but for
/// events left out with a record that could not be read.
pub fn staged_activities(
    conn: &mut DbConn,
    r: &Roster,
    run: i64,
) -> QueryResult<Vec<(String, String)>> {
    let mut all = crate::interop::import::staged::activities(conn, run)?;
    all.retain(|(a, _)| !r.unread.contains(a));
    Ok(all)
}

pub(super) enum Table {
    Orgs,
    People,
    Groups,
    Activities,
}

/// Stored rows' ids by external id, for those of `exts` that are stored.
pub(super) fn lookup(
    conn: &mut DbConn,
    exts: Vec<String>,
    table: Table,
) -> QueryResult<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in exts.chunks(crate::db::CHUNK) {
        let rows: Vec<(Option<String>, i64)> = match table {
            Table::Orgs => organisations::table
                .filter(organisations::external_id.eq_any(chunk))
                .select((organisations::external_id, organisations::id))
                .load(conn)?,
            Table::People => people::table
                .filter(people::external_id.eq_any(chunk))
                .select((people::external_id, people::id))
                .load(conn)?,
            Table::Groups => groups::table
                .filter(groups::external_id.eq_any(chunk))
                .select((groups::external_id, groups::id))
                .load(conn)?,
            Table::Activities => activities::table
                .filter(activities::external_id.eq_any(chunk))
                .select((activities::external_id, activities::id))
                .load(conn)?,
        };
        out.extend(rows.into_iter().filter_map(|(e, id)| Some((e?, id))));
    }
    Ok(out)
}
