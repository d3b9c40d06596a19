//! The principal's statistics: the school's dashboard (key figures, the weekly trend as a
//! server-rendered SVG chart, classes ranked by absence), pupils over a threshold, the
//! drill-down school → class → pupil → lessons, unreported lessons per teacher and the CSN
//! list. Every table is also a CSV file (`?csv=…`), made from the same rows as the page;
//! the administrator sees every school of the municipality.

use std::collections::HashMap;
use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::common::html_with_status;
use super::common::parse_id;
use super::layout::{self, PageCtx};
use crate::auth::access;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::schema::*;
use crate::state::AppState;
use crate::statistics::{self, By, Figures, Key, Period, Row, Scope};

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    school: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    threshold: Option<String>,
    month: Option<String>,
    csv: Option<String>,
}

/// The period a page shows: a named one (default: this term) or from–to.
struct Shown {
    period: Period,
    /// "week", "month", "term", "year" or "custom"
    name: String,
}

impl Shown {
    fn query(&self) -> String {
        if self.name == "custom" {
            format!(
                "period=custom&from={}&to={}",
                self.period.from, self.period.to
            )
        } else {
            format!("period={}", self.name)
        }
    }
}

fn shown(q: &StatsQuery, today: NaiveDate, lang: Lang) -> AppResult<Shown> {
    let name = q.period.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let from = q.from.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let to = q.to.as_deref().map(str::trim).filter(|s| !s.is_empty());
    match (name, from, to) {
        (Some("custom") | None, Some(f), Some(t)) => Ok(Shown {
            period: Period::new(
                super::common::parse_date(f, lang.pick("Från", "From"), lang)?,
                super::common::parse_date(t, lang.pick("Till", "To"), lang)?,
                lang,
            )?,
            name: "custom".into(),
        }),
        (Some("custom"), _, _) => Err(AppError::invalid(
            Code::PeriodIncomplete,
            lang.pick(
                "Välj både från- och till-datum för en egen period.",
                "Choose both a from and a to date for a period of your own.",
            ),
        )),
        (name, _, _) => {
            let name = name.unwrap_or("term");
            let period = Period::preset(name, today).ok_or_else(|| {
                AppError::invalid(
                    Code::BadPeriod,
                    lang.pick(
                        "Perioden är vecka, månad, termin, läsår eller egen.",
                        "The period is week, month, term, school year or custom.",
                    ),
                )
            })?;
            Ok(Shown {
                period,
                name: name.into(),
            })
        }
    }
}

fn pct(lang: Lang, v: f64) -> String {
    lang.percent(v, 1)
}

/// "12 h 30 min"
fn hours(lang: Lang, minutes: i64) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} {}", lang.pick("tim", "h")),
        (h, m) => format!("{h} {} {m} min", lang.pick("tim", "h")),
    }
}

/// The schools the viewer has statistics for: (id, name, school form).
fn my_schools(
    conn: &mut crate::db::DbConn,
    v: &Viewer,
) -> AppResult<Vec<(i64, String, Option<String>)>> {
    let mut ids: Vec<i64> = v.roles.principal_of.clone();
    ids.extend(access::admin_schools(conn, v)?.into_iter().map(|s| s.0));
    Ok(organisations::table
        .filter(organisations::id.eq_any(&ids))
        .select((
            organisations::id,
            organisations::name,
            organisations::school_form,
        ))
        .order(organisations::name)
        .load(conn)?)
}

fn school_param(q: &StatsQuery, lang: Lang) -> AppResult<Option<i64>> {
    match q.school.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
            AppError::invalid(
                Code::BadSchool,
                lang.pick(
                    "Skolan anges med sitt id.",
                    "The school is given by its id.",
                ),
            )
        }),
    }
}

