//! The report of a started absence investigation to the pupil's home municipality
//! (Skollagen 7 kap. 21–22 §§): when the pupil is registered (SS 12000
//! `Person.addresses[].municipalityCode` of the Folkbokföring address) in another
//! municipality than the huvudman's, the home municipality is told too. Närvaro makes the
//! report as a page for printing and as JSON, and keeps when and how it was sent. A pupil
//! with protected identity is never sent electronically: only "by hand" is recorded and
//! no JSON is made.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::*;
use crate::school::ids::{CaseId, OrganisationId, PupilId, SchoolId};
use crate::school::states::{CaseDecision, SendMethod};
use crate::school::{Act, Checked, Refusal};

impl HomeReport {
    /// The pupil's civic number, which the home municipality needs to know the pupil: None
    /// when the source sent none or it was sealed under an earlier signing secret.
    pub fn civic_no(&self, key: &crate::auth::civic::CivicKey) -> Option<String> {
        self.civic_sealed.as_deref().and_then(|s| key.open(s))
    }
}

/// The report as the page and the JSON give it.
#[derive(Debug, Clone, Serialize)]
pub struct HomeReport {
    pub case: CaseId,
    pub pupil: PupilId,
    pub pupil_name: String,
    /// the pupil's civic number as stored, sealed: [`HomeReport::civic_no`] opens it
    #[serde(skip)]
    pub civic_sealed: Option<String>,
    pub birth_date: Option<NaiveDate>,
    /// a protected identity: sent by hand only, never electronically
    pub by_hand_only: bool,
    pub school: String,
    pub school_unit_code: Option<String>,
    pub class: Option<String>,
    pub huvudman: String,
    pub huvudman_municipality_code: String,
    pub home_municipality_code: String,
    pub started_on: NaiveDate,
    pub deadline: Option<NaiveDate>,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub absent_minutes: i32,
    pub scheduled_minutes: i32,
    pub principal: String,
    /// when and how it was sent, if recorded
    pub sent: Option<(NaiveDate, SendMethod)>,
}

/// The home-municipality report of the case, for the principal of its school (404 for
/// anyone else, and when none is needed: no decision to investigate, the home
/// municipality unknown or the huvudman's own).
pub fn load(conn: &mut DbConn, v: &Viewer, id: CaseId, today: NaiveDate) -> AppResult<HomeReport> {
    type Row = (
        (
            PupilId,
            SchoolId,
            Option<CaseDecision>,
            Option<NaiveDate>,
            Option<NaiveDate>,
        ),
        (NaiveDate, NaiveDate, i32, i32, Option<i64>),
        (
            String,
            String,
            Option<String>,
            Option<NaiveDate>,
            String,
            Option<String>,
        ),
        (String, Option<String>, Option<OrganisationId>),
    );
    let row: Option<Row> = absence_cases::table
        .find(id)
        .inner_join(people::table.on(people::id.eq(absence_cases::pupil_id)))
        .inner_join(organisations::table.on(organisations::id.eq(absence_cases::school_id)))
        .select((
            (
                absence_cases::pupil_id,
                absence_cases::school_id,
                absence_cases::decision,
                absence_cases::decided_on,
                absence_cases::deadline,
            ),
            (
                absence_cases::period_from,
                absence_cases::period_to,
                absence_cases::absent_minutes,
                absence_cases::scheduled_minutes,
                absence_cases::decided_by,
            ),
            (
                people::given_name,
                people::family_name,
                people::civic_sealed,
                people::birth_date,
                people::security_marking,
                people::municipality_code,
            ),
            (
                organisations::name,
                organisations::school_unit_code,
                organisations::parent_id,
            ),
        ))
        .first(conn)
        .optional()?;
    let Some((c, f, p, s)) = row else {
        return Err(AppError::NotFound);
    };
    if !v.roles.principal_of.contains(&c.1) {
        return Err(AppError::NotFound);
    }
    let (Some(CaseDecision::Investigate), Some(started_on)) = (c.2, c.3) else {
        return Err(AppError::NotFound);
    };
    let huvudman: Option<(String, Option<String>)> = match s.2 {
        Some(m) => organisations::table
            .find(m)
            .select((organisations::name, organisations::municipality_code))
            .first(conn)
            .optional()?,
        None => None,
    };
    let (Some((huvudman, Some(own))), Some(home)) = (huvudman, p.5) else {
        return Err(AppError::NotFound);
    };
    if own == home {
        return Err(AppError::NotFound);
    }
    let principal: String = match f.4 {
        Some(by) => people::table
            .find(by)
            .select((people::given_name, people::family_name))
            .first::<(String, String)>(conn)
            .map(|(g, fam)| crate::school::full_name(&g, &fam))?,
        None => String::new(),
    };
    let sent = home_reports::table
        .filter(home_reports::case_id.eq(id))
        .select((home_reports::sent_on, home_reports::method))
        .first::<(NaiveDate, SendMethod)>(conn)
        .optional()?;
    let class = crate::insight::statistics::overview::classes_on(conn, &[c.0], today)?.remove(&c.0);
    Ok(HomeReport {
        case: id,
        pupil: c.0,
        pupil_name: crate::school::full_name(&p.0, &p.1),
        civic_sealed: p.2,
        birth_date: p.3,
        by_hand_only: p.4 != "none",
        school: s.0,
        school_unit_code: s.1,
        class,
        huvudman,
        huvudman_municipality_code: own,
        home_municipality_code: home,
        started_on,
        deadline: c.4,
        period_from: f.0,
        period_to: f.1,
        absent_minutes: f.2,
        scheduled_minutes: f.3,
        principal,
        sent,
    })
}

/// Records when and how the report was sent (the principal; again replaces it). A pupil
/// with protected identity: by hand only.
pub fn record_sent(
    conn: &mut DbConn,
    act: &Act,
    id: CaseId,
    sent_on: NaiveDate,
    method: SendMethod,
) -> Checked<()> {
    conn.transaction(|conn| {
        let r = load(conn, act.actor, id, act.today)?;
        if r.by_hand_only && method != SendMethod::Hand {
            return Ok(Err(Refusal::new("home_report_by_hand")));
        }
        if sent_on > act.today || sent_on < r.started_on {
            return Ok(Err(Refusal::new("home_report_sent_on_range")));
        }
        diesel::delete(home_reports::table.filter(home_reports::case_id.eq(id))).execute(conn)?;
        diesel::insert_into(home_reports::table)
            .values((
                home_reports::case_id.eq(id),
                home_reports::municipality_code.eq(&r.home_municipality_code),
                home_reports::sent_on.eq(sent_on),
                home_reports::method.eq(method),
                home_reports::recorded_by.eq(act.actor.id),
                home_reports::recorded_at.eq(act.now),
            ))
            .execute(conn)?;
        let detail = json!({"pupil_id": r.pupil, "method": method.as_str()});
        audit::acted(conn, act, "home_report.sent", "absence_case", id, detail)?;
        Ok(Ok(()))
    })
}
