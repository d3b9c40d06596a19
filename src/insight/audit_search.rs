//! Reading the audit log: who changed what, from what, to what, why and from where, for a
//! period, narrowed to a person who acted, a pupil or a lesson. Principals read the rows
//! about their schools (lessons, pupils, their absence reports and leave, the school's
//! delegations, settings, days off, own reasons and trips); administrators read every row. Newest first, at most [`LIMIT`].

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value;

use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::SchoolId;

pub const LIMIT: i64 = 1000;

/// What to look for: a period (UTC bounds of school-local days), and optionally the
/// person who acted (by name words), a pupil, a lesson.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub actor_words: Vec<String>,
    /// a pupil by id, or by the words of their name (as the administrator's search)
    pub pupil: Option<i64>,
    pub pupil_words: Vec<String>,
    pub lesson: Option<i64>,
}

/// Pupils whose name holds every word, at most this many, are looked for at once.
const PUPILS_BY_NAME: usize = 20;

/// One row as people read it.
#[derive(Debug, Clone)]
pub struct Line {
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    /// what it is about, for the reader to put in words
    pub about: About,
    pub detail: Value,
    pub client_addr: Option<String>,
}

/// What an audit row is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// a lesson: its activity's name, day and start; the pupil whose mark changed
    Lesson {
        name: String,
        date: NaiveDate,
        starts_at: chrono::NaiveTime,
        pupil: Option<String>,
    },
    /// a person, by name
    Person(String),
    /// another record: its kind (the audit log's entity) and id
    Record(String, Option<i64>),
}

/// The schools whose rows the viewer reads; `None` for an administrator (all rows).
fn scope(v: &Viewer) -> AppResult<Option<Vec<SchoolId>>> {
    if v.roles.is_admin() {
        Ok(None)
    } else if !v.roles.principal_of.is_empty() {
        Ok(Some(v.roles.principal_of.clone()))
    } else {
        Err(AppError::NotFound)
    }
}

/// Whether the viewer may read the audit log at all.
pub fn may_read(v: &Viewer) -> bool {
    v.roles.is_admin() || !v.roles.principal_of.is_empty()
}

/// The audit rows the filter finds, newest first: a principal's about their schools
/// (`about_schools`), an administrator's all.
pub fn search(conn: &mut DbConn, v: &Viewer, f: &Filter) -> AppResult<Vec<Line>> {
    let schools = scope(v)?;
    let mut q = audit_log::table
        .filter(audit_log::at.ge(f.from))
        .filter(audit_log::at.lt(f.to))
        .into_boxed();
    if let Some(schools) = &schools {
        q = about_schools(q, schools);
    }
    if let Some(lesson) = f.lesson {
        q = q.filter(
            audit_log::entity
                .eq("lesson")
                .and(audit_log::entity_id.eq(lesson)),
        );
    }
    let pupils: Vec<i64> = match (f.pupil, f.pupil_words.is_empty()) {
        (Some(id), _) => vec![id],
        (None, false) => {
            let mut found = pupils_named(conn, &f.pupil_words)?;
            if found.is_empty() {
                return Ok(Vec::new());
            }
            found.truncate(PUPILS_BY_NAME);
            found
        }
        (None, true) => Vec::new(),
    };
    if !pupils.is_empty() {
        let leave = leave_applications::table
            .filter(leave_applications::pupil_id.eq_any(pupils.clone()))
            .select(leave_applications::id.nullable());
        let reports = absence_reports::table
            .filter(absence_reports::pupil_id.eq_any(pupils.clone()))
            .select(absence_reports::id.nullable());
        // a mark's row names the pupil in its detail (keys in order, no spaces)
        let mut marks: Box<
            dyn BoxableExpression<
                audit_log::table,
                <DbConn as diesel::Connection>::Backend,
                SqlType = diesel::sql_types::Bool,
            >,
        > = Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0"));
        for pupil in &pupils {
            let (a, b) = (
                format!("%\"pupil_id\":{pupil},%"),
                format!("%\"pupil_id\":{pupil}}}%"),
            );
            marks = Box::new(
                marks
                    .or(audit_log::detail.like(a))
                    .or(audit_log::detail.like(b)),
            );
        }
        q = q.filter(
            (audit_log::entity
                .eq("person")
                .and(audit_log::entity_id.eq_any(pupils.clone())))
            .or(audit_log::entity
                .eq("leave_application")
                .and(audit_log::entity_id.eq_any(leave)))
            .or(audit_log::entity
                .eq("absence_report")
                .and(audit_log::entity_id.eq_any(reports)))
            .or(audit_log::entity.eq("lesson").and(marks)),
        );
    }
    if !f.actor_words.is_empty() {
        let ids = actors(conn, &f.actor_words)?;
        q = q.filter(audit_log::actor_id.eq_any(ids));
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        NaiveDateTime,
        Option<i64>,
        String,
        String,
        Option<i64>,
        String,
        Option<String>,
    )> = q
        .select((
            audit_log::at,
            audit_log::actor_id,
            audit_log::action,
            audit_log::entity,
            audit_log::entity_id,
            audit_log::detail,
            audit_log::client_addr,
        ))
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(LIMIT)
        .load(conn)?;
    lines(conn, rows)
}

