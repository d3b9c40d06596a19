//! The huvudman's rules for leave (issue 39). The municipality's administrator sets them;
//! a school's principal may make them stricter for the school, never looser:
//! - days of notice before the first day of leave;
//! - the longest leave (school days) one decision may grant;
//! - the leave per pupil and school year above which only the principal decides (the
//!   principal's delegation to mentors does not reach above it);
//! - blocked periods with a name ("Nationella prov åk 9"): an application touching one
//!   needs a stated reason and goes to the principal;
//! - whether an application from one guardian waits for the pupil's other guardians to
//!   confirm it (`leave_confirmation`).
//!
//! A school applies the stricter of its own and the municipality's value for each rule,
//! and both lists of blocked periods. Codes and numbers only; the edge words them.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::attendance::absence_reasons::{owners_at, Owner};
use crate::audit;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code};
use crate::on_backend;
use crate::schema::*;
use crate::school::ids::{BlockedPeriodId, OrganisationId, SchoolId};
use crate::school::{Act, Checked, Refusal};

/// The largest number of days a rule may say.
pub const MAX_RULE_DAYS: i32 = 365;

/// The longest name of a blocked period.
pub const MAX_NAME: usize = 100;

/// One organisation's rules (None: no rule of its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rules {
    pub notice_days: Option<i32>,
    pub longest_days: Option<i32>,
    pub principal_above_days: Option<i32>,
    /// an application from one guardian waits for the other guardians' confirmation
    pub both_guardians: bool,
}

impl Rules {
    /// Rules from a form's fields: blank is no rule, otherwise whole days from 0 (from 1
    /// for the longest leave) to `MAX_RULE_DAYS`.
    pub fn parse(
        notice: &str,
        longest: &str,
        above: &str,
        both_guardians: bool,
    ) -> Result<Rules, Refusal> {
        let days = |raw: &str, least: i32| -> Result<Option<i32>, Refusal> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Ok(None);
            }
            raw.parse::<i32>()
                .ok()
                .filter(|d| (least..=MAX_RULE_DAYS).contains(d))
                .map(Some)
                .ok_or_else(|| {
                    Refusal::new("leave_rule_days")
                        .with("least", least)
                        .with("most", MAX_RULE_DAYS)
                })
        };
        Ok(Rules {
            notice_days: days(notice, 0)?,
            longest_days: days(longest, 1)?,
            principal_above_days: days(above, 0)?,
            both_guardians,
        })
    }

    /// The stricter of two organisations' rules: the longer notice, the shorter longest
    /// leave, the lower limit for the principal.
    pub fn stricter(self, other: Rules) -> Rules {
        fn pick(a: Option<i32>, b: Option<i32>, f: fn(i32, i32) -> i32) -> Option<i32> {
            match (a, b) {
                (Some(x), Some(y)) => Some(f(x, y)),
                (x, y) => x.or(y),
            }
        }
        Rules {
            notice_days: pick(self.notice_days, other.notice_days, i32::max),
            longest_days: pick(self.longest_days, other.longest_days, i32::min),
            principal_above_days: pick(
                self.principal_above_days,
                other.principal_above_days,
                i32::min,
            ),
            both_guardians: self.both_guardians || other.both_guardians,
        }
    }

    /// The first rule of `self` (a school's) that is looser than the municipality's. A
    /// school without a rule of its own has the municipality's.
    fn looser_than(self, m: Rules) -> Option<Refusal> {
        let looser = |own: Option<i32>, theirs: Option<i32>, worse: fn(i32, i32) -> bool| matches!((own, theirs), (Some(o), Some(t)) if worse(o, t));
        if looser(self.notice_days, m.notice_days, |o, t| o < t) {
            return m
                .notice_days
                .map(|d| Refusal::new("leave_notice_looser").with("days", d));
        }
        if looser(self.longest_days, m.longest_days, |o, t| o > t) {
            return m
                .longest_days
                .map(|d| Refusal::new("leave_longest_looser").with("days", d));
        }
        if looser(self.principal_above_days, m.principal_above_days, |o, t| {
            o > t
        }) {
            return m
                .principal_above_days
                .map(|d| Refusal::new("leave_principal_above_looser").with("days", d));
        }
        None
    }
}

