//! What an import changed that moves the statistics, and recomputing only that (issue 41):
//! the school days whose lessons were added, moved, changed or cancelled (each such stretch
//! of days rebuilt for the whole school), and the pupils whose memberships changed, over the
//! days the change covers. History the run did not touch is not read, so a run's statistics
//! cost follows what changed, not how many school years are kept. A first import touches
//! every lesson of its schools, which rebuilds them whole.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::{DbConn, CHUNK};
use crate::insight::statistics::store;
use crate::schema::*;
use crate::school::ids::{PupilId, SchoolId};

/// The last day of a span; `None`: it runs on.
type Until = Option<NaiveDate>;

/// Two changed days of a school this close apart are rebuilt as one stretch (a weekend
/// between them costs nothing to read).
const JOIN_DAYS: i64 = 3;

/// Pupils refreshed together over the same days.
const PUPILS_AT_ONCE: usize = 500;

#[derive(Default)]
pub(super) struct Touched {
    /// (school, day) whose lessons changed
    days: HashSet<(i64, NaiveDate)>,
    /// (pupil, the group whose membership changed (none: every membership), from, to)
    pupils: Vec<(i64, Option<i64>, NaiveDate, Until)>,
    /// (group, from, to): each member's days in between (the group became or stopped
    /// being a class, or its memberships ended together)
    groups: Vec<(i64, NaiveDate, Until)>,
    /// (activity, group): a group added to or removed from an activity: the group's
    /// members over the activity's lessons
    links: Vec<(i64, i64)>,
}

/// What `Touched::recompute` did, for the debug log and the tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recomputed {
    /// stretches of a school's days rebuilt
    pub stretches: usize,
    /// days in them
    pub days: i64,
    /// pupils refreshed over their own days
    pub pupils: usize,
}

impl Touched {
    pub(super) fn day(&mut self, school: i64, day: NaiveDate) {
        self.days.insert((school, day));
    }

    pub(super) fn pupil(&mut self, pupil: i64, group: Option<i64>, (from, to): (NaiveDate, Until)) {
        self.pupils.push((pupil, group, from, to));
    }

    pub(super) fn group(&mut self, group: i64, from: NaiveDate, to: Until) {
        self.groups.push((group, from, to));
    }

    pub(super) fn link(&mut self, activity: i64, group: i64) {
        self.links.push((activity, group));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.days.is_empty()
            && self.pupils.is_empty()
            && self.groups.is_empty()
            && self.links.is_empty()
    }

    /// Recomputes the statistics of what was touched: call last, in the import's
    /// transaction.
    pub(super) fn recompute(mut self, conn: &mut DbConn, tz: Tz) -> QueryResult<Recomputed> {
        let mut done = Recomputed::default();
        let (Some(first), Some(last)) = lessons::table
            .select((
                diesel::dsl::min(lessons::lesson_date),
                diesel::dsl::max(lessons::lesson_date),
            ))
            .first::<(Option<NaiveDate>, Option<NaiveDate>)>(conn)?
        else {
            return Ok(done);
        };
        self.expand_links(conn)?;
        self.expand_groups(conn)?;
        let stretches = stretches(&self.days);
        // (pupil, from, to), inside the days any lesson is on
        let mut pupils: Vec<(i64, NaiveDate, NaiveDate)> = Vec::new();
        let covered = covered(conn, &stretches, &self.pupils, (first, last))?;
        for &(p, g, from, to) in &self.pupils {
            let (from, to) = (from.max(first), to.unwrap_or(last).min(last));
            if from <= to && !g.is_some_and(|g| covered.contains(&(p, g))) {
                pupils.push((p, from, to));
            }
        }
        for (&school, runs) in &stretches {
            for &(from, to) in runs {
                store::rebuild(conn, tz, SchoolId(school), from, to)?;
                done.stretches += 1;
                done.days += (to - from).num_days() + 1;
            }
        }
        // each pupil over one span from their first changed day to their last, refreshed
        // with the others of the same span
        let mut span: HashMap<i64, (NaiveDate, NaiveDate)> = HashMap::new();
        for (p, from, to) in pupils {
            let s = span.entry(p).or_insert((from, to));
            *s = (s.0.min(from), s.1.max(to));
        }
        done.pupils = span.len();
        let mut by_span: BTreeMap<(NaiveDate, NaiveDate), Vec<PupilId>> = BTreeMap::new();
        for (p, s) in span {
            by_span.entry(s).or_default().push(PupilId(p));
        }
        for ((from, to), mut ids) in by_span {
            ids.sort_unstable();
            for chunk in ids.chunks(PUPILS_AT_ONCE) {
                store::refresh(conn, tz, chunk, from, to)?;
            }
        }
        tracing::debug!(
            stretches = done.stretches,
            days = done.days,
            pupils = done.pupils,
            "import statistics recomputed"
        );
        Ok(done)
    }