/// Only staff with statistics (principals, administrators) reach the school pages.
fn staff_only(v: &Viewer) -> AppResult<()> {
    if v.roles.principal_of.is_empty() && !v.roles.is_admin() {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
}

/// The form that chooses the period (and the school), by GET: works without JavaScript.
fn period_form(
    ctx: &PageCtx,
    action: &str,
    shown: &Shown,
    schools: &[(i64, String, Option<String>)],
    school: Option<i64>,
    extra: Markup,
) -> Markup {
    let options = [
        ("week", ctx.t("Den här veckan", "This week")),
        ("month", ctx.t("Den här månaden", "This month")),
        ("term", ctx.t("Terminen", "This term")),
        ("year", ctx.t("Läsåret", "This school year")),
        (
            "custom",
            ctx.t("Egen period (från–till)", "Own period (from–to)"),
        ),
    ];
    html! {
        form.card.filters method="get" action=(action) {
            @if schools.len() > 1 {
                label for="f-school" { (ctx.t("Skola", "School")) }
                select #f-school name="school" {
                    @for (id, name, _) in schools {
                        option value=(id) selected[Some(*id) == school] { (name) }
                    }
                }
            } @else if let Some(s) = school {
                input type="hidden" name="school" value=(s);
            }
            label for="f-period" { (ctx.t("Period", "Period")) }
            select #f-period name="period" {
                @for (value, label) in options {
                    option value=(value) selected[shown.name == value] { (label) }
                }
            }
            div.pair {
                div {
                    label for="f-from" { (ctx.t("Från (egen period)", "From (own period)")) }
                    input #f-from type="date" name="from" value=(shown.period.from);
                }
                div {
                    label for="f-to" { (ctx.t("Till (egen period)", "To (own period)")) }
                    input #f-to type="date" name="to" value=(shown.period.to);
                }
            }
            (extra)
            div.actions { button type="submit" { (ctx.t("Visa", "Show")) } }
        }
    }
}

fn period_line(ctx: &PageCtx, shown: &Shown, today: NaiveDate) -> Markup {
    html! {
        p.muted {
            (shown.period.from) " – " (shown.period.to)
            @if shown.period.to > today {
                " (" (ctx.t("till och med i dag", "up to today")) ")"
            }
        }
    }
}

fn key_figures(ctx: &PageCtx, f: &Figures) -> Markup {
    let lang = ctx.lang;
    html! {
        dl.facts.key {
            dt { (ctx.t("Frånvaro", "Absence")) }
            dd { strong { (pct(lang, f.absence_pct())) } " " span.muted { "(" (hours(lang, f.absent_minutes())) " " (ctx.t("av", "of")) " " (hours(lang, f.scheduled_minutes)) ")" } }
            dt { (ctx.t("Giltig frånvaro", "Valid absence")) }
            dd { (pct(lang, f.valid_pct())) " " span.muted { "(" (hours(lang, f.valid_minutes)) ")" } }
            dt { (ctx.t("Ogiltig frånvaro", "Invalid absence")) }
            dd { (pct(lang, f.invalid_pct())) " " span.muted { "(" (hours(lang, f.invalid_minutes)) ")" } }
            dt { (ctx.t("Rapporterat", "Reported")) }
            dd { (pct(lang, f.reporting_rate())) " " span.muted { (ctx.t("av lektionstiden", "of lesson time")) } }
        }
    }
}

/// The columns every figures table has, after its first.
fn figure_heads(ctx: &PageCtx) -> Markup {
    html! {
        th scope="col" { (ctx.t("Frånvaro", "Absence")) }
        th scope="col" { (ctx.t("Giltig", "Valid")) }
        th scope="col" { (ctx.t("Ogiltig", "Invalid")) }
        th scope="col" { (ctx.t("Rapporterat", "Reported")) }
        th scope="col" { (ctx.t("Schemalagt", "Scheduled")) }
    }
}

fn figure_cells(lang: Lang, f: &Figures) -> Markup {
    html! {
        td { (pct(lang, f.absence_pct())) }
        td { (pct(lang, f.valid_pct())) }
        td { (pct(lang, f.invalid_pct())) }
        td { (pct(lang, f.reporting_rate())) }
        td { (hours(lang, f.scheduled_minutes)) }
    }
}

