//! SS 12000 JSON: one file with the lists `organisations`, `persons`, `groups`, `duties`,
//! `syllabuses`, `activities` and `calendarEvents` (each a list, or `{"data": [...]}` as
//! the API gives them) and, for changes, `deletedEntities` (the API's `DeletedEntities`);
//! or a folder with one file per list (`persons.json`, ..., `deletedEntities.json`).
//! `parse` also reads what `narvaro sync` pulled from a server.

use std::path::Path;

use crate::interop::ss12000::vocabulary;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde_json::Value;

use super::roster::{
    Activity, Duty, Event, Gone, Group, ImportError, Membership, Org, Person, Roster,
};

/// The lists read, in the order they are read (a syllabus before the activities naming it).
pub const LISTS: [&str; 7] = [
    "organisations",
    "persons",
    "groups",
    "duties",
    "syllabuses",
    "activities",
    "calendarEvents",
];

/// `deletedEntities` (`DeletedEntities_data`): the lists of removed ids read, and the
/// part of the roster each ends. The standard spells the activities' list "activitites";
/// "activities" is read too.
const DELETED: [&str; 7] = [
    "organisations",
    "persons",
    "groups",
    "duties",
    "activitites",
    "activities",
    "calendarEvents",
];

/// The largest file read (a municipality's calendar events for a year fit well within).
const MAX_BYTES: u64 = 512 * 1024 * 1024;

fn load(path: &Path) -> Result<Value, ImportError> {
    let name = path.display().to_string();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_BYTES {
        return Err(ImportError::at(
            &name,
            None,
            None,
            "the file is larger than 512 MiB",
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| ImportError::at(&name, None, None, format!("cannot read it: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| ImportError::at(&name, Some(e.line()), None, format!("not JSON: {e}")))
}

fn list(v: &Value) -> Option<&Vec<Value>> {
    v.as_array()
        .or_else(|| v.get("data").and_then(Value::as_array))
}

pub fn read_file(path: &Path, tz: Tz) -> Result<Roster, ImportError> {
    let name = path.display().to_string();
    let doc = load(path)?;
    let mut files = Vec::new();
    for key in LISTS {
        if let Some(v) = doc.get(key) {
            let items =
                list(v).ok_or_else(|| ImportError::at(&name, None, Some(key), "is not a list"))?;
            files.push((key, format!("{name} ({key})"), items.clone()));
        }
    }
    let deleted = doc.get("deletedEntities").cloned();
    if files.is_empty() && deleted.is_none() {
        return Err(ImportError::at(
            &name,
            None,
            None,
            format!(
                "none of {}, deletedEntities is in the file",
                LISTS.join(", ")
            ),
        ));
    }
    parse(&name, files, deleted.as_ref(), tz)
}

pub fn read_folder(path: &Path, tz: Tz) -> Result<Roster, ImportError> {
    let name = path.display().to_string();
    let mut files = Vec::new();
    for key in LISTS {
        let file = path.join(format!("{key}.json"));
        if file.is_file() {
            let doc = load(&file)?;
            let items = list(&doc).ok_or_else(|| {
                ImportError::at(
                    &file.display().to_string(),
                    None,
                    None,
                    "is not a list nor {\"data\": [...]}",
                )
            })?;
            files.push((key, file.display().to_string(), items.clone()));
        }
    }
    let deleted_file = path.join("deletedEntities.json");
    let deleted = if deleted_file.is_file() {
        Some(load(&deleted_file)?)
    } else {
        None
    };
    if files.is_empty() && deleted.is_none() {
        return Err(ImportError::at(&name, None, None, "neither manifest.csv (OneRoster) nor organisations.json, persons.json, … (SS 12000) is in the folder"));
    }
    parse(&name, files, deleted.as_ref(), tz)
}

/// `DeletedEntities` (or its `data`): the ids the source removed.
fn deleted_entities(source: &str, v: &Value) -> Result<Gone, ImportError> {
    let data = v.get("data").unwrap_or(v);
    if !data.is_object() {
        return Err(ImportError::at(
            source,
            None,
            Some("deletedEntities"),
            "is not an object of lists of ids",
        ));
    }
    let mut gone = Gone::default();
    for key in DELETED {
        let Some(list) = data.get(key).filter(|l| !l.is_null()) else {
            continue;
        };
        let ids: Vec<String> = list
            .as_array()
            .map(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or(None)
            .ok_or_else(|| {
                ImportError::at(
                    source,
                    None,
                    Some(&format!("deletedEntities.{key}")),
                    "is not a list of ids",
                )
            })?;
        let into = match key {
            "organisations" => &mut gone.orgs,
            "persons" => &mut gone.persons,
            "groups" => &mut gone.groups,
            "duties" => &mut gone.duties,
            "calendarEvents" => &mut gone.events,
            _ => &mut gone.activities,
        };
        into.extend(ids);
    }
    Ok(gone)
}

/// A field reader for one record, naming the file, record and field in errors.
struct Rec<'a> {
    file: &'a str,
    row: usize,
    v: &'a Value,
}

impl<'a> Rec<'a> {
    fn err(&self, field: &str, msg: impl Into<String>) -> ImportError {
        ImportError::at(self.file, Some(self.row), Some(field), msg)
    }
    fn get(&self, path: &str) -> Option<&'a Value> {
        let mut at = self.v;
        for part in path.split('.') {
            at = at.get(part)?;
        }
        Some(at).filter(|v| !v.is_null())
    }
    fn str(&self, path: &str) -> Result<String, ImportError> {
        self.opt_str(path)?
            .ok_or_else(|| self.err(path, "is missing"))
    }
    fn opt_str(&self, path: &str) -> Result<Option<String>, ImportError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) if s.len() > 500 => {
                Err(self.err(path, "is longer than 500 characters"))
            }
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(self.err(path, format!("should be a string, not {other}"))),
        }
    }
    fn date(&self, path: &str) -> Result<Option<NaiveDate>, ImportError> {
        self.opt_str(path)?
            .map(|s| {
                NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map_err(|_| self.err(path, format!("'{s}' is not a date (YYYY-MM-DD)")))
            })
            .transpose()
    }
    fn refs(&self, path: &str, inner: &str) -> Result<Vec<String>, ImportError> {
        match self.get(path) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let mut at = item;
                    for part in inner.split('.') {
                        at = &at[part];
                    }
                    at.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.err(&format!("{path}[{i}].{inner}"), "is missing"))
                })
                .collect(),
            Some(_) => Err(self.err(path, "should be a list")),
        }
    }
}

