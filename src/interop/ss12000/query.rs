//! What an export request asks for, whole (`Query`), and the page token that carries it:
//! the standard says a `pageToken` "cannot be combined with other filters but with
//! `limit`", so a client that follows only the token must get exactly the records of its
//! first request. Also the checks every resource shares: the schools a caller may read,
//! and the pupils a query names.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{access, Viewer};
use crate::db::DbConn;
use crate::error::Refusal;
use crate::error::{AppError, AppResult, Code};
use crate::schema::*;
use crate::school::ids::{ActivityId, LessonId, OrganisationId, PersonId, PupilId, SchoolId};

/// One page of records and, while there is more, the token for the next.
pub struct Page {
    pub data: Vec<Value>,
    pub next: Option<String>,
}

/// The most records a page holds; a larger `limit` (the standard sets no maximum) gets
/// pages of this size, each with the token for the next.
pub const MAX_LIMIT: usize = 1000;

/// `limit`: a whole number from 1; without it, as many as a page holds.
pub fn limit(raw: Option<&str>) -> AppResult<usize> {
    match raw {
        None => Ok(MAX_LIMIT),
        Some(s) => {
            // any whole number from 1 (one too large for u64 is simply "many")
            let whole = !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
            if whole && s.bytes().any(|c| c != b'0') {
                Ok(s.parse::<u64>()
                    .map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT as u64) as usize))
            } else {
                Err(AppError::invalid(
                    Code::BadLimit,
                    Refusal::new("limit_not_whole_number"),
                ))
            }
        }
    }
}

/// The two kinds of SS 12000 `Absence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbsenceType {
    /// a guardian's (or the school's) report: "Anmäld frånvaro"
    #[serde(rename = "r")]
    Reported,
    /// granted leave: "Beviljad ledighet"
    #[serde(rename = "l")]
    Leave,
}

impl AbsenceType {
    pub fn name(self) -> &'static str {
        match self {
            AbsenceType::Reported => "Anmäld frånvaro",
            AbsenceType::Leave => "Beviljad ledighet",
        }
    }

    pub fn parse(raw: &str) -> Option<AbsenceType> {
        [AbsenceType::Reported, AbsenceType::Leave]
            .into_iter()
            .find(|t| t.name() == raw)
    }
}

/// `sortkey` of `/absences`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    ModifiedDesc,
    StartTimeAsc,
    StartTimeDesc,
}

impl SortKey {
    pub fn parse(raw: &str) -> Option<SortKey> {
        match raw {
            "ModifiedDesc" => Some(SortKey::ModifiedDesc),
            "StartTimeAsc" => Some(SortKey::StartTimeAsc),
            "StartTimeDesc" => Some(SortKey::StartTimeDesc),
            _ => None,
        }
    }
}

/// Bounds on an instant (UTC): from `from` (inclusive, or exclusive when `from_excl`, as
/// the standard's `meta.*.after` is) to `to` (inclusive).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDateTime>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_excl: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDateTime>,
}

impl Bounds {
    pub fn holds(&self, t: NaiveDateTime) -> bool {
        let above = match self.from {
            None => true,
            Some(f) if self.from_excl => t > f,
            Some(f) => t >= f,
        };
        above && self.to.is_none_or(|to| t <= to)
    }

    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }
}

/// What an export request asks for, whole; ids are Närvaro's, resolved from the uuids the
/// request named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// a school, or a municipality (its schools), the caller may read; else all of theirs
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<OrganisationId>,
    /// pupils; empty is every pupil
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub students: Vec<PupilId>,
    /// lessons (`calendarEvent`); empty is every lesson
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calendar_events: Vec<LessonId>,
    /// activities (the attendance lookup); empty is every activity
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<ActivityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AbsenceType>,
    #[serde(default, skip_serializing_if = "Bounds::is_open")]
    pub start: Bounds,
    #[serde(default, skip_serializing_if = "Bounds::is_open")]
    pub end: Bounds,
    #[serde(default, skip_serializing_if = "Bounds::is_open")]
    pub created: Bounds,
    #[serde(default, skip_serializing_if = "Bounds::is_open")]
    pub modified: Bounds,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<SortKey>,
    /// `expandReferenceNames=true`
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub names: bool,
    /// `startDate` and `endDate` of the aggregate
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// `schoolType` of the aggregate: Närvaro's school forms
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub school_forms: Vec<String>,
    /// `entities` of `/deletedEntities`: the standard's names; empty is every kind
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<String>,
}

