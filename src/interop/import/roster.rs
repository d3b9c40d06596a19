//! What an import reads, before anything is written: the roster (organisations, people,
//! groups, memberships, duties, activities, lessons, and what the source says is gone, all
//! keyed by the source's ids), its mode, the check that every reference holds, and the
//! run's summary. Both readers produce it and `apply` writes it; it uses neither.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};

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
    /// SS 12000 `municipalityCode`: the municipality's four digits (0180)
    pub municipality_code: Option<String>,
}

/// A municipality code as SS 12000 gives it, a string ("0180") or a number (180): four
/// digits, the county's two and the municipality's two. `None` for anything else.
pub fn municipality_code(v: &serde_json::Value) -> Option<String> {
    let digits = match v {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.as_u64()?.to_string(),
        _ => return None,
    };
    (!digits.is_empty() && digits.len() <= 4 && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("{digits:0>4}"))
}

/// SS 12000 v2.1 Code_EmailType, every value.
pub const EMAIL_TYPES: [&str; 4] = ["Privat", "Skola elev", "Skola personal", "Arbete övrigt"];

/// The address notices go to until the person chooses one: staff are written to at
/// school, guardians privately, so "Skola personal" before "Privat", then "Skola elev",
/// then any other; the source's first of a type.
pub fn notice_address(emails: &[(&str, String)]) -> Option<String> {
    ["Skola personal", "Privat", "Skola elev", "Arbete övrigt"]
        .iter()
        .find_map(|t| emails.iter().find(|(k, _)| k == t))
        .map(|(_, a)| a.clone())
}

#[derive(Debug, Clone, Default)]
pub struct Person {
    pub ext: String,
    pub given: String,
    pub family: String,
    pub civic_no: Option<String>,
    /// a pupil's civic number sealed (`CivicKey::seal`), set with the hash
    pub civic_sealed: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<&'static str>,
    /// "none", "confidential" or "protected"
    pub marking: &'static str,
    /// the address notices go to unless the person chose another ([`notice_address`])
    pub email: Option<String>,
    /// every address the source lists, with its SS 12000 type
    pub emails: Vec<(&'static str, String)>,
    /// for a pupil: the school they are enrolled at
    pub school: Option<String>,
    /// what they sign in with at the municipality's identity provider
    pub identifiers: Vec<Identifier>,
    /// the municipality they are registered in (four digits), from the Folkbokföring
    /// address
    pub municipality_code: Option<String>,
    /// a telephone number in E.164, a mobile one first (`crate::school::phone`)
    pub phone: Option<String>,
}

/// SS 12000 `eduPersonPrincipalNames` (kind "eppn") and `externalIdentifiers` ("external",
/// with their context and whether they are globally unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub kind: &'static str,
    pub context: Option<String>,
    pub value: String,
    pub globally_unique: bool,
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
    /// the source's id of the duty record (SS 12000); a mentor assignment shares it
    pub ext: Option<String>,
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

/// What an import is: a whole snapshot, or changes to what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--full`: the source's whole structure; what it no longer holds is ended, inside
    /// the organisations it covers
    Full,
    /// `--changes`: records that changed; references may point at what is stored, and only
    /// what the source names as gone is ended
    Changes,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Changes => "changes",
        }
    }

    /// The mode asked for on the command line, checked against what the source says of
    /// itself (a OneRoster manifest); with neither, no guess.
    pub fn decide(asked: Option<Mode>, declared: Option<Mode>) -> Result<Mode, String> {
        match (asked, declared) {
            (Some(a), Some(d)) if a != d => Err(format!(
                "the source says it is {} (manifest.csv), but --{} was given",
                d.describe(),
                a.as_str()
            )),
            (Some(m), _) | (None, Some(m)) => Ok(m),
            (None, None) => Err(
                "say what the source is: --full for a whole snapshot (people, \
                 memberships and duties it no longer holds are ended, inside the organisations it \
                 covers), or --changes for changed records only (nothing is ended that the source \
                 does not name as deleted)"
                    .to_string(),
            ),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Mode::Full => "a whole snapshot (bulk)",
            Mode::Changes => "changes only (delta)",
        }
    }
}

/// What the source says is gone (SS 12000 `deletedEntities`, OneRoster `tobedeleted`), by
/// the source's ids.
#[derive(Debug, Clone, Default)]
pub struct Gone {
    pub orgs: Vec<String>,
    pub persons: Vec<String>,
    pub groups: Vec<String>,
    pub duties: Vec<String>,
    pub activities: Vec<String>,
    pub events: Vec<String>,
    /// (group, pupil): one membership ended (a OneRoster enrollment)
    pub memberships: Vec<(String, String)>,
}

