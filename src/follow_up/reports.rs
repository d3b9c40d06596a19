//! The huvudman's inbox of reports of started absence investigations (Skollagen 7 kap.
//! 19 a §): every school of the municipality, for its case officers. A report holds the
//! minimum the huvudman needs — pupil, school unit, class, period and figures, the date the
//! investigation started, the responsible principal — and never a note of the case. The
//! officer moves it through open, asked for more information, followed up and closed.
//! A pupil with protected identity is not named to the officer.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::{CaseId, HuvudmanReportId, OrganisationId, PupilId, SchoolId};
use crate::school::states::{CaseDecision, CaseStatus, ReportStatus};
use crate::school::{Act, Checked, Refusal};

/// The longest note an officer keeps on a report.
pub const MAX_NOTE: usize = 2000;

/// A report as the inbox shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportLine {
    pub id: HuvudmanReportId,
    pub case: CaseId,
    pub pupil: PupilId,
    /// `None` for a pupil with protected identity
    pub pupil_name: Option<String>,
    pub school: String,
    pub class: Option<String>,
    pub started_on: NaiveDate,
    pub principal: String,
    pub status: ReportStatus,
    pub officer_note: Option<String>,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub absent_minutes: i32,
    pub scheduled_minutes: i32,
    pub deadline: Option<NaiveDate>,
    /// the investigation is past its deadline without a conclusion
    pub overdue: bool,
    pub case_closed: bool,
    pub updated_at: NaiveDateTime,
    /// the huvudman's round under way and whether the principal has updated the report in
    /// it (`None`: not in a round), and the principal's latest update
    pub mark: super::rounds::Mark,
}

type Row = (
    (
        HuvudmanReportId,
        CaseId,
        PupilId,
        Option<String>,
        NaiveDate,
        ReportStatus,
        Option<String>,
        NaiveDateTime,
    ),
    (
        NaiveDate,
        NaiveDate,
        i32,
        i32,
        Option<NaiveDate>,
        Option<String>,
        CaseStatus,
        Option<CaseDecision>,
    ),
    (String, String, String),
    String,
    (String, String),
);

/// The reports of the municipalities the viewer is case officer of: those not closed
/// first, each oldest first. A 404 for anyone else.
pub fn inbox(conn: &mut DbConn, v: &Viewer, today: NaiveDate) -> AppResult<Vec<ReportLine>> {
    if v.roles.officer_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let principal = diesel::alias!(people as principal);
    let rows: Vec<Row> = huvudman_reports::table
        .inner_join(absence_cases::table)
        .inner_join(people::table.on(people::id.eq(huvudman_reports::pupil_id)))
        .inner_join(
            principal.on(principal
                .field(people::id)
                .eq(huvudman_reports::principal_id)),
        )
        .inner_join(organisations::table.on(organisations::id.eq(huvudman_reports::school_id)))
        .filter(huvudman_reports::organisation_id.eq_any(v.roles.officer_of.clone()))
        .select((
            (
                huvudman_reports::id,
                huvudman_reports::case_id,
                huvudman_reports::pupil_id,
                huvudman_reports::class_name,
                huvudman_reports::started_on,
                huvudman_reports::status,
                huvudman_reports::officer_note,
                huvudman_reports::updated_at,
            ),
            (
                absence_cases::period_from,
                absence_cases::period_to,
                absence_cases::absent_minutes,
                absence_cases::scheduled_minutes,
                absence_cases::deadline,
                absence_cases::conclusion,
                absence_cases::status,
                absence_cases::decision,
            ),
            (
                people::given_name,
                people::family_name,
                people::security_marking,
            ),
            organisations::name,
            principal.fields((people::given_name, people::family_name)),
        ))
        .order((huvudman_reports::started_on, huvudman_reports::id))
        .limit(2000)
        .load(conn)?;
    let mut out: Vec<ReportLine> = rows
        .into_iter()
        .map(
            |(r, c, (given, family, marking), school, (pg, pf))| ReportLine {
                id: r.0,
                case: r.1,
                pupil: r.2,
                pupil_name: (marking == "none").then(|| crate::school::full_name(&given, &family)),
                school,
                class: r.3,
                started_on: r.4,
                principal: crate::school::full_name(&pg, &pf),
                status: r.5,
                officer_note: r.6,
                updated_at: r.7,
                period_from: c.0,
                period_to: c.1,
                absent_minutes: c.2,
                scheduled_minutes: c.3,
                deadline: c.4,
                overdue: super::cases::overdue(c.6, c.7, &c.5, c.4, today),
                case_closed: c.6 == CaseStatus::Closed,
                mark: super::rounds::Mark::default(),
            },
        )
        .collect();
    let mut marks = super::rounds::inbox_marks(conn, &v.roles.officer_of, today)?;
    for l in &mut out {
        if let Some(m) = marks.remove(&l.id) {
            l.mark = m;
        }
    }
    out.sort_by_key(|l| l.status == ReportStatus::Closed);
    Ok(out)
}

