//! GET /api/v1/signals: the open early signals of absence of the pupils the caller follows
//! up, as `/signals` lists them (the principal's schools, the mentor's groups; anyone else
//! gets 404).

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::follow_up::signals;
use crate::state::AppState;

pub async fn signals(state: web::Data<AppState>, v: Viewer) -> AppResult<HttpResponse> {
    if !signals::follows_up(&v) {
        return Err(AppError::NotFound);
    }
    let (today, tz) = (state.today(), state.config.timezone);
    let lines = state
        .db(move |conn| signals::for_viewer(conn, &v, today))
        .await?;
    let out: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "pupil": {"id": l.pupil, "name": l.name, "class": l.class},
                "school": l.school,
                "status": l.status,
                "case_id": l.case,
                // school-local, as every time of the API
                "raised_at": crate::school::calendar::to_local(tz, l.raised_at)
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string(),
                "period": {"from": l.period_from, "to": l.period_to},
                "absent_minutes": l.absent_minutes,
                "scheduled_minutes": l.scheduled_minutes,
                "days_in_row": l.days_in_row,
                "pattern": l.pattern,
                "rule": {
                    "id": l.rule.id,
                    "kind": l.rule.kind,
                    "counts": l.rule.counts,
                    "window_days": l.rule.window_days,
                    "share_pct": l.rule.share_pct,
                    "days": l.rule.days,
                },
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "signals": out })))
}
