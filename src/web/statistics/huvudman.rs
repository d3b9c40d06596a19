//! The huvudman's page (`/huvudman/schools`): every school side by side for a period within
//! one school year (absence, valid and invalid, reporting rate, pupils at or over the
//! huvudman's threshold), the weeks of all schools as a chart with its table, one school's
//! weeks one click away; as CSV (`?csv=schools`, `?csv=weeks`) and JSON
//! (`/api/v1/huvudman/schools`). For the municipality's administrators and the huvudman's
//! case officers; anyone else gets a 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde_json::{json, Value};

use super::csv::{figure_csv, figure_head};
use super::parts::*;
use super::{csv_choice, csv_file, school_param, shown, unknown_table, Shown, StatsQuery};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::insight::statistics::overview::{self, HuvudmanOverview, HuvudmanSchool, YearGroupRow};
use crate::insight::statistics::{Figures, Key, Row};
use crate::school::ids::OrganisationId;
use crate::state::AppState;
use crate::web::common::html_with_status;
use crate::web::layout::{self, PageCtx};

/// The municipalities the viewer follows up: as administrator or as the huvudman's officer.
fn followed(v: &Viewer) -> AppResult<Vec<OrganisationId>> {
    let mut m = v.roles.admin_of.clone();
    m.extend(v.roles.officer_of.iter().copied());
    m.sort();
    m.dedup();
    if m.is_empty() {
        Err(AppError::NotFound)
    } else {
        Ok(m)
    }
}

/// The overview and, when one was asked for, one school's weeks.
struct Loaded {
    shown: Shown,
    overview: HuvudmanOverview,
    school: Option<(HuvudmanSchool, Vec<Row>)>,
}

async fn load(state: &AppState, v: &Viewer, q: &StatsQuery, lang: Lang) -> AppResult<Loaded> {
    let municipalities = followed(v)?;
    let today = state.today();
    let tz = state.config.timezone;
    let mut shown = shown(q, today, lang)?;
    shown.period = shown.period.within_school_year()?;
    let period = shown.period;
    let wanted = school_param(q, lang)?;
    let (overview, school) = state
        .db(move |conn| {
            let o = overview::huvudman_overview(conn, tz, &municipalities, period, today)?;
            let school = match wanted {
                None => None,
                Some(id) => {
                    // a school of another huvudman is not there to be shown
                    let s = o
                        .schools
                        .iter()
                        .find(|s| s.id == id)
                        .cloned()
                        .ok_or(AppError::NotFound)?;
                    let weeks = overview::school_overview(conn, tz, id, period, today)?.weeks;
                    Some((s, weeks))
                }
            };
            Ok((o, school))
        })
        .await?;
    Ok(Loaded {
        shown,
        overview,
        school,
    })
}