    /// An activity's group added or removed: that group's members over the activity's
    /// lessons.
    fn expand_links(&mut self, conn: &mut DbConn) -> QueryResult<()> {
        let mut acts: Vec<i64> = self.links.iter().map(|l| l.0).collect();
        acts.sort_unstable();
        acts.dedup();
        let mut spans: HashMap<i64, (NaiveDate, NaiveDate)> = HashMap::new();
        for chunk in acts.chunks(CHUNK) {
            let rows: Vec<(i64, Option<NaiveDate>, Option<NaiveDate>)> = lessons::table
                .filter(lessons::activity_id.eq_any(chunk))
                .group_by(lessons::activity_id)
                .select((
                    lessons::activity_id,
                    diesel::dsl::min(lessons::lesson_date),
                    diesel::dsl::max(lessons::lesson_date),
                ))
                .load(conn)?;
            for (a, lo, hi) in rows {
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    spans.insert(a, (lo, hi));
                }
            }
        }
        for (a, g) in std::mem::take(&mut self.links) {
            if let Some(&(lo, hi)) = spans.get(&a) {
                self.groups.push((g, lo, Some(hi)));
            }
        }
        Ok(())
    }

    /// A group's span: each member over the part of it their membership covers.
    fn expand_groups(&mut self, conn: &mut DbConn) -> QueryResult<()> {
        let mut spans: HashMap<i64, Vec<(NaiveDate, Until)>> = HashMap::new();
        for (g, from, to) in std::mem::take(&mut self.groups) {
            spans.entry(g).or_default().push((from, to));
        }
        let ids: Vec<i64> = spans.keys().copied().collect();
        for chunk in ids.chunks(CHUNK) {
            let rows: Vec<(i64, i64, NaiveDate, Until)> = group_memberships::table
                .filter(group_memberships::group_id.eq_any(chunk))
                .select((
                    group_memberships::group_id,
                    group_memberships::pupil_id,
                    group_memberships::start_date,
                    group_memberships::end_date,
                ))
                .load(conn)?;
            for (g, p, start, end) in rows {
                for &(from, to) in spans.get(&g).into_iter().flatten() {
                    let from = from.max(start);
                    let to = earliest(to, end);
                    if to.is_none_or(|t| from <= t) {
                        self.pupils.push((p, Some(g), from, to));
                    }
                }
            }
        }
        Ok(())
    }
}

fn earliest(a: Until, b: Until) -> Until {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (x, None) | (None, x) => x,
    }
}

/// The days a membership's end moving from `old` to `new` changes, for a membership that
/// starts on `start`.
pub(super) fn end_moved(start: NaiveDate, old: Until, new: Until) -> (NaiveDate, Until) {
    let after = |d: NaiveDate| (d + Duration::days(1)).max(start);
    match (old, new) {
        (Some(a), Some(b)) => (after(a.min(b)), Some(a.max(b))),
        (Some(a), None) | (None, Some(a)) => (after(a), None),
        (None, None) => (start, None),
    }
}

/// Each school's changed days as stretches (from, to), days `JOIN_DAYS` or fewer apart
/// joined.
fn stretches(days: &HashSet<(i64, NaiveDate)>) -> BTreeMap<i64, Vec<(NaiveDate, NaiveDate)>> {
    let mut by_school: BTreeMap<i64, BTreeSet<NaiveDate>> = BTreeMap::new();
    for &(s, d) in days {
        by_school.entry(s).or_default().insert(d);
    }
    by_school
        .into_iter()
        .map(|(s, days)| {
            let mut runs: Vec<(NaiveDate, NaiveDate)> = Vec::new();
            for d in days {
                match runs.last_mut() {
                    Some(run) if (d - run.1).num_days() <= JOIN_DAYS => run.1 = d,
                    _ => runs.push((d, d)),
                }
            }
            (s, runs)
        })
        .collect()
}

