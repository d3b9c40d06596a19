//! Delegated leave decisions. The principal decides on leave (Skollagen 7 kap. 18 §) and may
//! delegate decisions on short leave to the school's mentors: a mentor then decides an
//! application of a pupil they mentor when the pupil's granted leave this school year and
//! the application's school days together stay within the delegation's limit (commonly 10
//! days). Longer leave stays with the principal. Who delegated and when is kept, ending a
//! delegation is kept, and a decision taken under one names it.
//!
//! Races: a school has at most one running delegation (a partial unique index), changes
//! to a school's delegation run under a lock on the school's row, and a mentor's decision
//! reads the delegation `FOR SHARE` under the pupil's lock, so a delegation ended at the
//! same moment, or two decisions that together pass the limit, cannot both take effect.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Entry};
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::Refusal;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::{DelegationId, LeaveId, PupilId, SchoolId};

/// The highest limit a principal may set: the longest leave one may apply for.
pub const MAX_DAYS: i32 = 60;

/// A running delegation as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub id: DelegationId,
    pub school_id: SchoolId,
    pub max_days: i32,
    /// the principal's name
    pub delegated_by: String,
    pub delegated_at: NaiveDateTime,
}

/// What a decision under a delegation says of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecidedUnder {
    pub id: DelegationId,
    pub max_days: i32,
    /// the principal who delegated
    #[serde(skip)]
    pub delegated_by: String,
    #[serde(skip)]
    pub delegated_at: NaiveDateTime,
    /// the mentor who decided
    #[serde(skip)]
    pub decided_by: String,
}

/// Why a mentor may not decide an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outside {
    /// the principal has not delegated leave decisions at the pupil's school
    NotDelegated,
    /// the application's days and the leave already granted pass the limit
    OverLimit {
        max_days: i32,
        granted: i64,
        days: i64,
    },
    /// a rule of the huvudman or the school keeps it with the principal (a blocked period,
    /// the yearly limit): why, as the rule says it
    Rule(Refusal),
}

impl Outside {
    /// Why a mentor may not decide: a refusal the edge words.
    pub fn refusal(&self) -> Refusal {
        match self {
            Outside::NotDelegated => Refusal::new("leave_not_delegated"),
            Outside::OverLimit {
                max_days,
                granted,
                days,
            } => Refusal::new("leave_over_mentor_limit")
                .with("days", days)
                .with("granted", granted)
                .with("max_days", max_days),
            Outside::Rule(r) => r.clone(),
        }
    }
}

/// Weekdays of approved leave for the pupil this school year.
pub fn granted_days(conn: &mut DbConn, pupil: PupilId, today: NaiveDate) -> AppResult<i64> {
    let start = crate::school::calendar::school_year_start(today);
    let end = NaiveDate::from_ymd_opt(start.year() + 1, 6, 30).unwrap_or(today);
    let rows: Vec<(NaiveDate, NaiveDate)> = leave_applications::table
        .filter(leave_applications::pupil_id.eq(pupil))
        .filter(leave_applications::status.eq(crate::school::states::LeaveStatus::Approved))
        .filter(leave_applications::end_date.ge(start))
        .filter(leave_applications::start_date.le(end))
        .select((leave_applications::start_date, leave_applications::end_date))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(a, b)| {
            a.max(start)
                .iter_days()
                .take_while(|d| *d <= b.min(end))
                .filter(|d| d.weekday().num_days_from_monday() < 5)
                .count() as i64
        })
        .sum())
}

/// Weekdays from `a` to `b`, both included.
pub fn school_days(a: NaiveDate, b: NaiveDate) -> i64 {
    a.iter_days()
        .take_while(|d| *d <= b)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .count() as i64
}

/// Whether an application of `days` school days fits a delegation of `max_days` when
/// `granted` days are already granted this school year.
pub fn fits(max_days: i32, granted: i64, days: i64) -> bool {
    granted + days <= i64::from(max_days)
}