/// GET /huvudman/schools
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let is_admin = v.roles.is_admin();
    let today = state.today();
    let l = load(&state, &v, &q, lang).await?;
    if let Some(table) = csv_choice(&q) {
        return csv_of(lang, table, &l);
    }
    let o = &l.overview;
    let title = ctx.t("Huvudmannens översikt", "The huvudman's overview");
    let body = html! {
        h1 { (title) }
        (period_form(&ctx, "/huvudman/schools", &l.shown, &[], None, html! {}))
        (period_line(&ctx, &l.shown, today))
        h2 { (ctx.t("Alla skolor", "All schools")) }
        (key_figures(&ctx, &o.total))
        (schools_table(&ctx, &l.shown, o))
        p { a.csv href={"/huvudman/schools?" (l.shown.query()) "&csv=schools"} { (ctx.t("Hämta skolorna som CSV", "Download the schools as CSV")) } }
        h2 #weeks { (ctx.t("Frånvaro per vecka, alla skolor", "Absence per week, all schools")) }
        (trend_svg(&ctx, &o.weeks))
        (rows_table(&ctx, ctx.t("Vecka", "Week"), &o.weeks, |_| None, false))
        p { a.csv href={"/huvudman/schools?" (l.shown.query()) "&csv=weeks"} { (ctx.t("Hämta veckorna som CSV", "Download the weeks as CSV")) } }
        (years_table(&ctx, &l.shown, o))
        @if let Some((s, weeks)) = &l.school {
            section aria-labelledby="school" {
                h2 #school { (s.name) ": " (ctx.t("veckor", "weeks")) }
                (key_figures(&ctx, &s.figures))
                (trend_svg(&ctx, weeks))
                (rows_table(&ctx, ctx.t("Vecka", "Week"), weeks, |_| None, false))
                @if is_admin {
                    p { a href={"/statistics?school=" (s.id) "&" (l.shown.query())} { (ctx.t("Skolans statistik: klasser och elever", "The school's statistics: classes and pupils")) } }
                }
            }
        }
        p { a href="/huvudman/term-report" { (ctx.t("Terminsrapport för nationell statistik", "Term report for national statistics")) } }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

fn schools_table(ctx: &PageCtx, shown: &Shown, o: &HuvudmanOverview) -> Markup {
    let lang = ctx.lang;
    html! {
        div.scroll tabindex="0" {
            table.figures {
                caption { (ctx.t("Skolorna sida vid sida. Gränsen för elever med hög frånvaro: ", "The schools side by side. The threshold for pupils with high absence: ")) (o.threshold) " %" }
                thead { tr {
                    th scope="col" { (ctx.t("Skola", "School")) }
                    (figure_heads(ctx))
                    th scope="col" { (ctx.t("Elever över gränsen", "Pupils over the threshold")) }
                } }
                tbody {
                    @for s in &o.schools {
                        tr {
                            th scope="row" { a href={"/huvudman/schools?" (shown.query()) "&school=" (s.id) "#school"} { (s.name) } }
                            (figure_cells(lang, &s.figures))
                            td { (s.over) }
                        }
                    }
                }
            }
        }
    }
}

/// A stored school form in words.
pub(in crate::web) fn form_words(form: Option<&str>, lang: Lang) -> &'static str {
    match form {
        Some("forskoleklass") => lang.pick("Förskoleklass", "Preschool class"),
        Some("grundskola") => lang.pick("Grundskola", "Compulsory school"),
        Some("anpassad_grundskola") => {
            lang.pick("Anpassad grundskola", "Adapted compulsory school")
        }
        Some("specialskola") => lang.pick("Specialskola", "Special school"),
        Some("gymnasieskola") => lang.pick("Gymnasieskola", "Upper secondary school"),
        Some("anpassad_gymnasieskola") => {
            lang.pick("Anpassad gymnasieskola", "Adapted upper secondary school")
        }
        _ => lang.pick("Utan skolform", "No school form"),
    }
}

/// A year group's how-many-th year of schooling at the start of the period, when it has one.
fn year_number(r: &YearGroupRow, shown: &Shown) -> Option<i32> {
    Some(crate::school::year_groups::school_year_number(
        r.form.as_deref()?,
        r.year?,
        shown.period.from,
    ))
}

/// By school form and year group, with each year group's school year number beside it, so
/// a cohort can be followed across the ten-year compulsory school.
fn years_table(ctx: &PageCtx, shown: &Shown, o: &HuvudmanOverview) -> Markup {
    let lang = ctx.lang;
    html! {
        h2 #years { (ctx.t("Per skolform och årskurs", "By school form and year group")) }
        p { (ctx.t(
            "Skolår i ordning är vilket år i skolan årskursen är, förskoleklassen medräknad. Från hösten 2028 flyttas alla årskurser upp ett steg (tioårig grundskola); talet följer samma elever över bytet.",
            "The school year number is which year of schooling the year group is, förskoleklass counted. From the autumn of 2028 every year group moves up one (the ten-year compulsory school); the number follows the same pupils across the change.")) }
        div.scroll tabindex="0" {
            table.figures {
                thead { tr {
                    th scope="col" { (ctx.t("Skolform", "School form")) }
                    th scope="col" { (ctx.t("Årskurs", "Year group")) }
                    th scope="col" { (ctx.t("Skolår i ordning", "School year number")) }
                    (figure_heads(ctx))
                } }
                tbody {
                    @for r in &o.years {
                        tr {
                            th scope="row" { (form_words(r.form.as_deref(), lang)) }
                            td { @match r.year { Some(y) => { (y) }, None => { (ctx.t("utan klass", "no class")) } } }
                            td { @match year_number(r, shown) { Some(n) => { (n) }, None => { "–" } } }
                            (figure_cells(lang, &r.figures))
                        }
                    }
                }
            }
        }
    }
}