fn local(tz: Tz, rec: &Rec, field: &str) -> Result<NaiveDateTime, ImportError> {
    let s = rec.str(field)?;
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Ok(t.with_timezone(&tz).naive_local());
    }
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S").map_err(|_| {
        rec.err(
            field,
            format!("'{s}' is not a date-time (2026-11-23T08:10:00+01:00)"),
        )
    })
}

fn school_form(types: &[String]) -> Option<&'static str> {
    types
        .iter()
        .find_map(|t| crate::school::year_groups::form_of_code(t))
}

/// The levels of SS 12000's `OrganisationTypeEnum` between the principal organiser and
/// the school unit: read, and passed through (what sits under one hangs from the nearest
/// municipality or school above it).
const LEVELS: [&str; 6] = [
    "Verksamhetsområde",
    "Förvaltning",
    "Rektorsområde",
    "Varumärke",
    "Bolag",
    "Övrigt",
];

/// An organisation: a principal organiser (Huvudman; Kommun, as older files say), a school
/// unit (Skolenhet, Skola), or a level between them (`LEVELS`, kind "level").
fn organisation(rec: &Rec) -> Result<Org, ImportError> {
    let kind = match rec.str("organisationType")?.as_str() {
        "Huvudman" | "Kommun" => "municipality",
        "Skolenhet" | "Skola" => "school",
        level if LEVELS.contains(&level) => "level",
        other => {
            return Err(rec.err(
                "organisationType",
                format!("'{other}' is not one of SS 12000's organisation types (Huvudman, Verksamhetsområde, Förvaltning, Rektorsområde, Skola, Skolenhet, Varumärke, Bolag, Övrigt)"),
            ))
        }
    };
    let types: Vec<String> = match rec.get("schoolTypes") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Org {
        ext: rec.str("id")?,
        parent: rec.opt_str("parentOrganisation.id")?,
        kind,
        name: rec.str("displayName")?,
        school_form: if kind == "school" {
            school_form(&types)
        } else {
            None
        },
        unit_code: rec.opt_str("schoolUnitCode")?,
        municipality_code: match rec.get("municipalityCode") {
            None | Some(Value::Null) => None,
            Some(v) => Some(super::roster::municipality_code(v).ok_or_else(|| {
                rec.err(
                    "municipalityCode",
                    "is not a municipality code (four digits, 0180)",
                )
            })?),
        },
    })
}

