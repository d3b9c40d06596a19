//! The huvudman's inbox of reports of started absence investigations
//! (`/huvudman/reports`), for its case officers: every school's, without any note of a case.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::cases::{hours, report_status_words, Done};
use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::follow_up::reports::{self, ReportLine};
use crate::school::ids::HuvudmanReportId;
use crate::school::states::ReportStatus;
use crate::school::Refusal;
use crate::state::AppState;

/// GET /huvudman/reports: the case officer's inbox.
pub async fn inbox(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let note = q
        .done
        .as_deref()
        .map(|_| html! { p.notice role="status" { (ctx.t("Sparat.", "Saved.")) } });
    inbox_render(&state, &ctx, v, note, StatusCode::OK).await
}

async fn inbox_render(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let (lines, rounds) = state
        .db(move |conn| {
            let lines = reports::inbox(conn, &v, today)?;
            let mut rounds = Vec::new();
            for m in &v.roles.officer_of {
                rounds.extend(crate::follow_up::rounds::rounds(conn, *m)?);
            }
            Ok((lines, rounds))
        })
        .await?;
    Ok(html_with_status(
        status,
        inbox_page(ctx, &lines, &rounds, today, note),
    ))
}

/// The huvudman's follow-up rounds: the dates, how far the one under way has come, and a
/// form for another date.
fn rounds_part(
    ctx: &PageCtx,
    lines: &[ReportLine],
    rounds: &[chrono::NaiveDate],
    today: chrono::NaiveDate,
) -> Markup {
    let lang = ctx.lang;
    let in_round: Vec<bool> = lines
        .iter()
        .filter_map(|l| l.mark.round)
        .map(|r| r.1)
        .collect();
    let done = in_round.iter().filter(|w| **w).count();
    html! {
        section.card aria-labelledby="rounds" {
            h2 #rounds { (ctx.t("Uppföljningsomgångar", "Follow-up rounds")) }
            p { (ctx.t("På en omgångs datum listas varje anmälan som inte är avslutad för rektor att uppdatera.", "On a round's date every report not closed is listed for the principal to update.")) }
            @if rounds.is_empty() { p { (ctx.t("Inga omgångar ännu.", "No rounds yet.")) } }
            ul { @for d in rounds { li { (lang.day(*d)) @if *d > today { " " span.badge { (ctx.t("kommande", "coming")) } } } } }
            @if !in_round.is_empty() {
                p { strong { (ctx.t("Omgången som pågår: ", "The round under way: ")) (done) (ctx.t(" av ", " of ")) (in_round.len()) (ctx.t(" anmälningar uppdaterade.", " reports updated.")) } }
            }
            form method="post" action="/huvudman/rounds" {
                (ctx.csrf_field())
                label for="due_on" { (ctx.t("Datum för en ny omgång", "Date of a new round")) }
                input #due_on type="date" name="due_on" required min=(today);
                button.secondary type="submit" { (ctx.t("Lägg till omgången", "Add the round")) }
            }
        }
    }
}

