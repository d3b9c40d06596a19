//! OneRoster 1.1 CSV: a folder with `manifest.csv`, `orgs.csv`, `users.csv`,
//! `classes.csv`, `enrollments.csv` and `academicSessions.csv` (`courses.csv` optional).
//! Every file has `sourcedId`, `status` and `dateLastModified`; rows with status
//! `tobedeleted` are left out and named as gone. The manifest says whether each file is a
//! `bulk` snapshot or a `delta` of changes (`declared`); a delta's enrollments come one by
//! one and may name classes and users stored earlier. OneRoster has no timetable: lessons
//! come from SS 12000 calendar events or the timetabling system.
//!
//! Mapping: orgs `district` → municipality, `school` → school (`department` and `local`
//! passed through; schools without a district get one implicit municipality); users
//! `student` → pupil (school: their first org), `teacher` → teacher at their orgs,
//! `administrator` → principal, `parent`/`guardian` → guardian of the students whose `agentSourcedIds`
//! name them (or whom they name); classes `homeroom` → class, `scheduled` → teaching
//! group and an activity taught by the class's teachers; enrollments → memberships from
//! `beginDate` (or the class's term) to `endDate`.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;

use super::roster::{
    Activity, Duty, Group, Identifier, ImportError, Membership, Org, Person, Roster,
};

/// Parses RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks.
/// Answers the rows with the line each starts on.
/// (line, cells) of a CSV file; an error is (line, message).
pub type CsvRows = Vec<(usize, Vec<String>)>;

pub fn parse_csv(text: &str) -> Result<CsvRows, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    // RFC 4180: a closing quote ends the field (`"ab"c` is not `abc`)
                    if !matches!(chars.peek(), None | Some(',' | '\r' | '\n')) {
                        return Err((line, "text after a closing quote".into()));
                    }
                }
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            '"' => return Err((line, "a quote inside an unquoted field".into())),
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push((start, std::mem::take(&mut row)));
                }
                row.clear();
                line += 1;
                start = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err((start, "a quoted field is not closed".into()));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push((start, row));
    }
    Ok(rows)
}

struct Table {
    file: String,
    head: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

struct Line<'a> {
    t: &'a Table,
    line: usize,
    cells: &'a [String],
}

impl<'a> Line<'a> {
    fn err(&self, field: &str, msg: impl Into<String>) -> ImportError {
        ImportError::at(&self.t.file, Some(self.line), Some(field), msg)
    }
    fn opt(&self, name: &str) -> Option<&'a str> {
        let i = self.t.head.iter().position(|h| h == name)?;
        self.cells
            .get(i)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
    fn req(&self, name: &str) -> Result<&'a str, ImportError> {
        let v = self.opt(name).ok_or_else(|| self.err(name, "is empty"))?;
        if v.len() > 500 {
            return Err(self.err(name, "is longer than 500 characters"));
        }
        Ok(v)
    }
    fn date(&self, name: &str) -> Result<Option<NaiveDate>, ImportError> {
        self.opt(name)
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| self.err(name, format!("'{s}' is not a date (YYYY-MM-DD)")))
            })
            .transpose()
    }
    fn list(&self, name: &str) -> Vec<String> {
        self.opt(name)
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn active(&self) -> Result<bool, ImportError> {
        match self.opt("status").unwrap_or("active") {
            "active" => Ok(true),
            "tobedeleted" => Ok(false),
            other => Err(self.err("status", format!("'{other}' is not active or tobedeleted"))),
        }
    }
}

fn table(
    dir: &Path,
    name: &str,
    required: &[&str],
    needed: bool,
) -> Result<Option<Table>, ImportError> {
    let path = dir.join(name);
    let file = path.display().to_string();
    if !path.is_file() {
        return if needed {
            Err(ImportError::at(&file, None, None, "is missing"))
        } else {
            Ok(None)
        };
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ImportError::at(
            &file,
            None,
            None,
            format!("cannot read it (UTF-8 is needed): {e}"),
        )
    })?;
    let mut rows =
        parse_csv(&text).map_err(|(line, msg)| ImportError::at(&file, Some(line), None, msg))?;
    if rows.is_empty() {
        return Err(ImportError::at(&file, Some(1), None, "has no header row"));
    }
    let (_, head) = rows.remove(0);
    let head: Vec<String> = head.into_iter().map(|h| h.trim().to_string()).collect();
    for r in ["sourcedId", "status", "dateLastModified"]
        .iter()
        .chain(required)
    {
        if !head.iter().any(|h| h == r) {
            return Err(ImportError::at(
                &file,
                Some(1),
                Some(r),
                "the column is missing",
            ));
        }
    }
    for (line, cells) in &rows {
        if cells.len() != head.len() {
            return Err(ImportError::at(
                &file,
                Some(*line),
                None,
                format!("has {} fields, the header {}", cells.len(), head.len()),
            ));
        }
    }
    Ok(Some(Table { file, head, rows }))
}