/// A person, and their guardians (`responsibles` of relation Vårdnadshavare).
fn person(rec: &Rec, r: &mut Roster) -> Result<(), ImportError> {
    let ext = rec.str("id")?;
    let sex = match rec.opt_str("sex")?.as_deref() {
        None | Some("Okänt") => None,
        Some("Kvinna") => Some("F"),
        Some("Man") => Some("M"),
        Some(other) => return Err(rec.err("sex", format!("'{other}' is not Kvinna, Man or Okänt"))),
    };
    let marking = match rec.opt_str("securityMarking")?.as_deref() {
        None | Some("Ingen") => "none",
        Some("Sekretessmarkering") => "confidential",
        Some("Skyddad folkbokföring") => "protected",
        Some(other) => {
            return Err(rec.err(
                "securityMarking",
                format!("'{other}' is not Ingen, Sekretessmarkering or Skyddad folkbokföring"),
            ))
        }
    };
    let emails = read_emails(rec)?;
    let school = rec.refs("enrolments", "enroledAt.id")?.into_iter().next();
    let year = rec
        .get("enrolments")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .and_then(|e| e.get("schoolYear"))
        .and_then(Value::as_i64)
        .and_then(|y| i32::try_from(y).ok());
    if let Some(y) = year {
        r.enrolment_years.insert(ext.clone(), y);
    }
    for (j, resp) in rec
        .get("responsibles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let relation = resp
            .get("relationType")
            .and_then(Value::as_str)
            .unwrap_or("Vårdnadshavare");
        if relation != "Vårdnadshavare" {
            continue;
        }
        let g = resp["person"]["id"]
            .as_str()
            .ok_or_else(|| rec.err(&format!("responsibles[{j}].person.id"), "is missing"))?;
        r.responsibles.push((ext.clone(), g.to_string()));
    }
    let civic_no = civic_number(rec)?;
    let identifiers = read_identifiers(rec)?;
    let municipality_code = registered_municipality(rec)?;
    let phone = read_phone(rec)?;
    r.persons.push(Person {
        given: rec.str("givenName")?,
        family: rec.str("familyName")?,
        civic_no,
        civic_sealed: None,
        identifiers,
        birth_date: rec.date("birthDate")?,
        sex,
        marking,
        email: super::roster::notice_address(&emails),
        emails,
        school,
        ext,
        municipality_code,
        phone,
    });
    Ok(())
}

/// The person's telephone number from `phoneNumbers`: the first mobile one (`mobile`
/// defaults to true) that is a number, else the first that is one, in E.164. The standard
/// lets `value` be any text; text that is no number is left out, not refused.
fn read_phone(rec: &Rec) -> Result<Option<String>, ImportError> {
    let Some(list) = rec.get("phoneNumbers") else {
        return Ok(None);
    };
    let Some(list) = list.as_array() else {
        return Err(rec.err("phoneNumbers", "is not a list"));
    };
    let numbers: Vec<(bool, String)> = list
        .iter()
        .filter_map(|p| {
            // `value`, as the standard defines it (its draft also names it `number`)
            let raw = p
                .get("value")
                .or_else(|| p.get("number"))
                .and_then(Value::as_str)?;
            let mobile = p.get("mobile").and_then(Value::as_bool).unwrap_or(true);
            crate::school::phone::e164(raw).map(|n| (mobile, n))
        })
        .collect();
    Ok(numbers
        .iter()
        .find(|(mobile, _)| *mobile)
        .or(numbers.first())
        .map(|(_, n)| n.clone()))
}

/// The municipality a person is registered in: `addresses[].municipalityCode` of the
/// Folkbokföring address (an address without a type is one: the standard's default). A
/// code that is not one is refused, naming the field.
fn registered_municipality(rec: &Rec) -> Result<Option<String>, ImportError> {
    let Some(list) = rec.get("addresses") else {
        return Ok(None);
    };
    let Some(list) = list.as_array() else {
        return Err(rec.err("addresses", "is not a list"));
    };
    for (i, a) in list.iter().enumerate() {
        let kind = a
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("Folkbokföring");
        if !kind.starts_with("Folkbokföring") {
            continue;
        }
        match a.get("municipalityCode") {
            None | Some(Value::Null) => continue,
            Some(v) => {
                return super::roster::municipality_code(v)
                    .map(Some)
                    .ok_or_else(|| {
                        rec.err(
                            &format!("addresses[{i}].municipalityCode"),
                            "is not a municipality code (four digits, 0180)",
                        )
                    })
            }
        }
    }
    Ok(None)
}