/// The (pupil, group) changes a school's rebuilt stretches already recompute: the group is
/// the school's and taught only there, the pupil is in no other school's group, and every
/// day with a lesson at the school in the change's span lies in a rebuilt stretch (a first
/// import, a new school year's timetable with its classes).
fn covered(
    conn: &mut DbConn,
    stretches: &BTreeMap<i64, Vec<(NaiveDate, NaiveDate)>>,
    changes: &[(i64, Option<i64>, NaiveDate, Until)],
    (first, last): (NaiveDate, NaiveDate),
) -> QueryResult<HashSet<(i64, i64)>> {
    let mut out = HashSet::new();
    if stretches.is_empty() {
        return Ok(out);
    }
    let mut group_ids: Vec<i64> = changes.iter().filter_map(|c| c.1).collect();
    group_ids.sort_unstable();
    group_ids.dedup();
    // each group's school, when it is a school with rebuilt stretches and the group is
    // taught at no other school
    let mut school_of: HashMap<i64, i64> = HashMap::new();
    for chunk in group_ids.chunks(CHUNK) {
        let rows: Vec<(i64, i64)> = groups::table
            .filter(groups::id.eq_any(chunk))
            .select((groups::id, groups::school_id))
            .load(conn)?;
        let elsewhere: HashSet<i64> = activity_groups::table
            .inner_join(activities::table)
            .inner_join(groups::table)
            .filter(activity_groups::group_id.eq_any(chunk))
            .filter(activities::school_id.ne(groups::school_id))
            .select(activity_groups::group_id)
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        school_of.extend(
            rows.into_iter()
                .filter(|(g, s)| stretches.contains_key(s) && !elsewhere.contains(g)),
        );
    }
    for (&school, runs) in stretches {
        let wanted: Vec<&(i64, Option<i64>, NaiveDate, Until)> = changes
            .iter()
            .filter(|c| c.1.and_then(|g| school_of.get(&g)) == Some(&school))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let mut pupils: Vec<i64> = wanted.iter().map(|c| c.0).collect();
        pupils.sort_unstable();
        pupils.dedup();
        let mut other_school: HashSet<i64> = HashSet::new();
        for chunk in pupils.chunks(CHUNK) {
            other_school.extend(
                group_memberships::table
                    .inner_join(groups::table)
                    .filter(group_memberships::pupil_id.eq_any(chunk))
                    .filter(groups::school_id.ne(school))
                    .select(group_memberships::pupil_id)
                    .distinct()
                    .load::<i64>(conn)?,
            );
        }
        let lo = wanted.iter().map(|c| c.2).min().unwrap_or(first).max(first);
        let lesson_days: Vec<NaiveDate> = lessons::table
            .filter(lessons::school_id.eq(school))
            .filter(lessons::lesson_date.between(lo, last))
            .select(lessons::lesson_date)
            .distinct()
            .order(lessons::lesson_date)
            .load(conn)?;
        let inside = |d: &NaiveDate| runs.iter().any(|r| r.0 <= *d && *d <= r.1);
        for c in wanted {
            let (from, to) = (c.2.max(first), c.3.unwrap_or(last).min(last));
            let span = lesson_days.iter().filter(|d| from <= **d && **d <= to);
            if !other_school.contains(&c.0) && span.clone().all(inside) {
                if let Some(g) = c.1 {
                    out.insert((c.0, g));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap_or_default()
    }

    #[test]
    fn an_end_moved_changes_the_days_between_the_two_ends() {
        let start = d(8, 17);
        // ended earlier: from the day after the new end to the old end
        assert_eq!(
            end_moved(start, Some(d(12, 20)), Some(d(10, 31))),
            (d(11, 1), Some(d(12, 20)))
        );
        // an open membership ended: from the day after its end on
        assert_eq!(end_moved(start, None, Some(d(10, 31))), (d(11, 1), None));
        // an end taken away: the same days
        assert_eq!(end_moved(start, Some(d(10, 31)), None), (d(11, 1), None));
        // ended before it started (never in force): from its start
        assert_eq!(end_moved(start, None, Some(d(8, 1))), (start, None));
    }

    #[test]
    fn changed_days_close_together_are_one_stretch() {
        let days: HashSet<(i64, NaiveDate)> = [
            (1, d(9, 4)), // Friday
            (1, d(9, 7)), // the Monday after: joined
            (1, d(9, 8)),
            (1, d(9, 14)), // a week on: a stretch of its own
            (2, d(9, 8)),
        ]
        .into_iter()
        .collect();
        let s = stretches(&days);
        assert_eq!(s[&1], vec![(d(9, 4), d(9, 8)), (d(9, 14), d(9, 14))]);
        assert_eq!(s[&2], vec![(d(9, 8), d(9, 8))]);
    }
}
