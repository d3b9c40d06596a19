//! What every stage shares: the batch size, the ids of what the roster names (`Keys`),
//! matching stored rows, and the plain rules (unit-tested below).

use crate::db::DbConn;
use crate::interop::import::roster::{Mode, Org, Summary};
use crate::schema::*;
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

pub(super) const BATCH: usize = 500;

/// Närvaro's ids of what the roster names, by the source's ids, and how to read it.
pub(super) struct Keys<'a> {
    pub(super) orgs: &'a Ids,
    pub(super) persons: &'a Ids,
    pub(super) groups: &'a Ids,
    pub(super) mode: Mode,
    /// memberships and an activity's links come one by one: only added (see `Roster`)
    pub(super) piecemeal: bool,
    /// stored people and groups whose record could not be read: nothing of theirs ends
    pub(super) kept_people: &'a HashSet<i64>,
    pub(super) kept_groups: &'a HashSet<i64>,
    /// a duty record could not be read: a snapshot ends no duty
    pub(super) keep_duties: bool,
}

impl Keys<'_> {
    /// Whether what hangs from a record and is missing from it is removed: for a snapshot,
    /// and for changes whose records come whole (SS 12000).
    pub(super) fn removes_missing(&self) -> bool {
        self.mode == Mode::Full || !self.piecemeal
    }
}

pub(super) fn extend(ids: &mut Ids, known: &HashMap<String, i64>) {
    for (ext, id) in known {
        ids.entry(ext.clone()).or_insert(*id);
    }
}

pub(super) type Ids = HashMap<String, i64>;

/// Rows already imported, by external id: (id, the values an import sets).
pub(super) fn existing<T>(
    conn: &mut DbConn,
    exts: Vec<String>,
    load: impl Fn(&mut DbConn, &[String]) -> QueryResult<Vec<(Option<String>, i64, T)>>,
) -> QueryResult<HashMap<String, (i64, T)>> {
    let mut out = HashMap::new();
    for chunk in exts.chunks(crate::db::CHUNK) {
        for (ext, id, values) in load(conn, chunk)? {
            if let Some(e) = ext {
                out.insert(e, (id, values));
            }
        }
    }
    Ok(out)
}

pub(super) fn ids(rows: &HashMap<String, (i64, impl Sized)>) -> Ids {
    rows.iter().map(|(k, v)| (k.clone(), v.0)).collect()
}

/// Sets each activity's groups (or teachers) to exactly `want`: adds what is missing;
/// removes what is no longer listed when `removes`, except what `kept` protects. The
/// (activity, group or teacher) links added and removed.
pub(super) fn sync_links(
    conn: &mut DbConn,
    want: &[(i64, HashSet<i64>)],
    teachers: bool,
    removes: bool,
    kept: &HashSet<i64>,
    sum: &mut Summary,
) -> QueryResult<Vec<(i64, i64)>> {
    let ids: Vec<i64> = want.iter().map(|(a, _)| *a).collect();
    let mut have: HashMap<i64, HashSet<i64>> = HashMap::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        let rows: Vec<(i64, i64)> = if teachers {
            activity_teachers::table
                .filter(activity_teachers::activity_id.eq_any(chunk))
                .select((
                    activity_teachers::activity_id,
                    activity_teachers::teacher_id,
                ))
                .load(conn)?
        } else {
            activity_groups::table
                .filter(activity_groups::activity_id.eq_any(chunk))
                .select((activity_groups::activity_id, activity_groups::group_id))
                .load(conn)?
        };
        for (a, x) in rows {
            have.entry(a).or_default().insert(x);
        }
    }
    let none = HashSet::new();
    let mut add = Vec::new();
    let mut removed = Vec::new();
    for (activity, wanted) in want {
        let had = have.get(activity).unwrap_or(&none);
        add.extend(wanted.difference(had).map(|&x| (*activity, x)));
        for &x in had
            .difference(wanted)
            .filter(|x| removes && !kept.contains(x))
        {
            removed.push((*activity, x));
            sum.ended += if teachers {
                diesel::delete(
                    activity_teachers::table
                        .filter(activity_teachers::activity_id.eq(activity))
                        .filter(activity_teachers::teacher_id.eq(x)),
                )
                .execute(conn)?
            } else {
                diesel::delete(
                    activity_groups::table
                        .filter(activity_groups::activity_id.eq(activity))
                        .filter(activity_groups::group_id.eq(x)),
                )
                .execute(conn)?
            };
        }
    }
    sum.inserted += if teachers {
        let rows: Vec<_> = add
            .iter()
            .map(|&(a, t)| {
                (
                    activity_teachers::activity_id.eq(a),
                    activity_teachers::teacher_id.eq(t),
                )
            })
            .collect();
        insert_batched!(conn, activity_teachers::table, rows)
    } else {
        let rows: Vec<_> = add
            .iter()
            .map(|&(a, g)| {
                (
                    activity_groups::activity_id.eq(a),
                    activity_groups::group_id.eq(g),
                )
            })
            .collect();
        insert_batched!(conn, activity_groups::table, rows)
    };
    removed.extend(add);
    Ok(removed)
}

/// Organisations with no parent first, so a school's municipality exists before it.
pub(super) fn parents_first(orgs: &[Org]) -> Vec<&Org> {
    let mut ordered: Vec<&Org> = orgs.iter().filter(|o| o.parent.is_none()).collect();
    ordered.extend(orgs.iter().filter(|o| o.parent.is_some()));
    ordered
}

