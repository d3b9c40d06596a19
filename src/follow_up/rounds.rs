//! The huvudman's follow-up rounds of its reports of started absence investigations: the
//! case officer sets the dates (for example in weeks 11 and 41); from a round's date every
//! report not closed and made before it is listed for its school's principal to update, and
//! the officer's inbox shows which reports have an update in the round. The principal's
//! updates are kept on the report (never a health note: they are written for the
//! huvudman), each with its round.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::on_backend;
use crate::schema::*;
use crate::school::ids::{CaseId, HuvudmanReportId, OrganisationId};
use crate::school::states::ReportStatus;
use crate::school::{Act, Checked, Refusal};

/// The longest update a principal writes.
pub const MAX_UPDATE: usize = 2000;

/// A round's date may be at most this far ahead.
pub const MAX_DAYS_AHEAD: i64 = 400;

/// The rounds of a municipality, by date.
pub fn rounds(conn: &mut DbConn, municipality: OrganisationId) -> AppResult<Vec<NaiveDate>> {
    Ok(followup_rounds::table
        .filter(followup_rounds::organisation_id.eq(municipality))
        .select(followup_rounds::due_on)
        .order(followup_rounds::due_on)
        .load(conn)?)
}

/// Adds a round on `due_on` (today or later, within `MAX_DAYS_AHEAD`) for the officer's
/// municipality; a date that is a round already changes nothing.
pub fn add_round(conn: &mut DbConn, act: &Act, due_on: NaiveDate) -> Checked<()> {
    let Some(municipality) = act.actor.roles.officer_of.first().copied() else {
        return Err(AppError::NotFound);
    };
    if due_on < act.today || (due_on - act.today).num_days() > MAX_DAYS_AHEAD {
        return Ok(Err(
            Refusal::new("followup_round_date_range").with("max", MAX_DAYS_AHEAD)
        ));
    }
    conn.transaction(|conn| {
        let values = (
            followup_rounds::organisation_id.eq(municipality),
            followup_rounds::due_on.eq(due_on),
            followup_rounds::created_by.eq(act.actor.id),
            followup_rounds::created_at.eq(act.now),
        );
        let added = on_backend!(conn, c => diesel::insert_into(followup_rounds::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(c))?;
        if added > 0 {
            let detail = json!({"organisation_id": municipality, "due_on": due_on});
            audit::acted(
                conn,
                act,
                "followup_round.added",
                "organisation",
                municipality,
                detail,
            )?;
        }
        Ok(Ok(()))
    })
}

/// The round under way in a municipality on `today`: the latest whose date has come.
fn current(
    conn: &mut DbConn,
    municipality: OrganisationId,
    today: NaiveDate,
) -> AppResult<Option<(i64, NaiveDate)>> {
    Ok(followup_rounds::table
        .filter(followup_rounds::organisation_id.eq(municipality))
        .filter(followup_rounds::due_on.le(today))
        .select((followup_rounds::id, followup_rounds::due_on))
        .order(followup_rounds::due_on.desc())
        .first(conn)
        .optional()?)
}

/// An update the principal wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Update {
    pub body: String,
    pub written_at: NaiveDateTime,
    /// the date of the round it was written in
    pub round: Option<NaiveDate>,
}

/// A report's updates, newest first.
pub fn updates(conn: &mut DbConn, report: HuvudmanReportId) -> AppResult<Vec<Update>> {
    let rows: Vec<(String, NaiveDateTime, Option<NaiveDate>)> = report_updates::table
        .left_join(
            followup_rounds::table.on(followup_rounds::id.nullable().eq(report_updates::round_id)),
        )
        .filter(report_updates::report_id.eq(report))
        .select((
            report_updates::body,
            report_updates::written_at,
            followup_rounds::due_on.nullable(),
        ))
        .order(report_updates::id.desc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(body, written_at, round)| Update {
            body,
            written_at,
            round,
        })
        .collect())
}

/// Where a report stands in the round under way: the round's date, and whether the
/// report has an update in it. `None` when no round is under way or the report was made
/// after the round's date or is closed.
pub fn in_round(
    conn: &mut DbConn,
    report: HuvudmanReportId,
    today: NaiveDate,
) -> AppResult<Option<(NaiveDate, bool)>> {
    let (municipality, status, made): (OrganisationId, ReportStatus, NaiveDateTime) =
        huvudman_reports::table
            .find(report)
            .select((
                huvudman_reports::organisation_id,
                huvudman_reports::status,
                huvudman_reports::created_at,
            ))
            .first(conn)?;
    let Some((round, due_on)) = current(conn, municipality, today)? else {
        return Ok(None);
    };
    if status == ReportStatus::Closed || made.date() > due_on {
        return Ok(None);
    }
    let written: i64 = report_updates::table
        .filter(report_updates::report_id.eq(report))
        .filter(report_updates::round_id.eq(round))
        .count()
        .get_result(conn)?;
    Ok(Some((due_on, written > 0)))
}

