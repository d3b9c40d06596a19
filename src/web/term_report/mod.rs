//! The huvudman's term report for national statistics (`/huvudman/term-report`): the
//! data-quality check by school, then the file. The page shows counts only; the file, one
//! row per pupil, is for the municipality's administrator, as CSV
//! (`/huvudman/term-report.csv`) or JSON (`/huvudman/term-report.json` signed in, the same
//! at `/api/v1/term-report` with a token), both streamed school by school, with a
//! machine-readable description of the columns (CSVW, `/huvudman/term-report.columns.json`
//! and `/api/v1/term-report/columns`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

use super::common::{client_addr, html_with_status};
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code, Refusal};
use crate::i18n::Lang;
use crate::insight::term_quality::{self, Problem, SchoolCheck};
use crate::insight::term_report::{self, Term};
use crate::school::ids::OrganisationId;
use crate::school::year_groups::FORMS;
use crate::state::AppState;
use file::{all_columns, csv_row, json_row, stream_rows};

mod closing;
mod file;

pub use closing::{close, reopen};

#[derive(Deserialize, Default)]
pub struct TermQuery {
    #[serde(default)]
    term: String,
    #[serde(default)]
    form: String,
    #[serde(default)]
    anyway: String,
    /// one school, by its school unit code (skolenhetskod)
    #[serde(default)]
    unit: String,
}

/// What a request asked for, checked.
struct Asked {
    term: Term,
    /// the SS 12000 school type code and the stored form, when one was chosen
    form: Option<(&'static str, &'static str)>,
    anyway: bool,
    /// one school's unit code: eight digits
    unit: Option<String>,
}

impl TermQuery {
    /// A query of a term alone (a form that closes or reopens).
    fn of_term(term: &str) -> TermQuery {
        TermQuery {
            term: term.to_string(),
            ..TermQuery::default()
        }
    }

    fn asked(&self, today: chrono::NaiveDate, lang: Lang) -> AppResult<Asked> {
        let term = match self.term.trim() {
            "" => Term::of(today),
            raw => Term::parse(raw)?.started(today)?,
        };
        let form = match self.form.trim() {
            "" | "all" => None,
            raw => Some(
                FORMS
                    .iter()
                    .find(|(code, _)| code.eq_ignore_ascii_case(raw))
                    .copied()
                    .ok_or_else(|| {
                        AppError::invalid(
                            Code::BadParameter,
                            lang.pick(
                                "Skolformen ska vara en av FKLASS, GR, GRS, GY och GYS.",
                                "The school form must be one of FKLASS, GR, GRS, GY and GYS.",
                            ),
                        )
                    })?,
            ),
        };
        let unit = match self.unit.trim() {
            "" => None,
            u if u.len() == 8 && u.bytes().all(|b| b.is_ascii_digit()) => Some(u.to_string()),
            _ => {
                return Err(AppError::invalid(
                    Code::BadSchool,
                    lang.pick(
                        "Skolenhetskoden är åtta siffror.",
                        "The school unit code is eight digits.",
                    ),
                ))
            }
        };
        Ok(Asked {
            term,
            form,
            anyway: matches!(self.anyway.trim(), "1" | "true" | "yes"),
            unit,
        })
    }
}

/// The municipalities whose term report the viewer may see the check of: administrators
/// and the huvudman's officers. Anyone else gets a 404.
fn readers(v: &Viewer) -> AppResult<Vec<OrganisationId>> {
    let mut m = v.roles.admin_of.clone();
    m.extend(v.roles.officer_of.iter().copied());
    if m.is_empty() {
        Err(AppError::NotFound)
    } else {
        Ok(m)
    }
}

/// The municipalities whose file (a row per pupil) the viewer may take: administrators.
fn exporters(v: &Viewer) -> AppResult<Vec<OrganisationId>> {
    if v.roles.admin_of.is_empty() {
        Err(AppError::NotFound)
    } else {
        Ok(v.roles.admin_of.clone())
    }
}

async fn run_check(
    state: &AppState,
    municipalities: Vec<OrganisationId>,
    asked: &Asked,
    lang: Lang,
) -> AppResult<Vec<SchoolCheck>> {
    let today = state.today();
    let tz = state.config.timezone;
    let form = asked.form.map(|f| f.1);
    let period = asked.term.period();
    let unit = asked.unit.clone();
    let checks = state
        .db(move |conn| {
            let mut schools = term_report::schools(conn, &municipalities, form)?;
            if let Some(u) = &unit {
                schools.retain(|s| s.unit_code.as_deref() == Some(u.as_str()));
            }
            term_quality::check(conn, tz, &municipalities, schools, period, today)
        })
        .await?;
    match &asked.unit {
        Some(u) if checks.is_empty() => Err(AppError::invalid(
            Code::BadSchool,
            lang.fill(
                "Ingen skola har skolenhetskoden {code}. En skola utan kod finns i listan på sidan; ge den sin kod i elevregistret.",
                "No school has the school unit code {code}. A school without a code is in the list on the page; give it its code in the school administration system.",
                &[("code", u)],
            ),
        )),
        _ => Ok(checks),
    }
}