impl Gone {
    pub fn len(&self) -> usize {
        self.orgs.len()
            + self.persons.len()
            + self.groups.len()
            + self.duties.len()
            + self.activities.len()
            + self.events.len()
            + self.memberships.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A source's school structure (whole, or its changes), keyed by the source's ids.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// what the source says it is (a OneRoster manifest's bulk or delta), if it says
    pub declared: Option<Mode>,
    /// a group's memberships and an activity's groups and teachers come one by one (a
    /// OneRoster delta's enrollments), not whole with their record: changes then only add,
    /// and end what `gone` names
    pub piecemeal: bool,
    pub gone: Gone,
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
    /// the sync run whose calendar events wait in the database (`staged`), read back in
    /// batches as they are written, rather than in `events`
    pub staged_events: Option<i64>,
    /// what was read but left out or passed through, a line each, for the report
    pub notes: Vec<String>,
    /// groups read and left out (types without attendance): what names them is dropped
    pub skipped_groups: Vec<String>,
    /// records that could not be read (by id, where it could be read) and the lists they
    /// were in: left out with what names them, and a snapshot ends nothing of such a list
    pub unread: HashSet<String>,
    pub unread_lists: HashSet<&'static str>,
    /// the days the calendar events cover (first, last): a sync's school year, a file's
    /// first to last event; a snapshot cancels the imported lessons of its schools in it
    /// that it no longer holds
    pub calendar: Option<(NaiveDate, NaiveDate)>,
    /// whether `persons`' civic numbers are hashed yet ([`Roster::hash_civic_numbers`])
    pub civic_hashed: bool,
    /// a pupil's school year from their enrolment (SS 12000 `Enrolment.schoolYear`), by
    /// the person's id: a class without a school year of its own takes its pupils'
    pub enrolment_years: HashMap<String, i32>,
}

/// Where the roster's lists stood before a record was read (`Roster::mark`).
#[derive(Debug, Clone, Copy)]
pub struct Mark([usize; 7]);

impl Roster {
    /// Replaces the persons' civic numbers by their keyed hash, and seals a pupil's (a
    /// person enrolled at a school): nothing else of them is ever stored
    /// (src/auth/civic.rs). `store` refuses a roster not hashed.
    pub fn hash_civic_numbers(&mut self, key: &crate::auth::civic::CivicKey) {
        for p in &mut self.persons {
            let raw = p.civic_no.take();
            p.civic_sealed = match (&p.school, &raw) {
                (Some(_), Some(c)) => key.seal(c),
                _ => None,
            };
            p.civic_no = raw.as_deref().and_then(|c| key.hash(c));
        }
        self.civic_hashed = true;
    }

    pub fn mark(&self) -> Mark {
        Mark([
            self.orgs.len(),
            self.persons.len(),
            self.responsibles.len(),
            self.groups.len(),
            self.memberships.len(),
            self.duties.len(),
            self.activities.len(),
        ])
    }

    /// Takes back what a record that failed half-way had added.
    pub fn rollback(&mut self, m: Mark) {
        self.orgs.truncate(m.0[0]);
        self.persons.truncate(m.0[1]);
        self.responsibles.truncate(m.0[2]);
        self.groups.truncate(m.0[3]);
        self.memberships.truncate(m.0[4]);
        self.duties.truncate(m.0[5]);
        self.activities.truncate(m.0[6]);
    }

    /// Notes a record of `list` that could not be read; it is left out.
    pub fn left_out(&mut self, list: &str, id: Option<String>, e: ImportError) {
        let list: &'static str = match list {
            "organisations" => "organisations",
            "persons" => "persons",
            "groups" => "groups",
            "duties" => "duties",
            "syllabuses" => "syllabuses",
            "activities" => "activities",
            _ => "calendarEvents",
        };
        self.unread_lists.insert(list);
        self.notes.push(format!("{e}: the record was left out"));
        self.unread.extend(id);
    }
}

/// Records and links in a roster.
fn records(r: &Roster) -> usize {
    r.orgs.len()
        + r.persons.len()
        + r.responsibles.len()
        + r.groups.len()
        + r.memberships.len()
        + r.duties.len()
        + r.activities.len()
        + r.events.len()
}