/// The cases of the principal's schools whose report waits for an update in the round
/// under way (the start page's count): a few reads whatever the number of reports.
pub fn waiting_for_principal(
    conn: &mut DbConn,
    v: &Viewer,
    today: NaiveDate,
) -> AppResult<Vec<CaseId>> {
    if v.roles.principal_of.is_empty() {
        return Ok(Vec::new());
    }
    let reports: Vec<(HuvudmanReportId, CaseId, OrganisationId, NaiveDateTime)> =
        huvudman_reports::table
            .filter(huvudman_reports::school_id.eq_any(v.roles.principal_of.clone()))
            .filter(huvudman_reports::status.ne(ReportStatus::Closed))
            .select((
                huvudman_reports::id,
                huvudman_reports::case_id,
                huvudman_reports::organisation_id,
                huvudman_reports::created_at,
            ))
            .load(conn)?;
    let mut municipalities: Vec<OrganisationId> = reports.iter().map(|r| r.2).collect();
    municipalities.sort();
    municipalities.dedup();
    let mut out = Vec::new();
    for m in municipalities {
        let Some((round, due_on)) = current(conn, m, today)? else {
            continue;
        };
        let written: std::collections::HashSet<HuvudmanReportId> = report_updates::table
            .filter(report_updates::round_id.eq(round))
            .select(report_updates::report_id)
            .load::<HuvudmanReportId>(conn)?
            .into_iter()
            .collect();
        out.extend(
            reports
                .iter()
                .filter(|r| r.2 == m && r.3.date() <= due_on && !written.contains(&r.0))
                .map(|r| r.1),
        );
    }
    Ok(out)
}

/// The principal of the report's school writes an update for the huvudman (1 to 2,000
/// characters), in the round under way if there is one. A 404 for anyone else.
pub fn write_update(conn: &mut DbConn, act: &Act, case: CaseId, body: &str) -> Checked<()> {
    let body = body.trim();
    conn.transaction(|conn| {
        let row: Option<(
            HuvudmanReportId,
            crate::school::ids::SchoolId,
            OrganisationId,
        )> = huvudman_reports::table
            .filter(huvudman_reports::case_id.eq(case))
            .select((
                huvudman_reports::id,
                huvudman_reports::school_id,
                huvudman_reports::organisation_id,
            ))
            .first(conn)
            .optional()?;
        let Some((report, school, municipality)) = row else {
            return Err(AppError::NotFound);
        };
        if !act.actor.roles.principal_of.contains(&school) {
            return Err(AppError::NotFound);
        }
        if body.is_empty() || body.chars().count() > MAX_UPDATE {
            return Ok(Err(
                Refusal::new("report_update_length").with("max", MAX_UPDATE)
            ));
        }
        let round = current(conn, municipality, act.today)?.map(|r| r.0);
        diesel::insert_into(report_updates::table)
            .values((
                report_updates::report_id.eq(report),
                report_updates::round_id.eq(round),
                report_updates::body.eq(body),
                report_updates::written_by.eq(act.actor.id),
                report_updates::written_at.eq(act.now),
            ))
            .execute(conn)?;
        diesel::update(huvudman_reports::table.find(report))
            .set(huvudman_reports::updated_at.eq(act.now))
            .execute(conn)?;
        // what was written stays with the report, not in the log
        let detail = json!({"case_id": case, "round": round});
        audit::acted(
            conn,
            act,
            "report.updated",
            "huvudman_report",
            report,
            detail,
        )?;
        Ok(Ok(()))
    })
}

/// Where a report stands, for the officer's inbox: the round under way and whether the
/// report has its update in it (`None` when it is not in a round), and the principal's
/// latest update.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Mark {
    pub round: Option<(NaiveDate, bool)>,
    pub latest: Option<String>,
}

/// The marks of every report of the municipalities, in a few reads whatever their number.
pub fn inbox_marks(
    conn: &mut DbConn,
    municipalities: &[OrganisationId],
    today: NaiveDate,
) -> AppResult<std::collections::HashMap<HuvudmanReportId, Mark>> {
    let mut out: std::collections::HashMap<HuvudmanReportId, Mark> = Default::default();
    for m in municipalities {
        let Some((round, due_on)) = current(conn, *m, today)? else {
            continue;
        };
        let in_round: Vec<HuvudmanReportId> = huvudman_reports::table
            .filter(huvudman_reports::organisation_id.eq(m))
            .filter(huvudman_reports::status.ne(ReportStatus::Closed))
            .filter(
                huvudman_reports::created_at.lt(due_on
                    .succ_opt()
                    .unwrap_or(due_on)
                    .and_time(chrono::NaiveTime::MIN)),
            )
            .select(huvudman_reports::id)
            .load(conn)?;
        let written: std::collections::HashSet<HuvudmanReportId> = report_updates::table
            .filter(report_updates::round_id.eq(round))
            .select(report_updates::report_id)
            .load::<HuvudmanReportId>(conn)?
            .into_iter()
            .collect();
        for r in in_round {
            out.entry(r).or_default().round = Some((due_on, written.contains(&r)));
        }
    }
    let latest: Vec<(HuvudmanReportId, String)> = report_updates::table
        .inner_join(huvudman_reports::table)
        .filter(huvudman_reports::organisation_id.eq_any(municipalities.to_vec()))
        .select((report_updates::report_id, report_updates::body))
        .order(report_updates::id.desc())
        .load(conn)?;
    for (r, body) in latest {
        let mark = out.entry(r).or_default();
        if mark.latest.is_none() {
            mark.latest = Some(body);
        }
    }
    Ok(out)
}