/// `civicNo`: a Swedish number (nationality SE, the default) must be one as the standard
/// writes it (12 characters, `crate::auth::civic::normalise`); a number of another
/// country is allowed and kept out (nothing here signs in with it).
fn civic_number(rec: &Rec) -> Result<Option<String>, ImportError> {
    let Some(value) = rec.opt_str("civicNo.value")? else {
        return Ok(None);
    };
    let nationality = rec.opt_str("civicNo.nationality")?;
    if nationality.as_deref().is_some_and(|n| n != "SE") {
        return Ok(None);
    }
    match crate::auth::civic::normalise(&value) {
        Some(n) => Ok(Some(n)),
        None => Err(rec.err(
            "civicNo.value",
            "is not a civic number: 12 characters without separators (YYYYMMDDNNNN, a samordningsnummer, or a temporary number YYYYMMDDTF01)",
        )),
    }
}

/// `eduPersonPrincipalNames` (strings, `user@domain`) and `externalIdentifiers` (value,
/// context and globallyUnique, all three required): what staff sign in with.
fn read_identifiers(rec: &Rec) -> Result<Vec<super::Identifier>, ImportError> {
    let mut out: Vec<super::Identifier> = Vec::new();
    if let Some(list) = rec.get("eduPersonPrincipalNames") {
        let list = list
            .as_array()
            .ok_or_else(|| rec.err("eduPersonPrincipalNames", "is not a list"))?;
        for (i, v) in list.iter().enumerate() {
            let field = format!("eduPersonPrincipalNames[{i}]");
            let v = v
                .as_str()
                .map(str::trim)
                .ok_or_else(|| rec.err(&field, "is not a string"))?;
            let parts: Vec<&str> = v.split('@').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) || v.len() > 500 {
                return Err(rec.err(&field, format!("'{v}' is not user@domain")));
            }
            if !out.iter().any(|o| o.value == v) {
                out.push(super::Identifier {
                    kind: "eppn",
                    context: None,
                    value: v.to_string(),
                    globally_unique: true,
                });
            }
        }
    }
    if let Some(list) = rec.get("externalIdentifiers") {
        let list = list
            .as_array()
            .ok_or_else(|| rec.err("externalIdentifiers", "is not a list"))?;
        for (i, e) in list.iter().enumerate() {
            let field = |f: &str| format!("externalIdentifiers[{i}].{f}");
            let text = |f: &str| {
                e.get(f)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|v| !v.is_empty() && v.len() <= 500)
                    .ok_or_else(|| {
                        rec.err(
                            &field(f),
                            "is missing (value, context and globallyUnique are required)",
                        )
                    })
            };
            let (value, context) = (text("value")?, text("context")?);
            let unique = e
                .get("globallyUnique")
                .and_then(Value::as_bool)
                .ok_or_else(|| rec.err(&field("globallyUnique"), "is missing or not true/false"))?;
            out.push(super::Identifier {
                kind: "external",
                context: Some(context.to_string()),
                value: value.to_string(),
                globally_unique: unique,
            });
        }
    }
    Ok(out)
}

/// A person's `emails`: each a valid address with one of the standard's four types
/// (Code_EmailType), both required; the same address twice is kept once.
fn read_emails(rec: &Rec) -> Result<Vec<(&'static str, String)>, ImportError> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let Some(list) = rec.get("emails") else {
        return Ok(out);
    };
    let Some(list) = list.as_array() else {
        return Err(rec.err("emails", "is not a list"));
    };
    for (i, e) in list.iter().enumerate() {
        let field = |f: &str| format!("emails[{i}].{f}");
        let kind = match e.get("type").and_then(Value::as_str) {
            Some(t) => super::EMAIL_TYPES
                .iter()
                .find(|k| **k == t)
                .copied()
                .ok_or_else(|| {
                    rec.err(
                        &field("type"),
                        format!("'{t}' is not Privat, Skola elev, Skola personal or Arbete övrigt"),
                    )
                })?,
            None => return Err(rec.err(&field("type"), "is missing")),
        };
        let value = e
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| rec.err(&field("value"), "is missing"))?;
        let Some(address) = crate::mail::Email::parse(value) else {
            return Err(rec.err(&field("value"), "is not an e-mail address"));
        };
        let address = address.to_string();
        if !out.iter().any(|(_, a)| a.eq_ignore_ascii_case(&address)) {
            out.push((kind, address));
        }
    }
    Ok(out)
}

