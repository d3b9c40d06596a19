//! `/deletedEntities`: what the export no longer shows, so that a client that follows
//! changes (`meta.modified.after`) can remove it too. In Närvaro an absence goes away when
//! its report is cancelled; granted leave is never taken back, and a reported lesson keeps
//! its attendance records, so those lists stay empty. A type Närvaro does not serve is
//! answered with an empty list: nothing it served was removed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::query::{self, Page, Position, Query};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;

/// The standard's `EndPointsEnum` and the list of `DeletedEntities.data` each fills (the
/// standard spells activities' list "activitites").
pub const ENTITIES: [(&str, &str); 18] = [
    ("Absence", "absences"),
    ("AttendanceEvent", "attendanceEvents"),
    ("Attendance", "attendances"),
    ("Grade", "grades"),
    ("CalendarEvent", "calendarEvents"),
    ("AttendanceSchedule", "attendanceSchedules"),
    ("Resource", "resources"),
    ("Room", "rooms"),
    ("Activity", "activitites"),
    ("Duty", "duties"),
    ("Placement", "placements"),
    ("StudyPlan", "studyPlans"),
    ("Programme", "programmes"),
    ("Syllabus", "syllabuses"),
    ("SchoolUnitOffering", "schoolUnitOfferings"),
    ("Group", "groups"),
    ("Person", "persons"),
    ("Organisation", "organisations"),
];

/// The types a request without `entities` gets: what the export serves.
const SERVED: [&str; 2] = ["Absence", "Attendance"];

/// The page of removals after `after` (when the query's `created.from`, the `after`
/// parameter, is set: only those since then), cancelled reports by (when, id).
pub fn page(
    conn: &mut DbConn,
    v: &Viewer,
    q: &Query,
    limit: usize,
    at: Option<Position>,
) -> AppResult<Page> {
    let schools = query::schools(conn, v, None)?;
    let wanted: Vec<&str> = if q.entities.is_empty() {
        SERVED.to_vec()
    } else {
        q.entities.iter().map(String::as_str).collect()
    };
    let mut absences: Vec<(i64, i64, Option<String>)> = Vec::new();
    if wanted.contains(&"Absence") {
        let mut r = absence_reports::table
            .inner_join(people::table.on(people::id.eq(absence_reports::pupil_id)))
            .filter(people::school_id.eq_any(&schools))
            .filter(absence_reports::cancelled_at.is_not_null())
            .into_boxed();
        if let Some(after) = q.created.from {
            r = r.filter(absence_reports::cancelled_at.gt(after));
        }
        let rows: Vec<(i64, Option<NaiveDateTime>, Option<String>)> = r
            .select((
                absence_reports::id,
                absence_reports::cancelled_at,
                absence_reports::uuid,
            ))
            .load(conn)?;
        absences = rows
            .into_iter()
            .filter_map(|(id, at, uuid)| Some((at?.and_utc().timestamp_micros(), id, uuid)))
            .collect();
        absences.sort_unstable();
    }
    let start = at.map_or(0, |(_, a, b)| {
        absences.partition_point(|(t, id, _)| (*t, *id) <= (a, b))
    });
    let rest = &absences[start..];
    let shown = &rest[..rest.len().min(limit)];
    let next = (rest.len() > limit)
        .then(|| shown.last())
        .flatten()
        .map(|(t, id, _)| query::token("d", *t, *id, q));
    let mut data = Map::new();
    for (entity, list) in ENTITIES {
        if !wanted.contains(&entity) {
            continue;
        }
        let ids: Vec<Value> = if entity == "Absence" {
            shown
                .iter()
                .map(|(_, id, uuid)| {
                    uuid.clone()
                        .unwrap_or_else(|| super::uuid::stand_in(5, *id))
                        .into()
                })
                .collect()
        } else {
            Vec::new()
        };
        data.insert(list.to_string(), Value::Array(ids));
    }
    Ok(Page {
        data: vec![Value::Object(data)],
        next,
    })
}