fn problem_words(p: Problem, lang: Lang) -> &'static str {
    match p {
        Problem::NoSchoolUnitCode => lang.pick("Saknar skolenhetskod", "No school unit code"),
        Problem::UnreportedLessons => {
            lang.pick("Lektioner utan närvarorapport", "Lessons not reported")
        }
        Problem::LowReportingTeachers => lang.pick(
            "Lärare som rapporterat under 90 %",
            "Teachers who reported under 90%",
        ),
        Problem::LessonsWithoutTeacher => {
            lang.pick("Lektioner utan lärare", "Lessons without a teacher")
        }
        Problem::PupilsWithoutClass => lang.pick("Elever utan klass", "Pupils without a class"),
        Problem::LessonsOffSchoolDays => lang.pick(
            "Lektioner utanför skoldagarna",
            "Lessons outside the school's days",
        ),
        Problem::MarksAfterTerm => lang.pick(
            "Frånvaro rapporterad efter terminens slut",
            "Absence reported after the term ended",
        ),
    }
}

fn term_words(t: Term, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "{} term {}",
            if t.autumn { "Autumn" } else { "Spring" },
            t.year
        ),
        _ => format!(
            "{} {}",
            if t.autumn {
                "Höstterminen"
            } else {
                "Vårterminen"
            },
            t.year
        ),
    }
}

/// GET /huvudman/term-report: the check by school and the way to the file.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<TermQuery>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let municipalities = readers(&v)?;
    let may_export = !v.roles.admin_of.is_empty();
    let today = state.today();
    let asked = q.asked(today, lang)?;
    let checks = run_check(&state, municipalities, &asked, lang).await?;
    let ids = checks.iter().map(|c| c.school.id).collect();
    let closed = closing::load(&state, ids, asked.term).await?;
    let title = ctx.t(
        "Terminsrapport för nationell statistik",
        "Term report for national statistics",
    );
    let body = html! {
        h1 { (title) }
        (choice_form(&ctx, &asked, today))
        (contents(&ctx))
        (quality_table(&ctx, &asked, &checks))
        (export_part(&ctx, &asked, &checks, may_export))
        (closing::part(&ctx, &state, &asked, &checks, &closed, may_export))
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

fn choice_form(ctx: &PageCtx, asked: &Asked, today: chrono::NaiveDate) -> Markup {
    let lang = ctx.lang;
    let chosen_form = asked.form.map(|f| f.0).unwrap_or("all");
    html! {
        form.filters method="get" action="/huvudman/term-report" {
            label for="term" { (ctx.t("Termin", "Term")) }
            select #term name="term" {
                @for t in Term::of(today).recent(6) {
                    option value=(t.code()) selected[t == asked.term] { (term_words(t, lang)) }
                }
            }
            label for="form" { (ctx.t("Skolform", "School form")) }
            select #form name="form" {
                option value="all" selected[chosen_form == "all"] { (ctx.t("Alla skolformer", "All school forms")) }
                @for (code, form) in FORMS {
                    option value=(code) selected[chosen_form == code] { (super::statistics::huvudman::form_words(Some(form), lang)) }
                }
            }
            label for="unit" { (ctx.t("Skolenhetskod (en skola)", "School unit code (one school)")) }
            input #unit name="unit" inputmode="numeric" pattern="[0-9]{8}" maxlength="8" value=[asked.unit.as_deref()];
            button.secondary type="submit" { (ctx.t("Visa", "Show")) }
        }
    }
}

