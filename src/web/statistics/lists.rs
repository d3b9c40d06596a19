//! Lists to act on: lessons without a roll call per teacher, and the CSN list.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Datelike;
use maud::html;

use super::csv::csv;
use super::parts::*;
use super::{csv_choice, school_param, shown, staff_only, unknown_table, StatsQuery};
use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::insight::statistics::overview;
use crate::insight::statistics::{self, Key};
use crate::state::AppState;
use crate::web::common::html_with_status;
use crate::web::layout::{self, PageCtx};

/// GET /statistics/unreported: lessons without a roll call, per teacher.
pub async fn unreported(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    staff_only(&v)?;
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let today = state.today();
    let shown = shown(&q, today, lang)?;
    let period = shown.period;
    let wanted = school_param(&q, lang)?;
    let (schools, school, rows) = state
        .db(move |conn| {
            let schools = overview::schools_of(conn, &v)?;
            let id =
                overview::chosen_school(conn, &v, wanted, &schools)?.ok_or(AppError::NotFound)?;
            let rows = statistics::unreported(conn, id, period, today)?;
            Ok((schools, id, rows))
        })
        .await?;
    if let Some(choice) = csv_choice(&q) {
        if choice != "teachers" {
            return Err(unknown_table(lang));
        }
        let head = [
            lang.pick("Lärare", "Teacher"),
            lang.pick("Orapporterade lektioner", "Unreported lessons"),
            lang.pick("Minuter", "Minutes"),
            lang.pick("Äldsta", "Oldest"),
        ];
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.teacher.clone(),
                    r.lessons.to_string(),
                    r.minutes.to_string(),
                    r.oldest.to_string(),
                ]
            })
            .collect();
        return Ok(csv(
            &format!("orapporterade-{}_{}.csv", period.from, period.to),
            &head,
            &body,
        ));
    }
    let title = ctx.t("Orapporterade lektioner", "Unreported lessons");
    let body = html! {
        h1 { (title) }
        (period_form(&ctx, "/statistics/unreported", &shown, &schools, Some(school), html! {}))
        (period_line(&ctx, &shown, today))
        p.muted { (ctx.t("Lektioner som har varit (till och med i går) och inte är inställda, utan närvarorapport. En vikaries lektion räknas på vikarien.", "Lessons that have taken place (up to yesterday), not cancelled, without a roll call. A substitute's lesson counts for the substitute.")) }
        @if rows.is_empty() {
            p.ok { (ctx.t("Alla lektioner är rapporterade.", "Every lesson is reported.")) }
        } @else {
            div.scroll tabindex="0" {
                table {
                    thead { tr {
                        th scope="col" { (ctx.t("Lärare", "Teacher")) }
                        th scope="col" { (ctx.t("Lektioner", "Lessons")) }
                        th scope="col" { (ctx.t("Tid", "Time")) }
                        th scope="col" { (ctx.t("Äldsta", "Oldest")) }
                    } }
                    tbody {
                        @for r in &rows {
                            tr { th scope="row" { (r.teacher) } td { (r.lessons) } td { (hours(lang, r.minutes)) } td { (r.oldest) } }
                        }
                    }
                }
            }
        }
        p { a.csv href={"/statistics/unreported?school=" (school) "&" (shown.query()) "&csv=teachers"} { (ctx.t("Hämta som CSV", "Download as CSV")) } }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

/// GET /statistics/csn: upper secondary pupils with 4 hours or more of invalid absence in a
/// calendar month.
pub async fn csn(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    staff_only(&v)?;
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let today = state.today();
    let tz = state.config.timezone;
    let wanted = school_param(&q, lang)?;
    let month = match q.month.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => statistics::month(today.year(), today.month()),
        Some(m) => crate::school::clock::parse_day(&format!("{m}-01"))
            .and_then(|d| statistics::month(d.year(), d.month())),
    }
    .ok_or_else(|| {
        AppError::invalid(
            Code::BadMonth,
            lang.pick(
                "Månaden skrivs ÅÅÅÅ-MM, till exempel 2026-10.",
                "The month is written YYYY-MM, for example 2026-10.",
            ),
        )
    })?;
    let (schools, school, form, rows, hide) = state
        .db(move |conn| {
            let schools: Vec<_> = overview::schools_of(conn, &v)?;
            let id = wanted
                .or(schools
                    .iter()
                    .find(|s| statistics::is_upper_secondary(s.2.as_deref()))
                    .map(|s| s.0))
                .or(schools.first().map(|s| s.0))
                .ok_or(AppError::NotFound)?;
            access::school(conn, &v, id)?;
            let form = overview::school_form(conn, id)?;
            let rows = if statistics::is_upper_secondary(form.as_deref()) {
                statistics::csn(conn, tz, id, month, today)?
            } else {
                Vec::new()
            };
            let hide = !v.roles.principal_of.contains(&id);
            Ok((schools, id, form, rows, hide))
        })
        .await?;
    let ym = format!("{:04}-{:02}", month.from.year(), month.from.month());
    if let Some(choice) = csv_choice(&q) {
        if choice != "pupils" {
            return Err(unknown_table(lang));
        }
        return Ok(csn_csv(lang, hide, &ym, &rows));
    }
    let title = ctx.t("CSN-lista", "CSN list");
    let body = html! {
        h1 { (title) }
        form.card.filters method="get" action="/statistics/csn" {
            @if schools.len() > 1 {
                label for="f-school" { (ctx.t("Skola", "School")) }
                select #f-school name="school" {
                    @for (id, name, _) in &schools { option value=(id) selected[*id == school] { (name) } }
                }
            }
            label for="f-month" { (ctx.t("Månad", "Month")) }
            input #f-month type="month" name="month" value=(ym) pattern="[0-9]{4}-[0-9]{2}";
            div.actions { button type="submit" { (ctx.t("Visa", "Show")) } }
        }
        @if !statistics::is_upper_secondary(form.as_deref()) {
            p.notice { (ctx.t("CSN-listan gäller gymnasieskolan; den här skolan är inte en gymnasieskola.", "The CSN list is for upper secondary schools; this school is not one.")) }
        } @else {
            p { (ctx.t("Elever med minst 4 timmar ogiltig frånvaro under", "Pupils with at least 4 hours of invalid absence in")) " " (ym) ". "
                span.muted { (ctx.t("Skolan rapporterar ogiltig frånvaro till CSN när den upprepas (kod 51).", "The school reports repeated invalid absence to CSN (code 51).")) } }
            @if rows.is_empty() {
                p.ok { (ctx.t("Ingen elev når gränsen.", "No pupil reaches the limit.")) }
            } @else {
                div.scroll tabindex="0" {
                    table {
                        thead { tr {
                            th scope="col" { (ctx.t("Elev", "Pupil")) }
                            th scope="col" { (ctx.t("Ogiltig frånvaro", "Invalid absence")) }
                            th scope="col" { (ctx.t("Dagar", "Days")) }
                        } }
                        tbody {
                            @for r in &rows {
                                @let id = match r.row.key { Key::Id(id) => id, _ => 0 };
                                tr {
                                    th scope="row" { a href={"/statistics/pupils/" (id) "?period=custom&from=" (month.from) "&to=" (month.to)} { (crate::web::statistics::labels::row_label(&r.row, lang, hide)) } }
                                    td { (hours(lang, r.row.figures.invalid_minutes)) }
                                    td { (r.days) }
                                }
                            }
                        }
                    }
                }
            }
            p { a.csv href={"/statistics/csn?school=" (school) "&month=" (ym) "&csv=pupils"} { (ctx.t("Hämta som CSV", "Download as CSV")) } }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

/// The CSN list as a CSV file.
fn csn_csv(lang: Lang, hide: bool, ym: &str, rows: &[statistics::CsnRow]) -> HttpResponse {
    let head = [
        lang.pick("Elev", "Pupil"),
        lang.pick("Ogiltig frånvaro, minuter", "Invalid absence, minutes"),
        lang.pick("Dagar med ogiltig frånvaro", "Days with invalid absence"),
        lang.pick("Schemalagda minuter", "Scheduled minutes"),
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                crate::web::statistics::labels::row_label(&r.row, lang, hide),
                r.row.figures.invalid_minutes.to_string(),
                r.days.to_string(),
                r.row.figures.scheduled_minutes.to_string(),
            ]
        })
        .collect();
    csv(&format!("csn-{ym}.csv"), &head, &body)
}
