//! The mentor's week: each mentor group with this week's absence per pupil, by surname.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Duration};
use maud::html;
use serde::Deserialize;

use super::common::html_with_status;
use super::layout::{self, PageCtx};
use crate::attendance::weeks;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct WeekQuery {
    week: Option<String>,
}

/// The mentor's view: each mentor group with this week's absence per pupil.
pub async fn mentor(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<WeekQuery>,
) -> AppResult<HttpResponse> {
    if v.roles.mentor_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let ctx = PageCtx::new(&req);
    let today = state.today();
    let monday = match q.week.as_deref() {
        None | Some("") => today - Duration::days(today.weekday().num_days_from_monday().into()),
        Some(w) => crate::school::clock::parse_day(w)
            .filter(|d| d.weekday() == chrono::Weekday::Mon && (*d - today).num_days().abs() < 400)
            .ok_or_else(|| {
                AppError::invalid(
                    Code::BadWeek,
                    ctx.t(
                        "Veckan anges med sin måndag, ÅÅÅÅ-MM-DD, inom ett år.",
                        "Give the week by its Monday, YYYY-MM-DD, within a year.",
                    ),
                )
            })?,
    };
    let until = (monday + Duration::days(6)).min(today);
    let tz = state.config.timezone;
    let groups = v.roles.mentor_of.clone();
    let weeks = state
        .db(move |conn| {
            let mut out = Vec::new();
            for g in groups {
                let name = crate::insight::statistics::overview::group_name(conn, g)?;
                let rows = if until >= monday {
                    weeks::group_week(conn, g, monday, until, tz)?
                } else {
                    Vec::new()
                };
                out.push((name, rows));
            }
            Ok(out)
        })
        .await?;
    let title = ctx.t("Mentorsgrupp", "Mentor group");
    let prev = monday - Duration::days(7);
    let next = monday + Duration::days(7);
    let body = html! {
        h1 { (title) }
        p { (ctx.t("Vecka", "Week")) " " (monday.iso_week().week()) " (" (ctx.lang.days(monday, monday + Duration::days(6))) ")" }
        nav.weeks {
            a href={"/mentor?week=" (prev.format("%Y-%m-%d"))} { span.flip aria-hidden="true" { "←" } " " (ctx.t("Förra veckan", "Previous week")) }
            " "
            @if next <= today { a href={"/mentor?week=" (next.format("%Y-%m-%d"))} { (ctx.t("Nästa vecka", "Next week")) " " span.flip aria-hidden="true" { "→" } } }
        }
        @for (name, rows) in &weeks {
            h2 { (name) }
            div.scroll tabindex="0" {
                table {
                    thead { tr {
                        th scope="col" { (ctx.t("Elev", "Pupil")) }
                        th scope="col" { (ctx.t("Frånvaro", "Absence")) }
                        th scope="col" { (ctx.t("Giltig, min", "Valid, min")) }
                        th scope="col" { (ctx.t("Ogiltig, min", "Invalid, min")) }
                        th scope="col" { (ctx.t("Sen", "Late")) }
                    } }
                    tbody { @for r in rows { tr class=(if r.invalid_minutes > 0 { "warn" } else { "" }) {
                        th scope="row" { a href={"/pupils/" (r.pupil_id)} { (r.name) } }
                        td { (ctx.lang.percent(r.absence_pct(), 0)) }
                        td { (r.valid_minutes) }
                        td { (r.invalid_minutes) }
                        td { (r.lates) }
                    } } }
                }
            }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}