fn inbox_page(
    ctx: &PageCtx,
    lines: &[ReportLine],
    rounds: &[chrono::NaiveDate],
    today: chrono::NaiveDate,
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t(
        "Anmälningar om inledda frånvaroutredningar",
        "Reports of started absence investigations",
    );
    let lang = ctx.lang;
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        p { a href="/huvudman/schools?period=year" { (ctx.t("Huvudmannens översikt", "The huvudman's overview")) } " · " a href="/huvudman/figures" { (ctx.t("Siffror per skola", "Figures per school")) } " · " a href="/huvudman/term-report" { (ctx.t("Terminsrapport för nationell statistik", "Term report for national statistics")) } }
        p { (ctx.t("Rektorerna anmäler till huvudmannen när en utredning av en elevs frånvaro inleds (skollagen 7 kap. 19 a §). Anmälan innehåller inga anteckningar från utredningen.", "Principals report to the huvudman when an investigation of a pupil's absence is started (Skollagen 7 kap. 19 a §). The report holds no notes of the investigation.")) }
        (rounds_part(ctx, lines, rounds, today))
        @if lines.is_empty() { p { (ctx.t("Inga anmälningar.", "No reports.")) } }
        @for l in lines {
            section.card aria-labelledby={"r" (l.id)} {
                h2 id={"r" (l.id)} {
                    @match &l.pupil_name { Some(n) => { (n) }, None => { (ctx.t("Elev med skyddade personuppgifter", "Pupil with protected personal details")) } }
                    @if let Some(c) = &l.class { " (" (c) ")" }
                    " " span.badge { (report_status_words(l.status, lang)) }
                    @if l.overdue { " " strong.badge { (ctx.t("Utredningen är försenad", "The investigation is overdue")) } }
                }
                p { (l.school) ". " (ctx.t("Utredningen inleddes ", "The investigation started ")) (lang.day(l.started_on)) ". " (ctx.t("Ansvarig rektor: ", "Responsible principal: ")) (l.principal) "." }
                p.muted { (lang.days(l.period_from, l.period_to)) ": " (hours(l.absent_minutes)) (ctx.t(" timmars frånvaro av ", " hours of absence of ")) (hours(l.scheduled_minutes)) "."
                    @if let Some(d) = l.deadline { " " (ctx.t("Klar senast ", "Due by ")) (lang.day(d)) "." }
                    @if l.case_closed { " " (ctx.t("Skolan har avslutat utredningen.", "The school has closed the investigation.")) } }
                @if let Some(n) = &l.officer_note { p { (ctx.t("Senaste anteckning: ", "Latest note: ")) (n) } }
                @match l.mark.round {
                    Some((_, true)) => p { span.badge { (ctx.t("Uppdaterad i omgången", "Updated in the round")) } },
                    Some((_, false)) => p { strong.badge { (ctx.t("Väntar på rektors uppdatering", "Waiting for the principal's update")) } },
                    None => {},
                }
                @if let Some(u) = &l.mark.latest { p { (ctx.t("Rektors senaste uppdatering: ", "The principal's latest update: ")) (u) } }
                form method="post" action={"/huvudman/reports/" (l.id)} {
                    (ctx.csrf_field())
                    label for={"st" (l.id)} { (ctx.t("Läge", "Status")) }
                    select id={"st" (l.id)} name="status" {
                        @for s in ReportStatus::ALL { option value=(s.as_str()) selected[*s == l.status] { (report_status_words(*s, lang)) } }
                    }
                    label for={"n" (l.id)} { (ctx.t("Anteckning till rektor (krävs för komplettering)", "Note to the principal (needed to ask for more)")) }
                    textarea id={"n" (l.id)} name="note" maxlength=(reports::MAX_NOTE) {}
                    button.secondary type="submit" { (ctx.t("Spara", "Save")) }
                }
            }
        }
    };
    layout::page(ctx, title, body)
}

#[derive(Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