fn lines(t: &Table) -> impl Iterator<Item = Line<'_>> {
    t.rows.iter().map(move |(line, cells)| Line {
        t,
        line: *line,
        cells,
    })
}

pub fn read(dir: &Path) -> Result<Roster, ImportError> {
    let mut r = Roster {
        source: dir.display().to_string(),
        ..Default::default()
    };
    let manifest = table_manifest(dir)?;
    if manifest
        .get("oneroster.version")
        .is_some_and(|v| v != "1.1")
    {
        return Err(ImportError::at(
            &dir.join("manifest.csv").display().to_string(),
            None,
            Some("oneroster.version"),
            "only OneRoster 1.1 is read",
        ));
    }
    r.declared = declared(&manifest).map_err(|m| {
        ImportError::at(
            &dir.join("manifest.csv").display().to_string(),
            None,
            None,
            m,
        )
    })?;
    r.piecemeal = r.declared == Some(super::roster::Mode::Changes);
    // a delta may leave out a file with no changes
    let whole = !r.piecemeal;
    let need = |name: &str, t: Option<Table>| -> Result<Table, ImportError> {
        match t {
            Some(t) => Ok(t),
            None if !whole => Ok(Table {
                file: dir.join(name).display().to_string(),
                head: Vec::new(),
                rows: Vec::new(),
            }),
            None => Err(ImportError::at(name, None, None, "is missing")),
        }
    };
    let orgs = need(
        "orgs.csv",
        table(dir, "orgs.csv", &["name", "type"], whole)?,
    )?;
    let users = need(
        "users.csv",
        table(
            dir,
            "users.csv",
            &["role", "givenName", "familyName", "orgSourcedIds"],
            whole,
        )?,
    )?;
    let classes = need(
        "classes.csv",
        table(
            dir,
            "classes.csv",
            &["title", "classType", "schoolSourcedId"],
            whole,
        )?,
    )?;
    let enrollments = need(
        "enrollments.csv",
        table(
            dir,
            "enrollments.csv",
            &["classSourcedId", "userSourcedId", "role"],
            whole,
        )?,
    )?;
    let sessions = table(
        dir,
        "academicSessions.csv",
        &["startDate", "endDate"],
        false,
    )?;
    let courses = table(dir, "courses.csv", &["title"], false)?;

    read_orgs(&orgs, &mut r)?;
    let term_start = term_starts(sessions.as_ref())?;
    let users_seen = read_users(&users, &mut r)?;
    keep_guardians(&users, &users_seen, &mut r)?;
    let class_of = read_classes(&classes, courses.as_ref(), &term_start, &mut r)?;
    read_enrollments(&enrollments, &users_seen, &class_of, &mut r)?;
    super::roster::drop_unread(&mut r);
    super::roster::pass_through(&mut r);
    implicit_district(&mut r);
    Ok(r)
}

/// What the manifest's `file.*` entries say: every file present `bulk` (a snapshot) or every
/// one `delta` (changes); a mix is refused, and so is an unknown value.
fn declared(manifest: &HashMap<String, String>) -> Result<Option<super::Mode>, String> {
    let mut bulk = Vec::new();
    let mut delta = Vec::new();
    for (key, value) in manifest.iter().filter(|(k, _)| k.starts_with("file.")) {
        match value.as_str() {
            "bulk" => bulk.push(key.as_str()),
            "delta" => delta.push(key.as_str()),
            "absent" => {}
            other => return Err(format!("{key} is '{other}', not bulk, delta or absent")),
        }
    }
    match (bulk.is_empty(), delta.is_empty()) {
        (true, true) => Ok(None),
        (false, true) => Ok(Some(super::roster::Mode::Full)),
        (true, false) => Ok(Some(super::roster::Mode::Changes)),
        (false, false) => {
            bulk.sort_unstable();
            delta.sort_unstable();
            Err(format!(
                "mixes bulk files ({}) with delta files ({}); import the bulk files and the delta files separately",
                bulk.join(", "),
                delta.join(", ")
            ))
        }
    }
}