/// The start of a membership the source gives no start date.
pub const SINCE_ALWAYS: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A group, and its memberships.
fn group(rec: &Rec, r: &mut Roster) -> Result<(), ImportError> {
    let ext = rec.str("id")?;
    let kind = match rec.str("groupType")?.as_str() {
        "Klass" => "class",
        "Undervisning" | "Schema" => "teaching",
        "Mentor" => "mentor",
        // groups that have nothing to do with attendance
        other @ ("Provgrupp" | "Avdelning" | "Personalgrupp" | "Övrigt") => {
            r.skipped_groups.push(ext.clone());
            r.notes.push(format!(
                "{}, group {} ({}): skipped, a {other} has no attendance",
                rec.file,
                rec.row,
                rec.get("displayName").and_then(Value::as_str).unwrap_or(&ext)
            ));
            return Ok(());
        }
        other => {
            return Err(rec.err(
                "groupType",
                format!("'{other}' is not one of SS 12000's group types (Undervisning, Klass, Mentor, Provgrupp, Schema, Avdelning, Personalgrupp, Övrigt)"),
            ))
        }
    };
    for (j, m) in rec
        .get("groupMemberships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mrec = Rec {
            file: rec.file,
            row: rec.row,
            v: m,
        };
        let field = |f: &str| format!("groupMemberships[{j}].{f}");
        let pupil = mrec
            .str("person.id")
            .map_err(|_| rec.err(&field("person.id"), "is missing"))?;
        // startDate is optional in the standard: without one, a member since always
        let start = mrec
            .date("startDate")
            .map_err(|e| rec.err(&field("startDate"), e.message))?
            .unwrap_or(SINCE_ALWAYS);
        let end = mrec
            .date("endDate")
            .map_err(|e| rec.err(&field("endDate"), e.message))?;
        r.memberships.push(Membership {
            group: ext.clone(),
            pupil,
            start,
            end,
        });
    }
    r.groups.push(Group {
        school: rec.str("organisation.id")?,
        name: rec.str("displayName")?,
        kind,
        school_year: rec
            .get("schoolYear")
            .and_then(Value::as_i64)
            .and_then(|y| i32::try_from(y).ok()),
        ext,
    });
    Ok(())
}

/// A class without a `schoolYear` of its own (the standard's `Group` has none; Närvaro
/// reads one where a source adds it) takes the school year most of its pupils are
/// enrolled in (`Enrolment.schoolYear`).
fn class_years_from_enrolments(r: &mut Roster) {
    if r.enrolment_years.is_empty() {
        return;
    }
    let mut counts: std::collections::HashMap<&str, std::collections::BTreeMap<i32, usize>> =
        Default::default();
    for m in &r.memberships {
        if let Some(y) = r.enrolment_years.get(&m.pupil) {
            *counts
                .entry(m.group.as_str())
                .or_default()
                .entry(*y)
                .or_default() += 1;
        }
    }
    let years: std::collections::HashMap<String, i32> = counts
        .into_iter()
        .filter_map(|(g, by_year)| {
            let (year, _) = by_year.into_iter().max_by_key(|(y, n)| (*n, -*y))?;
            Some((g.to_string(), year))
        })
        .collect();
    for g in r.groups.iter_mut() {
        if g.school_year.is_none() && g.kind == "class" {
            g.school_year = years.get(&g.ext).copied();
        }
    }
}