/// The weekly trend: valid and invalid absence per week as stacked bars, with the figures
/// in the table that follows it for screen readers.
fn trend_svg(ctx: &PageCtx, weeks: &[Row]) -> Markup {
    if weeks.is_empty() {
        return html! { p.muted { (ctx.t("Inga lektioner under perioden.", "No lessons in the period.")) } };
    }
    let lang = ctx.lang;
    let top = weeks
        .iter()
        .map(|w| w.figures.absence_pct())
        .fold(5.0_f64, f64::max);
    let top = (top / 5.0).ceil() * 5.0;
    let (left, bottom, height) = (36.0, 22.0, 160.0);
    let step = (560.0 / weeks.len() as f64).clamp(8.0, 40.0);
    let width = left + step * weeks.len() as f64 + 8.0;
    let y = |v: f64| 8.0 + height * (1.0 - v / top);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="trend" viewBox="0 0 {width:.0} {total:.0}" role="img" aria-labelledby="trend-title"><title id="trend-title">{title}</title>"##,
        total = height + bottom + 8.0,
        title = html! { (lang.pick("Frånvaro per vecka: giltig och ogiltig, procent av lektionstiden", "Absence per week: valid and invalid, per cent of lesson time")) }.into_string(),
    );
    for i in 0..=4 {
        let v = top * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{width:.0}" y1="{yy:.1}" y2="{yy:.1}" class="grid"/><text x="{tx}" y="{ty:.1}" class="axis" text-anchor="end">{v:.0} %</text>"##,
            yy = y(v),
            tx = left - 4.0,
            ty = y(v) + 4.0,
        );
    }
    for (i, w) in weeks.iter().enumerate() {
        let x = left + step * i as f64 + step * 0.15;
        let bw = step * 0.7;
        let valid = w.figures.valid_pct();
        let invalid = w.figures.invalid_pct();
        let yv = y(valid);
        let yi = y(valid + invalid);
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{yv:.1}" width="{bw:.1}" height="{hv:.1}" class="valid"/><rect x="{x:.1}" y="{yi:.1}" width="{bw:.1}" height="{hi:.1}" class="invalid"/>"##,
            hv = (y(0.0) - yv).max(0.0),
            hi = (yv - yi).max(0.0),
        );
        if let Key::Week(week) = w.key {
            if weeks.len() <= 20 || i % 2 == 0 {
                let _ = write!(
                    svg,
                    r##"<text x="{cx:.1}" y="{ly:.1}" class="axis" text-anchor="middle">{n}</text>"##,
                    cx = x + bw / 2.0,
                    ly = y(0.0) + 16.0,
                    n = week % 100,
                );
            }
        }
    }
    svg.push_str("</svg>");
    html! {
        figure.chart {
            (PreEscaped(svg))
            figcaption {
                span.key.valid { } " " (ctx.t("Giltig", "Valid")) " "
                span.key.invalid { } " " (ctx.t("Ogiltig", "Invalid")) " "
                span.muted { (ctx.t("(veckonummer under staplarna)", "(week numbers under the bars)")) }
            }
        }
    }
}

/// A pupil's weekly absence as a small line, described in words for screen readers.
fn sparkline(lang: Lang, weeks: &[(i32, Figures)]) -> Markup {
    if weeks.is_empty() {
        return html! {};
    }
    let top = weeks
        .iter()
        .map(|w| w.1.absence_pct())
        .fold(20.0_f64, f64::max);
    let step = 100.0 / (weeks.len().max(2) - 1) as f64;
    let mut points = String::new();
    for (i, (_, f)) in weeks.iter().enumerate() {
        let _ = write!(
            points,
            "{:.1},{:.1} ",
            step * i as f64,
            22.0 - 20.0 * f.absence_pct() / top
        );
    }
    let words: Vec<String> = weeks
        .iter()
        .map(|(w, f)| {
            format!(
                "{} {}",
                statistics::week_label(*w, lang),
                pct(lang, f.absence_pct())
            )
        })
        .collect();
    let label = format!(
        "{}: {}",
        lang.pick("Per vecka", "Per week"),
        words.join(", ")
    );
    html! {
        svg.spark viewBox="0 0 100 24" width="100" height="24" role="img" aria-label=(label) {
            polyline points=(points.trim()) fill="none" stroke="currentColor" stroke-width="2" {}
        }
    }
}

/// A CSV file Excel opens right: UTF-8 with a byte-order mark, semicolons (Excel's list
/// separator where the decimal sign is a comma), values that look like formulas quoted.
pub fn csv(filename: &str, head: &[&str], rows: &[Vec<String>]) -> HttpResponse {
    let mut out = String::from("\u{feff}");
    let field = |s: &str| -> String {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
            format!("'{s}")
        } else {
            s.to_string()
        };
        if s.contains([';', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let line = |cells: Vec<String>| cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(";");
    out.push_str(&line(head.iter().map(|h| h.to_string()).collect()));
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push_str("\r\n");
    }
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(out)
}

fn num(lang: Lang, v: f64) -> String {
    let s = format!("{v:.1}");
    match lang {
        Lang::Sv => s.replace('.', ","),
        Lang::En => s,
    }
}

fn figure_head(lang: Lang) -> Vec<&'static str> {
    vec![
        lang.pick("Frånvaro %", "Absence %"),
        lang.pick("Giltig %", "Valid %"),
        lang.pick("Ogiltig %", "Invalid %"),
        lang.pick("Rapporterat %", "Reported %"),
        lang.pick("Schemalagda minuter", "Scheduled minutes"),
        lang.pick("Rapporterade minuter", "Reported minutes"),
        lang.pick("Giltig frånvaro, minuter", "Valid absence, minutes"),
        lang.pick("Ogiltig frånvaro, minuter", "Invalid absence, minutes"),
    ]
}