/// A blocked period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocked {
    pub id: BlockedPeriodId,
    /// the municipality's or the school's
    pub owner: OrganisationId,
    pub name: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// The rules that apply at a school.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Effective {
    /// the stricter of the municipality's and the school's, rule by rule
    pub rules: Rules,
    /// the blocked periods of both, by first day
    pub blocked: Vec<Blocked>,
}

impl Effective {
    /// The blocked periods the days from `start` to `end` touch.
    pub fn blocked_in(&self, start: NaiveDate, end: NaiveDate) -> Vec<&Blocked> {
        self.blocked
            .iter()
            .filter(|b| b.first <= end && b.last >= start)
            .collect()
    }

    /// The blocked periods that have not ended by `today`.
    pub fn blocked_from(&self, today: NaiveDate) -> Vec<&Blocked> {
        self.blocked.iter().filter(|b| b.last >= today).collect()
    }

    /// The first day an application made `today` may start on.
    pub fn earliest_start(&self, today: NaiveDate) -> NaiveDate {
        today + Duration::days(self.rules.notice_days.unwrap_or(0).into())
    }

    /// An application of `school_days` school days from `start`, made `today`, against
    /// the notice and the longest leave.
    pub fn check_application(
        &self,
        start: NaiveDate,
        school_days: i64,
        today: NaiveDate,
    ) -> AppResult<()> {
        if let Some(days) = self.rules.notice_days {
            if start < self.earliest_start(today) {
                return Err(AppError::invalid(
                    Code::LeaveNoticeTooShort,
                    Refusal::new("leave_notice_too_short").with("days", days),
                ));
            }
        }
        self.check_length(school_days)
    }

    /// Leave of `school_days` school days against the longest one decision may grant.
    pub fn check_length(&self, school_days: i64) -> AppResult<()> {
        match self.rules.longest_days {
            Some(most) if school_days > i64::from(most) => Err(AppError::invalid(
                Code::LeaveTooLong,
                Refusal::new("leave_longer_than_rule")
                    .with("days", school_days)
                    .with("most", most),
            )),
            _ => Ok(()),
        }
    }

    /// Why only the principal may decide on leave of `days` school days from `start` to
    /// `end` when `granted` days are granted this school year, if a rule says so.
    pub fn principal_only(
        &self,
        (start, end): (NaiveDate, NaiveDate),
        granted: i64,
        days: i64,
    ) -> Option<Refusal> {
        if let Some(b) = self.blocked_in(start, end).first() {
            return Some(Refusal::new("leave_blocked_principal_decides").with("name", &b.name));
        }
        match self.rules.principal_above_days {
            Some(above) if granted + days > i64::from(above) => Some(
                Refusal::new("leave_above_rule_principal_decides")
                    .with("days", days)
                    .with("granted", granted)
                    .with("above", above),
            ),
            _ => None,
        }
    }
}

/// One organisation's own rules (none stored: no rules).
pub fn stored(conn: &mut DbConn, org: OrganisationId) -> AppResult<Rules> {
    type Row = (Option<i32>, Option<i32>, Option<i32>, bool);
    let row: Option<Row> = leave_rules::table
        .find(org)
        .select((
            leave_rules::notice_days,
            leave_rules::longest_days,
            leave_rules::principal_above_days,
            leave_rules::both_guardians,
        ))
        .first(conn)
        .optional()?;
    Ok(row
        .map(|(n, l, a, b)| Rules {
            notice_days: n,
            longest_days: l,
            principal_above_days: a,
            both_guardians: b,
        })
        .unwrap_or_default())
}

/// The rules that apply at a school.
pub fn effective(conn: &mut DbConn, school: SchoolId) -> AppResult<Effective> {
    let [municipality, own_org] = owners_at(conn, school)?;
    let m = stored(conn, municipality)?;
    let own = if own_org == municipality {
        Rules::default()
    } else {
        stored(conn, own_org)?
    };
    Ok(Effective {
        rules: m.stricter(own),
        blocked: blocked_of(conn, &[municipality, own_org])?,
    })
}

