//! The SS 12000 schemas the export is checked against, written from the published
//! SS 12000:2020 API document, version 2.1 (`openapi_ss12000_version2_1_0.yaml` in the
//! repository ist-group/ss12k2xsd): the components `Meta`, `ObjectReference` with
//! `PersonReference` (`securityMarking`), `Attendance`, `Absence` with `AbsenceEnum`,
//! `AggregatedAttendance`, `DeletedEntities` with `EndPointsEnum`'s lists, the list
//! envelopes `Attendances` and `Absences`, and `Error`. `allOf` references are written out
//! whole. Beyond the standard, a record may carry no property the component does not
//! define (so that a misspelt field fails here instead of in a client).

use serde_json::{json, Value};

fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}

fn date_time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// `Meta`: created and modified, both required date-times.
fn meta() -> Value {
    json!({"type": "object", "required": ["created", "modified"],
        "properties": {"created": date_time(), "modified": date_time()}})
}

/// `ObjectReference` (id required; displayName only on request).
fn reference() -> Value {
    json!({"type": "object", "required": ["id"],
        "properties": {"id": uuid(), "displayName": {"type": "string"}}})
}

/// `PersonReference`: `ObjectReference` and `securityMarking`.
fn person_reference() -> Value {
    json!({"type": "object", "required": ["id"],
        "properties": {"id": uuid(), "displayName": {"type": "string"},
            "securityMarking": {"type": "string",
                "enum": ["Ingen", "Sekretessmarkering", "Skyddad folkbokföring"]}}})
}

/// `Attendance`.
pub fn attendance() -> Value {
    json!({"type": "object",
        "required": ["calendarEvent", "id", "isReported", "meta", "student"],
        "properties": {
            "id": uuid(), "meta": meta(), "calendarEvent": reference(),
            "student": person_reference(), "reporter": person_reference(),
            "isReported": {"type": "boolean"},
            "attendanceMinutes": {"type": "integer"},
            "validAbsenceMinutes": {"type": "integer"},
            "invalidAbsenceMinutes": {"type": "integer"},
            "otherAttendanceMinutes": {"type": "integer"},
            "absenceReason": {"type": "string"},
            "reportedTimestamp": date_time()}})
}

/// `Absence` (`type` is `AbsenceEnum`; `organisation` a `SchoolUnitReference`).
pub fn absence() -> Value {
    json!({"type": "object",
        "required": ["endTime", "id", "meta", "startTime", "student", "type"],
        "properties": {
            "id": uuid(), "meta": meta(), "startTime": date_time(), "endTime": date_time(),
            "type": {"type": "string", "enum": ["Beviljad ledighet", "Anmäld frånvaro"]},
            "student": person_reference(), "organisation": reference(),
            "registeredBy": person_reference()}})
}

/// `AggregatedAttendance` (without `_embedded`, which only `expand` asks for).
pub fn aggregated() -> Value {
    json!({"type": "object",
        "required": ["activity", "attendanceSum", "endDate", "startDate", "student"],
        "properties": {
            "activity": reference(), "student": person_reference(),
            "startDate": {"type": "string", "format": "date"},
            "endDate": {"type": "string", "format": "date"},
            "attendanceSum": {"type": "integer"}, "validAbsenceSum": {"type": "integer"},
            "invalidAbsenceSum": {"type": "integer"}, "otherAttendanceSum": {"type": "integer"},
            "reportedSum": {"type": "integer"}, "offeredSum": {"type": "integer"}}})
}

/// A list envelope (`Attendances`, `Absences`, `AggregatedAttendances`): `data` required,
/// `pageToken` a string or null.
pub fn list(item: Value) -> Value {
    json!({"type": "object", "required": ["data"],
        "properties": {"data": {"type": "array", "items": item},
            "pageToken": {"type": "string", "nullable": true}}})
}

/// `DeletedEntities`: `data` holds a list of uuids per type.
pub fn deleted_entities() -> Value {
    let lists = [
        "absences",
        "attendanceEvents",
        "attendances",
        "grades",
        "calendarEvents",
        "attendanceSchedules",
        "resources",
        "rooms",
        "activitites",
        "duties",
        "placements",
        "studyPlans",
        "programmes",
        "syllabuses",
        "schoolUnitOfferings",
        "groups",
        "persons",
        "organisations",
    ];
    let props: serde_json::Map<String, Value> = lists
        .iter()
        .map(|l| (l.to_string(), json!({"type": "array", "items": uuid()})))
        .collect();
    json!({"type": "object", "required": ["data"],
        "properties": {"data": {"type": "object", "properties": props},
            "pageToken": {"type": "string", "nullable": true}}})
}

