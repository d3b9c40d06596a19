//! The drill-down: a class's pupils and weeks, a pupil's weeks, subjects and lessons.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::csv::{csv, csv_of};
use super::parts::*;
use super::{csv_choice, shown, StatsQuery};
use crate::auth::{access, Viewer};
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::insight::statistics::facts::Fact;
use crate::insight::statistics::overview;
use crate::insight::statistics::{self, By, Key, Scope};
use crate::school::ids::{ActivityId, GroupId, PupilId};
use crate::state::AppState;
use crate::web::common::html_with_status;
use crate::web::layout::{self, PageCtx};

/// Each activity's subject: (code, name).
type Subjects = std::collections::HashMap<ActivityId, (String, String)>;

/// GET /statistics/groups/{id}: a class's pupils and weeks.
pub async fn group(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<GroupId>,
    q: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let id = id.into_inner();
    let today = state.today();
    let tz = state.config.timezone;
    let shown = shown(&q, today, lang)?;
    let period = shown.period;
    let (name, school, pupils, weeks, trends, hide) = state
        .db(move |conn| {
            let school = access::group(conn, &v, id)?;
            let name = overview::group_name(conn, id)?;
            let scope = Scope::Group(id);
            let pupils = statistics::figures(conn, tz, scope, period, By::Pupil, today)?;
            let weeks = statistics::figures(conn, tz, scope, period, By::Week, today)?;
            let trends = overview::pupil_weeks(statistics::figures(
                conn,
                tz,
                scope,
                period,
                By::PupilWeek,
                today,
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
        div.scroll tabindex="0" {
            table.figures {
                thead { tr { th scope="col" { (ctx.t("Elev", "Pupil")) } (figure_heads(&ctx)) th scope="col" { (ctx.t("Per vecka", "Per week")) } } }
                tbody {
                    @for r in &pupils {
                        @let pid = match r.key { Key::Id(id) => id, _ => 0 };
                        tr {
                            th scope="row" { a href={"/statistics/pupils/" (pid) "?" (shown.query())} { (crate::web::statistics::labels::row_label(r, lang, hide)) } }
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
    id: web::Path<PupilId>,
    q: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let id = id.into_inner();
    let today = state.today();
    let tz = state.config.timezone;
    let shown = shown(&q, today, lang)?;
    let period = shown.period;
    let reader = crate::web::reads::Reader::of(&req, &v);
    let (name, weeks, subjects, lessons, subject_names) = state
        .db(move |conn| {
            let p = access::pupil(conn, &v, id, today)?;
            let scope = Scope::Pupil(id);
            let weeks = statistics::figures(conn, tz, scope, period, By::Week, today)?;
            let subjects = statistics::figures(conn, tz, scope, period, By::Subject, today)?;
            let mut lessons = Vec::new();
            statistics::scope_facts(conn, tz, scope, period.until(today), |f| {
                if f.status.is_some() {
                    lessons.push(f.clone())
                }
            })?;
            lessons.sort_by_key(|l| std::cmp::Reverse((l.date, l.starts_at)));
            let names =
                statistics::activity_subjects(conn, lessons.iter().map(|l| l.activity).collect())?;
            Ok((
                crate::web::common::shown_name(&p, lang),
                weeks,
                subjects,
                lessons,
                names,
            ))
        })
        .await?;
    reader
        .read(&state, id, crate::access_log::ReadKind::StatisticsPupil)
        .await?;
    let stamp = format!("{}_{}", period.from, period.to);
    if csv_choice(&q) == Some("lessons") {
        return Ok(lessons_csv(
            lang,
            &format!("franvaro-elev-{id}-lektioner-{stamp}.csv"),
            &lessons,
            &subject_names,
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
        (lessons_table(&ctx, &lessons, &subject_names))
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

/// A lesson's mark as people read it.
fn status_label(lang: Lang, s: &str) -> String {
    crate::attendance::roll_call::Status::parse(s)
        .map(|st| crate::web::common::mark_word(st, lang).to_string())
        .unwrap_or_else(|| s.to_string())
}

/// A pupil's lessons with absence or late arrival, as a CSV file.
fn lessons_csv(lang: Lang, file: &str, lessons: &[Fact], subject_names: &Subjects) -> HttpResponse {
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
                status_label(lang, l.status.as_deref().unwrap_or("")),
                l.valid.to_string(),
                l.invalid.to_string(),
            ]
        })
        .collect();
    csv(file, &head, &rows)
}

/// A pupil's lessons with absence or late arrival, as a table.
fn lessons_table(ctx: &PageCtx, lessons: &[Fact], subject_names: &Subjects) -> Markup {
    let lang = ctx.lang;
    html! {
    @if lessons.is_empty() {
        p.muted { (ctx.t("Inga under perioden.", "None in the period.")) }
    } @else {
        div.scroll tabindex="0" {
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
                    @for l in lessons {
                        tr class=(if l.invalid > 0 { "warn" } else { "" }) {
                            td { (lang.day(l.date)) }
                            td { (l.starts_at.format("%H:%M")) "–" (l.ends_at.format("%H:%M")) }
                            td { (subject_names.get(&l.activity).map(|s| s.1.as_str()).unwrap_or("")) }
                            td { (status_label(lang, l.status.as_deref().unwrap_or(""))) }
                            td { (l.valid) }
                            td { (l.invalid) }
                        }
                    }
                }
            }
        }
    }
    }
}