fn figure_csv(lang: Lang, f: &Figures) -> Vec<String> {
    vec![
        num(lang, f.absence_pct()),
        num(lang, f.valid_pct()),
        num(lang, f.invalid_pct()),
        num(lang, f.reporting_rate()),
        f.scheduled_minutes.to_string(),
        f.reported_minutes.to_string(),
        f.valid_minutes.to_string(),
        f.invalid_minutes.to_string(),
    ]
}

fn rows_csv(
    filename: &str,
    lang: Lang,
    first: &str,
    rows: &[Row],
    hide_protected: bool,
) -> HttpResponse {
    let mut head = vec![first];
    head.extend(figure_head(lang));
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut line = vec![r.label(lang, hide_protected)];
            line.extend(figure_csv(lang, &r.figures));
            line
        })
        .collect();
    csv(filename, &head, &body)
}

fn csv_choice(q: &StatsQuery) -> Option<&str> {
    q.csv.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A figures table a page offers as CSV: (the `csv=` name, the file's name, the first
/// column's heading, the rows).
type CsvTable<'a> = (&'a str, String, &'a str, &'a [Row]);

/// The CSV file `?csv=` asks for among a page's tables; `None` for the page itself.
fn csv_of(
    q: &StatsQuery,
    lang: Lang,
    hide: bool,
    tables: &[CsvTable],
) -> Option<AppResult<HttpResponse>> {
    let choice = csv_choice(q)?;
    Some(match tables.iter().find(|t| t.0 == choice) {
        Some((_, file, first, rows)) => Ok(rows_csv(file, lang, first, rows, hide)),
        None => Err(unknown_table(lang)),
    })
}

fn unknown_table(lang: Lang) -> AppError {
    AppError::invalid(
        Code::BadCsv,
        lang.pick(
            "Den tabellen finns inte som CSV på den här sidan.",
            "That table is not available as CSV on this page.",
        ),
    )
}

/// Rows by absence, highest first.
fn ranked(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| {
        b.figures
            .absence_pct()
            .total_cmp(&a.figures.absence_pct())
            .then(a.name.cmp(&b.name))
    });
    rows
}