fn contents(ctx: &PageCtx) -> Markup {
    html! {
        details {
            summary { (ctx.t("Vad rapporten innehåller", "What the report holds")) }
            p { (ctx.t(
                "En rad per elev och skolenhet för terminen: skolform, skolenhetskod, årskurs, timmar undervisning som erbjudits, timmar giltig och ogiltig frånvaro och timmar annan närvaro (till exempel studiebesök), räknade ur varje lektions närvarorapport. Eleven anges med sitt id i SS 12000 och i elevregistret; personnumret läggs till ur elevregistret vid leveransen, eftersom Närvaro bara sparar personnummer som en nyckelhashad kod. Elever med skyddade personuppgifter är märkta.",
                "One row per pupil and school unit for the term: school form, school unit code, year group, hours of teaching offered, hours of valid and of invalid absence, and hours of other attendance (trips and the like), summed from every lesson's roll call. The pupil is named by their SS 12000 id and their id in the school administration system; the civic number is joined from that system at delivery, since Närvaro keeps civic numbers only as a keyed hash. Pupils with protected personal details are marked.")) }
            p { (ctx.t(
                "Rapporten innehåller aldrig namn, personnummer, anledningar till frånvaro, meddelanden eller anteckningar. Sidan visar bara antal; raderna per elev finns bara i filen.",
                "The report never holds names, civic numbers, reasons for absence, messages or notes. The page shows counts only; the rows per pupil are only in the file.")) }
        }
    }
}

fn quality_table(ctx: &PageCtx, asked: &Asked, checks: &[SchoolCheck]) -> Markup {
    let lang = ctx.lang;
    let total: i64 = checks.iter().map(|c| c.total()).sum();
    let schools_with = checks.iter().filter(|c| c.total() > 0).count();
    html! {
        section aria-labelledby="quality" {
            h2 #quality { (ctx.t("Datakvalitet", "Data quality")) }
            @if total == 0 {
                p role="status" { (ctx.t("Kontrollen hittade inga problem.", "The check found no problems.")) }
            } @else {
                p role="status" { strong { (total) (ctx.t(" problem på ", " problems at ")) (schools_with) (ctx.t(" skolor.", " schools.")) } }
            }
            div.scroll tabindex="0" {
                table.figures {
                    caption { (term_words(asked.term, lang)) ": " (lang.days(asked.term.first_day(), asked.term.last_day())) }
                    thead { tr {
                        th scope="col" { (ctx.t("Skola", "School")) }
                        th scope="col" { (ctx.t("Skolenhetskod", "School unit code")) }
                        @for p in Problem::ALL { th scope="col" { (problem_words(p, lang)) } }
                        th scope="col" { (ctx.t("Totalt", "In all")) }
                    } }
                    tbody {
                        @for c in checks {
                            tr {
                                th scope="row" { a href={"/statistics?school=" (c.school.id) "&period=term"} { (c.school.name) } }
                                td { (c.school.unit_code.as_deref().unwrap_or("–")) }
                                @for p in Problem::ALL { td { (c.found.get(&p).copied().unwrap_or(0)) } }
                                td { strong { (c.total()) } }
                            }
                        }
                    }
                }
            }
            p { (ctx.t(
                "Olästa lektioner räknas till och med i går. En lärare listas när hen har rapporterat färre än 90 % av sina egna lektioner (vikariepass räknas inte). Lektioner utanför skoldagarna är lektioner en lördag, söndag eller lovdag.",
                "Unreported lessons are counted up to yesterday. A teacher is listed who reported fewer than 90% of their own lessons (substitute lessons aside). Lessons outside the school's days are lessons on a Saturday, Sunday or holiday.")) }
        }
    }
}

fn export_query(asked: &Asked, anyway: bool) -> String {
    format!(
        "term={}&form={}{}{}",
        asked.term.code(),
        asked.form.map(|f| f.0).unwrap_or("all"),
        asked
            .unit
            .as_ref()
            .map(|u| format!("&unit={u}"))
            .unwrap_or_default(),
        if anyway { "&anyway=1" } else { "" }
    )
}

fn export_part(ctx: &PageCtx, asked: &Asked, checks: &[SchoolCheck], may: bool) -> Markup {
    let total: i64 = checks.iter().map(|c| c.total()).sum();
    let q = export_query(asked, total > 0);
    html! {
        section aria-labelledby="export" {
            h2 #export { (ctx.t("Exportera", "Export")) }
            @if !may {
                p { (ctx.t("Filen med en rad per elev hämtas av kommunens administratör.", "The file with a row per pupil is taken by the municipality's administrator.")) }
            } @else {
                @if total > 0 {
                    p { (ctx.t("Rapporten har problem. Du kan exportera ändå; filen anger hur många problem varje skola hade.", "The report has problems. You can export anyway; the file says how many problems each school had.")) }
                }
                p { a.csv href={"/huvudman/term-report.csv?" (q)} {
                    @if total > 0 { (ctx.t("Exportera ändå som CSV", "Export anyway as CSV")) } @else { (ctx.t("Hämta som CSV", "Download as CSV")) }
                } }
                p { a href={"/huvudman/term-report.json?" (q)} {
                    @if total > 0 { (ctx.t("Exportera ändå som JSON", "Export anyway as JSON")) } @else { (ctx.t("Hämta som JSON", "Download as JSON")) }
                } }
                p { a href="/huvudman/term-report.columns.json" { (ctx.t("Beskrivning av kolumnerna (CSVW)", "Description of the columns (CSVW)")) } }
            }
        }
    }
}