/// Only the school's principal delegates; another school is out of their scope (404).
fn principal_of(v: &Viewer, school: SchoolId) -> AppResult<()> {
    if v.roles.principal_of.contains(&school) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Schools by id and name.
pub type Schools = Vec<(SchoolId, String)>;

/// The schools the viewer leads (with names) and the schools of the groups they mentor:
/// where the leave page shows delegations.
pub fn schools_of(conn: &mut DbConn, v: &Viewer) -> AppResult<(Schools, Vec<SchoolId>)> {
    let mentored: Vec<SchoolId> = groups::table
        .filter(groups::id.eq_any(&v.roles.mentor_of))
        .select(groups::school_id)
        .distinct()
        .load(conn)?;
    let led: Vec<(SchoolId, String)> = organisations::table
        .filter(organisations::id.eq_any(&v.roles.principal_of))
        .select((organisations::id, organisations::name))
        .order(organisations::name)
        .load(conn)?;
    Ok((led, mentored))
}

/// For each pending application a mentor sees, the delegation they would decide it
/// under, or why not.
pub type Delegated = std::collections::HashMap<LeaveId, Result<(DelegationId, i32), Outside>>;

/// [`covering`] for each of the pupil's pending applications (id, first day, last day).
pub fn for_mentor(
    conn: &mut DbConn,
    pupil: PupilId,
    school: SchoolId,
    pending: &[(LeaveId, NaiveDate, NaiveDate)],
) -> AppResult<Delegated> {
    let mut out = Delegated::new();
    for (id, from, to) in pending {
        out.insert(*id, covering(conn, pupil, school, *from, *to)?);
    }
    Ok(out)
}

/// The running delegations of these schools, with the principal's name.
pub fn running(conn: &mut DbConn, schools: &[SchoolId]) -> AppResult<Vec<Delegation>> {
    let rows: Vec<(DelegationId, SchoolId, i32, String, String, NaiveDateTime)> =
        leave_delegations::table
            .inner_join(people::table.on(people::id.eq(leave_delegations::delegated_by)))
            .filter(leave_delegations::school_id.eq_any(schools))
            .filter(leave_delegations::ended_at.is_null())
            .select((
                leave_delegations::id,
                leave_delegations::school_id,
                leave_delegations::max_days,
                people::given_name,
                people::family_name,
                leave_delegations::delegated_at,
            ))
            .order(leave_delegations::school_id)
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, school_id, max_days, g, f, at)| Delegation {
            id,
            school_id,
            max_days,
            delegated_by: format!("{g} {f}"),
            delegated_at: at,
        })
        .collect())
}

/// Delegates decisions on leave of up to `max_days` school days per school year to the
/// school's mentors, replacing a running delegation with another limit. The same limit
/// again changes nothing. Answers the running delegation's id.
pub fn delegate(
    conn: &mut DbConn,
    v: &Viewer,
    school: SchoolId,
    max_days: i32,
    now: NaiveDateTime,
    addr: &str,
) -> AppResult<DelegationId> {
    principal_of(v, school)?;
    if !(1..=MAX_DAYS).contains(&max_days) {
        return Err(AppError::refused(
            crate::error::Code::BadParameter,
            Refusal::new("delegation_days_range"),
        ));
    }
    conn.write_transaction(|conn| {
        conn.lock_organisation(school)?;
        let current: Option<(DelegationId, i32)> = leave_delegations::table
            .filter(leave_delegations::school_id.eq(school))
            .filter(leave_delegations::ended_at.is_null())
            .select((leave_delegations::id, leave_delegations::max_days))
            .first(conn)
            .optional()?;
        if let Some((id, days)) = current {
            if days == max_days {
                return Ok(id);
            }
            end_row(conn, v, id, now, addr)?;
        }
        let id: DelegationId = diesel::insert_into(leave_delegations::table)
            .values((
                leave_delegations::school_id.eq(school),
                leave_delegations::max_days.eq(max_days),
                leave_delegations::delegated_by.eq(v.id),
                leave_delegations::delegated_at.eq(now),
            ))
            .returning(leave_delegations::id)
            .get_result(conn)?;
        audit::record(
            conn,
            Entry {
                at: now,
                actor: Some(v.id),
                action: "leave.delegated",
                entity: "leave_delegation",
                entity_id: Some(id.into()),
                detail: json!({"school_id": school, "max_days": max_days}),
                client_addr: Some(addr),
            },
        )?;
        Ok(id)
    })
}

