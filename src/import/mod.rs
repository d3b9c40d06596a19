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

pub mod oneroster;
pub mod ss12000;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::*;

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
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub inserted: usize,
    pub updated: usize,
    pub ended: usize,
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

type Ids = HashMap<String, i64>;

/// Rows already imported, by external id: (id, the values an import sets).
fn existing<T>(
    conn: &mut DbConn,
    exts: Vec<String>,
    load: impl Fn(&mut DbConn, &[String]) -> QueryResult<Vec<(Option<String>, i64, T)>>,
) -> QueryResult<HashMap<String, (i64, T)>> {
    let mut out = HashMap::new();
    for chunk in exts.chunks(crate::statistics::facts::CHUNK) {
        for (ext, id, values) in load(conn, chunk)? {
            if let Some(e) = ext {
                out.insert(e, (id, values));
            }
        }
    }
    Ok(out)
}

fn ids(rows: &HashMap<String, (i64, impl Sized)>) -> Ids {
    rows.iter().map(|(k, v)| (k.clone(), v.0)).collect()
}

/// Makes an activity's groups (or teachers) exactly `want`.
fn sync_links(
    conn: &mut DbConn,
    activity: i64,
    want: &HashSet<i64>,
    teachers: bool,
    sum: &mut Summary,
) -> QueryResult<()> {
    let have: HashSet<i64> = if teachers {
        activity_teachers::table
            .filter(activity_teachers::activity_id.eq(activity))
            .select(activity_teachers::teacher_id)
            .load::<i64>(conn)?
    } else {
        activity_groups::table
            .filter(activity_groups::activity_id.eq(activity))
            .select(activity_groups::group_id)
            .load::<i64>(conn)?
    }
    .into_iter()
    .collect();
    for &x in want.difference(&have) {
        if teachers {
            diesel::insert_into(activity_teachers::table)
                .values((
                    activity_teachers::activity_id.eq(activity),
                    activity_teachers::teacher_id.eq(x),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(activity_groups::table)
                .values((
                    activity_groups::activity_id.eq(activity),
                    activity_groups::group_id.eq(x),
                ))
                .execute(conn)?;
        }
        sum.inserted += 1;
    }
    for &x in have.difference(want) {
        if teachers {
            diesel::delete(
                activity_teachers::table
                    .filter(activity_teachers::activity_id.eq(activity))
                    .filter(activity_teachers::teacher_id.eq(x)),
            )
            .execute(conn)?;
        } else {
            diesel::delete(
                activity_groups::table
                    .filter(activity_groups::activity_id.eq(activity))
                    .filter(activity_groups::group_id.eq(x)),
            )
            .execute(conn)?;
        }
        sum.ended += 1;
    }
    Ok(())
}

/// Writes the roster: call inside a transaction (see `run`).
pub fn apply(
    conn: &mut DbConn,
    r: &Roster,
    tz: Tz,
    today: NaiveDate,
    now: NaiveDateTime,
) -> QueryResult<Summary> {
    let mut sum = Summary::default();

    // organisations, parents first
    type OrgValues = (String, Option<i64>, Option<String>, Option<String>);
    let org_rows = existing::<OrgValues>(
        conn,
        r.orgs.iter().map(|o| o.ext.clone()).collect(),
        |c, chunk| {
            organisations::table
                .filter(organisations::external_id.eq_any(chunk))
                .select((
                    organisations::external_id,
                    organisations::id,
                    (
                        organisations::name,
                        organisations::parent_id,
                        organisations::school_form,
                        organisations::school_unit_code,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut orgs = ids(&org_rows);
    let mut ordered: Vec<&Org> = r.orgs.iter().filter(|o| o.parent.is_none()).collect();
    ordered.extend(r.orgs.iter().filter(|o| o.parent.is_some()));
    for o in ordered {
        let parent = o.parent.as_ref().and_then(|p| orgs.get(p).copied());
        let want: OrgValues = (
            o.name.clone(),
            parent,
            o.school_form.map(str::to_string),
            o.unit_code.clone(),
        );
        match org_rows.get(&o.ext) {
            Some((_, have)) if *have == want => {}
            Some(&(id, _)) => {
                let n = diesel::update(organisations::table.find(id))
                    .set((
                        organisations::name.eq(&o.name),
                        organisations::parent_id.eq(parent),
                        organisations::school_form.eq(o.school_form),
                        organisations::school_unit_code.eq(o.unit_code.as_deref()),
                    ))
                    .execute(conn)?;
                sum.updated += n;
            }
            None => {
                let id: i64 = diesel::insert_into(organisations::table)
                    .values((
                        organisations::parent_id.eq(parent),
                        organisations::org_type.eq(o.kind),
                        organisations::name.eq(&o.name),
                        organisations::school_form.eq(o.school_form),
                        organisations::school_unit_code.eq(o.unit_code.as_deref()),
                        organisations::external_id.eq(&o.ext),
                        organisations::created_at.eq(now),
                    ))
                    .returning(organisations::id)
                    .get_result(conn)?;
                orgs.insert(o.ext.clone(), id);
                sum.inserted += 1;
            }
        }
        if o.kind == "municipality" {
            if let Some(&id) = orgs.get(&o.ext) {
                crate::seed::ensure_default_reasons(conn, id)?;
            }
        }
    }

    // persons
    #[allow(clippy::type_complexity)]
    type PersonValues = (
        String,
        String,
        Option<String>,
        Option<NaiveDate>,
        Option<String>,
        String,
        Option<String>,
        Option<i64>,
        bool,
    );
    let person_rows = existing::<PersonValues>(
        conn,
        r.persons.iter().map(|p| p.ext.clone()).collect(),
        |c, chunk| {
            people::table
                .filter(people::external_id.eq_any(chunk))
                .select((
                    people::external_id,
                    people::id,
                    (
                        people::given_name,
                        people::family_name,
                        people::civic_no,
                        people::birth_date,
                        people::sex,
                        people::security_marking,
                        people::email,
                        people::school_id,
                        people::active,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut persons = ids(&person_rows);
    for p in &r.persons {
        let school = p.school.as_ref().and_then(|s| orgs.get(s).copied());
        let want: PersonValues = (
            p.given.clone(),
            p.family.clone(),
            p.civic_no.clone(),
            p.birth_date,
            p.sex.map(str::to_string),
            p.marking.to_string(),
            p.email.clone(),
            school,
            true,
        );
        match person_rows.get(&p.ext) {
            Some((_, have)) if *have == want => {}
            Some(&(id, _)) => {
                let n = diesel::update(people::table.find(id))
                    .set((
                        people::given_name.eq(&p.given),
                        people::family_name.eq(&p.family),
                        people::civic_no.eq(p.civic_no.as_deref()),
                        people::birth_date.eq(p.birth_date),
                        people::sex.eq(p.sex),
                        people::security_marking.eq(p.marking),
                        people::email.eq(p.email.as_deref()),
                        people::school_id.eq(school),
                        people::active.eq(true),
                        people::ended_at.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
                sum.updated += n;
            }
            None => {
                let id: i64 = diesel::insert_into(people::table)
                    .values((
                        people::given_name.eq(&p.given),
                        people::family_name.eq(&p.family),
                        people::civic_no.eq(p.civic_no.as_deref()),
                        people::birth_date.eq(p.birth_date),
                        people::sex.eq(p.sex),
                        people::security_marking.eq(p.marking),
                        people::email.eq(p.email.as_deref()),
                        people::school_id.eq(school),
                        people::external_id.eq(&p.ext),
                        people::created_at.eq(now),
                    ))
                    .returning(people::id)
                    .get_result(conn)?;
                persons.insert(p.ext.clone(), id);
                sum.inserted += 1;
            }
        }
    }
    // people an earlier import brought from the same organisations who are gone now
    let school_ids: Vec<i64> = r
        .orgs
        .iter()
        .filter(|o| o.kind == "school")
        .filter_map(|o| orgs.get(&o.ext).copied())
        .collect();
    let present: HashSet<i64> = persons.values().copied().collect();
    let imported_here: Vec<i64> = people::table
        .left_join(duties::table.on(duties::person_id.eq(people::id)))
        .filter(people::external_id.is_not_null())
        .filter(people::active.eq(true))
        .filter(
            people::school_id
                .eq_any(&school_ids)
                .or(duties::organisation_id.eq_any(&school_ids)),
        )
        .select(people::id)
        .distinct()
        .load(conn)?;
    for id in imported_here.into_iter().filter(|id| !present.contains(id)) {
        diesel::update(people::table.find(id))
            .set((
                people::active.eq(false),
                people::ended_at.eq(now),
                people::token_version.eq(people::token_version + 1),
            ))
            .execute(conn)?;
        diesel::update(
            group_memberships::table
                .filter(group_memberships::pupil_id.eq(id))
                .filter(group_memberships::end_date.is_null()),
        )
        .set(group_memberships::end_date.eq(today - Duration::days(1)))
        .execute(conn)?;
        diesel::update(
            duties::table
                .filter(duties::person_id.eq(id))
                .filter(duties::end_date.is_null()),
        )
        .set(duties::end_date.eq(today - Duration::days(1)))
        .execute(conn)?;
        sum.ended += 1;
    }

    // guardianships (added; a responsible who disappears from the source is removed)
    let pupils_with: HashSet<i64> = r
        .responsibles
        .iter()
        .filter_map(|(p, _)| persons.get(p).copied())
        .collect();
    let wanted: HashSet<(i64, i64)> = r
        .responsibles
        .iter()
        .filter_map(|(p, g)| Some((*persons.get(p)?, *persons.get(g)?)))
        .collect();
    let pupil_list: Vec<i64> = r
        .persons
        .iter()
        .filter(|p| p.school.is_some())
        .filter_map(|p| persons.get(&p.ext).copied())
        .collect();
    let mut linked: HashSet<(i64, i64)> = HashSet::new();
    for chunk in pupil_list.chunks(crate::statistics::facts::CHUNK) {
        linked.extend(
            guardianships::table
                .filter(guardianships::pupil_id.eq_any(chunk))
                .select((guardianships::pupil_id, guardianships::guardian_id))
                .load::<(i64, i64)>(conn)?,
        );
    }
    for (pupil, guardian) in wanted.difference(&linked) {
        diesel::insert_into(guardianships::table)
            .values((
                guardianships::pupil_id.eq(pupil),
                guardianships::guardian_id.eq(guardian),
                guardianships::relation.eq("guardian"),
                guardianships::created_at.eq(now),
            ))
            .execute(conn)?;
        sum.inserted += 1;
    }
    let mut unlinked = Vec::new();
    for (pupil, guardian) in linked.difference(&wanted) {
        if pupils_with.contains(pupil) || pupil_list.contains(pupil) {
            diesel::delete(
                guardianships::table
                    .filter(guardianships::pupil_id.eq(pupil))
                    .filter(guardianships::guardian_id.eq(guardian)),
            )
            .execute(conn)?;
            sum.ended += 1;
            unlinked.push(*guardian);
        }
    }
    // a guardian left with no child, no duty and no school of their own is ended like a
    // teacher who left: not deleted, and every session and link of theirs stops working
    for guardian in unlinked {
        let children: i64 = guardianships::table
            .filter(guardianships::guardian_id.eq(guardian))
            .count()
            .get_result(conn)?;
        let duties_left: i64 = duties::table
            .filter(duties::person_id.eq(guardian))
            .filter(duties::end_date.is_null().or(duties::end_date.ge(today)))
            .count()
            .get_result(conn)?;
        if children > 0 || duties_left > 0 {
            continue;
        }
        let ended = diesel::update(
            people::table
                .find(guardian)
                .filter(people::active.eq(true))
                .filter(people::school_id.is_null()),
        )
        .set((
            people::active.eq(false),
            people::ended_at.eq(now),
            people::token_version.eq(people::token_version + 1),
        ))
        .execute(conn)?;
        if ended > 0 {
            // their unused sign-in links die with the account
            crate::auth::links::revoke_all(conn, guardian, now)?;
            sum.ended += 1;
        }
    }

    // groups
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
            Some(&(id, _)) => {
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
                        groups::created_at.eq(now),
                    ))
                    .returning(groups::id)
                    .get_result(conn)?;
                groups_by.insert(g.ext.clone(), id);
                sum.inserted += 1;
            }
        }
    }

    // memberships of the imported groups: matched on (group, pupil, start)
    let group_ids: Vec<i64> = groups_by.values().copied().collect();
    let mut current: HashMap<(i64, i64, NaiveDate), (i64, Option<NaiveDate>)> = HashMap::new();
    for chunk in group_ids.chunks(crate::statistics::facts::CHUNK) {
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
                }
            }
            None => {
                restarted
                    .entry((g, p))
                    .and_modify(|d: &mut NaiveDate| *d = (*d).min(m.start))
                    .or_insert(m.start);
                diesel::insert_into(group_memberships::table)
                    .values((
                        group_memberships::group_id.eq(g),
                        group_memberships::pupil_id.eq(p),
                        group_memberships::start_date.eq(m.start),
                        group_memberships::end_date.eq(m.end),
                    ))
                    .execute(conn)?;
                sum.inserted += 1;
            }
        }
    }
    for ((g, p, start), (id, end)) in &current {
        if keep.contains(id) {
            continue;
        }
        // gone from the source: ended yesterday, or the day before the same pupil's new
        // membership of the group starts; never deleted
        let mut ended = today - Duration::days(1);
        if let Some(new_start) = restarted.get(&(*g, *p)).filter(|d| *d > start) {
            ended = ended.min(*new_start - Duration::days(1));
        }
        let ended = ended.max(*start);
        if end.map_or(true, |e| e > ended) {
            diesel::update(group_memberships::table.find(*id))
                .set(group_memberships::end_date.eq(ended))
                .execute(conn)?;
            sum.ended += 1;
        }
    }

    // duties of the imported people: matched on (person, org, role, group, start)
    let person_ids: Vec<i64> = persons.values().copied().collect();
    type DutyKey = (i64, i64, String, Option<i64>, NaiveDate);
    let mut duty_rows: HashMap<DutyKey, (i64, Option<NaiveDate>)> = HashMap::new();
    for chunk in person_ids.chunks(crate::statistics::facts::CHUNK) {
        for (id, p, o, role, g, s, e) in duties::table
            .filter(duties::person_id.eq_any(chunk))
            .select((
                duties::id,
                duties::person_id,
                duties::organisation_id,
                duties::role,
                duties::group_id,
                duties::start_date,
                duties::end_date,
            ))
            .load::<(
                i64,
                i64,
                i64,
                String,
                Option<i64>,
                NaiveDate,
                Option<NaiveDate>,
            )>(conn)?
        {
            duty_rows.insert((p, o, role, g, s), (id, e));
        }
    }
    let mut keep: HashSet<i64> = HashSet::new();
    for d in &r.duties {
        let (Some(&p), Some(&o)) = (persons.get(&d.person), orgs.get(&d.org)) else {
            continue;
        };
        let g = d.group.as_ref().and_then(|g| groups_by.get(g).copied());
        match duty_rows.get(&(p, o, d.role.to_string(), g, d.start)) {
            Some(&(id, end)) => {
                keep.insert(id);
                if end != d.end {
                    diesel::update(duties::table.find(id))
                        .set(duties::end_date.eq(d.end))
                        .execute(conn)?;
                    sum.updated += 1;
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
                    ))
                    .execute(conn)?;
                sum.inserted += 1;
            }
        }
    }
    let in_scope: HashSet<i64> = orgs.values().copied().collect();
    for ((_, o, _, _, start), (id, end)) in &duty_rows {
        if keep.contains(id) || !in_scope.contains(o) {
            continue;
        }
        let ended = (today - Duration::days(1)).max(*start);
        if end.map_or(true, |e| e > ended) {
            diesel::update(duties::table.find(*id))
                .set(duties::end_date.eq(ended))
                .execute(conn)?;
            sum.ended += 1;
        }
    }

    // activities, with their groups and teachers
    type ActivityValues = (String, String, String, String, i64);
    let act_rows = existing::<ActivityValues>(
        conn,
        r.activities.iter().map(|a| a.ext.clone()).collect(),
        |c, chunk| {
            activities::table
                .filter(activities::external_id.eq_any(chunk))
                .select((
                    activities::external_id,
                    activities::id,
                    (
                        activities::display_name,
                        activities::subject_code,
                        activities::subject_name,
                        activities::activity_type,
                        activities::school_id,
                    ),
                ))
                .load(c)
        },
    )?;
    let mut acts = ids(&act_rows);
    for a in &r.activities {
        let school = orgs.get(&a.school).copied().unwrap_or_default();
        let want: ActivityValues = (
            a.name.clone(),
            a.subject_code.clone(),
            a.subject_name.clone(),
            a.kind.to_string(),
            school,
        );
        let id = match act_rows.get(&a.ext) {
            Some((id, have)) if *have == want => *id,
            Some(&(id, _)) => {
                sum.updated += diesel::update(activities::table.find(id))
                    .set((
                        activities::display_name.eq(&a.name),
                        activities::subject_code.eq(&a.subject_code),
                        activities::subject_name.eq(&a.subject_name),
                        activities::activity_type.eq(a.kind),
                        activities::school_id.eq(school),
                    ))
                    .execute(conn)?;
                id
            }
            None => {
                let id: i64 = diesel::insert_into(activities::table)
                    .values((
                        activities::school_id.eq(school),
                        activities::display_name.eq(&a.name),
                        activities::subject_code.eq(&a.subject_code),
                        activities::subject_name.eq(&a.subject_name),
                        activities::activity_type.eq(a.kind),
                        activities::external_id.eq(&a.ext),
                        activities::created_at.eq(now),
                    ))
                    .returning(activities::id)
                    .get_result(conn)?;
                acts.insert(a.ext.clone(), id);
                sum.inserted += 1;
                id
            }
        };
        let groups: HashSet<i64> = a
            .groups
            .iter()
            .filter_map(|g| groups_by.get(g).copied())
            .collect();
        let teachers: HashSet<i64> = a
            .teachers
            .iter()
            .filter_map(|t| persons.get(t).copied())
            .collect();
        sync_links(conn, id, &groups, false, &mut sum)?;
        sync_links(conn, id, &teachers, true, &mut sum)?;
    }

    // lessons (calendar events)
    type LessonValues = (i64, NaiveDate, NaiveTime, NaiveTime, i32, bool);
    let lesson_rows = existing::<LessonValues>(
        conn,
        r.events.iter().map(|e| e.ext.clone()).collect(),
        |c, chunk| {
            lessons::table
                .filter(lessons::external_id.eq_any(chunk))
                .select((
                    lessons::external_id,
                    lessons::id,
                    (
                        lessons::activity_id,
                        lessons::lesson_date,
                        lessons::starts_at,
                        lessons::ends_at,
                        lessons::teaching_minutes,
                        lessons::cancelled,
                    ),
                ))
                .load(c)
        },
    )?;
    let school_of: HashMap<&str, i64> = r
        .activities
        .iter()
        .map(|a| {
            (
                a.ext.as_str(),
                orgs.get(&a.school).copied().unwrap_or_default(),
            )
        })
        .collect();
    for e in &r.events {
        let Some(&activity) = acts.get(&e.activity) else {
            continue;
        };
        let school = school_of
            .get(e.activity.as_str())
            .copied()
            .unwrap_or_default();
        let (date, starts, ends) = (e.start.date(), e.start.time(), e.end.time());
        let want: LessonValues = (activity, date, starts, ends, e.minutes, e.cancelled);
        match lesson_rows.get(&e.ext) {
            Some((_, have)) if *have == want => {}
            Some(&(id, _)) => {
                sum.updated += diesel::update(lessons::table.find(id))
                    .set((
                        lessons::activity_id.eq(activity),
                        lessons::school_id.eq(school),
                        lessons::lesson_date.eq(date),
                        lessons::starts_at.eq(starts),
                        lessons::ends_at.eq(ends),
                        lessons::teaching_minutes.eq(e.minutes),
                        lessons::cancelled.eq(e.cancelled),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(lessons::table)
                    .values((
                        lessons::activity_id.eq(activity),
                        lessons::school_id.eq(school),
                        lessons::lesson_date.eq(date),
                        lessons::starts_at.eq(starts),
                        lessons::ends_at.eq(ends),
                        lessons::teaching_minutes.eq(e.minutes),
                        lessons::cancelled.eq(e.cancelled),
                        lessons::external_id.eq(&e.ext),
                    ))
                    .execute(conn)?;
                sum.inserted += 1;
            }
        }
    }

    // the statistics follow the new timetable and memberships
    if sum.changes() > 0 {
        for school in school_ids {
            let (lo, hi): (Option<NaiveDate>, Option<NaiveDate>) = lessons::table
                .filter(lessons::school_id.eq(school))
                .select((
                    diesel::dsl::min(lessons::lesson_date),
                    diesel::dsl::max(lessons::lesson_date),
                ))
                .first(conn)?;
            if let (Some(lo), Some(hi)) = (lo, hi) {
                crate::statistics::store::rebuild(conn, tz, school, lo, hi)?;
            }
        }
    }
    Ok(sum)
}

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
        .map_err(|e| {
            format!(
                "{}: the database refused the import, nothing was stored: {e}",
                roster.source
            )
        })
}