/// Moves a report on (its municipality's case officers only; a 404 for anyone else).
/// Asking for more information needs a note saying what; the note is kept on the report
/// for the principal to read, and not in the log.
pub fn set_status(
    conn: &mut DbConn,
    act: &Act,
    id: HuvudmanReportId,
    status: ReportStatus,
    note: &str,
) -> Checked<()> {
    conn.transaction(|conn| {
        let row: Option<(OrganisationId, PupilId)> = huvudman_reports::table
            .find(id)
            .select((
                huvudman_reports::organisation_id,
                huvudman_reports::pupil_id,
            ))
            .first(conn)
            .optional()?;
        let Some((org, pupil)) = row else {
            return Err(AppError::NotFound);
        };
        if !act.actor.roles.officer_of.contains(&org) {
            return Err(AppError::NotFound);
        }
        let note = note.trim();
        if note.chars().count() > MAX_NOTE {
            return Ok(Err(
                Refusal::new("report_note_too_long").with("max", MAX_NOTE)
            ));
        }
        if status == ReportStatus::MoreInfo && note.is_empty() {
            return Ok(Err(Refusal::new("report_more_info_needs_note")));
        }
        diesel::update(huvudman_reports::table.find(id))
            .set((
                huvudman_reports::status.eq(status),
                huvudman_reports::officer_note.eq((!note.is_empty()).then_some(note)),
                huvudman_reports::updated_at.eq(act.now),
            ))
            .execute(conn)?;
        let detail = json!({"pupil_id": pupil, "status": status.as_str()});
        audit::acted(conn, act, "report.status", "huvudman_report", id, detail)?;
        Ok(Ok(()))
    })
}

/// A school's figures of acting on absence over a period, for the huvudman.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchoolFigures {
    pub school: SchoolId,
    pub name: String,
    /// signals raised in the period
    pub signals: i64,
    /// decisions in the period (investigate or not needed)
    pub decisions: i64,
    /// the average days from a case's first signal to the decision, of the decisions in
    /// the period on cases opened from a signal
    pub days_to_decision: Option<f64>,
    /// investigations open now, and of them past their deadline without a conclusion
    pub open: i64,
    pub overdue: i64,
    /// reports to the huvudman made in the period
    pub reports: i64,
}

/// Per school of the municipalities: signals, decisions and the days to them, open and
/// overdue investigations, reports to the huvudman; `from`..=`to` are school-local days
/// (the stored moments are UTC, so a moment near midnight may fall on the next day).
pub fn figures(
    conn: &mut DbConn,
    municipalities: &[OrganisationId],
    (from, to): (NaiveDate, NaiveDate),
    today: NaiveDate,
) -> AppResult<Vec<SchoolFigures>> {
    let schools: Vec<(SchoolId, String)> = organisations::table
        .filter(organisations::parent_id.eq_any(municipalities))
        .filter(organisations::org_type.eq("school"))
        .select((organisations::id, organisations::name))
        .order(organisations::name)
        .load(conn)?;
    let ids: Vec<SchoolId> = schools.iter().map(|s| s.0).collect();
    let (start, end) = (
        from.and_time(chrono::NaiveTime::MIN),
        (to + chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN),
    );
    let raised: Vec<SchoolId> = signals::table
        .filter(signals::school_id.eq_any(&ids))
        .filter(signals::raised_at.ge(start))
        .filter(signals::raised_at.lt(end))
        .select(signals::school_id)
        .load(conn)?;
    type CaseFacts = (
        CaseId,
        SchoolId,
        CaseStatus,
        Option<CaseDecision>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<String>,
    );
    let cases: Vec<CaseFacts> = absence_cases::table
        .filter(absence_cases::school_id.eq_any(&ids))
        .filter(
            absence_cases::status
                .eq(CaseStatus::Open)
                .or(absence_cases::decided_on.between(from, to)),
        )
        .select((
            absence_cases::id,
            absence_cases::school_id,
            absence_cases::status,
            absence_cases::decision,
            absence_cases::decided_on,
            absence_cases::deadline,
            absence_cases::conclusion,
        ))
        .load(conn)?;
    let case_ids: Vec<CaseId> = cases.iter().map(|c| c.0).collect();
    let mut first_signal: std::collections::HashMap<CaseId, NaiveDateTime> =
        std::collections::HashMap::new();
    for (case, at) in signals::table
        .filter(signals::case_id.eq_any(case_ids.iter().map(|c| Some(*c)).collect::<Vec<_>>()))
        .select((signals::case_id.assume_not_null(), signals::raised_at))
        .load::<(CaseId, NaiveDateTime)>(conn)?
    {
        let e = first_signal.entry(case).or_insert(at);
        *e = (*e).min(at);
    }
    let reported: Vec<SchoolId> = huvudman_reports::table
        .filter(huvudman_reports::school_id.eq_any(&ids))
        .filter(huvudman_reports::created_at.ge(start))
        .filter(huvudman_reports::created_at.lt(end))
        .select(huvudman_reports::school_id)
        .load(conn)?;
    Ok(schools
        .into_iter()
        .map(|(school, name)| {
            let mine: Vec<&CaseFacts> = cases.iter().filter(|c| c.1 == school).collect();
            let decided: Vec<&&CaseFacts> = mine
                .iter()
                .filter(|c| c.4.is_some_and(|d| d >= from && d <= to))
                .collect();
            let waits: Vec<i64> = decided
                .iter()
                .filter_map(|c| {
                    let signal = first_signal.get(&c.0)?;
                    Some((c.4? - signal.date()).num_days().max(0))
                })
                .collect();
            let open: Vec<&&CaseFacts> = mine.iter().filter(|c| c.2 == CaseStatus::Open).collect();
            SchoolFigures {
                school,
                name,
                signals: raised.iter().filter(|s| **s == school).count() as i64,
                decisions: decided.len() as i64,
                days_to_decision: (!waits.is_empty())
                    .then(|| waits.iter().sum::<i64>() as f64 / waits.len() as f64),
                open: open.len() as i64,
                overdue: open
                    .iter()
                    .filter(|c| super::cases::overdue(c.2, c.3, &c.6, c.5, today))
                    .count() as i64,
                reports: reported.iter().filter(|s| **s == school).count() as i64,
            }
        })
        .collect())
}
