//! `/aggregatedAttendance`: minutes per activity and pupil over `startDate`–`endDate`,
//! SS 12000 `AggregatedAttendance`s; also the statistics API's
//! `/api/v1/statistics/aggregated-attendance`, which answers the same records whole.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::query::{self, Page, Query};
use super::refs::{Ref, Refs};
use crate::auth::{access, Viewer};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::insight::statistics::{self as stats, Figures, Period, Scope};
use crate::schema::*;
use crate::school::ids::{ActivityId, PupilId, SchoolId};

/// One SS 12000 `AggregatedAttendance` (minutes).
pub fn to_json(refs: &Refs, activity: i64, pupil: i64, f: &Figures, period: Period) -> Value {
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
pub type Sums = BTreeMap<(ActivityId, PupilId), Figures>;

/// The sums per (activity, pupil) for a pupil or a school (activities of `organisation`
/// only, when given), after the access check, with the ids to name them by.
pub fn of_scope(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    scope: Scope,
    organisation: Option<SchoolId>,
    period: Period,
    today: NaiveDate,
) -> AppResult<(Sums, Refs)> {
    match scope {
        Scope::School(s) => access::school(conn, v, s)?,
        Scope::Pupil(p) => {
            access::pupil(conn, v, p, today)?;
        }
        _ => return Err(AppError::NotFound),
    }
    let sums = stats::per_activity(conn, tz, scope, period.until(today), organisation)?;
    let wanted: Vec<(Ref, i64)> = sums
        .keys()
        .flat_map(|(a, p)| [(Ref::Activity, i64::from(*a)), (Ref::Person, i64::from(*p))])
        .collect();
    let refs = Refs::load(conn, &wanted, false)?;
    Ok((sums, refs))
}

/// A page of aggregated attendance for a query: its pupils, else its schools (of the
/// school types asked for); per (activity, pupil) in that order, after `after`.
pub fn page(
    conn: &mut DbConn,
    v: &Viewer,
    tz: Tz,
    q: &Query,
    limit: usize,
    after: Option<(ActivityId, PupilId)>,
    today: NaiveDate,
) -> AppResult<Page> {
    let Some((from, to)) = q.dates else {
        return Err(AppError::internal("aggregated query without dates"));
    };
    let period = Period { from, to };
    let mut schools = query::schools(conn, v, q.organisation)?;
    query::check_students(conn, &schools, &q.students)?;
    if !q.school_forms.is_empty() {
        let of_form: Vec<SchoolId> = organisations::table
            .filter(organisations::id.eq_any(&schools))
            .filter(organisations::school_form.eq_any(q.school_forms.clone()))
            .select(organisations::id)
            .load(conn)?;
        schools = of_form;
    }
    let mut sums: Sums = BTreeMap::new();
    if !q.students.is_empty() {
        for p in &q.students {
            sums.extend(stats::per_activity(
                conn,
                tz,
                Scope::Pupil(*p),
                period.until(today),
                None,
            )?);
        }
        // only the activities of the schools asked for
        let mut ids: Vec<ActivityId> = sums.keys().map(|k| k.0).collect();
        ids.dedup();
        let allowed: HashSet<ActivityId> = activities::table
            .filter(activities::id.eq_any(ids))
            .filter(activities::school_id.eq_any(&schools))
            .select(activities::id)
            .load::<ActivityId>(conn)?
            .into_iter()
            .collect();
        sums.retain(|k, _| allowed.contains(&k.0));
    } else {
        for s in &schools {
            sums.extend(stats::per_activity(
                conn,
                tz,
                Scope::School(*s),
                period.until(today),
                Some(*s),
            )?);
        }
    }
    let rest: Vec<(&(ActivityId, PupilId), &Figures)> = sums
        .iter()
        .filter(|(k, _)| after.is_none_or(|a| **k > a))
        .collect();
    let shown = &rest[..rest.len().min(limit)];
    let wanted: Vec<(Ref, i64)> = shown
        .iter()
        .flat_map(|((a, p), _)| [(Ref::Activity, i64::from(*a)), (Ref::Person, i64::from(*p))])
        .collect();
    let refs = Refs::load(conn, &wanted, q.names)?;
    let data = shown
        .iter()
        .map(|((a, p), f)| to_json(&refs, (*a).into(), (*p).into(), f, period))
        .collect();
    let next = (rest.len() > limit)
        .then(|| {
            shown
                .last()
                .map(|((a, p), _)| query::token("g", (*a).into(), (*p).into(), q))
        })
        .flatten();
    Ok(Page { data, next })
}