/// The principal organiser of schools the file hangs from no district (a OneRoster file
/// of one school often has none): one municipality, the same on every import.
pub const IMPLICIT_DISTRICT: &str = "oneroster-implicit-district";

fn implicit_district(r: &mut Roster) {
    let orphans: Vec<String> = r
        .orgs
        .iter()
        .filter(|o| o.kind == "school" && o.parent.is_none())
        .map(|o| o.name.clone())
        .collect();
    if orphans.is_empty() {
        return;
    }
    for o in r
        .orgs
        .iter_mut()
        .filter(|o| o.kind == "school" && o.parent.is_none())
    {
        o.parent = Some(IMPLICIT_DISTRICT.to_string());
    }
    r.orgs.insert(
        0,
        Org {
            ext: IMPLICIT_DISTRICT.to_string(),
            parent: None,
            kind: "municipality",
            name: "Huvudman".to_string(),
            school_form: None,
            unit_code: None,
            municipality_code: None,
        },
    );
    r.notes.push(format!(
        "orgs.csv: {} has no district above it; a municipality (Huvudman) was made for it",
        orphans.join(", ")
    ));
}

/// Reads one line with `read`: a line that cannot be read is left out and named, with
/// what it adds to the roster, when `id` says what it is (`list`, as `Roster::left_out`
/// has them); then nothing of that record is ended or changed. A line that names nothing
/// cannot be left out safely (a snapshot would end what it held), and stops the import.
fn tolerant(
    r: &mut Roster,
    list: &str,
    id: Option<&str>,
    read: impl FnOnce(&mut Roster) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mark = r.mark();
    match (read(r), id) {
        (Ok(()), _) => Ok(()),
        (Err(e), Some(id)) => {
            r.rollback(mark);
            r.left_out(list, Some(id.to_string()), e);
            Ok(())
        }
        (Err(e), None) => Err(e),
    }
}

/// Organisations: districts (and national or state bodies) are principal organisers,
/// schools are schools.
fn read_orgs(orgs: &Table, r: &mut Roster) -> Result<(), ImportError> {
    for l in lines(orgs) {
        tolerant(r, "organisations", l.opt("sourcedId"), |r| read_org(&l, r))?;
    }
    Ok(())
}

fn read_org(l: &Line, r: &mut Roster) -> Result<(), ImportError> {
    if !l.active()? {
        r.gone.orgs.push(l.req("sourcedId")?.to_string());
        return Ok(());
    }
    let kind = match l.req("type")? {
        "district" | "national" | "state" => "municipality",
        "school" => "school",
        // levels of their own: what names one hangs from the school or district above
        "department" | "local" => "level",
        other => {
            return Err(l.err(
                "type",
                format!("'{other}' is not a OneRoster 1.1 org type (department, school, district, local, state, national)"),
            ))
        }
    };
    r.orgs.push(Org {
        ext: l.req("sourcedId")?.to_string(),
        parent: l.opt("parentSourcedId").map(str::to_string),
        kind,
        name: l.req("name")?.to_string(),
        school_form: None,
        unit_code: l.opt("identifier").map(str::to_string),
        municipality_code: None,
    });
    Ok(())
}

/// Each academic session's first day, by its sourcedId.
fn term_starts(sessions: Option<&Table>) -> Result<HashMap<String, NaiveDate>, ImportError> {
    Ok(match sessions {
        None => HashMap::new(),
        Some(t) => {
            let mut m = HashMap::new();
            for l in lines(t) {
                if let Some(d) = l.date("startDate")? {
                    m.insert(l.req("sourcedId")?.to_string(), d);
                }
                l.date("endDate")?;
            }
            m
        }
    })
}

/// Users by role, and those being deleted (`status` tobedeleted).
struct Users {
    roles: HashMap<String, String>,
    deleted: std::collections::HashSet<String>,
}

