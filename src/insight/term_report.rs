//! The term report: per pupil, school unit and term, the figures every proposal for national
//! absence statistics asks for (Skolverket 2021, SOU 2025:8): school form, school unit
//! code, year group, minutes of teaching offered, of valid and of invalid absence, and of
//! other attendance (trips and the like, which count as neither), and the pupil's civic
//! number as sealed (`auth::civic`), which only the file for the national delivery opens.
//! It is read school by
//! school from the per-day sums the statistics keep (`absence_days`), so a caller can write
//! one school's rows before it reads the next: memory grows with the largest school, never
//! with the municipality. Codes and numbers only; the edge words them.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;

use super::statistics::{self, Figures, Period};
use crate::db::DbConn;
use crate::db::CHUNK;
use crate::error::{AppError, AppResult, Code, Refusal};
use crate::schema::*;
use crate::school::ids::{OrganisationId, PupilId, SchoolId};

/// A term: the autumn term (hösttermin, 1 July – 31 December) or the spring term
/// (vårtermin, 1 January – 30 June) of a calendar year, as the school calendar has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Term {
    pub year: i32,
    pub autumn: bool,
}

impl Term {
    /// The term a date falls in.
    pub fn of(date: NaiveDate) -> Term {
        Term {
            year: date.year(),
            autumn: date.month() >= 7,
        }
    }

    /// "HT2026" or "VT2027", as Swedish schools write them; either case.
    pub fn parse(raw: &str) -> AppResult<Term> {
        let raw = raw.trim();
        let bad = || AppError::invalid(Code::BadTerm, Refusal::new("bad_term"));
        let (half, year) = raw.split_at_checked(2).ok_or_else(bad)?;
        let autumn = match half.to_ascii_uppercase().as_str() {
            "HT" => true,
            "VT" => false,
            _ => return Err(bad()),
        };
        let year: i32 = year
            .parse()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(bad)?;
        Ok(Term { year, autumn })
    }

    /// A term that has begun by `today`; a later one is refused (there is nothing to report).
    pub fn started(self, today: NaiveDate) -> AppResult<Term> {
        if self.first_day() > today {
            return Err(AppError::invalid(
                Code::TermNotStarted,
                Refusal::new("term_not_started"),
            ));
        }
        Ok(self)
    }

    pub fn code(self) -> String {
        format!("{}{}", if self.autumn { "HT" } else { "VT" }, self.year)
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, if self.autumn { 7 } else { 1 }, 1)
            .unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        let (m, d) = if self.autumn { (12, 31) } else { (6, 30) };
        NaiveDate::from_ymd_opt(self.year, m, d).unwrap_or(NaiveDate::MAX)
    }

    pub fn period(self) -> Period {
        Period {
            from: self.first_day(),
            to: self.last_day(),
        }
    }

    /// The term before this one.
    pub fn previous(self) -> Term {
        if self.autumn {
            Term {
                year: self.year,
                autumn: false,
            }
        } else {
            Term {
                year: self.year - 1,
                autumn: true,
            }
        }
    }

    /// The term after this one.
    pub fn next(self) -> Term {
        if self.autumn {
            Term {
                year: self.year + 1,
                autumn: false,
            }
        } else {
            Term {
                year: self.year,
                autumn: true,
            }
        }
    }

    /// This term and the `n - 1` before it, newest first.
    pub fn recent(self, n: usize) -> Vec<Term> {
        std::iter::successors(Some(self), |t| Some(t.previous()))
            .take(n)
            .collect()
    }
}

/// A school unit in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSchool {
    pub id: SchoolId,
    pub name: String,
    /// the school form as stored ("grundskola", …)
    pub form: Option<String>,
    pub unit_code: Option<String>,
}

/// The school units of the municipalities, by name; of one school form when given.
pub fn schools(
    conn: &mut DbConn,
    municipalities: &[OrganisationId],
    form: Option<&str>,
) -> AppResult<Vec<ReportSchool>> {
    let mut q = organisations::table
        .filter(organisations::parent_id.eq_any(municipalities))
        .filter(organisations::org_type.eq("school"))
        .select((
            organisations::id,
            organisations::name,
            organisations::school_form,
            organisations::school_unit_code,
        ))
        .order((organisations::name, organisations::id))
        .into_boxed();
    if let Some(f) = form {
        q = q.filter(organisations::school_form.eq(f));
    }
    let rows: Vec<(SchoolId, String, Option<String>, Option<String>)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, form, unit_code)| ReportSchool {
            id,
            name,
            form,
            unit_code: unit_code.filter(|c| !c.trim().is_empty()),
        })
        .collect())
}