fn csv_of(lang: Lang, table: &str, l: &Loaded) -> AppResult<HttpResponse> {
    let mut head = vec![""];
    head.extend(figure_head(lang));
    let stamp = format!("{}_{}", l.shown.period.from, l.shown.period.to);
    match table {
        "schools" => {
            head[0] = lang.pick("Skola", "School");
            head.push(lang.pick("Skolenhetskod", "School unit code"));
            head.push(lang.pick("Elever över gränsen", "Pupils over the threshold"));
            let rows: Vec<Vec<String>> = l
                .overview
                .schools
                .iter()
                .map(|s| {
                    let mut r = vec![s.name.clone()];
                    r.extend(figure_csv(lang, &s.figures));
                    r.push(s.unit_code.clone().unwrap_or_default());
                    r.push(s.over.to_string());
                    r
                })
                .collect();
            Ok(csv_file(
                &format!("huvudman-skolor-{stamp}.csv"),
                &head,
                &rows,
            ))
        }
        "weeks" => {
            head[0] = lang.pick("Vecka", "Week");
            let rows: Vec<Vec<String>> = l
                .overview
                .weeks
                .iter()
                .map(|w| {
                    let mut r = vec![week_label(&w.key)];
                    r.extend(figure_csv(lang, &w.figures));
                    r
                })
                .collect();
            Ok(csv_file(
                &format!("huvudman-veckor-{stamp}.csv"),
                &head,
                &rows,
            ))
        }
        _ => Err(unknown_table(lang)),
    }
}

/// "2026-W47"
fn week_label(k: &Key) -> String {
    match k {
        Key::Week(w) => format!("{}-W{:02}", w / 100, w % 100),
        _ => String::new(),
    }
}

fn figures_json(f: &Figures) -> Value {
    json!({
        "scheduled_minutes": f.scheduled_minutes,
        "reported_minutes": f.reported_minutes,
        "valid_minutes": f.valid_minutes,
        "invalid_minutes": f.invalid_minutes,
        "other_minutes": f.other_minutes,
        "absence_pct": f.absence_pct(),
        "valid_pct": f.valid_pct(),
        "invalid_pct": f.invalid_pct(),
        "reporting_rate": f.reporting_rate(),
    })
}

/// GET /api/v1/huvudman/schools: the same as the page, as JSON.
pub async fn api(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let l = load(&state, &v, &q, lang).await?;
    let o = &l.overview;
    let schools: Vec<Value> = o
        .schools
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "name": s.name,
                "school_form": s.form,
                "school_unit_code": s.unit_code,
                "figures": figures_json(&s.figures),
                "pupils_over_threshold": s.over,
            })
        })
        .collect();
    let weeks: Vec<Value> = o
        .weeks
        .iter()
        .map(|w| json!({ "week": week_label(&w.key), "figures": figures_json(&w.figures) }))
        .collect();
    let years: Vec<Value> = o
        .years
        .iter()
        .map(|r| {
            json!({
                "school_form": r.form,
                "year_group": r.year,
                "school_year_number": year_number(r, &l.shown),
                "figures": figures_json(&r.figures),
            })
        })
        .collect();
    let mut body = json!({
        "from": l.shown.period.from,
        "to": l.shown.period.to,
        "threshold_pct": o.threshold,
        "total": figures_json(&o.total),
        "schools": schools,
        "weeks": weeks,
        "year_groups": years,
    });
    if let Some((s, w)) = &l.school {
        body["school"] = json!({
            "id": s.id,
            "weeks": w.iter().map(|w| json!({ "week": week_label(&w.key), "figures": figures_json(&w.figures) })).collect::<Vec<_>>(),
        });
    }
    Ok(HttpResponse::Ok().json(body))
}
