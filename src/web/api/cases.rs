//! GET /api/v1/cases: the open absence investigations the caller works with, as `/cases`
//! lists them (the principal's schools, elevhälsan's schools, the mentor's pupils; anyone
//! else gets 404), and GET /api/v1/cases/{id}: one case's fields that are not sensitive.
//! No free text of a case leaves through the API — no reasons, notes, conclusions or
//! health notes — only codes, dates and figures.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::auth::Viewer;
use crate::error::AppResult;
use crate::follow_up::cases;
use crate::school::ids::CaseId;
use crate::state::AppState;

/// GET /api/v1/cases
pub async fn list(state: web::Data<AppState>, v: Viewer) -> AppResult<HttpResponse> {
    crate::web::cases::works_cases(&v)?;
    let (today, tz) = (state.today(), state.config.timezone);
    let lines = state
        .db(move |conn| cases::open_for_viewer(conn, &v, today))
        .await?;
    let out: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "pupil": {"id": l.pupil, "name": l.name},
                "school": l.school,
                "status": l.status,
                "opened_at": local(tz, l.opened_at),
                "decision": l.decision,
                "deadline": l.deadline,
                "overdue": l.overdue,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "cases": out })))
}

/// School-local, as every time of the API.
fn local(tz: chrono_tz::Tz, t: chrono::NaiveDateTime) -> String {
    crate::school::calendar::to_local(tz, t)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// GET /api/v1/cases/{id}
pub async fn one(
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
) -> AppResult<HttpResponse> {
    crate::web::cases::works_cases(&v)?;
    let (today, tz, id) = (state.today(), state.config.timezone, id.into_inner());
    let c = state
        .db(move |conn| cases::load(conn, &v, id, today))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "id": c.id,
        "pupil": {"id": c.pupil, "name": c.pupil_name, "class": c.class},
        "school": c.school,
        "status": c.status,
        "opened_at": local(tz, c.opened_at),
        "period": {"from": c.period_from, "to": c.period_to},
        "absent_minutes": c.absent_minutes,
        "scheduled_minutes": c.scheduled_minutes,
        "decision": c.decision,
        "decided_on": c.decided_on,
        "deadline": c.deadline,
        "overdue": c.overdue,
        "follow_up_on": c.follow_up_on,
        "special_support": c.special_support,
        "outcome": c.outcome,
        "closed_at": c.closed_at.map(|t| local(tz, t)),
        "participants": c.participants.iter().map(|p| json!({"person_id": p.person, "name": p.name, "part": p.part})).collect::<Vec<_>>(),
        "steps": c.steps.iter().map(|s| json!({"taken_on": s.taken_on, "kind": s.kind})).collect::<Vec<_>>(),
        "report_to_huvudman": c.report.as_ref().map(|r| json!({"status": r.status})),
    })))
}
