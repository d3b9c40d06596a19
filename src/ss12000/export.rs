//! The SS 12000 export: attendances (one per pupil per reported lesson), absences
//! (guardians' reports as "Anmäld frånvaro", granted leave as "Beviljad ledighet") and
//! aggregated attendance, as the standard's records, page by page. Records are named by
//! the source's ids where an import brought them (`Refs`). Access is checked here: the
//! caller's schools, or the one school asked for. `web::ss12000` parses the query and
//! writes the answer.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{access, Viewer};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::ids::{PupilId, SchoolId};
use crate::schema::*;
use crate::states::LeaveStatus;
use crate::statistics::facts::{self, Sel};
use crate::statistics::{self as stats, Figures, Period, Scope};

/// One page of records and, while there is more, the token for the next.
pub struct Page {
    pub data: Vec<Value>,
    pub next: Option<String>,
}

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub fn limit(raw: Option<&str>, lang: Lang) -> AppResult<usize> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::invalid(
                    Code::BadLimit,
                    lang.pick(
                        "limit är ett heltal från 1 till 1000.",
                        "limit is a whole number from 1 to 1000.",
                    ),
                )
            }),
    }
}

/// What an export request asks for, whole: the page token carries it, so a client that
/// follows only `pageToken` (as the standard says it may: the token "cannot be combined
/// with other filters") gets exactly the records of its first request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// a school the caller may read (Närvaro's id), or every school they may
    pub organisation: Option<i64>,
    /// pupils (Närvaro's ids); empty is every pupil
    pub students: Vec<i64>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Query {
    pub fn period(&self) -> Period {
        Period {
            from: self.from,
            to: self.to,
        }
    }
}

/// Where a page ended: (list, a, b), as the token says.
pub type Position = (String, i64, i64);

/// Where a page ended, and the query it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// which list ("a" attendances, "r" reports, "l" leave, "g" aggregated)
    k: String,
    a: i64,
    b: i64,
    q: Query,
}

/// An opaque page token: the query and where the page ended, as hex-encoded JSON.
pub fn token(kind: &str, a: i64, b: i64, q: &Query) -> String {
    let cursor = Cursor {
        k: kind.to_string(),
        a,
        b,
        q: q.clone(),
    };
    serde_json::to_vec(&cursor)
        .unwrap_or_default()
        .iter()
        .map(|c| format!("{c:02x}"))
        .collect()
}