/// One pupil's term at one school unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermRow {
    pub pupil: PupilId,
    /// the pupil's stored SS 12000 `Person` id (the export names a pupil without one by a
    /// stand-in, `interop::ss12000::uuid::stand_in`)
    pub uuid: Option<String>,
    /// the school administration system's id of the pupil, when imported
    pub source_id: Option<String>,
    /// the pupil's civic number as stored, sealed (`auth::civic::CivicKey::open`)
    #[serde(skip)]
    pub civic_sealed: Option<String>,
    /// protected personal details (skyddad folkbokföring or sekretessmarkering)
    pub protected: bool,
    /// the year group of the pupil's class at the school, the latest in the term
    pub year_group: Option<i32>,
    pub offered_minutes: i64,
    pub valid_minutes: i64,
    pub invalid_minutes: i64,
    pub other_minutes: i64,
    /// of the invalid minutes, those on days the pupil's leave was refused
    pub refused_leave_minutes: i64,
    /// minutes of lessons whose roll call was taken
    pub reported_minutes: i64,
}

impl TermRow {
    fn new(pupil: PupilId, f: &Figures) -> TermRow {
        TermRow {
            pupil,
            uuid: None,
            source_id: None,
            civic_sealed: None,
            protected: false,
            year_group: None,
            offered_minutes: f.scheduled_minutes,
            valid_minutes: f.valid_minutes,
            invalid_minutes: f.invalid_minutes,
            other_minutes: f.other_minutes,
            refused_leave_minutes: f.refused_leave_minutes,
            reported_minutes: f.reported_minutes,
        }
    }
}

/// Minutes as hours with two decimals, rounded half up: "12.50".
pub fn hours(minutes: i64) -> String {
    let hundredths = (minutes * 100 + 30).div_euclid(60);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// (uuid, the source's id, security marking, sealed civic number)
type Who = (Option<String>, Option<String>, String, Option<String>);

/// The rows of one school for a period (up to `today`), by pupil id.
pub fn school_rows(
    conn: &mut DbConn,
    school: SchoolId,
    period: Period,
    today: NaiveDate,
) -> AppResult<Vec<TermRow>> {
    let period = period.until(today);
    if period.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<TermRow> = statistics::pupil_sums(conn, school, period)?
        .iter()
        .map(|(p, f)| TermRow::new(*p, f))
        .collect();
    rows.sort_by_key(|r| r.pupil);
    let ids: Vec<PupilId> = rows.iter().map(|r| r.pupil).collect();
    let mut who: HashMap<PupilId, Who> = HashMap::new();
    let mut years: HashMap<PupilId, (NaiveDate, Option<i32>)> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let people: Vec<(PupilId, Who)> = people::table
            .filter(people::id.eq_any(chunk))
            .select((
                people::id,
                (
                    people::uuid,
                    people::external_id,
                    people::security_marking,
                    people::civic_sealed,
                ),
            ))
            .load(conn)?;
        who.extend(people);
        let classes: Vec<(PupilId, NaiveDate, Option<i32>)> = group_memberships::table
            .inner_join(groups::table)
            .filter(group_memberships::pupil_id.eq_any(chunk))
            .filter(groups::school_id.eq(school))
            .filter(groups::group_type.eq("class"))
            .filter(crate::school::membership::during(period.from, period.to))
            .select((
                group_memberships::pupil_id,
                group_memberships::start_date,
                groups::school_year,
            ))
            .load(conn)?;
        for (pupil, start, year) in classes {
            let e = years.entry(pupil).or_insert((start, year));
            if start >= e.0 {
                *e = (start, year);
            }
        }
    }
    for r in &mut rows {
        let (uuid, source, marking, sealed) = who.remove(&r.pupil).unwrap_or_default();
        r.uuid = uuid;
        r.source_id = source;
        r.civic_sealed = sealed;
        r.protected = marking != "none";
        r.year_group = years.get(&r.pupil).and_then(|y| y.1);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_parse_and_run_from_july_and_january() {
        let t = Term::parse("ht2026").unwrap();
        assert_eq!(t.code(), "HT2026");
        assert_eq!(
            t.period().from,
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
        );
        assert_eq!(
            t.period().to,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        let v = Term::parse("VT2027").unwrap();
        assert_eq!(v.previous(), t);
        assert_eq!(t.next(), v);
        assert_eq!(v.next().code(), "HT2027");
        assert_eq!(t.previous().code(), "VT2026");
        assert_eq!(Term::of(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()), v);
        for bad in ["", "H", "HT", "XT2026", "HT20x6", "HT1999", "HT 2026"] {
            assert!(Term::parse(bad).is_err(), "{bad}");
        }
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert!(t.started(today).is_ok());
        assert!(v.started(today).is_err());
        assert_eq!(
            t.recent(3).iter().map(|t| t.code()).collect::<Vec<_>>(),
            ["HT2026", "VT2026", "HT2025"]
        );
    }

    #[test]
    fn hours_have_two_decimals_rounded_half_up() {
        assert_eq!(hours(0), "0.00");
        assert_eq!(hours(60), "1.00");
        assert_eq!(hours(45), "0.75");
        assert_eq!(hours(1), "0.02");
        assert_eq!(hours(125), "2.08");
        assert_eq!(hours(40 * 60 + 20), "40.33");
    }
}
