//! Writing a checked roster, stage by stage in one transaction (see `run`): organisations
//! (parents first), people (and ending those gone from the source), guardianships (and
//! ending guardians left with no child), groups, memberships, duties, activities with their
//! groups and teachers, lessons, and last the statistics. Each stage has its file
//! (`orgs`, `people`, `groups`, `teaching`, `gone`), and `touched` recomputes the
//! statistics of the pupils and days they moved; every stage matches stored rows by
//! `external_id` and decides with the plain rules of `common`, which are unit-tested.

use super::roster::{Known, Mode, Roster, Summary};
use crate::db::DbConn;
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use std::collections::HashSet;

/// Inserts `rows` (a Vec of insertable values) a batch per statement; the rows inserted.
macro_rules! insert_batched {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut n = 0usize;
        for batch in $rows.chunks(BATCH) {
            n += crate::on_backend!($conn, c => diesel::insert_into($table).values(batch).execute(c))?;
        }
        n
    }};
}

mod common;
mod gone;
mod groups;
mod known;
mod orgs;
mod people;
mod teaching;
mod touched;

use common::*;
use gone::*;
use groups::*;
pub use known::{known, staged_activities};
use known::{lookup, Table};
use orgs::*;
use people::*;
use teaching::*;
use touched::Touched;

/// Writes the roster: call inside a transaction (see `store`). `known`: the stored rows a
/// roster of changes refers to.
pub fn apply(
    conn: &mut DbConn,
    r: &Roster,
    mode: Mode,
    known: &Known,
    tz: Tz,
    today: NaiveDate,
    now: NaiveDateTime,
) -> QueryResult<Summary> {
    let mut sum = Summary::default();
    let mut lap = Laps::start();
    let mut orgs = organisations(conn, r, now, &mut sum)?;
    extend(&mut orgs, &known.orgs);
    let mut persons = people(conn, r, &orgs, now, &mut sum)?;
    addresses(conn, r, &persons, &mut sum)?;
    identifiers(conn, r, &persons, &mut sum)?;
    extend(&mut persons, &known.persons);
    lap.lap("organisations and people");
    // records the source holds but that could not be read: nothing of them is ended
    let unread: Vec<String> = r.unread.iter().cloned().collect();
    let kept_people: HashSet<i64> = lookup(conn, unread.clone(), Table::People)?
        .into_values()
        .collect();
    let kept_groups: HashSet<i64> = lookup(conn, unread, Table::Groups)?.into_values().collect();
    // what moves the statistics: people ended, a group's type, memberships, an
    // activity's groups, lessons; each stage notes the pupils and days it moved
    let mut touched = Touched::default();
    match mode {
        Mode::Full if r.unread_lists.contains("persons") => {
            sum.notes_of_apply
                .push("nobody was ended, since a person record could not be read".to_string());
        }
        Mode::Full => end_departed(
            conn,
            r,
            (&orgs, &persons),
            (today, now),
            &mut sum,
            &mut touched,
        )?,
        Mode::Changes => {
            // a person the run also brings exists in the source now: the deletion is older
            // than the record (deleted, then created again with the same id) and loses
            let present: HashSet<&str> = r.persons.iter().map(|p| p.ext.as_str()).collect();
            let gone: Vec<String> = r
                .gone
                .persons
                .iter()
                .filter(|ext| !present.contains(ext.as_str()))
                .cloned()
                .collect();
            end_named(conn, &gone, (today, now), &mut sum, &mut touched)?
        }
    };
    let unlinked = guardianships(conn, r, &persons, &kept_people, now, &mut sum)?;
    end_childless_guardians(conn, unlinked, today, now, &mut sum)?;
    lap.lap("endings and guardianships");
    let mut groups_by = groups(conn, r, &orgs, now, &mut sum, &mut touched)?;
    extend(&mut groups_by, &known.groups);
    let keys = Keys {
        orgs: &orgs,
        persons: &persons,
        groups: &groups_by,
        mode,
        piecemeal: r.piecemeal,
        kept_people: &kept_people,
        kept_groups: &kept_groups,
        keep_duties: r.unread_lists.contains("duties"),
    };
    duties(conn, r, &keys, today, &mut sum)?;
    lap.lap("groups and duties");
    memberships(conn, r, &keys, today, &mut sum, &mut touched)?;
    lap.lap("memberships");
    let mut acts = activities(conn, r, &keys, now, &mut sum, &mut touched)?;
    extend(&mut acts, &known.activities);
    lap.lap("activities");
    let seen = lessons(conn, r, &orgs, &acts, &mut sum, &mut touched)?;
    if mode == Mode::Full {
        cancel_missing(conn, r, &orgs, &seen, today, &mut sum, &mut touched)?;
    }
    lap.lap("lessons");
    end_gone(conn, r, today, &mut sum, &mut touched)?;
    note_gone_orgs(conn, r, &mut sum)?;
    lap.lap("endings");
    // the statistics of the pupils and days moved (a new name moves nothing)
    if !touched.is_empty() {
        touched.recompute(conn, tz)?;
        lap.lap("statistics");
    }
    Ok(sum)
}

/// How long each stage took, at debug level (`RUST_LOG=narvaro::interop::import=debug`).
struct Laps(std::time::Instant);

impl Laps {
    fn start() -> Self {
        Laps(std::time::Instant::now())
    }

    fn lap(&mut self, stage: &str) {
        let ms = self.0.elapsed().as_millis() as u64;
        let (rss_kib, peak_kib) = (
            crate::ops::memory::resident_kib(),
            crate::ops::memory::peak_kib(),
        );
        tracing::debug!(stage, ms, rss_kib, peak_kib, "import stage");
        self.0 = std::time::Instant::now();
    }
}
