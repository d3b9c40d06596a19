//! `/absences`: guardians' (and the school's) reports as "Anmäld frånvaro" and granted
//! leave as "Beviljad ledighet", SS 12000 `Absence`s named by their stored uuids. A
//! report's `meta` is when it was made (a report is never edited; a cancelled one is gone,
//! and listed by `/deletedEntities`); granted leave was created when applied for and
//! modified when granted. The records a query matches are read whole (a municipality has
//! thousands, not millions) and put in the order asked for, so that every `sortkey`
//! pages exactly.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::query::{self, AbsenceType, Page, Position, Query, SortKey};
use super::refs::{Ref, Refs};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::calendar::utc_window;
use crate::school::ids::{PersonId, PupilId, SchoolId};
use crate::school::states::LeaveStatus;

/// One absence, as the export shows it.
#[derive(Debug, Clone)]
pub struct Item {
    pub kind: AbsenceType,
    /// the report's or the leave's id, as `kind` says
    pub id: i64,
    pub uuid: Option<String>,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub pupil: PupilId,
    pub school: SchoolId,
    pub by: PersonId,
    pub created: NaiveDateTime,
    pub modified: NaiveDateTime,
}

impl Item {
    fn rank(&self) -> i64 {
        match self.kind {
            AbsenceType::Reported => 0,
            AbsenceType::Leave => 1,
        }
    }

    /// Where the item stands in the order `sort` (ascending): (key, list, id).
    fn key(&self, sort: Option<SortKey>) -> (i64, i64, i64) {
        let micros = |t: NaiveDateTime| t.and_utc().timestamp_micros();
        let k = match sort {
            None => 0,
            Some(SortKey::StartTimeAsc) => micros(self.start),
            Some(SortKey::StartTimeDesc) => -micros(self.start),
            Some(SortKey::ModifiedDesc) => -micros(self.modified),
        };
        (k, self.rank(), self.id)
    }

    fn list(&self) -> &'static str {
        match self.kind {
            AbsenceType::Reported => "r",
            AbsenceType::Leave => "l",
        }
    }
}

/// The absences page after `after` (a token's position).
pub fn page(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    q: &Query,
    limit: usize,
    after: Option<Position>,
) -> AppResult<Page> {
    let schools = query::schools(conn, v, q.organisation)?;
    query::check_students(conn, &schools, &q.students)?;
    if q.sort.is_none() {
        return by_id(conn, tz, &schools, q, limit, after);
    }
    let mut items = matching(conn, tz, &schools, q, None)?;
    items.sort_by_key(|i| i.key(q.sort));
    let start = match after {
        None => 0,
        Some((list, a, b)) => {
            let pos = (a, i64::from(list == "l"), b);
            items.partition_point(|i| i.key(q.sort) <= pos)
        }
    };
    let rest = &items[start..];
    let shown = &rest[..rest.len().min(limit)];
    let next = (rest.len() > limit)
        .then(|| shown.last())
        .flatten()
        .map(|i| {
            let (a, _, b) = i.key(q.sort);
            query::token(i.list(), a, b, q)
        });
    Ok(Page {
        data: to_json(conn, shown, q.names)?,
        next,
    })
}

