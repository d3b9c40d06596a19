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
    let lines = state
        .db(move |conn| reports::inbox(conn, &v, today))
        .await?;
    Ok(html_with_status(status, inbox_page(ctx, &lines, note)))
}

fn inbox_page(ctx: &PageCtx, lines: &[ReportLine], note: Option<Markup>) -> Markup {
    let title = ctx.t(
        "Anmälningar om inledda frånvaroutredningar",
        "Reports of started absence investigations",
    );
    let lang = ctx.lang;
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        p { (ctx.t("Rektorerna anmäler till huvudmannen när en utredning av en elevs frånvaro inleds (skollagen 7 kap. 19 a §). Anmälan innehåller inga anteckningar från utredningen.", "Principals report to the huvudman when an investigation of a pupil's absence is started (Skollagen 7 kap. 19 a §). The report holds no notes of the investigation.")) }
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
