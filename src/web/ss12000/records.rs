//! One record of the SS 12000 export by its id (`GET /attendances/{id}`,
//! `GET /absences/{id}`), and many at once (`POST /attendances/lookup`,
//! `POST /absences/lookup`): what the caller may not read, or what is not there, is a 404
//! for one and left out of many.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::params::{names_only, path_uuid};
use super::{answer, readers_only, say};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::interop::ss12000::query::{self, AbsenceType, Query};
use crate::interop::ss12000::refs::{self, Ref};
use crate::interop::ss12000::{absences, attendances, uuid};
use crate::school::ids::{ActivityId, LessonId, PupilId};
use crate::state::AppState;

/// GET /api/ss12000/v2/attendances/{id}
pub async fn attendance(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
    q: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let tz = state.config.timezone;
    readers_only(&v)?;
    names_only(&q, false, lang)?;
    let id = path_uuid(&id, lang)?;
    let (lesson, pupil) = uuid::parse_attendance(&id).ok_or(AppError::NotFound)?;
    let record = state
        .db(move |conn| attendance_record(conn, &v, tz, lesson, pupil, false))
        .await?;
    Ok(answer(record.ok_or(AppError::NotFound)?))
}

/// A pupil's attendance record on a lesson, when the caller may read it.
fn attendance_record(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    lesson: LessonId,
    pupil: PupilId,
    names: bool,
) -> AppResult<Option<Value>> {
    let q = Query {
        calendar_events: vec![lesson],
        students: vec![pupil],
        names,
        ..Query::default()
    };
    match attendances::page(conn, v, tz, &q, 1, (0, 0)) {
        Ok(page) => Ok(page.data.into_iter().next()),
        Err(AppError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// GET /api/ss12000/v2/absences/{id}
pub async fn absence(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
    q: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let tz = state.config.timezone;
    readers_only(&v)?;
    names_only(&q, false, lang)?;
    let id = path_uuid(&id, lang)?;
    let found = state
        .db(move |conn| absences_by_id(conn, &v, tz, vec![id], false))
        .await?;
    Ok(answer(found.into_iter().next().ok_or(AppError::NotFound)?))
}

fn absences_by_id(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    ids: Vec<String>,
    names: bool,
) -> AppResult<Vec<Value>> {
    let schools = query::schools(conn, v, None)?;
    let mut items = Vec::new();
    for chunk in ids.chunks(crate::db::CHUNK) {
        items.extend(absences::matching(
            conn,
            tz,
            &schools,
            &Query::default(),
            Some(chunk),
        )?);
    }
    items.sort_by_key(|i| (i.kind == AbsenceType::Leave, i.id));
    absences::to_json(conn, &items, names)
}

/// The most ids a lookup names, and the most records it answers.
const LOOKUP_IDS: usize = 1000;
const LOOKUP_RECORDS: usize = 10_000;

/// The body of `POST /attendances/lookup` (the standard spells one list
/// "calendareEvents"; "calendarEvents" is read as well) and of `/absences/lookup` (`ids`).
#[derive(Debug, Default, Deserialize)]
struct Lookup {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    activities: Vec<String>,
    #[serde(default)]
    students: Vec<String>,
    #[serde(default, alias = "calendarEvents", rename = "calendareEvents")]
    calendar_events: Vec<String>,
}

impl Lookup {
    /// The body, every id a UUID and at most `LOOKUP_IDS` of them.
    fn read(body: &[u8], lang: Lang) -> AppResult<Lookup> {
        let l: Lookup = serde_json::from_slice(body).map_err(|_| {
            say(
                lang,
                Code::BadRequest,
                "Skicka ett JSON-objekt med listor av UUID: ids (och för närvaro activities, students, calendareEvents).".into(),
                "Send a JSON object with lists of UUIDs: ids (and for attendances activities, students, calendareEvents).".into(),
            )
        })?;
        let all = [&l.ids, &l.activities, &l.students, &l.calendar_events];
        if all.iter().map(|v| v.len()).sum::<usize>() > LOOKUP_IDS {
            return Err(say(
                lang,
                Code::BadRequest,
                format!("Högst {LOOKUP_IDS} id per anrop."),
                format!("At most {LOOKUP_IDS} ids per request."),
            ));
        }
        let mut out = Lookup::default();
        let canon = |list: &[String]| -> AppResult<Vec<String>> {
            list.iter().map(|i| path_uuid(i, lang)).collect()
        };
        out.ids = canon(&l.ids)?;
        out.activities = canon(&l.activities)?;
        out.students = canon(&l.students)?;
        out.calendar_events = canon(&l.calendar_events)?;
        Ok(out)
    }
}

fn too_large(lang: Lang) -> AppError {
    AppError::TooLarge(lang.fill(
        "Svaret blir större än {n} poster. Fråga efter färre åt gången.",
        "The answer would be larger than {n} records. Ask for fewer at a time.",
        &[("n", &LOOKUP_RECORDS.to_string())],
    ))
}

/// POST /api/ss12000/v2/attendances/lookup: the records with these ids, of these
/// activities, pupils or calendar events (each list read; unknown or unreadable ids are
/// left out).
pub async fn attendances_lookup(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Vec<(String, String)>>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let tz = state.config.timezone;
    readers_only(&v)?;
    let names = names_only(&q, true, lang)?;
    let l = Lookup::read(&body, lang)?;
    let out = state
        .db(move |conn| {
            let mut out: Vec<Value> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            let mut keep = |out: &mut Vec<Value>, r: Value| {
                if seen.insert(r["id"].as_str().unwrap_or_default().to_string()) {
                    out.push(r);
                }
            };
            for id in &l.ids {
                if let Some((lesson, pupil)) = uuid::parse_attendance(id) {
                    if let Some(r) = attendance_record(conn, &v, tz, lesson, pupil, names)? {
                        keep(&mut out, r);
                    }
                }
            }
            let mut queries = Vec::new();
            let resolve = |conn: &mut DbConn, kind: Ref, ids: &[String]| -> AppResult<Vec<i64>> {
                let mut found = Vec::new();
                for i in ids {
                    found.extend(refs::resolve(conn, kind, i)?);
                }
                Ok(found)
            };
            let events: Vec<LessonId> = resolve(conn, Ref::Lesson, &l.calendar_events)?
                .into_iter()
                .map(LessonId)
                .collect();
            if !events.is_empty() {
                queries.push(Query {
                    calendar_events: events,
                    ..Query::default()
                });
            }
            let activities: Vec<ActivityId> = resolve(conn, Ref::Activity, &l.activities)?
                .into_iter()
                .map(ActivityId)
                .collect();
            if !activities.is_empty() {
                queries.push(Query {
                    activities,
                    ..Query::default()
                });
            }
            for s in resolve(conn, Ref::Person, &l.students)? {
                queries.push(Query {
                    students: vec![PupilId(s)],
                    ..Query::default()
                });
            }
            for mut q in queries {
                q.names = names;
                let mut after = (0, 0);
                loop {
                    let page = match attendances::page(conn, &v, tz, &q, query::MAX_LIMIT, after) {
                        Err(AppError::NotFound) => break,
                        other => other?,
                    };
                    for r in page.data {
                        keep(&mut out, r);
                    }
                    if out.len() > LOOKUP_RECORDS {
                        return Err(too_large(lang));
                    }
                    match page.next {
                        Some(t) => {
                            after = query::parse_token(&t, &["a"]).map(|((_, a, b), _)| (a, b))?
                        }
                        None => break,
                    }
                }
            }
            Ok(out)
        })
        .await?;
    Ok(answer(Value::Array(out)))
}

/// POST /api/ss12000/v2/absences/lookup: the absences with these ids (unknown or
/// unreadable ids are left out).
pub async fn absences_lookup(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Vec<(String, String)>>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let tz = state.config.timezone;
    readers_only(&v)?;
    let names = names_only(&q, true, lang)?;
    let l = Lookup::read(&body, lang)?;
    if !(l.activities.is_empty() && l.students.is_empty() && l.calendar_events.is_empty()) {
        return Err(say(
            lang,
            Code::BadRequest,
            "Frånvaro slås upp med ids.".into(),
            "Absences are looked up by ids.".into(),
        ));
    }
    let out = state
        .db(move |conn| absences_by_id(conn, &v, tz, l.ids, names))
        .await?;
    Ok(answer(Value::Array(out)))
}