/// A token's position (kind, a, b) and query, when it is one of ours of these kinds.
pub fn parse_token(
    raw: &str,
    kinds: &[&str],
    lang: Lang,
) -> AppResult<((String, i64, i64), Query)> {
    let bad = || {
        AppError::invalid(
            Code::BadPageToken,
            lang.pick(
                "pageToken är inte en sidmarkör från det här anropet. Börja om utan pageToken.",
                "pageToken is not a page token from this request. Start again without pageToken.",
            ),
        )
    };
    if raw.len() > 20_000 || raw.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..raw.len())
        .step_by(2)
        .map(|i| {
            raw.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let cursor: Cursor = bytes
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(bad)?;
    if !kinds.contains(&cursor.k.as_str()) || cursor.a < 0 || cursor.b < 0 {
        return Err(bad());
    }
    Ok(((cursor.k, cursor.a, cursor.b), cursor.q))
}

/// A record named in a filter: Närvaro's number, or the source's id (`external_id`) the
/// export names imported records by. `None` when there is no such record.
pub fn resolve(conn: &mut DbConn, kind: Ref, raw: &str) -> AppResult<Option<i64>> {
    if let Ok(n) = raw.parse::<i64>() {
        if n > 0 {
            return Ok(Some(n));
        }
    }
    let raw = raw.to_string();
    Ok(match kind {
        Ref::Person => people::table
            .filter(people::external_id.eq(raw))
            .select(people::id)
            .first(conn)
            .optional()?,
        Ref::Org => organisations::table
            .filter(organisations::external_id.eq(raw))
            .select(organisations::id)
            .first(conn)
            .optional()?,
        Ref::Lesson => lessons::table
            .filter(lessons::external_id.eq(raw))
            .select(lessons::id)
            .first(conn)
            .optional()?,
        Ref::Activity => activities::table
            .filter(activities::external_id.eq(raw))
            .select(activities::id)
            .first(conn)
            .optional()?,
    })
}

/// The pupils of a query, each one the caller may read (a 404 otherwise).
fn check_students(conn: &mut DbConn, schools: &[i64], students: &[i64]) -> AppResult<()> {
    if students.is_empty() {
        return Ok(());
    }
    let mut ids = students.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let found: i64 = people::table
        .filter(people::id.eq_any(&ids))
        .filter(people::school_id.eq_any(schools))
        .count()
        .get_result(conn)?;
    if found as usize == ids.len() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The schools a request covers: the one asked for, or every school the caller has.
fn schools(conn: &mut DbConn, v: &Viewer, organisation: Option<i64>) -> AppResult<Vec<i64>> {
    if let Some(s) = organisation {
        access::school(conn, v, SchoolId(s))?;
        return Ok(vec![s]);
    }
    let mut out = v.roles.principal_of.clone();
    out.extend(access::admin_schools(conn, v)?.into_iter().map(|s| s.0));
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(out)
}

fn utc(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The ids the export names records by: the source's id for what an import brought
/// (`external_id`, an SS 12000 UUID say), Närvaro's own number otherwise.
#[derive(Default)]
pub struct Refs {
    people: HashMap<i64, String>,
    orgs: HashMap<i64, String>,
    lessons: HashMap<i64, String>,
    activities: HashMap<i64, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    Person,
    Org,
    Lesson,
    Activity,
}

impl Refs {
    /// Loads the external ids of these records.
    pub fn load(conn: &mut DbConn, wanted: &[(Ref, i64)]) -> AppResult<Refs> {
        use crate::statistics::facts::CHUNK;
        let mut out = Refs::default();
        for kind in [Ref::Person, Ref::Org, Ref::Lesson, Ref::Activity] {
            let mut ids: Vec<i64> = wanted
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, id)| *id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(CHUNK) {
                let rows: Vec<(i64, Option<String>)> = match kind {
                    Ref::Person => people::table
                        .filter(people::id.eq_any(chunk))
                        .select((people::id, people::external_id))
                        .load(conn)?,
                    Ref::Org => organisations::table
                        .filter(organisations::id.eq_any(chunk))
                        .select((organisations::id, organisations::external_id))
                        .load(conn)?,
                    Ref::Lesson => lessons::table
                        .filter(lessons::id.eq_any(chunk))
                        .select((lessons::id, lessons::external_id))
                        .load(conn)?,
                    Ref::Activity => activities::table
                        .filter(activities::id.eq_any(chunk))
                        .select((activities::id, activities::external_id))
                        .load(conn)?,
                };
                out.map(kind)
                    .extend(rows.into_iter().filter_map(|(id, ext)| Some((id, ext?))));
            }
        }
        Ok(out)
    }

    fn map(&mut self, kind: Ref) -> &mut HashMap<i64, String> {
        match kind {
            Ref::Person => &mut self.people,
            Ref::Org => &mut self.orgs,
            Ref::Lesson => &mut self.lessons,
            Ref::Activity => &mut self.activities,
        }
    }

    /// `{"id": …}` for a record.
    pub fn of(&self, kind: Ref, id: i64) -> Value {
        let map = match kind {
            Ref::Person => &self.people,
            Ref::Org => &self.orgs,
            Ref::Lesson => &self.lessons,
            Ref::Activity => &self.activities,
        };
        json!({ "id": map.get(&id).cloned().unwrap_or_else(|| id.to_string()) })
    }
}

/// The attendances page after (lesson, pupil) `after`: one record per pupil per reported
/// lesson in `period`, in lesson order.
pub fn attendances(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    q: &Query,
    limit: usize,
    after: (i64, i64),
) -> AppResult<Page> {
    let (after_lesson, after_pupil) = after;
    let period = q.period();
    let schools = schools(conn, v, q.organisation)?;
    check_students(conn, &schools, &q.students)?;
    // enough lessons for a page (every reported lesson has pupils, or is skipped)
    let mut lessons_q = lessons::table
        .inner_join(lesson_reports::table)
        .filter(lessons::school_id.eq_any(&schools))
        .filter(lessons::lesson_date.between(period.from, period.to))
        .filter(lessons::cancelled.eq(false))
        .filter(lessons::id.ge(after_lesson))
        .into_boxed();
    if !q.students.is_empty() {
        // only the lessons of the students' groups
        let theirs = activity_groups::table
            .inner_join(
                group_memberships::table
                    .on(group_memberships::group_id.eq(activity_groups::group_id)),
            )
            .filter(group_memberships::pupil_id.eq_any(q.students.clone()))
            .filter(crate::membership::during(period.from, period.to))
            .select(activity_groups::activity_id);
        lessons_q = lessons_q.filter(lessons::activity_id.eq_any(theirs));
    }
    let rows: Vec<(i64, NaiveDate, i64, NaiveDateTime)> = lessons_q
        .select((
            lessons::id,
            lessons::lesson_date,
            lesson_reports::reported_by,
            lesson_reports::reported_at,
        ))
        .order(lessons::id)
        .limit(limit as i64 + 1)
        .load(conn)?;
    let Some(last_lesson) = rows.last().map(|r| r.0) else {
        return Ok(Page {
            data: Vec::new(),
            next: None,
        });
    };
    let more_lessons = rows.len() > limit;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let (first, last) = rows.iter().fold((period.to, period.from), |(a, b), r| {
        (a.min(r.1), b.max(r.1))
    });
    let mut records = facts::collect(conn, Sel::Lessons(&ids), first, last, tz)?;
    records.retain(|f| (f.lesson, f.pupil) > (after_lesson, after_pupil));
    if !q.students.is_empty() {
        records.retain(|f| q.students.contains(&f.pupil));
    }
    records.sort_by_key(|f| (f.lesson, f.pupil));
    let next = if records.len() > limit {
        records.truncate(limit);
        records.last().map(|f| token("a", f.lesson, f.pupil, q))
    } else if more_lessons {
        Some(token("a", last_lesson, i64::MAX, q))
    } else {
        None
    };
    let meta: HashMap<i64, (i64, NaiveDateTime)> = rows.iter().map(|r| (r.0, (r.2, r.3))).collect();
    let reason_ids: Vec<i64> = records.iter().filter_map(|f| f.reason).collect();
    let reasons: HashMap<i64, String> = absence_reasons::table
        .filter(absence_reasons::id.eq_any(&reason_ids))
        .select((absence_reasons::id, absence_reasons::name_sv))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut wanted: Vec<(Ref, i64)> = rows.iter().map(|r| (Ref::Person, r.2)).collect();
    for f in &records {
        wanted.push((Ref::Lesson, f.lesson));
        wanted.push((Ref::Person, f.pupil));
    }
    let refs = Refs::load(conn, &wanted)?;
    let data = records
        .iter()
        .map(|f| {
            let (reporter, at) = meta
                .get(&f.lesson)
                .copied()
                .unwrap_or((0, NaiveDateTime::MIN));
            let mut record = json!({
                "id": format!("{}-{}", f.lesson, f.pupil),
                "calendarEvent": refs.of(Ref::Lesson, f.lesson),
                "student": refs.of(Ref::Person, f.pupil),
                "reporter": refs.of(Ref::Person, reporter),
                "isReported": true,
                "attendanceMinutes": (f.scheduled - f.valid - f.invalid - f.other).max(0),
                "validAbsenceMinutes": f.valid,
                "invalidAbsenceMinutes": f.invalid,
                "otherAttendanceMinutes": f.other,
                "reportedTimestamp": utc(at),
            });
            // left out when there is none: the standard's absenceReason is a string
            if let Some(reason) = f.reason.and_then(|r| reasons.get(&r).cloned()) {
                record["absenceReason"] = reason.into();
            }
            record
        })
        .collect::<Vec<_>>();
    Ok(Page { data, next })
}

/// (id, type, start, end, pupil, school, registered by)
type AbsenceItem = (
    String,
    &'static str,
    NaiveDateTime,
    NaiveDateTime,
    i64,
    i64,
    i64,
);

/// The page of absences as SS 12000 records.
fn finish(conn: &mut DbConn, items: Vec<AbsenceItem>, next: Option<String>) -> AppResult<Page> {
    let mut wanted = Vec::new();
    for (_, _, _, _, pupil, school, by) in &items {
        wanted.extend([
            (Ref::Person, *pupil),
            (Ref::Org, *school),
            (Ref::Person, *by),
        ]);
    }
    let refs = Refs::load(conn, &wanted)?;
    let data = items
        .into_iter()
        .map(|(id, kind, s, e, pupil, school, by)| {
            json!({
                "id": id,
                "type": kind,
                "startTime": utc(s),
                "endTime": utc(e),
                "student": refs.of(Ref::Person, pupil),
                "organisation": refs.of(Ref::Org, school),
                "registeredBy": refs.of(Ref::Person, by),
            })
        })
        .collect();
    Ok(Page { data, next })
}

/// The absences page after `after` (a token's kind and id): reports first (by id), then
/// granted leave (by id), each overlapping `period`.
pub fn absences(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    q: &Query,
    limit: usize,
    after: Option<Position>,
) -> AppResult<Page> {
    let local = |d: NaiveDate| crate::absence::utc_window(tz, d, NaiveTime::MIN, NaiveTime::MIN).0;
    let period = q.period();
    let schools = schools(conn, v, q.organisation)?;
    check_students(conn, &schools, &q.students)?;
    // every pupil of the schools, or the ones asked for
    let pupils_of = |students: &[i64]| -> Option<Vec<i64>> {
        (!students.is_empty()).then(|| students.to_vec())
    };
    let only = pupils_of(&q.students);
    let (start, end) = (local(period.from), local(period.to + Duration::days(1)));
    let mut data: Vec<AbsenceItem> = Vec::new();
    let after_leave = match &after {
        Some((kind, _, id)) if kind == "l" => Some(*id),
        _ => None,
    };
    if after_leave.is_none() {
        let after_report = after.as_ref().map(|t| t.2).unwrap_or(0);
        #[allow(clippy::type_complexity)]
        let mut reports_q = absence_reports::table
            .inner_join(people::table.on(people::id.eq(absence_reports::pupil_id)))
            .filter(people::school_id.eq_any(&schools))
            .into_boxed();
        if let Some(only) = &only {
            reports_q = reports_q.filter(absence_reports::pupil_id.eq_any(only.clone()));
        }
        let reports: Vec<(i64, i64, NaiveDateTime, NaiveDateTime, i64, Option<i64>)> = reports_q
            .filter(absence_reports::cancelled_at.is_null())
            .filter(absence_reports::starts_at.lt(end))
            .filter(absence_reports::ends_at.gt(start))
            .filter(absence_reports::id.gt(after_report))
            .select((
                absence_reports::id,
                absence_reports::pupil_id,
                absence_reports::starts_at,
                absence_reports::ends_at,
                absence_reports::reported_by,
                people::school_id,
            ))
            .order(absence_reports::id)
            .limit(limit as i64 + 1)
            .load(conn)?;
        for (id, pupil, s, e, by, school) in reports.iter().take(limit) {
            data.push((
                format!("r{id}"),
                "Anmäld frånvaro",
                *s,
                *e,
                *pupil,
                school.unwrap_or_default(),
                *by,
            ));
        }
        if reports.len() > limit {
            return finish(conn, data, Some(token("r", 0, reports[limit - 1].0, q)));
        }
    }
    let room = limit - data.len();
    if room == 0 {
        return finish(conn, data, Some(token("l", 0, 0, q)));
    }
    #[allow(clippy::type_complexity)]
    let mut leave_q = leave_applications::table
        .inner_join(people::table.on(people::id.eq(leave_applications::pupil_id)))
        .filter(people::school_id.eq_any(&schools))
        .into_boxed();
    if let Some(only) = &only {
        leave_q = leave_q.filter(leave_applications::pupil_id.eq_any(only.clone()));
    }
    let leave: Vec<(i64, i64, NaiveDate, NaiveDate, i64, Option<i64>)> = leave_q
        .filter(leave_applications::status.eq(LeaveStatus::Approved))
        .filter(leave_applications::start_date.le(period.to))
        .filter(leave_applications::end_date.ge(period.from))
        .filter(leave_applications::id.gt(after_leave.unwrap_or(0)))
        .select((
            leave_applications::id,
            leave_applications::pupil_id,
            leave_applications::start_date,
            leave_applications::end_date,
            leave_applications::applied_by,
            people::school_id,
        ))
        .order(leave_applications::id)
        .limit(room as i64 + 1)
        .load(conn)?;
    for (id, pupil, s, e, by, school) in leave.iter().take(room) {
        let (start, end) = (local(*s), local(*e + Duration::days(1)));
        data.push((
            format!("l{id}"),
            "Beviljad ledighet",
            start,
            end,
            *pupil,
            school.unwrap_or_default(),
            *by,
        ));
    }
    let next = (leave.len() > room).then(|| token("l", 0, leave[room - 1].0, q));
    finish(conn, data, next)
}

/// One SS 12000 `AggregatedAttendance` (minutes).
pub fn aggregated_json(
    refs: &Refs,
    activity: i64,
    pupil: i64,
    f: &Figures,
    period: Period,
) -> Value {
    let attended =
        (f.reported_minutes - f.valid_minutes - f.invalid_minutes - f.other_minutes).max(0);
    json!({
        "activity": refs.of(Ref::Activity, activity),
        "student": refs.of(Ref::Person, pupil),
        "startDate": period.from,
        "endDate": period.to,
        "attendanceSum": attended,
        "validAbsenceSum": f.valid_minutes,
        "invalidAbsenceSum": f.invalid_minutes,
        "otherAttendanceSum": f.other_minutes,
        "reportedSum": f.reported_minutes,
        "offeredSum": f.scheduled_minutes,
    })
}

/// Minutes per (activity, pupil).
pub type Sums = BTreeMap<(i64, i64), Figures>;

/// The sums per (activity, pupil) for a pupil or a school (activities of `organisation`
/// only, when given), after the access check, with the ids to name them by.
#[allow(clippy::too_many_arguments)]
pub fn aggregated(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    scope: Scope,
    organisation: Option<i64>,
    period: Period,
    today: NaiveDate,
    lang: Lang,
) -> AppResult<(Sums, Refs)> {
    match scope {
        Scope::School(s) => access::school(conn, v, SchoolId(s))?,
        Scope::Pupil(p) => {
            access::pupil(conn, v, PupilId(p), today)?;
        }
        _ => return Err(AppError::NotFound),
    }
    let sums = stats::per_activity(conn, tz, scope, period.until(today), organisation, lang)?;
    let wanted: Vec<(Ref, i64)> = sums
        .keys()
        .flat_map(|(a, p)| [(Ref::Activity, *a), (Ref::Person, *p)])
        .collect();
    let refs = Refs::load(conn, &wanted)?;
    Ok((sums, refs))
}

/// A page of aggregated attendance for a query: its pupils, else its school, else every
/// school the caller may read; per (activity, pupil) in that order, after `after`.
#[allow(clippy::too_many_arguments)]
pub fn aggregated_page(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    q: &Query,
    limit: usize,
    after: Option<(i64, i64)>,
    today: NaiveDate,
    lang: Lang,
) -> AppResult<Page> {
    let period = q.period();
    let schools = schools(conn, v, q.organisation)?;
    check_students(conn, &schools, &q.students)?;
    let scopes: Vec<Scope> = if !q.students.is_empty() {
        q.students.iter().map(|p| Scope::Pupil(*p)).collect()
    } else {
        schools.iter().map(|s| Scope::School(*s)).collect()
    };
    let mut sums: Sums = BTreeMap::new();
    for scope in scopes {
        sums.extend(stats::per_activity(
            conn,
            tz,
            scope,
            period.until(today),
            q.organisation,
            lang,
        )?);
    }
    let rest: Vec<(&(i64, i64), &Figures)> = sums
        .iter()
        .filter(|(k, _)| after.map_or(true, |a| **k > a))
        .collect();
    let shown = &rest[..rest.len().min(limit)];
    let wanted: Vec<(Ref, i64)> = shown
        .iter()
        .flat_map(|((a, p), _)| [(Ref::Activity, *a), (Ref::Person, *p)])
        .collect();
    let refs = Refs::load(conn, &wanted)?;
    let data = shown
        .iter()
        .map(|((a, p), f)| aggregated_json(&refs, *a, *p, f, period))
        .collect();
    let next = (rest.len() > limit)
        .then(|| shown.last().map(|((a, p), _)| token("g", *a, *p, q)))
        .flatten();
    Ok(Page { data, next })
}
