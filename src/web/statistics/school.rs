//! The dashboard (one school's key figures, weekly trend and classes; the administrator's
//! overview of every school) and the pupils over a threshold.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::csv::csv_of;
use super::parts::*;
use super::{school_param, shown, staff_only, threshold_param, Shown, StatsQuery};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::insight::statistics::overview::{self, SchoolOverview};
use crate::insight::statistics::{self, Figures, Key, Row, Scope};
use crate::school::ids::PupilId;
use crate::state::AppState;
use crate::web::common::html_with_status;
use crate::web::layout::{self, PageCtx};

/// The dashboard shows one school, or (the administrator, no school chosen) every school.
enum Shows {
    School(SchoolOverview),
    Municipality { total: Figures, schools: Vec<Row> },
}

/// GET /statistics: the school's dashboard; the administrator's overview of every school.
pub async fn dashboard(
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
    let shown = shown(&q, today, lang)?;
    let period = shown.period;
    let wanted = school_param(&q, lang)?;
    let is_admin = v.roles.is_admin();
    let (schools, shows) = state
        .db(move |conn| {
            let schools = overview::schools_of(conn, &v)?;
            let school = match wanted {
                None if v.roles.is_admin() => None,
                _ => overview::chosen_school(conn, &v, wanted, &schools)?,
            };
            let shows = match school {
                Some(id) => Shows::School(overview::school_overview(conn, tz, id, period, today)?),
                None => {
                    let rows = overview::municipality_schools(conn, tz, &v, period, today)?;
                    Shows::Municipality {
                        total: statistics::total(&rows),
                        schools: rows,
                    }
                }
            };
            Ok((schools, shows))
        })
        .await?;
    let stamp = format!("{}_{}", period.from, period.to);
    let none: &[Row] = &[];
    let (weeks, classes, per_school) = match &shows {
        Shows::School(o) => (o.weeks.as_slice(), o.classes.as_slice(), none),
        Shows::Municipality { schools, .. } => (none, none, schools.as_slice()),
    };
    let tables = [
        (
            "weeks",
            format!("franvaro-veckor-{stamp}.csv"),
            lang.pick("Vecka", "Week"),
            weeks,
        ),
        (
            "classes",
            format!("franvaro-klasser-{stamp}.csv"),
            lang.pick("Klass", "Class"),
            classes,
        ),
        (
            "schools",
            format!("franvaro-skolor-{stamp}.csv"),
            lang.pick("Skola", "School"),
            per_school,
        ),
    ];
    // the dashboard's tables name classes and schools, never pupils
    if let Some(file) = csv_of(&q, lang, false, &tables) {
        return file;
    }
    let title = ctx.t("Frånvarostatistik", "Absence statistics");
    let body = match &shows {
        Shows::School(o) => html! {
            h1 { (title) ": " (o.name) }
            (period_form(&ctx, "/statistics", &shown, &schools, Some(o.id), html! {}))
            (period_line(&ctx, &shown, today))
            (school_body(&ctx, &shown, o, is_admin))
        },
        Shows::Municipality {
            total,
            schools: rows,
        } => html! {
            h1 { (title) }
            (period_form(&ctx, "/statistics", &shown, &schools, None, html! {}))
            (period_line(&ctx, &shown, today))
            h2 { (ctx.t("Kommunen", "The municipality")) }
            (key_figures(&ctx, total))
            h2 { (ctx.t("Skolor", "Schools")) }
            (rows_table(&ctx, ctx.t("Skola", "School"), rows, |r| match r.key { Key::Id(id) => Some(format!("/statistics?school={id}&{}", shown.query())), _ => None }, false))
            p { a.csv href={"/statistics?" (shown.query()) "&csv=schools"} { (ctx.t("Hämta skolorna som CSV", "Download the schools as CSV")) } }
        },
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

/// The dashboard of one school, below the period form.
fn school_body(ctx: &PageCtx, shown: &Shown, o: &SchoolOverview, is_admin: bool) -> Markup {
    let q_all = format!("school={}&{}", o.id, shown.query());
    html! {
        nav.sub aria-label=(ctx.t("Mer statistik", "More statistics")) {
            a href={"/statistics/pupils?" (q_all)} { (ctx.t("Elever över gränsen", "Pupils over the threshold")) " (" (o.over) ")" }
            a href={"/statistics/unreported?" (q_all)} { (ctx.t("Orapporterade lektioner", "Unreported lessons")) }
            @if statistics::is_upper_secondary(o.form.as_deref()) {
                a href={"/statistics/csn?school=" (o.id)} { (ctx.t("CSN-lista", "CSN list")) }
            }
            @if is_admin { a href={"/statistics?" (shown.query())} { (ctx.t("Alla skolor", "All schools")) } }
        }
        h2 { (ctx.t("Nyckeltal", "Key figures")) }
        (key_figures(ctx, &o.total))
        p { (o.over) " " (ctx.t("elever har minst", "pupils have at least")) " " (o.threshold) " % " (ctx.t("frånvaro under perioden.", "absence in the period.")) }
        h2 { (ctx.t("Frånvaro per vecka", "Absence per week")) }
        (trend_svg(ctx, &o.weeks))
        details {
            summary { (ctx.t("Veckorna som tabell", "The weeks as a table")) }
            (rows_table(ctx, ctx.t("Vecka", "Week"), &o.weeks, |_| None, false))
        }
        p { a.csv href={"/statistics?" (q_all) "&csv=weeks"} { (ctx.t("Hämta veckorna som CSV", "Download the weeks as CSV")) } }
        h2 { (ctx.t("Klasser efter frånvaro", "Classes by absence")) }
        (rows_table(ctx, ctx.t("Klass", "Class"), &o.classes, |r| match r.key { Key::Id(id) if id > 0 => Some(format!("/statistics/groups/{id}?{}", shown.query())), _ => None }, false))
        p { a.csv href={"/statistics?" (q_all) "&csv=classes"} { (ctx.t("Hämta klasserna som CSV", "Download the classes as CSV")) } }
    }
}

/// GET /statistics/pupils: pupils at or over a threshold, each with their weekly trend.
pub async fn over_threshold(
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
    let shown = shown(&q, today, lang)?;
    let period = shown.period;
    let wanted = school_param(&q, lang)?;
    let raw_threshold = q.threshold.clone();
    let (schools, school, threshold, rows, trends, hide, classes) = state
        .db(move |conn| {
            let schools = overview::schools_of(conn, &v)?;
            let id =
                overview::chosen_school(conn, &v, wanted, &schools)?.ok_or(AppError::NotFound)?;
            let default = overview::alert_threshold(conn, id)?;
            let threshold = threshold_param(raw_threshold.as_deref(), default, lang)?;
            let (rows, trends) =
                overview::over_threshold(conn, tz, Scope::School(id), period, threshold, today)?;
            let hide = !v.roles.principal_of.contains(&id);
            let ids: Vec<PupilId> = rows.iter().filter_map(Row::pupil).collect();
            let classes = overview::classes_on(conn, &ids, period.to.min(today))?;
            Ok((schools, id, threshold, rows, trends, hide, classes))
        })
        .await?;
    // a protected pupil's class is hidden wherever the name is
    let class_of = |r: &Row| {
        r.pupil()
            .filter(|_| !(r.protected && hide))
            .and_then(|id| classes.get(&id).cloned())
            .unwrap_or_default()
    };
    let stamp = format!("{}_{}", period.from, period.to);
    let file = format!("elever-over-{threshold}-procent-{stamp}.csv");
    match super::csv_choice(&q) {
        Some("pupils") => {
            return Ok(super::csv::pupils_with_class_csv(
                &file, lang, &rows, class_of, hide,
            ))
        }
        Some(_) => return Err(super::unknown_table(lang)),
        None => {}
    }
    let title = ctx.t(
        "Elever över frånvarogränsen",
        "Pupils over the absence threshold",
    );
    let base = format!("/statistics/pupils?school={school}&{}", shown.query());
    let body = html! {
        h1 { (title) }
        (period_form(&ctx, "/statistics/pupils", &shown, &schools, Some(school), html! {
            label for="f-threshold" { (ctx.t("Gräns, procent", "Threshold, per cent")) }
            input #f-threshold type="number" name="threshold" min="1" max="100" value=(threshold);
        }))
        (period_line(&ctx, &shown, today))
        nav.sub aria-label=(ctx.t("Snabbval", "Quick choices")) {
            @for t in [10, 15, 20] {
                @if t == threshold { strong aria-current="true" { (t) " %" } }
                @else { a href={(base) "&threshold=" (t)} { (t) " %" } }
            }
            a href={"/statistics?school=" (school) "&" (shown.query())} { (ctx.t("Till skolans översikt", "To the school's overview")) }
        }
        p { (rows.len()) " " (ctx.t("elever har minst", "pupils have at least")) " " (threshold) " % " (ctx.t("frånvaro.", "absence.")) }
        div.scroll tabindex="0" {
            table.figures {
                thead { tr { th scope="col" { (ctx.t("Elev", "Pupil")) } th scope="col" { (ctx.t("Klass", "Class")) } (figure_heads(&ctx)) th scope="col" { (ctx.t("Per vecka", "Per week")) } } }
                tbody {
                    @for r in &rows {
                        @let id = match r.key { Key::Id(id) => id, _ => 0 };
                        tr {
                            th scope="row" { a href={"/statistics/pupils/" (id) "?" (shown.query())} { (crate::web::statistics::labels::row_label(r, lang, hide)) } }
                            td { (class_of(r)) }
                            (figure_cells(lang, &r.figures))
                            td { (sparkline(lang, trends.get(&id).map(Vec::as_slice).unwrap_or(&[]))) }
                        }
                    }
                }
            }
        }
        p { a.csv href={(base) "&threshold=" (threshold) "&csv=pupils"} { (ctx.t("Hämta listan som CSV", "Download the list as CSV")) } }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}