type Query<'a> = audit_log::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

/// The rows about the schools: their lessons, pupils and the pupils' reports and leave,
/// the schools' delegations, own rows (settings, days off, own reasons) and trips.
fn about_schools<'a>(q: Query<'a>, schools: &[SchoolId]) -> Query<'a> {
    let schools = schools.to_vec();
    let lessons = lessons::table
        .filter(lessons::school_id.eq_any(schools.clone()))
        .select(lessons::id.nullable());
    // the schools' pupils (a subquery is used once, so one is made for each use)
    let pupils = || {
        people::table
            .filter(people::school_id.eq_any(schools.clone()))
            .select(people::id)
    };
    let pupils_n = people::table
        .filter(people::school_id.eq_any(schools.clone()))
        .select(people::id.nullable());
    let leave = leave_applications::table
        .filter(leave_applications::pupil_id.eq_any(pupils()))
        .select(leave_applications::id.nullable());
    let reports = absence_reports::table
        .filter(absence_reports::pupil_id.eq_any(pupils()))
        .select(absence_reports::id.nullable());
    let delegations = leave_delegations::table
        .filter(leave_delegations::school_id.eq_any(schools.clone()))
        .select(leave_delegations::id.nullable());
    let orgs = organisations::table
        .filter(organisations::id.eq_any(schools.clone()))
        .select(organisations::id.nullable());
    let reasons = absence_reasons::table
        .filter(absence_reasons::organisation_id.eq_any(schools.clone()))
        .select(absence_reasons::id.nullable());
    let trips = trips::table
        .filter(trips::school_id.eq_any(schools.clone()))
        .select(trips::id.nullable());
    q.filter(
        (audit_log::entity
            .eq("lesson")
            .and(audit_log::entity_id.eq_any(lessons)))
        .or(audit_log::entity
            .eq("organisation")
            .and(audit_log::entity_id.eq_any(orgs)))
        .or(audit_log::entity
            .eq("trip")
            .and(audit_log::entity_id.eq_any(trips)))
        .or(audit_log::entity
            .eq("person")
            .and(audit_log::entity_id.eq_any(pupils_n)))
        .or(audit_log::entity
            .eq("leave_application")
            .and(audit_log::entity_id.eq_any(leave)))
        .or(audit_log::entity
            .eq("absence_report")
            .and(audit_log::entity_id.eq_any(reports)))
        .or(audit_log::entity
            .eq("leave_delegation")
            .and(audit_log::entity_id.eq_any(delegations)))
        .or(audit_log::entity
            .eq("absence_reason")
            .and(audit_log::entity_id.eq_any(reasons))),
    )
}

/// A stored row: when, who, action, entity, its id, detail, from where.
type Row = (
    NaiveDateTime,
    Option<i64>,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
);