/// The default order, reports by id and then granted leave by id, a page read straight
/// from the reports' primary key (a municipality's term holds tens of thousands).
fn by_id(
    conn: &mut DbConn,
    tz: Tz,
    schools: &[SchoolId],
    q: &Query,
    limit: usize,
    after: Option<Position>,
) -> AppResult<Page> {
    let (in_leave, after_id) = match &after {
        Some((list, _, id)) => (list == "l", *id),
        None => (false, 0),
    };
    let mut shown: Vec<Item> = Vec::new();
    if !in_leave && q.kind != Some(AbsenceType::Leave) {
        let mut reports = reports(conn, schools, q, None, Some((after_id, limit + 1)))?;
        if reports.len() > limit {
            reports.truncate(limit);
            let next = reports.last().map(|i| query::token("r", 0, i.id, q));
            return Ok(Page {
                data: to_json(conn, &reports, q.names)?,
                next,
            });
        }
        shown = reports;
    }
    if q.kind != Some(AbsenceType::Reported) {
        let after_leave = if in_leave { after_id } else { 0 };
        let mut leave = leave(conn, tz, schools, q, None)?;
        leave.retain(|i| {
            i.id > after_leave
                && q.start.holds(i.start)
                && q.end.holds(i.end)
                && q.created.holds(i.created)
                && q.modified.holds(i.modified)
        });
        leave.sort_by_key(|i| i.id);
        shown.extend(leave);
    }
    let next = if shown.len() > limit {
        shown.truncate(limit);
        shown.last().map(|i| query::token(i.list(), 0, i.id, q))
    } else {
        None
    };
    Ok(Page {
        data: to_json(conn, &shown, q.names)?,
        next,
    })
}

/// The absences of the schools the query matches, in no particular order; only those
/// with these uuids when `uuids` is given (the lookup).
pub fn matching(
    conn: &mut DbConn,
    tz: Tz,
    schools: &[SchoolId],
    q: &Query,
    uuids: Option<&[String]>,
) -> AppResult<Vec<Item>> {
    let mut out = Vec::new();
    if q.kind != Some(AbsenceType::Leave) {
        out.extend(reports(conn, schools, q, uuids, None)?);
    }
    if q.kind != Some(AbsenceType::Reported) {
        out.extend(leave(conn, tz, schools, q, uuids)?);
    }
    out.retain(|i| {
        q.start.holds(i.start)
            && q.end.holds(i.end)
            && q.created.holds(i.created)
            && q.modified.holds(i.modified)
    });
    Ok(out)
}