/// POST /huvudman/reports/{id}
pub async fn set_report_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<HuvudmanReportId>,
    form: web::Form<ReportForm>,
) -> AppResult<HttpResponse> {
    if v.roles.officer_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let ctx = PageCtx::new(&req);
    let f = form.into_inner();
    let Some(status) = ReportStatus::parse(f.status.trim()) else {
        return Err(AppError::refused(
            crate::error::Code::BadForm,
            Refusal::new("form_held_wrong_value"),
        ));
    };
    let (id, st, addr, viewer) = (id.into_inner(), state.clone(), client_addr(&req), v.clone());
    let result = state
        .db_write(move |conn| {
            reports::set_status(conn, &st.act(&viewer, &addr), id, status, &f.note)
        })
        .await?;
    match result {
        Ok(()) => Ok(see_other("/huvudman/reports?done=saved")),
        Err(refusal) => {
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            inbox_render(&state, &ctx, v, Some(note), StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Deserialize)]
pub struct RoundForm {
    #[serde(default)]
    due_on: String,
}

/// POST /huvudman/rounds: a follow-up round on a date (the case officer's).
pub async fn add_round(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<RoundForm>,
) -> AppResult<HttpResponse> {
    if v.roles.officer_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let ctx = PageCtx::new(&req);
    let max = crate::follow_up::rounds::MAX_DAYS_AHEAD;
    let refusal = || Refusal::new("followup_round_date_range").with("max", max);
    let result = match crate::school::clock::parse_day(form.due_on.trim()) {
        None => Err(refusal()),
        Some(day) => {
            let (st, addr, viewer) = (state.clone(), client_addr(&req), v.clone());
            state
                .db_write(move |conn| {
                    crate::follow_up::rounds::add_round(conn, &st.act(&viewer, &addr), day)
                })
                .await?
        }
    };
    match result {
        Ok(()) => Ok(see_other("/huvudman/reports?done=saved")),
        Err(refusal) => {
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            inbox_render(&state, &ctx, v, Some(note), StatusCode::BAD_REQUEST).await
        }
    }
}

/// The municipalities whose figures the viewer reads: as case officer or administrator.
fn figure_readers(v: &Viewer) -> AppResult<Vec<crate::school::ids::OrganisationId>> {
    let mut m = v.roles.officer_of.clone();
    m.extend(v.roles.admin_of.iter().copied());
    if m.is_empty() {
        Err(AppError::NotFound)
    } else {
        Ok(m)
    }
}

#[derive(Deserialize, Default)]
pub struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl Period {
    /// The days asked for: this term up to today unless given; a wrong date is a 400 that
    /// names the field.
    fn days(
        &self,
        today: chrono::NaiveDate,
        lang: crate::i18n::Lang,
    ) -> AppResult<(chrono::NaiveDate, chrono::NaiveDate)> {
        let pick = |raw: &str, name: &str, default| match raw.trim() {
            "" => Ok(default),
            s => super::common::parse_date(s, name, lang),
        };
        let from = pick(
            &self.from,
            lang.pick("Från", "From"),
            crate::school::calendar::term_start(today),
        )?;
        let to = pick(&self.to, lang.pick("Till", "To"), today)?;
        Ok(if from <= to { (from, to) } else { (to, from) })
    }
}

async fn load_figures(
    state: &AppState,
    v: &Viewer,
    q: &Period,
    lang: crate::i18n::Lang,
) -> AppResult<(
    (chrono::NaiveDate, chrono::NaiveDate),
    Vec<reports::SchoolFigures>,
)> {
    let m = figure_readers(v)?;
    let today = state.today();
    let period = q.days(today, lang)?;
    let rows = state
        .db(move |conn| reports::figures(conn, &m, period, today))
        .await?;
    Ok((period, rows))
}

fn days_text(d: Option<f64>, lang: crate::i18n::Lang) -> String {
    d.map(|d| {
        let s = format!("{d:.1}");
        match lang {
            crate::i18n::Lang::En => s,
            _ => s.replace('.', ","),
        }
    })
    .unwrap_or_else(|| "–".into())
}

/// GET /huvudman/figures
pub async fn figures(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Period>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let ((from, to), rows) = load_figures(&state, &v, &q, lang).await?;
    let title = ctx.t(
        "Frånvaroutredningar per skola",
        "Absence investigations per school",
    );
    let csv = format!("/huvudman/figures.csv?from={from}&to={to}");
    let body = html! {
        h1 { (title) }
        form.filters method="get" action="/huvudman/figures" {
            label for="from" { (ctx.t("Från", "From")) }
            input #from name="from" type="date" value=(from);
            label for="to" { (ctx.t("Till", "To")) }
            input #to name="to" type="date" value=(to);
            button.secondary type="submit" { (ctx.t("Visa", "Show")) }
        }
        table.figures {
            caption { (lang.days(from, to)) }
            thead { tr {
                th scope="col" { (ctx.t("Skola", "School")) }
                th scope="col" { (ctx.t("Signaler", "Signals")) }
                th scope="col" { (ctx.t("Beslut", "Decisions")) }
                th scope="col" { (ctx.t("Dagar från signal till beslut (medel)", "Days from signal to decision (mean)")) }
                th scope="col" { (ctx.t("Öppna utredningar", "Open investigations")) }
                th scope="col" { (ctx.t("Försenade", "Overdue")) }
                th scope="col" { (ctx.t("Anmälningar till huvudmannen", "Reports to the huvudman")) }
            } }
            tbody {
                @for r in &rows {
                    tr {
                        th scope="row" { (r.name) }
                        td { (r.signals) } td { (r.decisions) } td { (days_text(r.days_to_decision, lang)) }
                        td { (r.open) } td { (r.overdue) } td { (r.reports) }
                    }
                }
            }
        }
        p { a href=(csv) { (ctx.t("Ladda ner som CSV", "Download as CSV")) } }
        p { a href="/huvudman/reports" { (ctx.t("Anmälningarna", "The reports")) } }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

/// GET /huvudman/figures.csv
pub async fn figures_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Period>,
) -> AppResult<HttpResponse> {
    let lang = crate::i18n::Lang::from_request(&req);
    let ((from, to), rows) = load_figures(&state, &v, &q, lang).await?;
    let head = [
        lang.pick("Skola", "School"),
        lang.pick("Signaler", "Signals"),
        lang.pick("Beslut", "Decisions"),
        lang.pick(
            "Dagar från signal till beslut (medel)",
            "Days from signal to decision (mean)",
        ),
        lang.pick("Öppna utredningar", "Open investigations"),
        lang.pick("Försenade", "Overdue"),
        lang.pick("Anmälningar till huvudmannen", "Reports to the huvudman"),
    ];
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.signals.to_string(),
                r.decisions.to_string(),
                days_text(r.days_to_decision, lang).replace('–', ""),
                r.open.to_string(),
                r.overdue.to_string(),
                r.reports.to_string(),
            ]
        })
        .collect();
    Ok(super::statistics::csv_file(
        &format!("franvaroutredningar-{from}-{to}.csv"),
        &head,
        &lines,
    ))
}