/// The export's checks: who, what, and whether problems stop it. Records the export in the
/// audit log before a byte is sent.
async fn prepare(
    req: &HttpRequest,
    state: &AppState,
    v: &Viewer,
    q: &TermQuery,
    format: &'static str,
) -> AppResult<(Asked, Vec<SchoolCheck>)> {
    let lang = Lang::from_request(req);
    let municipalities = exporters(v)?;
    let asked = q.asked(state.today(), lang)?;
    let checks = run_check(state, municipalities.clone(), &asked, lang).await?;
    let total: i64 = checks.iter().map(|c| c.total()).sum();
    if total > 0 && !asked.anyway {
        return Err(AppError::conflict(
            Code::QualityProblems,
            Refusal::new("quality_problems").with("count", total),
        ));
    }
    let detail = json!({
        "term": asked.term.code(),
        "school_form": asked.form.map(|f| f.0),
        "format": format,
        "schools": checks.len(),
        "problems": total,
        "exported_anyway": total > 0,
    });
    let (actor, addr, at) = (v.id, client_addr(req), state.now());
    let municipality = municipalities.first().map(|m| i64::from(*m));
    state
        .db_write(move |conn| {
            crate::audit::record(
                conn,
                crate::audit::Entry {
                    at,
                    actor: Some(actor),
                    action: "term_report.exported",
                    entity: "organisation",
                    entity_id: municipality,
                    detail,
                    client_addr: Some(&addr),
                },
            )
            .map_err(AppError::from)
        })
        .await?;
    Ok((asked, checks))
}

fn file_name(asked: &Asked, ext: &str) -> String {
    format!(
        "terminsrapport-{}-{}.{ext}",
        asked.term.code(),
        asked.form.map(|f| f.0).unwrap_or("alla")
    )
}

/// GET /huvudman/term-report.csv: the file, streamed.
pub async fn csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<TermQuery>,
) -> AppResult<HttpResponse> {
    let (asked, checks) = prepare(&req, &state, &v, &q, "csv").await?;
    let mut head = all_columns().map(|c| c.0).collect::<Vec<_>>().join(";");
    head.push_str("\r\n");
    let name = file_name(&asked, "csv");
    let body = stream_rows(state, asked.term, checks, head, csv_row, "");
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}

/// GET /api/v1/term-report: the report as JSON, streamed; the quality check first.
pub async fn json(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<TermQuery>,
) -> AppResult<HttpResponse> {
    let (asked, checks) = prepare(&req, &state, &v, &q, "json").await?;
    let total: i64 = checks.iter().map(|c| c.total()).sum();
    let by_school: Vec<Value> = checks
        .iter()
        .map(|c| {
            let found: HashMap<&str, i64> = c.found.iter().map(|(p, n)| (p.code(), *n)).collect();
            json!({ "school_unit_code": c.school.unit_code, "name": c.school.name, "problems": found })
        })
        .collect();
    let period = asked.term.period();
    let meta = json!({
        "term": asked.term.code(),
        "start_date": period.from,
        "end_date": period.to,
        "school_form": asked.form.map(|f| f.0),
        "columns": "/api/v1/term-report/columns",
        "quality": { "problems": total, "exported_anyway": total > 0, "schools": by_school },
    });
    // the object without its closing brace, then the rows
    let mut head = meta.to_string();
    head.pop();
    head.push_str(",\"data\":[");
    let name = file_name(&asked, "json");
    let body = stream_rows(state, asked.term, checks, head, json_row, "]}");
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"{name}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}

/// GET /api/v1/term-report/columns: the CSV file's description (W3C CSVW metadata).
pub async fn columns(v: Viewer) -> AppResult<HttpResponse> {
    readers(&v)?;
    let columns: Vec<Value> = all_columns()
        .map(|(name, datatype, sv, en, about)| {
            json!({
                "name": name,
                "titles": { "sv": sv, "en": en },
                "datatype": datatype,
                "dc:description": about,
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("application/csvm+json")
        .body(json!({
            "@context": "http://www.w3.org/ns/csvw",
            "url": "/huvudman/term-report.csv",
            "dc:title": "Närvaro term report: per pupil, school unit and term",
            "dialect": { "delimiter": ";", "header": true, "encoding": "utf-8", "lineTerminators": ["\r\n"] },
            "tableSchema": { "columns": columns },
        })
        .to_string()))
}