/// The reports the query matches, exactly (every bound is a column's); with `keyset`
/// (after this id, at most this many) a page in id order.
fn reports(
    conn: &mut DbConn,
    schools: &[SchoolId],
    q: &Query,
    uuids: Option<&[String]>,
    keyset: Option<(i64, usize)>,
) -> AppResult<Vec<Item>> {
    let mut r = absence_reports::table
        .inner_join(people::table.on(people::id.eq(absence_reports::pupil_id)))
        .filter(people::school_id.eq_any(schools))
        .filter(absence_reports::cancelled_at.is_null())
        .into_boxed();
    if !q.students.is_empty() {
        r = r.filter(absence_reports::pupil_id.eq_any(q.students.clone()));
    }
    if let Some(by) = q.registered_by {
        r = r.filter(absence_reports::reported_by.eq(by));
    }
    if let Some(u) = uuids {
        r = r.filter(absence_reports::uuid.eq_any(u.to_vec()));
    }
    if let Some(from) = q.start.from {
        r = r.filter(absence_reports::starts_at.ge(from));
    }
    if let Some(to) = q.start.to {
        r = r.filter(absence_reports::starts_at.le(to));
    }
    if let Some(from) = q.end.from {
        r = r.filter(absence_reports::ends_at.ge(from));
    }
    if let Some(to) = q.end.to {
        r = r.filter(absence_reports::ends_at.le(to));
    }
    // a report is never edited: it was modified when it was made
    for b in [q.created, q.modified] {
        match b.from {
            Some(from) if b.from_excl => r = r.filter(absence_reports::created_at.gt(from)),
            Some(from) => r = r.filter(absence_reports::created_at.ge(from)),
            None => {}
        }
        if let Some(to) = b.to {
            r = r.filter(absence_reports::created_at.le(to));
        }
    }
    if let Some((after, n)) = keyset {
        r = r
            .filter(absence_reports::id.gt(after))
            .order(absence_reports::id)
            .limit(n as i64);
    }
    type Row = (
        i64,
        Option<String>,
        PupilId,
        NaiveDateTime,
        NaiveDateTime,
        PersonId,
        Option<SchoolId>,
        NaiveDateTime,
    );
    let rows: Vec<Row> = r
        .select((
            absence_reports::id,
            absence_reports::uuid,
            absence_reports::pupil_id,
            absence_reports::starts_at,
            absence_reports::ends_at,
            absence_reports::reported_by,
            people::school_id,
            absence_reports::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        // every pupil here is at one of `schools`
        .filter_map(|(id, uuid, pupil, start, end, by, school, created)| {
            Some(Item {
                kind: AbsenceType::Reported,
                id,
                uuid,
                start,
                end,
                pupil,
                school: school?,
                by,
                created,
                modified: created,
            })
        })
        .collect())
}

fn leave(
    conn: &mut DbConn,
    tz: Tz,
    schools: &[SchoolId],
    q: &Query,
    uuids: Option<&[String]>,
) -> AppResult<Vec<Item>> {
    let mut l = leave_applications::table
        .inner_join(people::table.on(people::id.eq(leave_applications::pupil_id)))
        .filter(people::school_id.eq_any(schools))
        .filter(leave_applications::status.eq(LeaveStatus::Approved))
        .into_boxed();
    if !q.students.is_empty() {
        l = l.filter(leave_applications::pupil_id.eq_any(q.students.clone()));
    }
    if let Some(by) = q.registered_by {
        l = l.filter(leave_applications::applied_by.eq(by));
    }
    if let Some(u) = uuids {
        l = l.filter(leave_applications::uuid.eq_any(u.to_vec()));
    }
    // a day's leave runs from local midnight to the next: a day either side of a bound
    let day = |t: NaiveDateTime| t.date();
    if let Some(from) = q.start.from {
        l = l.filter(leave_applications::start_date.ge(day(from) - Duration::days(1)));
    }
    if let Some(to) = q.start.to {
        l = l.filter(leave_applications::start_date.le(day(to) + Duration::days(1)));
    }
    type Row = (
        i64,
        Option<String>,
        PupilId,
        NaiveDate,
        NaiveDate,
        PersonId,
        Option<SchoolId>,
        NaiveDateTime,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Row> = l
        .select((
            leave_applications::id,
            leave_applications::uuid,
            leave_applications::pupil_id,
            leave_applications::start_date,
            leave_applications::end_date,
            leave_applications::applied_by,
            people::school_id,
            leave_applications::applied_at,
            leave_applications::decided_at,
        ))
        .load(conn)?;
    let midnight = |d: NaiveDate| utc_window(tz, d, NaiveTime::MIN, NaiveTime::MIN).0;
    Ok(rows
        .into_iter()
        .filter_map(|(id, uuid, pupil, s, e, by, school, applied, decided)| {
            Some(Item {
                kind: AbsenceType::Leave,
                id,
                uuid,
                start: midnight(s),
                end: midnight(e + Duration::days(1)),
                pupil,
                school: school?,
                by,
                created: applied,
                modified: decided.unwrap_or(applied).max(applied),
            })
        })
        .collect())
}

/// The items as SS 12000 `Absence`s.
pub fn to_json(conn: &mut DbConn, items: &[Item], names: bool) -> AppResult<Vec<Value>> {
    let mut wanted = Vec::new();
    for i in items {
        wanted.extend([
            (Ref::Person, i64::from(i.pupil)),
            (Ref::Org, i64::from(i.school)),
            (Ref::Person, i64::from(i.by)),
        ]);
    }
    let refs = Refs::load(conn, &wanted, names)?;
    Ok(items
        .iter()
        .map(|i| {
            let id = i
                .uuid
                .clone()
                .unwrap_or_else(|| super::uuid::stand_in(5 + i.rank() as u8, i.id));
            json!({
                "id": id,
                "meta": query::meta(i.created, i.modified),
                "type": i.kind.name(),
                "startTime": query::rfc3339(i.start),
                "endTime": query::rfc3339(i.end),
                "student": refs.of(Ref::Person, i.pupil),
                "organisation": refs.of(Ref::Org, i.school),
                "registeredBy": refs.of(Ref::Person, i.by),
            })
        })
        .collect())
}