/// The blocked periods an organisation keeps itself, by first day.
pub fn own_blocked(conn: &mut DbConn, org: OrganisationId) -> AppResult<Vec<Blocked>> {
    blocked_of(conn, &[org])
}

/// The blocked periods of the organisations, by first day.
fn blocked_of(conn: &mut DbConn, orgs: &[OrganisationId]) -> AppResult<Vec<Blocked>> {
    let rows: Vec<(
        BlockedPeriodId,
        OrganisationId,
        String,
        NaiveDate,
        NaiveDate,
    )> = leave_blocked_periods::table
        .filter(leave_blocked_periods::organisation_id.eq_any(orgs))
        .select((
            leave_blocked_periods::id,
            leave_blocked_periods::organisation_id,
            leave_blocked_periods::name,
            leave_blocked_periods::first_day,
            leave_blocked_periods::last_day,
        ))
        .order((leave_blocked_periods::first_day, leave_blocked_periods::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, owner, name, first, last)| Blocked {
            id,
            owner,
            name,
            first,
            last,
        })
        .collect())
}

/// Sets an organisation's rules; a school's may not be looser than its municipality's.
pub fn set(conn: &mut DbConn, act: &Act, owner: Owner, rules: Rules) -> Checked<()> {
    if let Owner::School { municipality, .. } = owner {
        if let Some(refusal) = rules.looser_than(stored(conn, municipality)?) {
            return Ok(Err(refusal));
        }
    }
    conn.write_transaction(|conn| {
        let org = owner.org();
        let values = (
            leave_rules::notice_days.eq(rules.notice_days),
            leave_rules::longest_days.eq(rules.longest_days),
            leave_rules::principal_above_days.eq(rules.principal_above_days),
            leave_rules::both_guardians.eq(rules.both_guardians),
            leave_rules::changed_by.eq(act.actor.id),
            leave_rules::changed_at.eq(act.now),
        );
        on_backend!(conn, c => {
            diesel::insert_into(leave_rules::table)
                .values((leave_rules::organisation_id.eq(org), values))
                .on_conflict(leave_rules::organisation_id)
                .do_update()
                .set(values)
                .execute(c)?;
        });
        audit::acted(
            conn,
            act,
            "leave_rules.set",
            "organisation",
            org,
            json!({
                "notice_days": rules.notice_days,
                "longest_days": rules.longest_days,
                "principal_above_days": rules.principal_above_days,
                "both_guardians": rules.both_guardians,
            }),
        )?;
        Ok(Ok(()))
    })
}

/// A blocked period to add: a name, and the last day on or after the first, within a
/// year.
pub fn check_blocked(name: &str, first: NaiveDate, last: NaiveDate) -> Result<String, Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Refusal::new("blocked_period_name").with("max", MAX_NAME));
    }
    if last < first {
        return Err(Refusal::new("period_ends_before_starts"));
    }
    if last - first > Duration::days(366) {
        return Err(Refusal::new("blocked_period_too_long"));
    }
    Ok(name.to_string())
}

/// Adds a blocked period of the organisation.
pub fn add_blocked(
    conn: &mut DbConn,
    act: &Act,
    owner: Owner,
    (name, first, last): (&str, NaiveDate, NaiveDate),
) -> Checked<BlockedPeriodId> {
    let name = match check_blocked(name, first, last) {
        Ok(n) => n,
        Err(r) => return Ok(Err(r)),
    };
    conn.write_transaction(|conn| {
        let id: BlockedPeriodId = diesel::insert_into(leave_blocked_periods::table)
            .values((
                leave_blocked_periods::organisation_id.eq(owner.org()),
                leave_blocked_periods::name.eq(&name),
                leave_blocked_periods::first_day.eq(first),
                leave_blocked_periods::last_day.eq(last),
                leave_blocked_periods::created_by.eq(act.actor.id),
                leave_blocked_periods::created_at.eq(act.now),
            ))
            .returning(leave_blocked_periods::id)
            .get_result(conn)?;
        audit::acted(
            conn,
            act,
            "leave_blocked.added",
            "organisation",
            owner.org(),
            json!({"id": id, "name": name, "first": first, "last": last}),
        )?;
        Ok(Ok(id))
    })
}