/// Users: students (with the agents they name), teachers and administrators (a duty at
/// each of their organisations), parents and guardians; aides and proctors are skipped.
fn read_users(users: &Table, r: &mut Roster) -> Result<Users, ImportError> {
    let mut roles: HashMap<String, String> = HashMap::new();
    let mut deleted: std::collections::HashSet<String> = Default::default();
    for l in lines(users) {
        tolerant(r, "persons", l.opt("sourcedId"), |r| {
            if !l.active()? {
                let id = l.req("sourcedId")?.to_string();
                r.gone.persons.push(id.clone());
                deleted.insert(id);
                return Ok(());
            }
            let ext = l.req("sourcedId")?.to_string();
            let role = l.req("role")?;
            let orgs_of = l.list("orgSourcedIds");
            let email = match l.opt("email") {
                None => None,
                Some(e) => match crate::mail::Email::parse(e) {
                    Some(e) => Some(e.to_string()),
                    None => return Err(l.err("email", "is not an e-mail address")),
                },
            };
            let pupil = role == "student";
            // OneRoster has one address a user; its kind follows the role
            let kind = match role {
                "student" => "Skola elev",
                "teacher" | "administrator" => "Skola personal",
                _ => "Privat",
            };
            match role {
                "student" => {
                    for agent in l.list("agentSourcedIds") {
                        r.responsibles.push((ext.clone(), agent));
                    }
                }
                "teacher" | "administrator" => {
                    for o in &orgs_of {
                        r.duties.push(Duty {
                            ext: None,
                            person: ext.clone(),
                            org: o.clone(),
                            role: if role == "teacher" {
                                "teacher"
                            } else {
                                "principal"
                            },
                            group: None,
                            start: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
                            end: None,
                        });
                    }
                }
                "parent" | "guardian" | "relative" => {}
                "aide" | "proctor" => return Ok(()),
                other => {
                    return Err(l.err(
                        "role",
                        format!(
                            "'{other}' is not student, teacher, administrator, parent or guardian"
                        ),
                    ))
                }
            }
            let identifiers = user_identifiers(&l)?;
            // the whole line is read before anything of it is kept
            let (given, family) = (l.req("givenName")?, l.req("familyName")?);
            roles.insert(ext.clone(), role.to_string());
            r.persons.push(Person {
                ext,
                given: given.to_string(),
                family: family.to_string(),
                civic_no: None,
                civic_sealed: None,
                identifiers,
                municipality_code: None,
                // OneRoster 1.1 users.csv: `sms` (a mobile number), else `phone`
                phone: l
                    .opt("sms")
                    .and_then(crate::school::phone::e164)
                    .or_else(|| l.opt("phone").and_then(crate::school::phone::e164)),
                birth_date: None,
                sex: None,
                marking: "none",
                emails: email.iter().map(|e| (kind, e.clone())).collect(),
                email,
                school: if pupil {
                    orgs_of.first().cloned()
                } else {
                    None
                },
            });
            Ok(())
        })?;
    }
    Ok(Users { roles, deleted })
}

/// What a user signs in with: `username` (kept with the context `oneroster:username`) and
/// each of `userIds`, written `{type:identifier}` (context `oneroster:<type>`), as the
/// OneRoster 1.1 users file defines them.
fn user_identifiers(l: &Line) -> Result<Vec<Identifier>, ImportError> {
    let mut out = Vec::new();
    if let Some(u) = l.opt("username") {
        out.push(Identifier {
            kind: "external",
            context: Some("oneroster:username".into()),
            value: u.to_string(),
            globally_unique: false,
        });
    }
    for item in l.list("userIds") {
        let pair = item
            .strip_prefix('{')
            .and_then(|i| i.strip_suffix('}'))
            .and_then(|i| i.split_once(':'))
            .filter(|(t, v)| !t.trim().is_empty() && !v.trim().is_empty());
        let Some((kind, value)) = pair else {
            return Err(l.err(
                "userIds",
                format!("'{item}' is not written {{type:identifier}}"),
            ));
        };
        out.push(Identifier {
            kind: "external",
            context: Some(format!("oneroster:{}", kind.trim())),
            value: value.trim().to_string(),
            globally_unique: false,
        });
    }
    Ok(out)
}