/// The rows with names: who acted, which lesson or person a row is about, and whose mark
/// a changed mark is.
fn lines(conn: &mut DbConn, rows: Vec<Row>) -> AppResult<Vec<Line>> {
    let details: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.5).unwrap_or(Value::Null))
        .collect();
    let mark_pupils: Vec<i64> = details
        .iter()
        .filter_map(|d| d["pupil_id"].as_i64())
        .collect();
    let mut people_ids: Vec<i64> = rows.iter().filter_map(|r| r.1).collect();
    people_ids.extend(rows.iter().filter(|r| r.3 == "person").filter_map(|r| r.4));
    people_ids.extend(mark_pupils);
    people_ids.sort_unstable();
    people_ids.dedup();
    let people_names = names(conn, &people_ids)?;
    let lessons = lesson_labels(
        conn,
        &rows
            .iter()
            .filter(|r| r.3 == "lesson")
            .filter_map(|r| r.4)
            .collect::<Vec<_>>(),
    )?;
    Ok(rows
        .into_iter()
        .zip(details)
        .map(|((at, actor, action, entity, id, _, addr), detail)| {
            let about = match (entity.as_str(), id) {
                ("lesson", Some(id)) => match lessons.get(&id) {
                    Some((name, date, starts_at)) => About::Lesson {
                        name: name.clone(),
                        date: *date,
                        starts_at: *starts_at,
                        pupil: detail["pupil_id"]
                            .as_i64()
                            .and_then(|p| people_names.get(&p).cloned()),
                    },
                    None => About::Record(entity.clone(), Some(id)),
                },
                ("person", Some(id)) => match people_names.get(&id) {
                    Some(name) => About::Person(name.clone()),
                    None => About::Record(entity.clone(), Some(id)),
                },
                (_, id) => About::Record(entity.clone(), id),
            };
            Line {
                at,
                actor: actor
                    .and_then(|a| people_names.get(&a).cloned())
                    .unwrap_or_else(|| "–".into()),
                action,
                about,
                detail,
                client_addr: addr,
            }
        })
        .collect())
}

/// Pupils (people with a school) whose name holds every word.
fn pupils_named(conn: &mut DbConn, words: &[String]) -> AppResult<Vec<i64>> {
    let candidates = actors(conn, words)?;
    Ok(people::table
        .filter(people::id.eq_any(candidates))
        .filter(people::school_id.is_not_null())
        .select(people::id)
        .order(people::id)
        .load(conn)?)
}

/// People whose name or username holds every word (at most 200).
fn actors(conn: &mut DbConn, words: &[String]) -> AppResult<Vec<i64>> {
    let first = words.first().cloned().unwrap_or_default();
    let pattern = format!(
        "%{}%",
        first
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let name = people::given_name.concat(" ").concat(people::family_name);
    let rows: Vec<(i64, String, String, Option<String>)> = people::table
        .filter(
            people::username
                .like(pattern.clone())
                .escape('\\')
                .or(name.like(pattern.clone()).escape('\\'))
                .or(name.like(capitalised(&pattern)).escape('\\')),
        )
        .select((
            people::id,
            people::given_name,
            people::family_name,
            people::username,
        ))
        .limit(2000)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, g, f, u)| {
            let hay = format!("{g} {f} {}", u.as_deref().unwrap_or("")).to_lowercase();
            words.iter().all(|w| hay.contains(w.as_str()))
        })
        .map(|r| r.0)
        .take(200)
        .collect())
}

fn capitalised(pattern: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for c in pattern.chars() {
        if !done && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            done = true;
        } else {
            out.push(c);
        }
    }
    out
}

fn names(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(900) {
        let rows: Vec<(i64, String, String)> = people::table
            .filter(people::id.eq_any(chunk))
            .select((people::id, people::given_name, people::family_name))
            .load(conn)?;
        for (id, g, f) in rows {
            out.insert(id, format!("{g} {f}"));
        }
    }
    Ok(out)
}

/// Each lesson's activity name, day and start.
type LessonLabel = (String, NaiveDate, chrono::NaiveTime);

fn lesson_labels(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, LessonLabel>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(900) {
        let rows: Vec<(i64, NaiveDate, chrono::NaiveTime, String)> = lessons::table
            .inner_join(activities::table)
            .filter(lessons::id.eq_any(chunk))
            .select((
                lessons::id,
                lessons::lesson_date,
                lessons::starts_at,
                activities::display_name,
            ))
            .load(conn)?;
        for (id, day, starts, name) in rows {
            out.insert(id, (name, day, starts));
        }
    }
    Ok(out)
}