/// Leaves out what names a record that could not be read, with a line in the report (a
/// membership of an unread pupil, a lesson of an unread activity, a school under an unread
/// municipality, and what hangs from those).
pub(crate) fn drop_unread(r: &mut Roster) {
    if r.unread.is_empty() {
        return;
    }
    let before = records(r);
    let mut u = std::mem::take(&mut r.unread);
    loop {
        let n = u.len();
        for o in &r.orgs {
            if o.parent.as_ref().is_some_and(|p| u.contains(p)) {
                u.insert(o.ext.clone());
            }
        }
        if u.len() == n {
            break;
        }
    }
    r.orgs.retain(|o| !u.contains(&o.ext));
    for p in &r.persons {
        if p.school.as_ref().is_some_and(|s| u.contains(s)) {
            u.insert(p.ext.clone());
        }
    }
    r.persons.retain(|p| !u.contains(&p.ext));
    for g in &r.groups {
        if u.contains(&g.school) {
            u.insert(g.ext.clone());
        }
    }
    r.groups.retain(|g| !u.contains(&g.ext));
    r.responsibles
        .retain(|(p, g)| !u.contains(p) && !u.contains(g));
    r.memberships
        .retain(|m| !u.contains(&m.pupil) && !u.contains(&m.group));
    r.duties.retain(|d| {
        !u.contains(&d.person)
            && !u.contains(&d.org)
            && !d.group.as_ref().is_some_and(|g| u.contains(g))
            && !d.ext.as_ref().is_some_and(|x| u.contains(x))
    });
    for a in &r.activities {
        if u.contains(&a.school) {
            u.insert(a.ext.clone());
        }
    }
    r.activities.retain(|a| !u.contains(&a.ext));
    for a in &mut r.activities {
        a.groups.retain(|g| !u.contains(g));
        a.teachers.retain(|t| !u.contains(t));
    }
    r.events
        .retain(|e| !u.contains(&e.activity) && !u.contains(&e.ext));
    let after = records(r);
    if before > after {
        r.notes.push(format!(
            "{} record(s) and link(s) that name a record left out were left out too",
            before - after
        ));
    }
    r.unread = u;
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub inserted: usize,
    pub updated: usize,
    pub ended: usize,
    /// the reader's notes: what the source holds that Närvaro left out or passed through
    pub notes: Vec<String>,
    /// what writing it left undone, a line each (after the reader's notes)
    pub notes_of_apply: Vec<String>,
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

/// Stored rows, by the source's ids, that a roster of changes refers to without holding
/// them (empty for a snapshot: a snapshot is whole).
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub orgs: HashMap<String, i64>,
    pub persons: HashMap<String, i64>,
    pub groups: HashMap<String, i64>,
    pub activities: HashMap<String, i64>,
    /// the activities the staged calendar events name (each with one event naming it),
    /// those of records left out aside
    pub staged_activities: Vec<(String, String)>,
}

/// Checks that every reference points at something in the roster or, for changes, at
/// something stored (`known`).
pub fn check(r: &Roster, known: &Known) -> Result<(), ImportError> {
    fn with<'a>(
        own: impl Iterator<Item = &'a String>,
        stored: &'a HashMap<String, i64>,
    ) -> HashSet<&'a str> {
        own.chain(stored.keys()).map(String::as_str).collect()
    }
    let orgs = with(r.orgs.iter().map(|o| &o.ext), &known.orgs);
    let persons = with(r.persons.iter().map(|p| &p.ext), &known.persons);
    let groups = with(r.groups.iter().map(|g| &g.ext), &known.groups);
    let activities = with(r.activities.iter().map(|a| &a.ext), &known.activities);
    let err = |what: &str, id: &str, field: &str, missing: &str| {
        ImportError::at(
            &r.source,
            None,
            Some(field),
            format!("{what} {id}: {missing} is neither in the import nor stored"),
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
    for (activity, event) in &known.staged_activities {
        if !activities.contains(activity.as_str()) {
            return Err(err("calendar event", event, "activity", activity));
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
    leave_out_impossible_years(r);
    let skipped: HashSet<&String> = r.skipped_groups.iter().collect();
    if !skipped.is_empty() {
        r.memberships.retain(|m| !skipped.contains(&m.group));
        for a in &mut r.activities {
            a.groups.retain(|g| !skipped.contains(g));
        }
        r.duties
            .retain(|d| d.group.as_ref().is_none_or(|g| !skipped.contains(g)));
    }
}

/// A group whose year group its school's form does not have (grundskola's year 12, a
/// gymnasieskola's year 0) is left out and named, with what names it; the rest imports.
/// Years 1–10 of the ten-year compulsory school are in range (`school::year_groups`).
fn leave_out_impossible_years(r: &mut Roster) {
    use std::collections::HashMap;
    let forms: HashMap<&str, &str> = r
        .orgs
        .iter()
        .filter_map(|o| o.school_form.map(|f| (o.ext.as_str(), f)))
        .collect();
    let (notes, skipped) = (&mut r.notes, &mut r.skipped_groups);
    r.groups.retain(|g| {
        let Some(year) = g.school_year else {
            return true;
        };
        // a school of no known form (OneRoster has none) is held to what any form has
        let form = forms.get(g.school.as_str()).copied().unwrap_or("any school form");
        let range = crate::school::year_groups::range(form)
            .unwrap_or_else(crate::school::year_groups::any_form);
        if range.contains(&year) {
            return true;
        }
        notes.push(format!(
            "group {} ({}): year group {year} is not one of {form}'s ({}–{}); left out with its memberships",
            g.ext,
            g.name,
            range.start(),
            range.end()
        ));
        skipped.push(g.ext.clone());
        false
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_municipality_code_is_four_digits_from_a_string_or_a_number() {
        use serde_json::json;
        assert_eq!(municipality_code(&json!("0180")).as_deref(), Some("0180"));
        assert_eq!(municipality_code(&json!(180)).as_deref(), Some("0180"));
        assert_eq!(municipality_code(&json!(2480)).as_deref(), Some("2480"));
        for none in [
            json!("Solna"),
            json!("01800"),
            json!(""),
            json!(-180),
            json!(1.5),
            json!(true),
        ] {
            assert_eq!(municipality_code(&none), None, "{none}");
        }
    }
}