/// A guardian's own agentSourcedIds name their children too; a student's agents are
/// guardians only if they are parents, guardians or relatives.
fn keep_guardians(users: &Table, seen: &Users, r: &mut Roster) -> Result<(), ImportError> {
    let (roles, deleted) = (&seen.roles, &seen.deleted);
    // a guardian's own agentSourcedIds name their children
    for l in lines(users) {
        if l.opt("sourcedId").is_some_and(|id| r.unread.contains(id)) {
            continue;
        }
        if l.active()? && matches!(l.opt("role"), Some("parent" | "guardian")) {
            let g = l.req("sourcedId")?.to_string();
            for child in l.list("agentSourcedIds") {
                if !r.responsibles.contains(&(child.clone(), g.clone())) {
                    r.responsibles.push((child, g.clone()));
                }
            }
        }
    }
    // a student's agents are guardians only if they are parents or guardians
    r.responsibles.retain(|(p, g)| {
        let student = roles.get(p).map(String::as_str) == Some("student");
        let guardian = matches!(
            roles.get(g).map(String::as_str),
            Some("parent" | "guardian" | "relative")
        );
        // an agent who is not in users.csv at all is an error `check` reports
        !deleted.contains(p)
            && !deleted.contains(g)
            && (student && guardian || !roles.contains_key(g))
    });

    Ok(())
}

/// What enrollments need of the classes: when each starts (its earliest term) and its kind.
struct Classes {
    start: HashMap<String, NaiveDate>,
    kind: HashMap<String, &'static str>,
}

/// Classes: a homeroom is a class; a scheduled class is a teaching group with an activity
/// of the same name and subject.
fn read_classes(
    classes: &Table,
    courses: Option<&Table>,
    term_start: &HashMap<String, NaiveDate>,
    r: &mut Roster,
) -> Result<Classes, ImportError> {
    let course_title: HashMap<String, String> = match courses {
        None => HashMap::new(),
        Some(t) => lines(t)
            .filter_map(|l| Some((l.opt("sourcedId")?.to_string(), l.opt("title")?.to_string())))
            .collect(),
    };
    let mut class_start: HashMap<String, NaiveDate> = HashMap::new();
    let mut class_kind: HashMap<String, &'static str> = HashMap::new();
    for l in lines(classes) {
        tolerant(r, "groups", l.opt("sourcedId"), |r| {
            if !l.active()? {
                let id = l.req("sourcedId")?.to_string();
                r.gone.activities.push(format!("{id}#activity"));
                r.gone.groups.push(id);
                return Ok(());
            }
            let ext = l.req("sourcedId")?.to_string();
            let school = l.req("schoolSourcedId")?.to_string();
            let title = l.req("title")?.to_string();
            let kind = match l.req("classType")? {
                "homeroom" => "class",
                "scheduled" => "teaching",
                other => {
                    return Err(l.err(
                        "classType",
                        format!("'{other}' is not homeroom or scheduled"),
                    ))
                }
            };
            if let Some(start) = l
                .list("termSourcedIds")
                .iter()
                .filter_map(|t| term_start.get(t))
                .min()
            {
                class_start.insert(ext.clone(), *start);
            }
            class_kind.insert(ext.clone(), kind);
            if kind == "teaching" {
                let code = l.list("subjectCodes").into_iter().next();
                let subject = l.list("subjects").into_iter().next().or_else(|| {
                    l.opt("courseSourcedId")
                        .and_then(|c| course_title.get(c).cloned())
                });
                r.activities.push(Activity {
                    ext: format!("{ext}#activity"),
                    school: school.clone(),
                    name: title.clone(),
                    subject_code: code
                        .clone()
                        .or_else(|| subject.clone())
                        .unwrap_or_else(|| title.clone()),
                    subject_name: subject.or(code).unwrap_or_else(|| title.clone()),
                    kind: "teaching",
                    groups: vec![ext.clone()],
                    teachers: Vec::new(),
                });
            }
            r.groups.push(Group {
                ext,
                school,
                name: title,
                kind,
                school_year: l.list("grades").first().and_then(|g| g.parse().ok()),
            });
            Ok(())
        })?;
    }
    Ok(Classes {
        start: class_start,
        kind: class_kind,
    })
}

