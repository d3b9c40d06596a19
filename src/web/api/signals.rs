//! GET /api/v1/signals: the open early signals of absence of the pupils the caller follows
//! up, as `/signals` lists them (the principal's schools, the mentor's groups; anyone else
//! gets 404), of one school or class when asked.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::follow_up::signals;
use crate::state::AppState;

/// Which signals: of one school (its id) and of one class (its name), or all.
#[derive(Deserialize, Default)]
pub struct Filter {
    school: Option<String>,
    class: Option<String>,
}

pub async fn signals(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Filter>,
) -> AppResult<HttpResponse> {
    if !signals::follows_up(&v) {
        return Err(AppError::NotFound);
    }
    let school: Option<crate::school::ids::SchoolId> = match q.school.as_deref() {
        None | Some("") => None,
        Some(s) => Some(s.parse().map_err(|_| {
            AppError::invalid(
                crate::error::Code::BadId,
                crate::i18n::Lang::from_request(&req).pick(
                    "school är en skolas id, ett positivt heltal.",
                    "school is a school's id, a positive whole number.",
                ),
            )
        })?),
    };
    let class = q
        .class
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let (today, tz) = (state.today(), state.config.timezone);
    let lines = state
        .db(move |conn| signals::for_viewer(conn, &v, today))
        .await?;
    let out: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.in_view(school, class.as_deref()))
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
