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
use crate::school::ids::{CaseId, HuvudmanReportId, OrganisationId, PupilId};
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
                pupil_name: (marking == "none").then(|| format!("{given} {family}")),
                school,
                class: r.3,
                started_on: r.4,
                principal: format!("{pg} {pf}"),
                status: r.5,
                officer_note: r.6,
                updated_at: r.7,
                period_from: c.0,
                period_to: c.1,
                absent_minutes: c.2,
                scheduled_minutes: c.3,
                deadline: c.4,
                overdue: c.6 == CaseStatus::Open
                    && c.7 == Some(CaseDecision::Investigate)
                    && c.5.is_none()
                    && c.4.is_some_and(|d| d < today),
                case_closed: c.6 == CaseStatus::Closed,
            },
        )
        .collect();
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