/// Enrollments: a student's is a membership; a teacher's makes them the teacher of a
/// scheduled class's activity, or the mentor of a homeroom.
fn read_enrollments(
    enrollments: &Table,
    users: &Users,
    classes: &Classes,
    r: &mut Roster,
) -> Result<(), ImportError> {
    let (deleted, class_start, class_kind) = (&users.deleted, &classes.start, &classes.kind);
    for l in lines(enrollments) {
        tolerant(
            r,
            "duties",
            l.opt("userSourcedId").or(l.opt("classSourcedId")),
            |r| {
                let class = l.req("classSourcedId")?.to_string();
                let user = l.req("userSourcedId")?.to_string();
                if !l.active()? {
                    if l.opt("role") == Some("student") {
                        r.gone.memberships.push((class, user));
                    }
                    return Ok(());
                }
                if r.unread.contains(&user) || r.unread.contains(&class) {
                    // its user or class was left out: so is the enrollment (`drop_unread`)
                    return Ok(());
                }
                if deleted.contains(&user) {
                    // the user is being deleted: so are their enrollments
                    return Ok(());
                }
                let kind = match class_kind.get(&class) {
                    Some(kind) => *kind,
                    // a delta's enrollment may name a class stored earlier (`check` resolves it)
                    None if r.piecemeal => "stored",
                    None => {
                        return Err(l.err(
                            "classSourcedId",
                            format!("class {class} is not in classes.csv"),
                        ))
                    }
                };
                let kind = &kind;
                if *kind == "stored" && l.req("role")? != "student" {
                    r.notes.push(format!(
                    "enrollments.csv, line {}: a {}'s enrollment in class {class}, which is not in this delta, was skipped (give the class too)",
                    l.line,
                    l.req("role")?
                ));
                    return Ok(());
                }
                match l.req("role")? {
                    "student" => {
                        let start = l
                            .date("beginDate")?
                            .or_else(|| class_start.get(&class).copied())
                            .ok_or_else(|| {
                                l.err(
                                    "beginDate",
                                    "is empty, and the class has no term with a start date",
                                )
                            })?;
                        r.memberships.push(Membership {
                            group: class,
                            pupil: user,
                            start,
                            end: l.date("endDate")?,
                        });
                    }
                    "teacher" => {
                        if *kind == "teaching" {
                            if let Some(a) = r
                                .activities
                                .iter_mut()
                                .find(|a| a.ext == format!("{class}#activity"))
                            {
                                a.teachers.push(user);
                            }
                        } else {
                            // a homeroom's teacher is its mentor
                            let org = l
                                .opt("schoolSourcedId")
                                .map(str::to_string)
                                .or_else(|| {
                                    r.groups
                                        .iter()
                                        .find(|g| g.ext == class)
                                        .map(|g| g.school.clone())
                                })
                                .unwrap_or_default();
                            let start = l
                                .date("beginDate")?
                                .or_else(|| class_start.get(&class).copied())
                                .unwrap_or(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default());
                            r.duties.push(Duty {
                                ext: None,
                                person: user,
                                org,
                                role: "mentor",
                                group: Some(class),
                                start,
                                end: l.date("endDate")?,
                            });
                        }
                    }
                    _ => {}
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}

fn table_manifest(dir: &Path) -> Result<HashMap<String, String>, ImportError> {
    let path = dir.join("manifest.csv");
    let file = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ImportError::at(&file, None, None, format!("cannot read it: {e}")))?;
    let rows =
        parse_csv(&text).map_err(|(line, msg)| ImportError::at(&file, Some(line), None, msg))?;
    let mut out = HashMap::new();
    for (line, cells) in rows.into_iter().skip(1) {
        if cells.len() != 2 {
            return Err(ImportError::at(
                &file,
                Some(line),
                None,
                "needs two fields: propertyName,value",
            ));
        }
        out.insert(cells[0].trim().to_string(), cells[1].trim().to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_csv;

    #[test]
    fn csv_fields_may_quote_commas_quotes_and_line_breaks() {
        let rows =
            parse_csv("\u{feff}a,b,c\r\n1,\"x, \"\"y\"\"\",\"two\nlines\"\n\n3,,\n").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1],
            (2, vec!["1".into(), "x, \"y\"".into(), "two\nlines".into()])
        );
        assert_eq!(rows[2], (5, vec!["3".into(), "".into(), "".into()]));
        assert!(parse_csv("a,\"b\n").is_err());
        assert!(parse_csv("a,b\"c\n").is_err());
        assert_eq!(
            parse_csv("a,\"ab\"c\n"),
            Err((1, "text after a closing quote".to_string()))
        );
        assert!(parse_csv("\"a\"\r\n\"b\",\"\"\n").is_ok());
    }
}