fn end_row(
    conn: &mut DbConn,
    v: &Viewer,
    id: DelegationId,
    now: NaiveDateTime,
    addr: &str,
) -> AppResult<()> {
    diesel::update(leave_delegations::table.find(id))
        .set((
            leave_delegations::ended_by.eq(v.id),
            leave_delegations::ended_at.eq(now),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        Entry {
            at: now,
            actor: Some(v.id),
            action: "leave.delegation_ended",
            entity: "leave_delegation",
            entity_id: Some(id.into()),
            detail: json!({}),
            client_addr: Some(addr),
        },
    )?;
    Ok(())
}

/// Ends the school's running delegation: from now on the principal decides all leave.
/// Nothing running is no error (two identical requests end it once).
pub fn end(
    conn: &mut DbConn,
    v: &Viewer,
    school: SchoolId,
    now: NaiveDateTime,
    addr: &str,
) -> AppResult<()> {
    principal_of(v, school)?;
    conn.write_transaction(|conn| {
        conn.lock_organisation(school)?;
        let current: Option<DelegationId> = leave_delegations::table
            .filter(leave_delegations::school_id.eq(school))
            .filter(leave_delegations::ended_at.is_null())
            .select(leave_delegations::id)
            .first(conn)
            .optional()?;
        if let Some(id) = current {
            end_row(conn, v, id, now, addr)?;
        }
        Ok(())
    })
}

/// The delegation a mentor's decision on an application of `start`–`end` for the pupil
/// at `school` would be taken under, or why there is none. In a decision's transaction,
/// after the pupil's lock: on PostgreSQL the delegation's row is held `FOR SHARE`, so it
/// cannot end before the decision is stored.
pub fn covering(
    conn: &mut DbConn,
    pupil: PupilId,
    school: SchoolId,
    start: NaiveDate,
    end: NaiveDate,
) -> AppResult<Result<(DelegationId, i32), Outside>> {
    let running: Option<(DelegationId, i32)> = match conn {
        DbConn::Pg(c) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                id: DelegationId,
                #[diesel(sql_type = diesel::sql_types::Integer)]
                max_days: i32,
            }
            diesel::sql_query(
                "SELECT id, max_days FROM leave_delegations \
                 WHERE school_id = $1 AND ended_at IS NULL FOR SHARE",
            )
            .bind::<diesel::sql_types::BigInt, _>(school)
            .get_result::<Row>(c)
            .optional()?
            .map(|r| (r.id, r.max_days))
        }
        DbConn::Sqlite(_) => leave_delegations::table
            .filter(leave_delegations::school_id.eq(school))
            .filter(leave_delegations::ended_at.is_null())
            .select((leave_delegations::id, leave_delegations::max_days))
            .first(conn)
            .optional()?,
    };
    let Some((id, max_days)) = running else {
        return Ok(Err(Outside::NotDelegated));
    };
    let granted = granted_days(conn, pupil, start)?;
    let days = school_days(start, end);
    // the huvudman's rules reach further than any delegation
    let rules = crate::attendance::leave_rules::effective(conn, school)?;
    if let Some(refusal) = rules.principal_only((start, end), granted, days) {
        return Ok(Err(Outside::Rule(refusal)));
    }
    if fits(max_days, granted, days) {
        Ok(Ok((id, max_days)))
    } else {
        Ok(Err(Outside::OverLimit {
            max_days,
            granted,
            days,
        }))
    }
}

/// What decisions taken under a delegation say of it, by application id.
pub fn decided_under(
    conn: &mut DbConn,
    applications: &[LeaveId],
) -> AppResult<std::collections::HashMap<LeaveId, DecidedUnder>> {
    let principal = diesel::alias!(people as principal);
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        LeaveId,
        DelegationId,
        i32,
        String,
        String,
        NaiveDateTime,
        String,
        String,
    )> = leave_applications::table
        .inner_join(
            leave_delegations::table.on(leave_delegations::id
                .nullable()
                .eq(leave_applications::delegation_id)),
        )
        .inner_join(
            principal.on(principal
                .field(people::id)
                .eq(leave_delegations::delegated_by)),
        )
        .inner_join(people::table.on(people::id.nullable().eq(leave_applications::decided_by)))
        .filter(leave_applications::id.eq_any(applications))
        .select((
            leave_applications::id,
            leave_delegations::id,
            leave_delegations::max_days,
            principal.field(people::given_name),
            principal.field(people::family_name),
            leave_delegations::delegated_at,
            people::given_name,
            people::family_name,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(app, id, max_days, pg, pf, at, mg, mf)| {
            (
                app,
                DecidedUnder {
                    id,
                    max_days,
                    delegated_by: format!("{pg} {pf}"),
                    delegated_at: at,
                    decided_by: format!("{mg} {mf}"),
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn school_days_are_weekdays_both_ends_included() {
        // Friday to Monday: two school days
        assert_eq!(school_days(day("2026-11-27"), day("2026-11-30")), 2);
        assert_eq!(school_days(day("2026-11-30"), day("2026-12-04")), 5);
        assert_eq!(school_days(day("2026-11-28"), day("2026-11-29")), 0);
        assert_eq!(school_days(day("2026-12-02"), day("2026-12-02")), 1);
    }

    #[test]
    fn an_application_fits_when_granted_and_asked_stay_within_the_limit() {
        assert!(fits(10, 0, 10));
        assert!(fits(10, 7, 3));
        assert!(!fits(10, 7, 4));
        assert!(!fits(10, 0, 11));
    }
}