/// A duty Närvaro knows (principal, teacher, administrator), and a mentor duty for each
/// mentor assignment; other duties are skipped. Remembers which person each duty is.
fn duty(
    rec: &Rec,
    r: &mut Roster,
    duty_person: &mut std::collections::HashMap<String, String>,
) -> Result<(), ImportError> {
    let person = rec.str("person.id")?;
    let org = rec.str("dutyAt.id")?;
    let ext = rec.opt_str("id")?;
    if let Some(id) = &ext {
        duty_person.insert(id.clone(), person.clone());
    }
    // the roles that teach can be activity teachers and mentors
    let duty_role = rec.str("dutyRole")?;
    let role = match vocabulary::role_of_duty(&duty_role) {
        Some(role) => role.as_str(),
        None => {
            let other = duty_role;
            r.notes.push(format!(
                "{}, duty {}: {other} gives no access in Närvaro; not stored",
                rec.file, rec.row
            ));
            return Ok(());
        }
    };
    let start = rec
        .date("startDate")?
        .ok_or_else(|| rec.err("startDate", "is missing"))?;
    let end = rec.date("endDate")?;
    r.duties.push(Duty {
        ext: ext.clone(),
        person: person.clone(),
        org: org.clone(),
        role,
        group: None,
        start,
        end,
    });
    for (j, a) in rec
        .get("assignmentRole")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if a.get("assignmentRoleType").and_then(Value::as_str)
            != Some(vocabulary::MENTOR_ASSIGNMENT)
        {
            continue;
        }
        let g = a["group"]["id"]
            .as_str()
            .ok_or_else(|| rec.err(&format!("assignmentRole[{j}].group.id"), "is missing"))?;
        r.duties.push(Duty {
            ext: ext.clone(),
            person: person.clone(),
            org: org.clone(),
            role: "mentor",
            group: Some(g.to_string()),
            start,
            end,
        });
    }
    Ok(())
}

/// A syllabus: (subject code, subject name), the subject an activity names it for.
fn syllabus(rec: &Rec) -> Result<(String, (String, String)), ImportError> {
    let id = rec.str("id")?;
    // a course (gymnasieskola) is named by its course where it has no subject
    let code = rec
        .opt_str("subjectCode")?
        .or(rec.opt_str("courseCode")?)
        .ok_or_else(|| rec.err("subjectCode", "is missing (nor is there a courseCode)"))?;
    let name = rec
        .opt_str("subjectName")?
        .or(rec.opt_str("courseName")?)
        .unwrap_or_else(|| code.clone());
    Ok((id, (code, name)))
}

type Syllabuses = std::collections::HashMap<String, (String, String)>;

/// An activity, with its groups and teachers; its subject from its syllabus (or, in older
/// files, the syllabus written into it), else its name.
fn activity(rec: &Rec, syllabuses: &Syllabuses) -> Result<Activity, ImportError> {
    let name = rec.str("displayName")?;
    let kind = match rec.opt_str("activityType")?.as_deref() {
        None | Some("Undervisning") => "teaching",
        Some("Elevaktivitet") => "pupil_activity",
        Some(_) => "other",
    };
    let from_syllabus = rec
        .opt_str("syllabus.id")?
        .and_then(|id| syllabuses.get(&id).cloned());
    let (subject_code, subject_name) = match from_syllabus {
        Some(s) => s,
        None => (
            rec.opt_str("syllabus.subjectCode")?
                .unwrap_or_else(|| name.clone()),
            rec.opt_str("syllabus.subjectName")?
                .unwrap_or_else(|| name.clone()),
        ),
    };
    Ok(Activity {
        ext: rec.str("id")?,
        school: rec.str("organisation.id")?,
        subject_code,
        subject_name,
        name,
        kind,
        groups: rec.refs("groups", "id")?,
        // SS 12000 names a teacher by their duty; a person's id is taken too
        teachers: rec
            .refs("teachers", "duty.id")
            .or_else(|_| rec.refs("teachers", "person.id"))?,
    })
}