struct Dashboard {
    schools: Vec<(i64, String, Option<String>)>,
    school: Option<(i64, String, Option<String>, i32)>,
    total: Figures,
    weeks: Vec<Row>,
    classes: Vec<Row>,
    over: usize,
    /// the administrator's overview: per school
    per_school: Vec<Row>,
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
    let d = state
        .db(move |conn| {
            let schools = my_schools(conn, &v)?;
            let school = match wanted {
                Some(id) => {
                    access::school(conn, &v, id)?;
                    Some(id)
                }
                None if !v.roles.is_admin() => schools.first().map(|s| s.0),
                None => None,
            };
            let mut d = Dashboard {
                schools,
                school: None,
                total: Figures::default(),
                weeks: Vec::new(),
                classes: Vec::new(),
                over: 0,
                per_school: Vec::new(),
            };
            match school {
                Some(id) => {
                    let (name, form, threshold): (String, Option<String>, i32) =
                        organisations::table
                            .find(id)
                            .select((
                                organisations::name,
                                organisations::school_form,
                                organisations::alert_threshold_pct,
                            ))
                            .first(conn)?;
                    let scope = Scope::School(id);
                    // classes and weeks in one reading of the per-class sums
                    let both =
                        statistics::figures(conn, tz, scope, period, By::GroupWeek, today, lang)?;
                    d.weeks = statistics::regroup(&both, |k| match k {
                        Key::GroupWeek(_, w) => Key::Week(*w),
                        other => other.clone(),
                    });
                    d.total = statistics::total(&d.weeks);
                    d.classes = ranked(statistics::regroup(&both, |k| match k {
                        Key::GroupWeek(g, _) => Key::Id(*g),
                        other => other.clone(),
                    }));
                    d.over = statistics::figures(conn, tz, scope, period, By::Pupil, today, lang)?
                        .iter()
                        .filter(|r| r.figures.at_least_pct(threshold.into()))
                        .count();
                    d.school = Some((id, name, form, threshold));
                }
                None => {
                    for m in &v.roles.admin_of {
                        d.per_school.extend(statistics::figures(
                            conn,
                            tz,
                            Scope::Municipality(*m),
                            period,
                            By::School,
                            today,
                            lang,
                        )?);
                    }
                    d.total = statistics::total(&d.per_school);
                }
            }
            Ok(d)
        })
        .await?;
    let stamp = format!("{}_{}", period.from, period.to);
    let tables = [
        (
            "weeks",
            format!("franvaro-veckor-{stamp}.csv"),
            lang.pick("Vecka", "Week"),
            d.weeks.as_slice(),
        ),
        (
            "classes",
            format!("franvaro-klasser-{stamp}.csv"),
            lang.pick("Klass", "Class"),
            d.classes.as_slice(),
        ),
        (
            "schools",
            format!("franvaro-skolor-{stamp}.csv"),
            lang.pick("Skola", "School"),
            d.per_school.as_slice(),
        ),
    ];
    // the dashboard's tables name classes and schools, never pupils
    if let Some(file) = csv_of(&q, lang, false, &tables) {
        return file;
    }
    let title = ctx.t("Frånvarostatistik", "Absence statistics");
    let school_q = d
        .school
        .as_ref()
        .map(|s| format!("school={}&", s.0))
        .unwrap_or_default();
    let q_all = format!("{school_q}{}", shown.query());
    let body = html! {
        h1 { (title) @if let Some((_, name, _, _)) = &d.school { ": " (name) } }
        (period_form(&ctx, "/statistics", &shown, &d.schools, d.school.as_ref().map(|s| s.0), html! {}))
        (period_line(&ctx, &shown, today))
        @if let Some((id, _, form, threshold)) = &d.school {
            nav.sub aria-label=(ctx.t("Mer statistik", "More statistics")) {
                a href={"/statistics/pupils?" (q_all)} { (ctx.t("Elever över gränsen", "Pupils over the threshold")) " (" (d.over) ")" }
                a href={"/statistics/unreported?" (q_all)} { (ctx.t("Orapporterade lektioner", "Unreported lessons")) }
                @if statistics::is_upper_secondary(form.as_deref()) {
                    a href={"/statistics/csn?school=" (id)} { (ctx.t("CSN-lista", "CSN list")) }
                }
                @if is_admin { a href={"/statistics?" (shown.query())} { (ctx.t("Alla skolor", "All schools")) } }
            }
            h2 { (ctx.t("Nyckeltal", "Key figures")) }
            (key_figures(&ctx, &d.total))
            p { (d.over) " " (ctx.t("elever har minst", "pupils have at least")) " " (threshold) " % " (ctx.t("frånvaro under perioden.", "absence in the period.")) }
            h2 { (ctx.t("Frånvaro per vecka", "Absence per week")) }
            (trend_svg(&ctx, &d.weeks))
            details {
                summary { (ctx.t("Veckorna som tabell", "The weeks as a table")) }
                (rows_table(&ctx, ctx.t("Vecka", "Week"), &d.weeks, |_| None, false))
            }
            p { a.csv href={"/statistics?" (q_all) "&csv=weeks"} { (ctx.t("Hämta veckorna som CSV", "Download the weeks as CSV")) } }
            h2 { (ctx.t("Klasser efter frånvaro", "Classes by absence")) }
            (rows_table(&ctx, ctx.t("Klass", "Class"), &d.classes, |r| match r.key { Key::Id(id) if id > 0 => Some(format!("/statistics/groups/{id}?{}", shown.query())), _ => None }, false))
            p { a.csv href={"/statistics?" (q_all) "&csv=classes"} { (ctx.t("Hämta klasserna som CSV", "Download the classes as CSV")) } }
        } @else {
            h2 { (ctx.t("Kommunen", "The municipality")) }
            (key_figures(&ctx, &d.total))
            h2 { (ctx.t("Skolor", "Schools")) }
            (rows_table(&ctx, ctx.t("Skola", "School"), &d.per_school, |r| match r.key { Key::Id(id) => Some(format!("/statistics?school={id}&{}", shown.query())), _ => None }, false))
            p { a.csv href={"/statistics?" (shown.query()) "&csv=schools"} { (ctx.t("Hämta skolorna som CSV", "Download the schools as CSV")) } }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

fn rows_table(
    ctx: &PageCtx,
    first: &str,
    rows: &[Row],
    link: impl Fn(&Row) -> Option<String>,
    hide_protected: bool,
) -> Markup {
    html! {
        div.scroll {
            table.figures {
                thead { tr { th scope="col" { (first) } (figure_heads(ctx)) } }
                tbody {
                    @for r in rows {
                        tr {
                            th scope="row" {
                                @match link(r) {
                                    Some(href) => a href=(href) { (r.label(ctx.lang, hide_protected)) },
                                    None => (r.label(ctx.lang, hide_protected)),
                                }
                            }
                            (figure_cells(ctx.lang, &r.figures))
                        }
                    }
                }
            }
        }
    }
}

/// Per pupil: their figures and their weeks.
fn pupil_weeks(rows: Vec<Row>) -> HashMap<i64, Vec<(i32, Figures)>> {
    let mut out: HashMap<i64, Vec<(i32, Figures)>> = HashMap::new();
    for r in rows {
        if let Key::PupilWeek(p, w) = r.key {
            out.entry(p).or_default().push((w, r.figures));
        }
    }
    for v in out.values_mut() {
        v.sort_by_key(|w| w.0);
    }
    out
}

fn threshold_param(raw: Option<&str>, default: i32, lang: Lang) -> AppResult<i64> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default.into()),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|t| (1..=100).contains(t))
            .ok_or_else(|| {
                AppError::invalid(
                    Code::BadThreshold,
                    lang.pick(
                        "Gränsen är ett helt antal procent mellan 1 och 100.",
                        "The threshold is a whole number of per cent from 1 to 100.",
                    ),
                )
            }),
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
    let (schools, school, threshold, rows, trends, hide) = state
        .db(move |conn| {
            let schools = my_schools(conn, &v)?;
            let id = match wanted.or(schools.first().map(|s| s.0)) {
                Some(id) => id,
                None => return Err(AppError::NotFound),
            };
            access::school(conn, &v, id)?;
            let default: i32 = organisations::table
                .find(id)
                .select(organisations::alert_threshold_pct)
                .first(conn)?;
            let threshold = threshold_param(raw_threshold.as_deref(), default, lang)?;
            let scope = Scope::School(id);
            // each pupil's weeks, and their sum: one reading
            let weeks = statistics::figures(conn, tz, scope, period, By::PupilWeek, today, lang)?;
            let rows: Vec<Row> = ranked(
                statistics::regroup(&weeks, |k| match k {
                    Key::PupilWeek(p, _) => Key::Id(*p),
                    other => other.clone(),
                })
                .into_iter()
                .filter(|r| r.figures.at_least_pct(threshold))
                .collect(),
            );
            let trends = pupil_weeks(weeks);
            let hide = !v.roles.principal_of.contains(&id);
            Ok((schools, id, threshold, rows, trends, hide))
        })
        .await?;
    let stamp = format!("{}_{}", period.from, period.to);
    let file = format!("elever-over-{threshold}-procent-{stamp}.csv");
    if let Some(file) = csv_of(
        &q,
        lang,
        hide,
        &[("pupils", file, lang.pick("Elev", "Pupil"), &rows)],
    ) {
        return file;
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
        div.scroll {
            table.figures {
                thead { tr { th scope="col" { (ctx.t("Elev", "Pupil")) } (figure_heads(&ctx)) th scope="col" { (ctx.t("Per vecka", "Per week")) } } }
                tbody {
                    @for r in &rows {
                        @let id = match r.key { Key::Id(id) => id, _ => 0 };
                        tr {
                            th scope="row" { a href={"/statistics/pupils/" (id) "?" (shown.query())} { (r.label(lang, hide)) } }
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

/// GET /statistics/groups/{id}: a class's pupils and weeks.
pub async fn group(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
    q: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let id = parse_id(&id)?;
    let today = state.today();
    let tz = state.config.timezone;
    let shown = shown(&q, today, lang)?;
    let period = shown.period;
    let (name, school, pupils, weeks, trends, hide) = state
        .db(move |conn| {
            let school = access::group(conn, &v, id)?;
            let name: String = groups::table.find(id).select(groups::name).first(conn)?;
            let scope = Scope::Group(id);
            let pupils = statistics::figures(conn, tz, scope, period, By::Pupil, today, lang)?;
            let weeks = statistics::figures(conn, tz, scope, period, By::Week, today, lang)?;
            let trends = pupil_weeks(statistics::figures(
                conn,
                tz,
                scope,
                period,
                By::PupilWeek,
                today,
                lang,
            )?);
            let hide = !v.roles.principal_of.contains(&school) && !v.roles.mentor_of.contains(&id);
            Ok((name, school, pupils, weeks, trends, hide))
        })
        .await?;
    let stamp = format!("{}_{}", period.from, period.to);
    let tables = [
        (
            "pupils",
            format!("franvaro-{}-{stamp}.csv", slug(&name)),
            lang.pick("Elev", "Pupil"),
            pupils.as_slice(),
        ),
        (
            "weeks",
            format!("franvaro-{}-veckor-{stamp}.csv", slug(&name)),
            lang.pick("Vecka", "Week"),
            weeks.as_slice(),
        ),
    ];
    if let Some(file) = csv_of(&q, lang, hide, &tables) {
        return file;
    }
    let total = statistics::total(&weeks);
    let base = format!("/statistics/groups/{id}?{}", shown.query());
    let body = html! {
        h1 { (name) }
        (period_form(&ctx, &format!("/statistics/groups/{id}"), &shown, &[], None, html! {}))
        (period_line(&ctx, &shown, today))
        nav.sub aria-label=(ctx.t("Statistik", "Statistics")) {
            a href={"/statistics?school=" (school) "&" (shown.query())} { (ctx.t("Till skolans översikt", "To the school's overview")) }
        }
        (key_figures(&ctx, &total))
        h2 { (ctx.t("Frånvaro per vecka", "Absence per week")) }
        (trend_svg(&ctx, &weeks))
        h2 { (ctx.t("Elever", "Pupils")) }
        p.muted { (ctx.t("En elev som bytt klass räknas här bara för dagarna i klassen.", "A pupil who changed class counts here only for the days in the class.")) }
        div.scroll {
            table.figures {
                thead { tr { th scope="col" { (ctx.t("Elev", "Pupil")) } (figure_heads(&ctx)) th scope="col" { (ctx.t("Per vecka", "Per week")) } } }
                tbody {
                    @for r in &pupils {
                        @let pid = match r.key { Key::Id(id) => id, _ => 0 };
                        tr {
                            th scope="row" { a href={"/statistics/pupils/" (pid) "?" (shown.query())} { (r.label(lang, hide)) } }
                            (figure_cells(lang, &r.figures))
                            td { (sparkline(lang, trends.get(&pid).map(Vec::as_slice).unwrap_or(&[]))) }
                        }
                    }
                }
            }
        }
        p {
            a.csv href={(base) "&csv=pupils"} { (ctx.t("Hämta eleverna som CSV", "Download the pupils as CSV")) }
            " · "
            a.csv href={(base) "&csv=weeks"} { (ctx.t("Hämta veckorna som CSV", "Download the weeks as CSV")) }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, &name, body),
    ))
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'å' | 'ä' | 'Å' | 'Ä' => 'a',
            'ö' | 'Ö' => 'o',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect()
}

/// GET /statistics/pupils/{id}: one pupil's weeks, subjects and lessons with absence.
pub async fn pupil(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
    q: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let id = parse_id(&id)?;
    let today = state.today();
    let tz = state.config.timezone;
    let shown = shown(&q, today, lang)?;
    let period = shown.period;
    let (name, weeks, subjects, lessons, subject_names) = state
        .db(move |conn| {
            let p = access::pupil(conn, &v, id, today)?;
            let scope = Scope::Pupil(id);
            let weeks = statistics::figures(conn, tz, scope, period, By::Week, today, lang)?;
            let subjects = statistics::figures(conn, tz, scope, period, By::Subject, today, lang)?;
            let mut lessons = Vec::new();
            statistics::scope_facts(
                conn,
                tz,
                scope,
                period.until(today),
                |f| {
                    if f.status.is_some() {
                        lessons.push(f.clone())
                    }
                },
                lang,
            )?;
            lessons.sort_by_key(|l| std::cmp::Reverse((l.date, l.starts_at)));
            let names =
                statistics::activity_subjects(conn, lessons.iter().map(|l| l.activity).collect())?;
            Ok((p.display_name(lang), weeks, subjects, lessons, names))
        })
        .await?;
    let status_label = |s: &str| {
        crate::roll_call::Status::parse(s)
            .map(|st| st.label(lang).to_string())
            .unwrap_or_else(|| s.to_string())
    };
    let stamp = format!("{}_{}", period.from, period.to);
    if csv_choice(&q) == Some("lessons") {
        let head = [
            lang.pick("Datum", "Date"),
            lang.pick("Tid", "Time"),
            lang.pick("Ämne", "Subject"),
            lang.pick("Markering", "Mark"),
            lang.pick("Giltig frånvaro, minuter", "Valid absence, minutes"),
            lang.pick("Ogiltig frånvaro, minuter", "Invalid absence, minutes"),
        ];
        let rows: Vec<Vec<String>> = lessons
            .iter()
            .map(|l| {
                vec![
                    l.date.to_string(),
                    format!(
                        "{}–{}",
                        l.starts_at.format("%H:%M"),
                        l.ends_at.format("%H:%M")
                    ),
                    subject_names
                        .get(&l.activity)
                        .map(|s| s.1.clone())
                        .unwrap_or_default(),
                    status_label(l.status.as_deref().unwrap_or("")),
                    l.valid.to_string(),
                    l.invalid.to_string(),
                ]
            })
            .collect();
        return Ok(csv(
            &format!("franvaro-elev-{id}-lektioner-{stamp}.csv"),
            &head,
            &rows,
        ));
    }
    let tables = [
        (
            "weeks",
            format!("franvaro-elev-{id}-veckor-{stamp}.csv"),
            lang.pick("Vecka", "Week"),
            weeks.as_slice(),
        ),
        (
            "subjects",
            format!("franvaro-elev-{id}-amnen-{stamp}.csv"),
            lang.pick("Ämne", "Subject"),
            subjects.as_slice(),
        ),
    ];
    if let Some(file) = csv_of(&q, lang, false, &tables) {
        return file;
    }
    let total = statistics::total(&weeks);
    let base = format!("/statistics/pupils/{id}?{}", shown.query());
    let body = html! {
        h1 { (name) }
        (period_form(&ctx, &format!("/statistics/pupils/{id}"), &shown, &[], None, html! {}))
        (period_line(&ctx, &shown, today))
        (key_figures(&ctx, &total))
        h2 { (ctx.t("Frånvaro per vecka", "Absence per week")) }
        (trend_svg(&ctx, &weeks))
        h2 { (ctx.t("Per ämne", "By subject")) }
        (rows_table(&ctx, ctx.t("Ämne", "Subject"), &subjects, |_| None, false))
        h2 { (ctx.t("Lektioner med frånvaro eller sen ankomst", "Lessons with absence or late arrival")) }
        @if lessons.is_empty() {
            p.muted { (ctx.t("Inga under perioden.", "None in the period.")) }
        } @else {
            div.scroll {
                table {
                    thead { tr {
                        th scope="col" { (ctx.t("Datum", "Date")) }
                        th scope="col" { (ctx.t("Tid", "Time")) }
                        th scope="col" { (ctx.t("Ämne", "Subject")) }
                        th scope="col" { (ctx.t("Markering", "Mark")) }
                        th scope="col" { (ctx.t("Giltig, min", "Valid, min")) }
                        th scope="col" { (ctx.t("Ogiltig, min", "Invalid, min")) }
                    } }
                    tbody {
                        @for l in &lessons {
                            tr class=(if l.invalid > 0 { "warn" } else { "" }) {
                                td { (l.date) }
                                td { (l.starts_at.format("%H:%M")) "–" (l.ends_at.format("%H:%M")) }
                                td { (subject_names.get(&l.activity).map(|s| s.1.as_str()).unwrap_or("")) }
                                td { (status_label(l.status.as_deref().unwrap_or(""))) }
                                td { (l.valid) }
                                td { (l.invalid) }
                            }
                        }
                    }
                }
            }
        }
        p {
            a.csv href={(base) "&csv=weeks"} { (ctx.t("Veckorna som CSV", "The weeks as CSV")) }
            " · "
            a.csv href={(base) "&csv=subjects"} { (ctx.t("Ämnena som CSV", "The subjects as CSV")) }
            " · "
            a.csv href={(base) "&csv=lessons"} { (ctx.t("Lektionerna som CSV", "The lessons as CSV")) }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, &name, body),
    ))
}

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
            let schools = my_schools(conn, &v)?;
            let id = wanted
                .or(schools.first().map(|s| s.0))
                .ok_or(AppError::NotFound)?;
            access::school(conn, &v, id)?;
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
            div.scroll {
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
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .ok()
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
            let schools: Vec<_> = my_schools(conn, &v)?;
            let id = wanted
                .or(schools
                    .iter()
                    .find(|s| statistics::is_upper_secondary(s.2.as_deref()))
                    .map(|s| s.0))
                .or(schools.first().map(|s| s.0))
                .ok_or(AppError::NotFound)?;
            access::school(conn, &v, id)?;
            let form: Option<String> = organisations::table
                .find(id)
                .select(organisations::school_form)
                .first(conn)?;
            let rows = if statistics::is_upper_secondary(form.as_deref()) {
                statistics::csn(conn, tz, id, month, today, lang)?
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
                    r.row.label(lang, hide),
                    r.row.figures.invalid_minutes.to_string(),
                    r.days.to_string(),
                    r.row.figures.scheduled_minutes.to_string(),
                ]
            })
            .collect();
        return Ok(csv(&format!("csn-{ym}.csv"), &head, &body));
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
                div.scroll {
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
                                    th scope="row" { a href={"/statistics/pupils/" (id) "?period=custom&from=" (month.from) "&to=" (month.to)} { (r.row.label(lang, hide)) } }
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
