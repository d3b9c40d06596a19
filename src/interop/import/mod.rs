//! `narvaro import <file-or-folder>`: the school structure as municipalities already have
//! it, from SS 12000 JSON (`ss12000`) or OneRoster 1.1 CSV (`oneroster`). Both readers
//! produce a `Roster` (everything keyed by the source's ids), checked whole before anything
//! is written; `apply` then writes it in one transaction, matching rows by `external_id`:
//!
//! - re-importing the same data changes nothing;
//! - a changed value or membership is updated, not duplicated;
//! - a person, membership or duty that disappears from the source is ended (`active =
//!   false`, an end date), never deleted, so their history stays;
//! - a bad row stores nothing, and the error names the file, the row and the field.
//!
//! An import is a snapshot or changes, never a guess (`Mode`): a snapshot (`--full`, a
//! OneRoster manifest of `bulk` files) ends what it no longer holds, inside the
//! organisations it covers; changes (`--changes`, a manifest of `delta` files, `narvaro
//! sync` after its first run) resolve references against what is stored and end only what
//! the source says is gone (`Gone`: SS 12000's `deletedEntities`, OneRoster's
//! `tobedeleted`) or gives an end date.

mod apply;
pub mod oneroster;
pub mod roster;
pub mod ss12000;
pub mod staged;

pub use roster::*;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::DbConn;

/// Reads a file or folder: SS 12000 JSON (a `.json` file, or a folder of them) or
/// OneRoster CSV (a folder with `manifest.csv`).
pub fn read(path: &Path, tz: Tz) -> Result<Roster, ImportError> {
    let name = path.display().to_string();
    if path.is_dir() {
        if path.join("manifest.csv").is_file() {
            return oneroster::read(path);
        }
        return ss12000::read_folder(path, tz);
    }
    if !path.is_file() {
        return Err(ImportError::at(&name, None, None, "no such file or folder"));
    }
    if name.ends_with(".json") {
        return ss12000::read_file(path, tz);
    }
    Err(ImportError::at(
        &name,
        None,
        None,
        "expected SS 12000 JSON (a .json file or a folder of them) or OneRoster CSV (a folder with manifest.csv)",
    ))
}

pub use apply::apply;

/// Reads, checks and applies in one transaction: a bad row stores nothing. `mode` is what
/// the command line asked for; the source may say it itself (a OneRoster manifest).
pub fn run(
    conn: &mut DbConn,
    path: &Path,
    mode: Option<Mode>,
    tz: Tz,
    today: NaiveDate,
    now: NaiveDateTime,
    civic: &crate::auth::civic::CivicKey,
) -> Result<Summary, String> {
    let mut roster = read(path, tz).map_err(|e| e.to_string())?;
    roster.hash_civic_numbers(civic);
    let mode =
        Mode::decide(mode, roster.declared).map_err(|e| format!("{}: {e}", roster.source))?;
    store(conn, &roster, mode, tz, today, now)
}

/// A group may still list a person the source deleted (its `deletedEntities`, a OneRoster
/// `tobedeleted` user, or, for a snapshot, a stored person the snapshot no longer holds):
/// such a membership is left out and named in the run's report, so it neither opens the
/// ended person's membership again nor refuses the whole run. In a run of changes, a
/// person the run brings back (the record is there) is no longer gone. A copy of the
/// roster without those memberships, or None when there are none.
fn leave_out_gone_members(
    conn: &mut DbConn,
    r: &Roster,
    mode: Mode,
) -> diesel::QueryResult<Option<(Roster, String)>> {
    let present: HashSet<&str> = r.persons.iter().map(|p| p.ext.as_str()).collect();
    let absent: Vec<String> = {
        let mut v: Vec<String> = r
            .memberships
            .iter()
            .map(|m| m.pupil.as_str())
            .filter(|p| !present.contains(p))
            .map(str::to_string)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    if absent.is_empty() {
        return Ok(None);
    }
    // the stored people among them, and whether each is still active
    let mut stored: HashMap<String, bool> = HashMap::new();
    for chunk in absent.chunks(crate::db::CHUNK) {
        let rows: Vec<(Option<String>, bool)> = crate::schema::people::table
            .filter(crate::schema::people::external_id.eq_any(chunk))
            .select((
                crate::schema::people::external_id,
                crate::schema::people::active,
            ))
            .load(conn)?;
        stored.extend(rows.into_iter().filter_map(|(e, a)| Some((e?, a))));
    }
    let deleted: HashSet<&str> = r.gone.persons.iter().map(String::as_str).collect();
    let gone = |pupil: &str| match mode {
        // a snapshot holds everyone: a stored person it lacks has left the source
        Mode::Full => stored.contains_key(pupil),
        Mode::Changes => deleted.contains(pupil) || stored.get(pupil) == Some(&false),
    };
    let dropped: Vec<&Membership> = r.memberships.iter().filter(|m| gone(&m.pupil)).collect();
    if dropped.is_empty() {
        return Ok(None);
    }
    let mut named: Vec<String> = dropped
        .iter()
        .map(|m| format!("{} in {}", m.pupil, m.group))
        .collect();
    let more = named.len().saturating_sub(5);
    named.truncate(5);
    let note = format!(
        "{} group membership(s) of people the source deleted were left out ({}{})",
        dropped.len(),
        named.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
    let mut copy = r.clone();
    copy.memberships.retain(|m| !gone(&m.pupil));
    Ok(Some((copy, note)))
}

/// Checks a roster (for changes, against what is stored) and writes it in one transaction:
/// the import's and the sync's last step. Nothing is stored unless all of it is.
pub fn store(
    conn: &mut DbConn,
    roster: &Roster,
    mode: Mode,
    tz: Tz,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Summary, String> {
    if !roster.civic_hashed && roster.persons.iter().any(|p| p.civic_no.is_some()) {
        return Err(format!(
            "{}: civic numbers must be hashed before they are stored (nothing was stored)",
            roster.source
        ));
    }
    // SQLite: the connection's own page cache (16 MiB). A year's timetable is hundreds of
    // megabytes of pages in one transaction, and a larger cache spills fewer of them to the
    // log mid-transaction (512 MiB: 10 % faster at 20,000 pupils), but it is memory that
    // grows with the municipality
    let stored = conn
        .transaction(|c| {
            let started = std::time::Instant::now();
            let left_out = leave_out_gone_members(c, roster, mode)?;
            let (roster, note) = match &left_out {
                Some((copy, note)) => (copy, Some(note)),
                None => (roster, None),
            };
            let mut known = match mode {
                Mode::Full => Known::default(),
                Mode::Changes => apply::known(c, roster)?,
            };
            if let (Some(run), Mode::Full) = (roster.staged_events, mode) {
                known.staged_activities = apply::staged_activities(c, roster, run)?;
            }
            if let Err(e) = check(roster, &known) {
                return Ok(Err(e.to_string()));
            }
            tracing::debug!(ms = started.elapsed().as_millis() as u64, "import checked");
            let mut sum = apply(c, roster, mode, &known, tz, today, now)?;
            sum.notes.extend(note.cloned());
            Ok(Ok(sum))
        })
        .map_err(|e: diesel::result::Error| {
            format!(
                "{}: the database refused the import, nothing was stored: {e}",
                roster.source
            )
        })
        .and_then(|checked| checked)
        .map(|mut s| {
            let mut notes = roster.notes.clone();
            notes.append(&mut s.notes);
            notes.append(&mut s.notes_of_apply);
            s.notes = notes;
            s
        });
    stored
}
