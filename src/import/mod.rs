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

mod apply;
pub mod oneroster;
pub mod ss12000;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::DbConn;

/// What is wrong, and where: file, row (1-based, as an editor counts; for JSON the
/// record's number in its list) and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    pub row: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ImportError {
    pub fn at(
        file: &str,
        row: Option<usize>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ImportError {
            file: file.to_string(),
            row,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Org {
    pub ext: String,
    pub parent: Option<String>,
    /// "municipality" or "school"
    pub kind: &'static str,
    pub name: String,
    pub school_form: Option<&'static str>,
    pub unit_code: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Person {
    pub ext: String,
    pub given: String,
    pub family: String,
    pub civic_no: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<&'static str>,
    /// "none", "confidential" or "protected"
    pub marking: &'static str,
    pub email: Option<String>,
    /// for a pupil: the school they are enrolled at
    pub school: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Group {
    pub ext: String,
    pub school: String,
    pub name: String,
    /// "class", "teaching" or "mentor"
    pub kind: &'static str,
    pub school_year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Membership {
    pub group: String,
    pub pupil: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Duty {
    pub person: String,
    pub org: String,
    /// "principal", "teacher", "mentor" or "admin"
    pub role: &'static str,
    /// a mentor's group
    pub group: Option<String>,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub ext: String,
    pub school: String,
    pub name: String,
    pub subject_code: String,
    pub subject_name: String,
    /// "teaching", "pupil_activity" or "other"
    pub kind: &'static str,
    pub groups: Vec<String>,
    pub teachers: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub ext: String,
    pub activity: String,
    /// school-local
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub minutes: i32,
    pub cancelled: bool,
}

/// A source's whole school structure, keyed by the source's ids.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// where it came from, for messages
    pub source: String,
    pub orgs: Vec<Org>,
    pub persons: Vec<Person>,
    /// (pupil, guardian)
    pub responsibles: Vec<(String, String)>,
    pub groups: Vec<Group>,
    pub memberships: Vec<Membership>,
    pub duties: Vec<Duty>,
    pub activities: Vec<Activity>,
    pub events: Vec<Event>,
    /// what was read but left out or passed through, a line each, for the report
    pub notes: Vec<String>,
    /// groups read and left out (types without attendance): what names them is dropped
    pub skipped_groups: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub inserted: usize,
    pub updated: usize,
    pub ended: usize,
    /// the reader's notes: what the source holds that Närvaro left out or passed through
    pub notes: Vec<String>,
}

impl Summary {
    pub fn changes(&self) -> usize {
        self.inserted + self.updated + self.ended
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} added, {} updated, {} ended",
            self.inserted, self.updated, self.ended
        )
    }
}

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

/// Checks that every reference points at something in the roster (or, for organisations,
/// already in the database is not enough: a roster is whole).
pub fn check(r: &Roster) -> Result<(), ImportError> {
    let orgs: HashSet<&str> = r.orgs.iter().map(|o| o.ext.as_str()).collect();
    let persons: HashSet<&str> = r.persons.iter().map(|p| p.ext.as_str()).collect();
    let groups: HashSet<&str> = r.groups.iter().map(|g| g.ext.as_str()).collect();
    let activities: HashSet<&str> = r.activities.iter().map(|a| a.ext.as_str()).collect();
    let err = |what: &str, id: &str, field: &str, missing: &str| {
        ImportError::at(
            &r.source,
            None,
            Some(field),
            format!("{what} {id}: {missing} is not in the import"),
        )
    };
    let mut seen = HashSet::new();
    for o in &r.orgs {
        if !seen.insert(("org", o.ext.as_str())) {
            return Err(err(
                "organisation",
                &o.ext,
                "id",
                "the id appears twice; it",
            ));
        }
        if let Some(p) = &o.parent {
            if !orgs.contains(p.as_str()) {
                return Err(err("organisation", &o.ext, "parentOrganisation", p));
            }
        }
        if o.kind == "school" && o.parent.is_none() {
            return Err(ImportError::at(
                &r.source,
                None,
                Some("parentOrganisation"),
                format!("school {} has no municipality (huvudman) above it", o.ext),
            ));
        }
    }
    for p in &r.persons {
        if !seen.insert(("person", p.ext.as_str())) {
            return Err(err("person", &p.ext, "id", "the id appears twice; it"));
        }
        if let Some(s) = &p.school {
            if !orgs.contains(s.as_str()) {
                return Err(err("person", &p.ext, "enrolments", s));
            }
        }
    }
    for (pupil, guardian) in &r.responsibles {
        if !persons.contains(guardian.as_str()) {
            return Err(err("person", pupil, "responsibles", guardian));
        }
    }
    for g in &r.groups {
        if !orgs.contains(g.school.as_str()) {
            return Err(err("group", &g.ext, "organisation", &g.school));
        }
    }
    for m in &r.memberships {
        if !persons.contains(m.pupil.as_str()) {
            return Err(err("group", &m.group, "groupMemberships", &m.pupil));
        }
        if m.end.is_some_and(|e| e < m.start) {
            return Err(ImportError::at(
                &r.source,
                None,
                Some("groupMemberships"),
                format!(
                    "group {}: {}'s membership ends before it starts",
                    m.group, m.pupil
                ),
            ));
        }
    }
    for d in &r.duties {
        if !persons.contains(d.person.as_str()) {
            return Err(err("duty", &d.person, "person", &d.person));
        }
        if !orgs.contains(d.org.as_str()) {
            return Err(err("duty", &d.person, "dutyAt", &d.org));
        }
        if let Some(g) = &d.group {
            if !groups.contains(g.as_str()) {
                return Err(err("duty", &d.person, "group", g));
            }
        }
    }
    for a in &r.activities {
        if !orgs.contains(a.school.as_str()) {
            return Err(err("activity", &a.ext, "organisation", &a.school));
        }
        for g in &a.groups {
            if !groups.contains(g.as_str()) {
                return Err(err("activity", &a.ext, "groups", g));
            }
        }
        for t in &a.teachers {
            if !persons.contains(t.as_str()) {
                return Err(err("activity", &a.ext, "teachers", t));
            }
        }
    }
    for e in &r.events {
        if !activities.contains(e.activity.as_str()) {
            return Err(err("calendar event", &e.ext, "activity", &e.activity));
        }
    }
    Ok(())
}

/// Passes the organisation levels through (what hangs from one hangs from the nearest
/// municipality or school above it: SS 12000's Förvaltning or Rektorsområde, a OneRoster
/// department) and drops what names a skipped group. Both readers end with it.
pub(crate) fn pass_through(r: &mut Roster) {
    use std::collections::{HashMap, HashSet};
    let levels: HashMap<String, Option<String>> = r
        .orgs
        .iter()
        .filter(|o| o.kind == "level")
        .map(|o| (o.ext.clone(), o.parent.clone()))
        .collect();
    if !levels.is_empty() {
        // the nearest organisation above that is no level (a cycle of levels ends nowhere)
        let up = |id: &str| -> Option<String> {
            let mut at = Some(id.to_string());
            for _ in 0..=levels.len() {
                match at.as_deref().and_then(|a| levels.get(a)) {
                    Some(parent) => at = parent.clone(),
                    None => return at,
                }
            }
            None
        };
        for o in &mut r.orgs {
            o.parent = o.parent.as_deref().and_then(up);
        }
        let lift = |id: &mut String| {
            if levels.contains_key(id.as_str()) {
                if let Some(above) = up(id) {
                    *id = above;
                }
            }
        };
        for d in &mut r.duties {
            lift(&mut d.org);
        }
        for g in &mut r.groups {
            lift(&mut g.school);
        }
        for a in &mut r.activities {
            lift(&mut a.school);
        }
        for p in &mut r.persons {
            if let Some(s) = &mut p.school {
                lift(s);
            }
        }
        r.orgs.retain(|o| o.kind != "level");
        r.notes.push(format!(
            "{} organisation level(s) between the principal organiser and the schools passed through",
            levels.len()
        ));
    }
    let skipped: HashSet<&String> = r.skipped_groups.iter().collect();
    if !skipped.is_empty() {
        r.memberships.retain(|m| !skipped.contains(&m.group));
        for a in &mut r.activities {
            a.groups.retain(|g| !skipped.contains(g));
        }
        r.duties
            .retain(|d| d.group.as_ref().map_or(true, |g| !skipped.contains(g)));
    }
}

pub use apply::apply;

/// Reads, checks and applies in one transaction: a bad row stores nothing.
pub fn run(
    conn: &mut DbConn,
    path: &Path,
    tz: Tz,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Summary, String> {
    let roster = read(path, tz).map_err(|e| e.to_string())?;
    check(&roster).map_err(|e| e.to_string())?;
    conn.transaction(|c| apply(c, &roster, tz, today, now))
        .map(|mut s| {
            s.notes = roster.notes.clone();
            s
        })
        .map_err(|e| {
            format!(
                "{}: the database refused the import, nothing was stored: {e}",
                roster.source
            )
        })
}
