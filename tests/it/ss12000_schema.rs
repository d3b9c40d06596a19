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