/// When a membership or duty that started on `start` and is gone from the source ends:
/// yesterday, never before it started.
pub(super) fn gone_end(today: NaiveDate, start: NaiveDate) -> NaiveDate {
    (today - Duration::days(1)).max(start)
}

/// A membership gone from the source ends yesterday, or the day before the same pupil's
/// new membership of the group starts (`restart`, when later than `start`); never before
/// it started.
pub(super) fn gone_membership_end(
    today: NaiveDate,
    start: NaiveDate,
    restart: Option<NaiveDate>,
) -> NaiveDate {
    let mut ended = today - Duration::days(1);
    if let Some(new_start) = restart.filter(|d| *d > start) {
        ended = ended.min(new_start - Duration::days(1));
    }
    ended.max(start)
}

/// Whether a row with end date `end` must be ended on `ended`: it runs longer (or open).
pub(super) fn needs_end(end: Option<NaiveDate>, ended: NaiveDate) -> bool {
    end.is_none_or(|e| e > ended)
}

/// A guardianship: (pupil, guardian).
pub(super) type Link = (i64, i64);

/// Guardianships to add (in the source, not stored) and to remove (stored, gone from the
/// source), as (pupil, guardian). Only pupils the source speaks of (`in_source`) lose a
/// guardian: a roster about one school leaves other schools' families alone.
pub(super) fn guardianship_changes(
    wanted: &HashSet<(i64, i64)>,
    linked: &HashSet<(i64, i64)>,
    in_source: &HashSet<i64>,
) -> (Vec<Link>, Vec<Link>) {
    let mut add: Vec<(i64, i64)> = wanted.difference(linked).copied().collect();
    let mut remove: Vec<(i64, i64)> = linked
        .difference(wanted)
        .filter(|(pupil, _)| in_source.contains(pupil))
        .copied()
        .collect();
    add.sort_unstable();
    remove.sort_unstable();
    (add, remove)
}

/// The uuid a record an import brings is stored with (`ss12000::uuid::of_source`).
pub(super) fn source_uuid(ext: &str) -> QueryResult<String> {
    crate::interop::ss12000::uuid::of_source(ext)
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn org(ext: &str, parent: Option<&str>) -> Org {
        Org {
            ext: ext.into(),
            parent: parent.map(str::to_string),
            kind: if parent.is_some() {
                "school"
            } else {
                "municipality"
            },
            name: ext.into(),
            school_form: None,
            unit_code: None,
            municipality_code: None,
        }
    }

    #[test]
    fn municipalities_come_before_their_schools_whatever_the_file_order() {
        let orgs = [org("s1", Some("m")), org("m", None), org("s2", Some("m"))];
        let order: Vec<&str> = parents_first(&orgs)
            .iter()
            .map(|o| o.ext.as_str())
            .collect();
        assert_eq!(order, ["m", "s1", "s2"]);
    }

    #[test]
    fn what_is_gone_ends_yesterday_but_never_before_it_began() {
        let today = day("2026-11-30");
        assert_eq!(gone_end(today, day("2026-08-17")), day("2026-11-29"));
        // a membership that was to start today ends the day it starts: it never ran
        assert_eq!(gone_end(today, day("2026-11-30")), day("2026-11-30"));
        assert_eq!(gone_end(today, day("2027-01-08")), day("2027-01-08"));
    }

    #[test]
    fn a_membership_that_restarts_ends_the_day_before_the_new_one() {
        let today = day("2026-11-30");
        let start = day("2026-08-17");
        assert_eq!(gone_membership_end(today, start, None), day("2026-11-29"));
        // moved to a new membership from 1 November: the old one ended 31 October
        assert_eq!(
            gone_membership_end(today, start, Some(day("2026-11-01"))),
            day("2026-10-31")
        );
        // a new membership starting later than yesterday changes nothing
        assert_eq!(
            gone_membership_end(today, start, Some(day("2027-01-08"))),
            day("2026-11-29")
        );
        // a "restart" before this one's start is not a restart of it
        assert_eq!(
            gone_membership_end(today, start, Some(day("2026-01-10"))),
            day("2026-11-29")
        );
    }

    #[test]
    fn only_rows_running_past_the_end_are_ended() {
        let ended = day("2026-11-29");
        assert!(needs_end(None, ended));
        assert!(needs_end(Some(day("2027-06-15")), ended));
        assert!(!needs_end(Some(ended), ended));
        assert!(
            !needs_end(Some(day("2026-10-01")), ended),
            "already ended earlier"
        );
    }

    #[test]
    fn guardianships_change_only_for_pupils_the_source_speaks_of() {
        let wanted: HashSet<(i64, i64)> = [(1, 10), (1, 11), (2, 20)].into();
        let linked: HashSet<(i64, i64)> = [(1, 10), (1, 12), (3, 30)].into();
        let in_source: HashSet<i64> = [1, 2].into();
        let (add, remove) = guardianship_changes(&wanted, &linked, &in_source);
        assert_eq!(add, vec![(1, 11), (2, 20)]);
        // (3, 30): pupil 3 is not in this roster, so their guardian stays
        assert_eq!(remove, vec![(1, 12)]);
        let same = guardianship_changes(&wanted, &wanted, &in_source);
        assert_eq!(same, (vec![], vec![]));
    }
}