/// `Error`: code and message, required strings.
pub fn error() -> Value {
    json!({"type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}})
}

fn date() -> Value {
    json!({"type": "string", "format": "date"})
}

fn school_type() -> Value {
    json!({"type": "string", "enum": ["FS", "FKLASS", "FTH", "OPPFTH", "GR", "GRS", "TR", "SP",
        "SAM", "GY", "GYS", "VUX", "VUXSFI", "VUXGR", "VUXGY", "VUXSARGR", "VUXSARTR", "VUXSARGY",
        "SFI", "SARVUX", "SARVUXGR", "SARVUXGY", "KU", "YH", "FHS", "STF", "KKU", "HS", "ABU", "AU"]})
}

/// `Organisation` (without `address` and `contactInfo`, which Närvaro never writes; an
/// export that did would fail here).
pub fn organisation() -> Value {
    json!({"type": "object", "required": ["displayName", "id", "meta", "organisationType"],
        "properties": {
            "id": uuid(), "meta": meta(), "displayName": {"type": "string"},
            "organisationCode": {"type": "string"},
            "organisationType": {"type": "string", "enum": ["Huvudman", "Verksamhetsområde",
                "Förvaltning", "Rektorsområde", "Skola", "Skolenhet", "Varumärke", "Bolag", "Övrigt"]},
            "organisationNumber": {"type": "string"}, "parentOrganisation": reference(),
            "schoolUnitCode": {"type": "string"},
            "schoolTypes": {"type": "array", "uniqueItems": true, "items": school_type()},
            "municipalityCode": {"type": "string"}, "url": {"type": "string"},
            "email": {"type": "string"}, "phoneNumber": {"type": "string"},
            "startDate": date(), "endDate": date()}})
}

/// `Person` with `Enrolment`, `Email`, `externalIdentifier`, `Person_civicNo` and
/// `Person_responsibles_inner` (without `phoneNumbers`, `addresses` and `photo`, which
/// Närvaro never writes).
pub fn person() -> Value {
    let enrolment = json!({"type": "object", "required": ["enroledAt", "schoolType", "startDate"],
        "properties": {"enroledAt": reference(),
            "schoolYear": {"type": "integer", "minimum": 0, "maximum": 10},
            "schoolType": school_type(), "startDate": date(), "endDate": date(),
            "cancelled": {"type": "boolean"}, "educationCode": {"type": "string"},
            "programme": reference(), "specification": {"type": "string"}}});
    let email = json!({"type": "object", "required": ["type", "value"],
        "properties": {"value": {"type": "string", "format": "email"},
            "type": {"type": "string", "enum": ["Privat", "Skola elev", "Skola personal", "Arbete övrigt"]}}});
    let external = json!({"type": "object", "required": ["context", "globallyUnique", "value"],
        "properties": {"value": {"type": "string"}, "context": {"type": "string"},
            "globallyUnique": {"type": "boolean"}}});
    json!({"type": "object", "required": ["familyName", "givenName", "id", "meta"],
        "properties": {
            "id": uuid(), "meta": meta(), "givenName": {"type": "string"},
            "middleName": {"type": "string"}, "familyName": {"type": "string"},
            "eduPersonPrincipalNames": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
            "externalIdentifiers": {"type": "array", "items": external},
            "civicNo": {"type": "object", "required": ["value"], "properties": {
                "value": {"type": "string"}, "nationality": {"type": "string"}}},
            "birthDate": date(),
            "sex": {"type": "string", "enum": ["Man", "Kvinna", "Okänt"]},
            "securityMarking": {"type": "string",
                "enum": ["Ingen", "Sekretessmarkering", "Skyddad folkbokföring"]},
            "personStatus": {"type": "string", "enum": ["Aktiv", "Utvandrad", "Avliden"]},
            "emails": {"type": "array", "items": email},
            "enrolments": {"type": "array", "items": enrolment},
            "responsibles": {"type": "array", "items": {"type": "object", "properties": {
                "person": person_reference(),
                "relationType": {"type": "string",
                    "enum": ["Vårdnadshavare", "Annan ansvarig", "God man", "Utsedd behörig"]}}}}}})
}

/// `Group`: `GroupFragment` and `groupMemberships` (`GroupMembership`).
pub fn group() -> Value {
    json!({"type": "object",
        "required": ["displayName", "groupType", "id", "meta", "organisation", "startDate"],
        "properties": {
            "id": uuid(), "meta": meta(), "displayName": {"type": "string"},
            "startDate": date(), "endDate": date(),
            "groupType": {"type": "string", "enum": ["Undervisning", "Klass", "Mentor", "Provgrupp",
                "Schema", "Avdelning", "Personalgrupp", "Övrigt"]},
            "schoolType": school_type(), "organisation": reference(),
            "groupMemberships": {"type": "array", "items": {"type": "object", "required": ["person"],
                "properties": {"person": person_reference(), "startDate": date(), "endDate": date()}}}}})
}

/// `Duty` with `DutyRole` and `Duty_assignmentRole_inner`.
pub fn duty() -> Value {
    json!({"type": "object", "required": ["dutyAt", "dutyRole", "id", "meta", "startDate"],
        "properties": {
            "id": uuid(), "meta": meta(), "person": person_reference(),
            "assignmentRole": {"type": "array", "items": {"type": "object",
                "required": ["assignmentRoleType", "group"],
                "properties": {"group": reference(),
                    "assignmentRoleType": {"type": "string", "enum": ["Mentor", "Förskollärare",
                        "Barnskötare", "Fritidspedagog", "Specialpedagog", "Elevhälsopersonal",
                        "Pedagogisk ledare", "Schemaläggare", "Lärarassistent", "Administrativ personal"]},
                    "startDate": date(), "endDate": date()}}},
            "dutyAt": reference(),
            "dutyRole": {"type": "string", "enum": ["Rektor", "Lärare", "Förskollärare", "Barnskötare",
                "Bibliotekarie", "Lärarassistent", "Fritidspedagog", "Annan personal",
                "Studie- och yrkesvägledare", "Förstelärare", "Kurator", "Skolsköterska", "Skolläkare",
                "Skolpsykolog", "Speciallärare/specialpedagog", "Skoladministratör",
                "Övrig arbetsledning", "Övrig pedagogisk personal", "Förskolechef"]},
            "signature": {"type": "string"}, "dutyPercent": {"type": "integer"},
            "hoursPerYear": {"type": "integer"}, "startDate": date(), "endDate": date()}})
}

/// `Syllabus` (without `specialisationCourseContent`, which Närvaro never writes).
pub fn syllabus() -> Value {
    json!({"type": "object", "required": ["id", "meta", "official", "schoolType", "subjectName"],
        "properties": {
            "id": uuid(), "meta": meta(), "schoolType": school_type(),
            "subjectCode": {"type": "string"}, "subjectName": {"type": "string"},
            "subjectDesignation": {"type": "string"}, "courseCode": {"type": "string"},
            "courseName": {"type": "string"},
            "startSchoolYear": {"type": "integer", "minimum": 0, "maximum": 10},
            "endSchoolYear": {"type": "integer", "minimum": 0, "maximum": 10},
            "points": {"type": "integer"}, "languageCode": {"type": "string"},
            "official": {"type": "boolean"}}})
}

/// `Activity` with `DutyAssignment`.
pub fn activity() -> Value {
    json!({"type": "object",
        "required": ["calendarEventsRequired", "displayName", "groups", "id", "meta", "organisation", "startDate"],
        "properties": {
            "id": uuid(), "meta": meta(), "displayName": {"type": "string"},
            "calendarEventsRequired": {"type": "boolean"}, "startDate": date(), "endDate": date(),
            "activityType": {"type": "string", "enum": ["Undervisning", "Elevaktivitet",
                "Provaktivitet", "Läraraktivitet", "Övrigt"]},
            "comment": {"type": "string"}, "minutesPlanned": {"type": "integer"},
            "groups": {"type": "array", "minItems": 1, "items": reference()},
            "teachers": {"type": "array", "items": {"type": "object", "required": ["duty"],
                "properties": {"duty": reference(), "startDate": date(), "endDate": date(),
                    "minutesPlanned": {"type": "integer"}, "grader": {"type": "boolean"}}}},
            "syllabus": reference(), "organisation": reference(), "parentActivity": reference()}})
}

/// `CalendarEvent` (without exceptions, rooms and resources, which the structure export
/// never writes).
pub fn calendar_event() -> Value {
    json!({"type": "object", "required": ["activity", "endTime", "id", "meta", "startTime"],
        "properties": {
            "id": uuid(), "meta": meta(), "activity": reference(),
            "startTime": date_time(), "endTime": date_time(), "cancelled": {"type": "boolean"},
            "teachingLengthTeacher": {"type": "integer"}, "teachingLengthStudent": {"type": "integer"},
            "comment": {"type": "string"}}})
}

/// What is wrong with `v` against `schema` (the subset of OpenAPI 3.0 schemas the
/// components above use), by JSON path; empty when it is valid.
pub fn check(v: &Value, schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(v, schema, "$", &mut out);
    out
}

fn walk(v: &Value, s: &Value, at: &str, out: &mut Vec<String>) {
    if v.is_null() {
        if s["nullable"] != true {
            out.push(format!("{at}: null where the schema allows none"));
        }
        return;
    }
    let ok = match s["type"].as_str() {
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("boolean") => v.is_boolean(),
        _ => true,
    };
    if !ok {
        out.push(format!("{at}: {v} is not of type {}", s["type"]));
        return;
    }
    if let Some(n) = v.as_i64() {
        if s["minimum"].as_i64().is_some_and(|m| n < m)
            || s["maximum"].as_i64().is_some_and(|m| n > m)
        {
            out.push(format!(
                "{at}: {n} is outside {}..={}",
                s["minimum"], s["maximum"]
            ));
        }
    }
    if let Some(list) = v.as_array() {
        if s["minItems"]
            .as_u64()
            .is_some_and(|m| (list.len() as u64) < m)
        {
            out.push(format!("{at}: fewer than {} items", s["minItems"]));
        }
        if s["uniqueItems"] == true && (1..list.len()).any(|i| list[..i].contains(&list[i])) {
            out.push(format!("{at}: items repeat"));
        }
    }
    if let Some(allowed) = s["enum"].as_array() {
        if !allowed.contains(v) {
            out.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    if let (Some(f), Some(text)) = (s["format"].as_str(), v.as_str()) {
        let fine = match f {
            "uuid" => is_uuid(text),
            "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
            _ => true,
        };
        if !fine {
            out.push(format!("{at}: {text:?} is not a {f}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in s["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap_or_default()) {
                out.push(format!("{at}: required {r} is missing"));
            }
        }
        let props = s["properties"].as_object();
        for (k, child) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(cs) => walk(child, cs, &format!("{at}.{k}"), out),
                None => out.push(format!("{at}: {k} is not a property of the component")),
            }
        }
    }
    if let (Some(items), Some(list)) = (s.get("items"), v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            walk(item, items, &format!("{at}[{i}]"), out);
        }
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

#[test]
fn the_checker_finds_what_the_standard_forbids() {
    let good = json!({"id": "046b6c7f-0b8a-43b9-b35d-6489e6daee91",
        "meta": {"created": "2026-11-25T08:15:00Z", "modified": "2026-11-25T08:20:00+01:00"},
        "calendarEvent": {"id": "046b6c7f-0b8a-43b9-b35d-6489e6daee92"},
        "student": {"id": "046b6c7f-0b8a-43b9-b35d-6489e6daee93", "securityMarking": "Ingen"},
        "isReported": true, "attendanceMinutes": 40});
    assert_eq!(check(&good, &attendance()), Vec::<String>::new());
    // the faults the integrator found: no meta, ids that are no UUIDs, a null reason
    let bad = json!({"id": "1-293", "calendarEvent": {"id": "l1"},
        "student": {"id": "046b6c7f-0b8a-43b9-b35d-6489e6daee93", "securityMarking": "Hemlig"},
        "isReported": "yes", "absenceReason": null, "extra": 1});
    let faults = check(&bad, &attendance());
    for expected in [
        "$: required \"meta\" is missing",
        "$.id: \"1-293\" is not a uuid",
        "$.calendarEvent.id: \"l1\" is not a uuid",
        "$.absenceReason: null where the schema allows none",
        "$.isReported: \"yes\" is not of type \"boolean\"",
        "$: extra is not a property of the component",
    ] {
        assert!(
            faults.iter().any(|f| f == expected),
            "{expected} in {faults:?}"
        );
    }
    assert!(faults
        .iter()
        .any(|f| f.starts_with("$.student.securityMarking")));
    assert_eq!(
        check(&json!({"code": "x"}), &error()),
        vec!["$: required \"message\" is missing"]
    );
}