/// Where a page ended: (list, a, b), as the token says.
pub type Position = (String, i64, i64);

/// Where a page ended, and the query it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// which list ("a" attendances, "r" reports, "l" leave, "g" aggregated, "d" deleted)
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
pub fn parse_token(raw: &str, kinds: &[&str]) -> AppResult<(Position, Query)> {
    let bad = || AppError::invalid(Code::BadPageToken, Refusal::new("page_token_not_ours"));
    if raw.len() > 40_000 || !raw.len().is_multiple_of(2) {
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
    if !kinds.contains(&cursor.k.as_str()) {
        return Err(bad());
    }
    Ok(((cursor.k, cursor.a, cursor.b), cursor.q))
}

/// The pupils of a query, each one the caller may read (a 404 otherwise).
pub fn check_students(
    conn: &mut DbConn,
    schools: &[SchoolId],
    students: &[PupilId],
) -> AppResult<()> {
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

/// The schools a request covers: every school the caller may read, or of those the one
/// asked for, or those under the organisation asked for ("the organisation and the
/// elements below it"). A 404 when that leaves none.
pub fn schools(
    conn: &mut DbConn,
    v: &Viewer,
    organisation: Option<OrganisationId>,
) -> AppResult<Vec<SchoolId>> {
    let mut mine = v.roles.principal_of.clone();
    mine.extend(access::admin_schools(conn, v)?.into_iter().map(|s| s.0));
    mine.sort_unstable();
    mine.dedup();
    let out = match organisation {
        None => mine,
        Some(o) if mine.iter().any(|s| OrganisationId::from(*s) == o) => mine
            .into_iter()
            .filter(|s| OrganisationId::from(*s) == o)
            .collect(),
        Some(o) => {
            // a municipality: its schools the caller may read
            let under: Vec<SchoolId> = organisations::table
                .filter(organisations::parent_id.eq(o))
                .filter(organisations::id.eq_any(&mine))
                .select(organisations::id)
                .load(conn)?;
            under
        }
    };
    if out.is_empty() {
        // nothing the caller may read: as if it were not there
        return Err(AppError::NotFound);
    }
    Ok(out)
}

/// An instant as RFC 3339 (UTC).
pub fn rfc3339(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `{"created", "modified"}`, the standard's `Meta`.
pub fn meta(created: NaiveDateTime, modified: NaiveDateTime) -> Value {
    serde_json::json!({ "created": rfc3339(created), "modified": rfc3339(modified.max(created)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_takes_every_whole_number_from_one() {
        assert_eq!(limit(None).ok(), Some(MAX_LIMIT));
        assert_eq!(limit(Some("1")).ok(), Some(1));
        assert_eq!(limit(Some("250")).ok(), Some(250));
        assert_eq!(limit(Some("5000")).ok(), Some(MAX_LIMIT));
        assert_eq!(limit(Some("99999999999999999999999")).ok(), Some(MAX_LIMIT));
        for bad in ["0", "000", "-1", "", "1.5", "ten"] {
            assert!(limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_token_carries_its_query() {
        let q = Query {
            organisation: Some(OrganisationId(4)),
            students: vec![PupilId(7), PupilId(9)],
            modified: Bounds {
                from: NaiveDate::from_ymd_opt(2026, 11, 2).and_then(|d| d.and_hms_opt(7, 0, 0)),
                from_excl: true,
                to: None,
            },
            names: true,
            ..Query::default()
        };
        let t = token("r", 12, 34, &q);
        let ((k, a, b), back) = parse_token(&t, &["r", "l"]).unwrap();
        assert_eq!((k.as_str(), a, b), ("r", 12, 34));
        assert_eq!(back, q);
        assert!(parse_token(&t, &["a"]).is_err());
        assert!(parse_token("zz", &["r"]).is_err());
    }

    #[test]
    fn after_is_exclusive_and_before_inclusive() {
        let t = |h| {
            NaiveDate::from_ymd_opt(2026, 11, 25)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .unwrap()
        };
        let after = Bounds {
            from: Some(t(8)),
            from_excl: true,
            to: Some(t(10)),
        };
        assert!(!after.holds(t(8)) && after.holds(t(9)) && after.holds(t(10)));
        assert!(!after.holds(t(11)));
        let on_or_after = Bounds {
            from_excl: false,
            ..after
        };
        assert!(on_or_after.holds(t(8)));
    }
}