/// A calendar event (a lesson), in school-local time, within one day.
fn calendar_event(rec: &Rec, tz: Tz) -> Result<Event, ImportError> {
    let start = local(tz, rec, "startTime")?;
    let end = local(tz, rec, "endTime")?;
    if end <= start || end.date() != start.date() {
        return Err(rec.err("endTime", "must be after startTime, the same day"));
    }
    let length = (end - start).num_minutes();
    let minutes = match rec.get("teachingLengthStudent") {
        None => length,
        Some(v) => v
            .as_i64()
            .filter(|m| (0..=length).contains(m))
            .ok_or_else(|| {
                rec.err(
                    "teachingLengthStudent",
                    "is not a number of minutes within the event",
                )
            })?,
    };
    Ok(Event {
        ext: rec.str("id")?,
        activity: rec.str("activity.id")?,
        start,
        end,
        minutes: minutes as i32,
        cancelled: rec
            .get("cancelled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Reads the lists (`LISTS`, by key: the file or page they came from, and their records)
/// and `deletedEntities` into a roster.
pub fn parse(
    source: &str,
    files: Vec<(&str, String, Vec<Value>)>,
    deleted: Option<&Value>,
    tz: Tz,
) -> Result<Roster, ImportError> {
    let mut reader = Reader::new(source, tz);
    if let Some(d) = deleted {
        reader.deleted(d)?;
    }
    for (key, file, items) in &files {
        reader.read(key, file, items);
    }
    Ok(reader.finish())
}

/// A roster read list by list, a page at a time, in the order of `LISTS` (a syllabus
/// before the activities naming it): what a page held is kept as the roster's records, and
/// the page itself can go (a sync never holds more than one page of the source's JSON).
pub struct Reader {
    r: Roster,
    tz: Tz,
    syllabuses: Syllabuses,
    /// duty id → person, for activities' teachers (SS 12000 names them by duty)
    duty_person: std::collections::HashMap<String, String>,
    /// records read of each list so far (a record's row in messages)
    rows: std::collections::HashMap<String, usize>,
    /// whether events were handed over (`take_events`)
    taken: bool,
}

impl Reader {
    pub fn new(source: &str, tz: Tz) -> Self {
        Reader {
            r: Roster {
                source: source.to_string(),
                ..Default::default()
            },
            tz,
            syllabuses: Syllabuses::new(),
            duty_person: Default::default(),
            rows: Default::default(),
            taken: false,
        }
    }

    /// `deletedEntities`: what the source removed.
    pub fn deleted(&mut self, d: &Value) -> Result<(), ImportError> {
        self.r.gone = deleted_entities(&self.r.source, d)?;
        Ok(())
    }

    /// One page (or file) of the list `key` from `file`.
    pub fn read(&mut self, key: &str, file: &str, items: &[Value]) {
        let row = self.rows.entry(key.to_string()).or_insert(0);
        let first = *row;
        *row += items.len();
        let r = &mut self.r;
        for (i, v) in items.iter().enumerate() {
            let rec = Rec {
                file,
                row: first + i + 1,
                v,
            };
            let mark = r.mark();
            let read = if v.is_object() {
                match key {
                    "organisations" => organisation(&rec).map(|o| r.orgs.push(o)),
                    "persons" => person(&rec, r),
                    "groups" => group(&rec, r),
                    "duties" => duty(&rec, r, &mut self.duty_person),
                    "syllabuses" => syllabus(&rec).map(|(id, subject)| {
                        self.syllabuses.insert(id, subject);
                    }),
                    "activities" => activity(&rec, &self.syllabuses).map(|a| r.activities.push(a)),
                    _ => calendar_event(&rec, self.tz).map(|e| r.events.push(e)),
                }
            } else {
                Err(rec.err("", "is not an object"))
            };
            // a record that cannot be read is left out, and what names it (see `unread`)
            if let Err(e) = read {
                r.rollback(mark);
                let id = v.get("id").and_then(Value::as_str).map(str::to_string);
                r.left_out(key, id, e);
            }
        }
    }

    /// The calendar events read since the last call, handed over (a sync stages them in
    /// the database rather than keep them).
    pub fn take_events(&mut self) -> Vec<Event> {
        self.taken = true;
        std::mem::take(&mut self.r.events)
    }

    /// The roster, with what names a record left out left out too, the organisation levels
    /// passed through and the teachers named by their person.
    pub fn finish(self) -> Roster {
        let Reader {
            mut r,
            duty_person,
            rows,
            taken,
            ..
        } = self;
        super::roster::drop_unread(&mut r);
        class_years_from_enrolments(&mut r);
        for a in &mut r.activities {
            for t in &mut a.teachers {
                if let Some(p) = duty_person.get(t) {
                    *t = p.clone();
                }
            }
        }
        // the days the events cover (events handed over: the caller says)
        if rows.contains_key("calendarEvents") && !taken {
            let days = r.events.iter().map(|e| e.start.date());
            r.calendar = days.clone().min().zip(days.max());
        }
        super::roster::pass_through(&mut r);
        r
    }
}
