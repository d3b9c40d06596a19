//! The school structure in SS 12000 v2.1 shape (`narvaro export-structure`): the lists
//! `organisations`, `persons`, `groups` (with `groupMemberships`), `duties` (with the
//! mentor `assignmentRole`), `syllabuses`, `activities` and `calendarEvents`, as the
//! standard's components `Organisation`, `Person`, `Group`, `Duty`, `Syllabus`,
//! `Activity` and `CalendarEvent` write them. What `narvaro import` and `narvaro sync`
//! read, so a structure can move from one Närvaro to another, or feed a test source.
//!
//! Every record is named by its stored uuid (the source's, for imported records; a duty by
//! the source's duty id), or the stand-in the export names it by. Civic numbers are never
//! written; a protected identity keeps its `securityMarking`; what staff sign in with
//! (`eduPersonPrincipalNames`, `externalIdentifiers`) is written, so a structure read back
//! signs the same people in. Every record is valid against the published v2.1 document
//! (tests/it/ss12000_schema.rs): what a component requires is always there (an enrolment's
//! school type and start, a group's and an activity's start date, a syllabus's school type),
//! and nothing it does not define is added (a class's school year goes in its pupils'
//! enrolments). Not written, since the standard cannot say them: Närvaro's own
//! administrators (a role of Närvaro's, assigned at /admin), and an activity without a group
//! (`Activity.groups` needs one) with its lessons.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::{json, Map, Value};

use super::vocabulary;
use crate::school::states::Role;

use crate::db::DbConn;
use crate::schema::*;

/// The kind numbers of stand-in uuids (`uuid::stand_in`): the export's own for people,
/// organisations, lessons and activities; groups and duties after them.
const PERSON: u8 = 1;
const ORG: u8 = 2;
const LESSON: u8 = 3;
const ACTIVITY: u8 = 4;
const GROUP: u8 = 5;
const DUTY: u8 = 6;

fn id_of(kind: u8, id: i64, uuid: Option<String>) -> String {
    uuid.unwrap_or_else(|| super::uuid::stand_in(kind, id))
}

fn reference(id: &str) -> Value {
    json!({ "id": id })
}