/// Removes one of the organisation's blocked periods (another's is not there: 404).
pub fn remove_blocked(
    conn: &mut DbConn,
    act: &Act,
    owner: Owner,
    id: BlockedPeriodId,
) -> AppResult<()> {
    conn.write_transaction(|conn| {
        let gone = diesel::delete(
            leave_blocked_periods::table
                .find(id)
                .filter(leave_blocked_periods::organisation_id.eq(owner.org())),
        )
        .execute(conn)?;
        if gone == 0 {
            return Err(AppError::NotFound);
        }
        audit::acted(
            conn,
            act,
            "leave_blocked.removed",
            "organisation",
            owner.org(),
            json!({ "id": id }),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn rules_parse_blank_as_none_and_refuse_negative_or_huge_days() {
        assert_eq!(Rules::parse("", " ", "", false).unwrap(), Rules::default());
        let r = Rules::parse("14", "10", "5", true).unwrap();
        assert_eq!(
            r,
            Rules {
                notice_days: Some(14),
                longest_days: Some(10),
                principal_above_days: Some(5),
                both_guardians: true,
            }
        );
        for (n, l, a) in [
            ("-1", "", ""),
            ("", "0", ""),
            ("", "", "366"),
            ("x", "", ""),
        ] {
            assert!(Rules::parse(n, l, a, false).is_err(), "{n} {l} {a}");
        }
    }

    #[test]
    fn the_stricter_rule_wins_and_a_school_may_not_loosen() {
        let m = Rules::parse("14", "10", "5", false).unwrap();
        let school = Rules::parse("21", "", "3", false).unwrap();
        let both = m.stricter(school);
        assert_eq!(both, Rules::parse("21", "10", "3", false).unwrap());
        // both guardians: either organisation's asking is enough
        let asks = Rules::parse("", "", "", true).unwrap();
        assert!(m.stricter(asks).both_guardians && asks.stricter(m).both_guardians);
        assert!(school.looser_than(m).is_none());
        assert!(Rules::parse("7", "", "", false)
            .unwrap()
            .looser_than(m)
            .is_some());
        assert!(Rules::parse("", "20", "", false)
            .unwrap()
            .looser_than(m)
            .is_some());
        assert!(Rules::parse("", "", "6", false)
            .unwrap()
            .looser_than(m)
            .is_some());
    }

    #[test]
    fn notice_length_blocked_periods_and_the_principal_s_limit() {
        let e = Effective {
            rules: Rules::parse("14", "5", "10", false).unwrap(),
            blocked: vec![Blocked {
                id: BlockedPeriodId(1),
                owner: OrganisationId(1),
                name: "Nationella prov åk 9".into(),
                first: d("2027-05-10"),
                last: d("2027-05-12"),
            }],
        };
        let today = d("2027-04-01");
        assert_eq!(e.earliest_start(today), d("2027-04-15"));
        assert!(e.check_application(d("2027-04-14"), 1, today).is_err());
        assert!(e.check_application(d("2027-04-15"), 5, today).is_ok());
        assert!(e.check_application(d("2027-04-15"), 6, today).is_err());
        assert_eq!(e.blocked_in(d("2027-05-12"), d("2027-05-14")).len(), 1);
        assert!(e.blocked_in(d("2027-05-13"), d("2027-05-14")).is_empty());
        assert!(e
            .principal_only((d("2027-05-11"), d("2027-05-11")), 0, 1)
            .is_some());
        assert!(e
            .principal_only((d("2027-06-01"), d("2027-06-02")), 8, 2)
            .is_none());
        assert!(e
            .principal_only((d("2027-06-01"), d("2027-06-03")), 8, 3)
            .is_some());
    }
}