/// The whole structure: every list, with `meta` of `at` (when it was written).
pub fn export(conn: &mut DbConn, tz: Tz, at: NaiveDateTime) -> QueryResult<Value> {
    let meta = json!({
        "created": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "modified": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    let orgs = organisations(conn)?;
    let people = persons(conn, &orgs)?;
    let groups_by = groups(conn, &orgs, &people)?;
    let duties_by = duties(conn, &orgs, &people, &groups_by)?;
    let (syllabuses, acts) = activities(conn, &orgs, &groups_by, &duties_by)?;
    let events = calendar_events(conn, tz, &acts)?;
    let with_meta = |list: Vec<Value>| -> Value {
        Value::Array(
            list.into_iter()
                .map(|mut v| {
                    v["meta"] = meta.clone();
                    v
                })
                .collect(),
        )
    };
    let mut out = Map::new();
    out.insert("organisations".into(), with_meta(orgs.records));
    out.insert("persons".into(), with_meta(people.records));
    out.insert("groups".into(), with_meta(groups_by.records));
    out.insert("duties".into(), with_meta(duties_by.records));
    out.insert("syllabuses".into(), with_meta(syllabuses));
    out.insert("activities".into(), with_meta(acts.records));
    out.insert("calendarEvents".into(), with_meta(events));
    Ok(Value::Object(out))
}

/// Records written, and the uuid each stored row is named by.
struct Written {
    records: Vec<Value>,
    uuid: HashMap<i64, String>,
    /// for organisations: each school's `SchoolTypesEnum` (a school without a recorded
    /// form is written as GR, grundskola, Närvaro's default)
    school_type: HashMap<i64, &'static str>,
}

impl Written {
    fn new(records: Vec<Value>, uuid: HashMap<i64, String>) -> Written {
        Written {
            records,
            uuid,
            school_type: HashMap::new(),
        }
    }

    fn school_type_of(&self, school: i64) -> &'static str {
        self.school_type.get(&school).copied().unwrap_or("GR")
    }
}

fn organisations(conn: &mut DbConn) -> QueryResult<Written> {
    type Row = (
        i64,
        Option<i64>,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = organisations::table
        .order(organisations::id)
        .select((
            organisations::id,
            organisations::parent_id,
            organisations::org_type,
            organisations::name,
            organisations::school_form,
            organisations::school_unit_code,
            organisations::uuid,
        ))
        .load(conn)?;
    let uuid: HashMap<i64, String> = rows
        .iter()
        .map(|r| (r.0, id_of(ORG, r.0, r.6.clone())))
        .collect();
    let records = rows
        .iter()
        .map(|(id, parent, kind, name, form, code, _)| {
            let mut o = json!({
                "id": uuid[id],
                "displayName": name,
                "organisationType": if kind == "school" { "Skolenhet" } else { "Huvudman" },
            });
            if let Some(p) = parent.and_then(|p| uuid.get(&p)) {
                o["parentOrganisation"] = reference(p);
            }
            if let Some(code) = code {
                o["schoolUnitCode"] = code.clone().into();
            }
            if let Some(t) = form.as_deref().and_then(school_type) {
                o["schoolTypes"] = json!([t]);
            }
            o
        })
        .collect();
    let school_type = rows
        .iter()
        .filter_map(|r| Some((r.0, school_type(r.4.as_deref()?)?)))
        .collect();
    Ok(Written {
        records,
        uuid,
        school_type,
    })
}

/// SS 12000's `SchoolTypesEnum` for a school form.
fn school_type(form: &str) -> Option<&'static str> {
    crate::school::year_groups::code_of_form(form)
}

/// A person's row: id, given and family name, birth date, sex, security marking, school,
/// notice address, uuid, when the row was made.
type PersonRow = (
    i64,
    String,
    String,
    Option<NaiveDate>,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

/// What a pupil's enrolment says beyond the school: since when, and the class's school year.
fn enrolments(conn: &mut DbConn) -> QueryResult<HashMap<i64, (NaiveDate, Option<i32>)>> {
    let mut out: HashMap<i64, (NaiveDate, Option<i32>)> = HashMap::new();
    for (pupil, start, kind, year) in group_memberships::table
        .inner_join(groups::table)
        .select((
            group_memberships::pupil_id,
            group_memberships::start_date,
            groups::group_type,
            groups::school_year,
        ))
        .load::<(i64, NaiveDate, String, Option<i32>)>(conn)?
    {
        let e = out.entry(pupil).or_insert((start, None));
        e.0 = e.0.min(start);
        if kind == "class" && year.is_some() {
            e.1 = year;
        }
    }
    Ok(out)
}

/// What a person signs in with: (eduPersonPrincipalNames, externalIdentifiers).
type SignIns = (Vec<Value>, Vec<Value>);

/// What each person signs in with.
fn sign_in_identifiers(conn: &mut DbConn) -> QueryResult<HashMap<i64, SignIns>> {
    let mut out: HashMap<i64, SignIns> = HashMap::new();
    for (person, kind, context, value, unique) in person_identifiers::table
        .order(person_identifiers::id)
        .select((
            person_identifiers::person_id,
            person_identifiers::kind,
            person_identifiers::context,
            person_identifiers::value,
            person_identifiers::globally_unique,
        ))
        .load::<(i64, String, Option<String>, String, bool)>(conn)?
    {
        let e = out.entry(person).or_default();
        match (kind.as_str(), context) {
            ("eppn", _) => e.0.push(value.into()),
            (_, Some(context)) => e.1.push(json!({
                "value": value, "context": context, "globallyUnique": unique,
            })),
            _ => {}
        }
    }
    Ok(out)
}

fn persons(conn: &mut DbConn, orgs: &Written) -> QueryResult<Written> {
    let rows: Vec<PersonRow> = people::table
        .filter(people::active.eq(true))
        .order(people::id)
        .select((
            people::id,
            people::given_name,
            people::family_name,
            people::birth_date,
            people::sex,
            people::security_marking,
            people::school_id,
            people::email,
            people::uuid,
            people::created_at,
        ))
        .load(conn)?;
    let uuid: HashMap<i64, String> = rows
        .iter()
        .map(|r| (r.0, id_of(PERSON, r.0, r.8.clone())))
        .collect();
    let mut guardians: HashMap<i64, Vec<i64>> = HashMap::new();
    for (pupil, guardian) in guardianships::table
        .select((guardianships::pupil_id, guardianships::guardian_id))
        .order(guardianships::id)
        .load::<(i64, i64)>(conn)?
    {
        guardians.entry(pupil).or_default().push(guardian);
    }
    // the register's addresses where an import brought them, else the notice address
    let mut addresses: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (person, kind, address) in person_emails::table
        .order(person_emails::id)
        .select((
            person_emails::person_id,
            person_emails::kind,
            person_emails::address,
        ))
        .load::<(i64, String, String)>(conn)?
    {
        addresses.entry(person).or_default().push((kind, address));
    }
    let staff: std::collections::HashSet<i64> = duties::table
        .select(duties::person_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let enrolled = enrolments(conn)?;
    let mut identifiers = sign_in_identifiers(conn)?;
    let records = rows
        .iter()
        .map(|row| {
            let (id, given, family, birth, sex, marking, school, email, _, created) = row;
            let mut p = json!({
                "id": uuid[id],
                "givenName": given,
                "familyName": family,
                "securityMarking": match marking.as_str() {
                    "protected" => "Skyddad folkbokföring",
                    "confidential" => "Sekretessmarkering",
                    _ => "Ingen",
                },
            });
            if let Some(b) = birth {
                p["birthDate"] = b.to_string().into();
            }
            p["sex"] = match sex.as_deref() {
                Some("F") => "Kvinna",
                Some("M") => "Man",
                _ => "Okänt",
            }
            .into();
            if let Some(list) = addresses.get(id) {
                p["emails"] = list
                    .iter()
                    .map(|(kind, value)| json!({ "value": value, "type": kind }))
                    .collect();
            } else if let Some(e) = email {
                let kind = if staff.contains(id) {
                    "Skola personal"
                } else {
                    "Privat"
                };
                p["emails"] = json!([{ "value": e, "type": kind }]);
            }
            if let Some((eppn, external)) = identifiers.remove(id) {
                if !eppn.is_empty() {
                    p["eduPersonPrincipalNames"] = Value::Array(eppn);
                }
                if !external.is_empty() {
                    p["externalIdentifiers"] = Value::Array(external);
                }
            }
            if let Some(s) = *school {
                if let Some(at) = orgs.uuid.get(&s) {
                    let (start, year) = enrolled.get(id).copied().unwrap_or((created.date(), None));
                    let mut e = json!({
                        "enroledAt": reference(at),
                        "schoolType": orgs.school_type_of(s),
                        "startDate": start.to_string(),
                    });
                    if let Some(y) = year.filter(|y| (0..=10).contains(y)) {
                        e["schoolYear"] = y.into();
                    }
                    p["enrolments"] = json!([e]);
                }
            }
            if let Some(gs) = guardians.get(id) {
                p["responsibles"] = gs
                    .iter()
                    .filter_map(|g| uuid.get(g))
                    .map(|g| json!({ "person": reference(g), "relationType": "Vårdnadshavare" }))
                    .collect();
            }
            p
        })
        .collect();
    Ok(Written::new(records, uuid))
}

fn groups(conn: &mut DbConn, orgs: &Written, people: &Written) -> QueryResult<Written> {
    type Row = (i64, i64, String, String, Option<String>, NaiveDateTime);
    let rows: Vec<Row> = groups::table
        .order(groups::id)
        .select((
            groups::id,
            groups::school_id,
            groups::name,
            groups::group_type,
            groups::uuid,
            groups::created_at,
        ))
        .load(conn)?;
    let uuid: HashMap<i64, String> = rows
        .iter()
        .map(|r| (r.0, id_of(GROUP, r.0, r.4.clone())))
        .collect();
    let mut members: HashMap<i64, Vec<Value>> = HashMap::new();
    // a group starts with its first membership (or when it was made)
    let mut first: HashMap<i64, NaiveDate> = HashMap::new();
    for (g, p, start, end) in group_memberships::table
        .order(group_memberships::id)
        .select((
            group_memberships::group_id,
            group_memberships::pupil_id,
            group_memberships::start_date,
            group_memberships::end_date,
        ))
        .load::<(i64, i64, NaiveDate, Option<NaiveDate>)>(conn)?
    {
        let f = first.entry(g).or_insert(start);
        *f = (*f).min(start);
        let Some(person) = people.uuid.get(&p) else {
            continue;
        };
        let mut m = json!({ "person": reference(person), "startDate": start.to_string() });
        if let Some(e) = end {
            m["endDate"] = e.to_string().into();
        }
        members.entry(g).or_default().push(m);
    }
    let records = rows
        .iter()
        .filter_map(|(id, school, name, kind, _, created)| {
            Some(json!({
                "id": uuid[id],
                "displayName": name,
                "groupType": match kind.as_str() {
                    "class" => "Klass",
                    "mentor" => "Mentor",
                    _ => "Undervisning",
                },
                "schoolType": orgs.school_type_of(*school),
                "startDate": first.get(id).copied().unwrap_or(created.date()).to_string(),
                "organisation": reference(orgs.uuid.get(school)?),
                "groupMemberships": members.remove(id).unwrap_or_default(),
            }))
        })
        .collect();
    Ok(Written::new(records, uuid))
}

/// Duties: one record per person and organisation (a teacher's mentor groups are its
/// assignment roles), named by the person's teaching duty's row.
fn duties(
    conn: &mut DbConn,
    orgs: &Written,
    people: &Written,
    groups: &Written,
) -> QueryResult<Written> {
    type Row = (
        i64,
        i64,
        i64,
        Role,
        Option<i64>,
        NaiveDate,
        Option<NaiveDate>,
        Option<String>,
    );
    let rows: Vec<Row> = duties::table
        .order(duties::id)
        .select((
            duties::id,
            duties::person_id,
            duties::organisation_id,
            duties::role,
            duties::group_id,
            duties::start_date,
            duties::end_date,
            duties::external_id,
        ))
        .load(conn)?;
    // person → the uuid of the duty an activity names them by (their first teaching duty)
    let mut uuid: HashMap<i64, String> = HashMap::new();
    let mut records = Vec::new();
    let mut mentor_of: HashMap<(i64, i64), Vec<Value>> = HashMap::new();
    for (_, person, org, _, group, start, _, _) in rows.iter().filter(|r| r.3 == Role::Mentor) {
        if let Some(g) = group.and_then(|g| groups.uuid.get(&g)) {
            mentor_of.entry((*person, *org)).or_default().push(json!({
                "group": reference(g),
                "assignmentRoleType": vocabulary::MENTOR_ASSIGNMENT,
                "startDate": start.to_string(),
            }));
        }
    }
    // a mentor is an assignment of a teacher's duty (above); Närvaro's own administrators
    // are no SS 12000 duty role (see the module's comment)
    let exported = rows
        .iter()
        .filter_map(|r| vocabulary::duty_role(r.3).map(|name| (r, name)));
    for ((id, person, org, role, _, start, end, source_id), duty_role) in exported {
        let (Some(p), Some(o)) = (people.uuid.get(person), orgs.uuid.get(org)) else {
            continue;
        };
        // the source's own duty id where it gave one
        let duty = source_id
            .as_deref()
            .and_then(super::uuid::canonical)
            .unwrap_or_else(|| super::uuid::stand_in(DUTY, *id));
        if *role == Role::Teacher {
            uuid.entry(*person).or_insert_with(|| duty.clone());
        }
        let mut d = json!({
            "id": duty,
            "person": reference(p),
            "dutyAt": reference(o),
            "dutyRole": duty_role,
            "startDate": start.to_string(),
        });
        if let Some(e) = end {
            d["endDate"] = e.to_string().into();
        }
        if *role == Role::Teacher {
            if let Some(a) = mentor_of.remove(&(*person, *org)) {
                d["assignmentRole"] = Value::Array(a);
            }
        }
        records.push(d);
    }
    Ok(Written::new(records, uuid))
}

/// Activities (their subject as a syllabus) with groups and teachers (by duty).
fn activities(
    conn: &mut DbConn,
    orgs: &Written,
    groups: &Written,
    duties: &Written,
) -> QueryResult<(Vec<Value>, Written)> {
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
        NaiveDateTime,
    );
    let rows: Vec<Row> = activities::table
        .order(activities::id)
        .select((
            activities::id,
            activities::school_id,
            activities::display_name,
            activities::subject_code,
            activities::subject_name,
            activities::activity_type,
            activities::uuid,
            activities::created_at,
        ))
        .load(conn)?;
    // an activity starts with its first lesson (or when it was made)
    let first: HashMap<i64, NaiveDate> = lessons::table
        .group_by(lessons::activity_id)
        .select((lessons::activity_id, diesel::dsl::min(lessons::lesson_date)))
        .load::<(i64, Option<NaiveDate>)>(conn)?
        .into_iter()
        .filter_map(|(a, d)| Some((a, d?)))
        .collect();
    let uuid: HashMap<i64, String> = rows
        .iter()
        .map(|r| (r.0, id_of(ACTIVITY, r.0, r.6.clone())))
        .collect();
    let mut links: HashMap<i64, (Vec<Value>, Vec<Value>)> = HashMap::new();
    for (a, g) in activity_groups::table
        .select((activity_groups::activity_id, activity_groups::group_id))
        .load::<(i64, i64)>(conn)?
    {
        if let Some(g) = groups.uuid.get(&g) {
            links.entry(a).or_default().0.push(reference(g));
        }
    }
    for (a, t) in activity_teachers::table
        .select((
            activity_teachers::activity_id,
            activity_teachers::teacher_id,
        ))
        .load::<(i64, i64)>(conn)?
    {
        if let Some(d) = duties.uuid.get(&t) {
            links
                .entry(a)
                .or_default()
                .1
                .push(json!({ "duty": reference(d) }));
        }
    }
    // a syllabus per subject and school type
    let mut syllabuses: HashMap<(String, String, &'static str), String> = HashMap::new();
    let mut records = Vec::new();
    let mut written = HashMap::new();
    for (id, school_id, name, code, subject, kind, _, created) in &rows {
        let Some(school) = orgs.uuid.get(school_id) else {
            continue;
        };
        let (gs, ts) = links.remove(id).unwrap_or_default();
        // the standard's activity has at least one group
        if gs.is_empty() {
            continue;
        }
        let school_type = orgs.school_type_of(*school_id);
        let n = syllabuses.len() as i64 + 1;
        let syllabus = syllabuses
            .entry((code.clone(), subject.clone(), school_type))
            .or_insert_with(|| super::uuid::stand_in(DUTY + 1, n))
            .clone();
        written.insert(*id, uuid[id].clone());
        records.push(json!({
            "id": uuid[id],
            "displayName": name,
            "activityType": match kind.as_str() {
                "pupil_activity" => "Elevaktivitet",
                "teaching" => "Undervisning",
                _ => "Övrigt",
            },
            // Närvaro's lessons are the calendar events attendance is reported on
            "calendarEventsRequired": true,
            "startDate": first.get(id).copied().unwrap_or(created.date()).to_string(),
            "organisation": reference(school),
            "groups": gs,
            "teachers": ts,
            "syllabus": reference(&syllabus),
        }));
    }
    let mut syllabus_records: Vec<Value> = syllabuses
        .into_iter()
        .map(|((code, name, school_type), id)| {
            json!({
                "id": id,
                "subjectCode": code,
                "subjectName": name,
                "schoolType": school_type,
                // Närvaro keeps a subject's code and name, not whether Skolverket's
                "official": false,
            })
        })
        .collect();
    syllabus_records.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Ok((syllabus_records, Written::new(records, written)))
}

fn calendar_events(conn: &mut DbConn, tz: Tz, acts: &Written) -> QueryResult<Vec<Value>> {
    type Row = (
        i64,
        i64,
        NaiveDate,
        NaiveTime,
        NaiveTime,
        i32,
        bool,
        Option<String>,
    );
    let rows: Vec<Row> = lessons::table
        .order(lessons::id)
        .select((
            lessons::id,
            lessons::activity_id,
            lessons::lesson_date,
            lessons::starts_at,
            lessons::ends_at,
            lessons::teaching_minutes,
            lessons::cancelled,
            lessons::uuid,
        ))
        .load(conn)?;
    let instant = |d: NaiveDate, t: NaiveTime| {
        d.and_time(t)
            .and_local_timezone(tz)
            .earliest()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
    };
    Ok(rows
        .into_iter()
        .filter_map(|(id, act, date, starts, ends, minutes, cancelled, uuid)| {
            Some(json!({
                "id": id_of(LESSON, id, uuid),
                "activity": reference(acts.uuid.get(&act)?),
                "startTime": instant(date, starts)?,
                "endTime": instant(date, ends)?,
                "teachingLengthStudent": minutes,
                "cancelled": cancelled,
            }))
        })
        .collect())
}
