//! The report to the pupil's home municipality (`/cases/{id}/home-report`): a page made for
//! printing, when and how it was sent, and the same report as JSON in the API. The rules
//! are in `crate::follow_up::home_report`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::follow_up::home_report::{self, HomeReport};
use crate::i18n::Lang;
use crate::school::ids::CaseId;
use crate::school::states::SendMethod;
use crate::school::Refusal;
use crate::state::AppState;

/// How it was sent, in words.
pub fn method_words(m: SendMethod, lang: Lang) -> &'static str {
    match m {
        SendMethod::Post => lang.pick("med post", "by post"),
        SendMethod::EService => lang.pick(
            "via kommunens e-tjänst",
            "through the municipality's e-service",
        ),
        SendMethod::Hand => lang.pick("för hand", "by hand"),
    }
}

/// The case page's part about the home municipality (the principal's).
pub fn case_part(ctx: &PageCtx, r: &HomeReport, today: chrono::NaiveDate) -> Markup {
    let lang = ctx.lang;
    html! {
        section.card aria-labelledby="home" {
            h2 #home { (ctx.t("Anmälan till hemkommunen", "Report to the home municipality")) }
            p { (ctx.t("Eleven är folkbokförd i kommun ", "The pupil is registered in municipality ")) (r.home_municipality_code)
                (ctx.t(", inte i huvudmannens kommun. Hemkommunen ska också få veta att utredningen inletts (skollagen 7 kap. 21–22 §§).", ", not the huvudman's. The home municipality is to be told the investigation has started too (Skollagen 7 kap. 21–22 §§).")) }
            @if r.by_hand_only {
                p { strong { (ctx.t("Eleven har skyddade personuppgifter: skicka anmälan för hand, aldrig elektroniskt.", "The pupil has protected personal details: send the report by hand, never electronically.")) } }
            }
            p { a href={"/cases/" (r.case) "/home-report"} { (ctx.t("Anmälan, för utskrift", "The report, for printing")) } }
            @match r.sent {
                Some((on, how)) => { p { (ctx.t("Skickad ", "Sent ")) (lang.day(on)) ", " (method_words(how, lang)) "." } }
                None => {
                    form method="post" action={"/cases/" (r.case) "/home-report/sent"} {
                        (ctx.csrf_field())
                        label for="sent_on" { (ctx.t("Skickad den", "Sent on")) }
                        input #sent_on name="sent_on" type="date" required value=(today);
                        label for="method" { (ctx.t("Hur", "How")) }
                        select #method name="method" {
                            @for m in SendMethod::ALL {
                                @if !r.by_hand_only || *m == SendMethod::Hand {
                                    option value=(m.as_str()) { (method_words(*m, lang)) }
                                }
                            }
                        }
                        button.secondary type="submit" { (ctx.t("Spara att den är skickad", "Record it as sent")) }
                    }
                }
            }
        }
    }
}

/// GET /cases/{id}/home-report: the report, made for printing.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let (today, id) = (state.today(), id.into_inner());
    let r = state
        .db(move |conn| home_report::load(conn, &v, id, today))
        .await?;
    let civic = r.civic_no(&state.civic_key());
    Ok(html_with_status(
        StatusCode::OK,
        print_page(&ctx, &r, civic.as_deref()),
    ))
}

fn print_page(ctx: &PageCtx, r: &HomeReport, civic: Option<&str>) -> Markup {
    let lang = ctx.lang;
    let title = ctx.t(
        "Anmälan om inledd utredning av elevs frånvaro",
        "Report of a started investigation of a pupil's absence",
    );
    let hours = |m: i32| format!("{:.1}", f64::from(m) / 60.0);
    let body = html! {
        article.report {
            h1 { (title) }
            p { (ctx.t("Till hemkommunen (kommunkod ", "To the home municipality (municipality code ")) (r.home_municipality_code) ")"
                (ctx.t(", från huvudmannen ", ", from the huvudman ")) (r.huvudman) " (" (r.huvudman_municipality_code) ")." }
            @if r.by_hand_only { p { strong { (ctx.t("Skyddade personuppgifter: lämnas för hand.", "Protected personal details: delivered by hand.")) } } }
            dl.facts {
                dt { (ctx.t("Elev", "Pupil")) } dd { (r.pupil_name) }
                @if let Some(c) = civic { dt { (ctx.t("Personnummer", "Personal identity number")) } dd { (c) } }
                @if let Some(b) = r.birth_date { dt { (ctx.t("Född", "Born")) } dd { (b) } }
                dt { (ctx.t("Skolenhet", "School unit")) } dd { (r.school) @if let Some(code) = &r.school_unit_code { " (" (code) ")" } }
                @if let Some(c) = &r.class { dt { (ctx.t("Klass", "Class")) } dd { (c) } }
                dt { (ctx.t("Utredningen inleddes", "The investigation started")) } dd { (lang.day(r.started_on)) " " (r.started_on.format("%Y")) }
                @if let Some(d) = r.deadline { dt { (ctx.t("Ska vara klar", "Due")) } dd { (lang.day(d)) " " (d.format("%Y")) } }
                dt { (ctx.t("Frånvaron", "The absence")) } dd { (lang.days(r.period_from, r.period_to)) ": " (hours(r.absent_minutes)) (ctx.t(" timmar av ", " hours of ")) (hours(r.scheduled_minutes)) (ctx.t(" schemalagda", " scheduled")) }
                dt { (ctx.t("Ansvarig rektor", "Responsible principal")) } dd { (r.principal) }
            }
            p.noprint { a href={"/cases/" (r.case)} { (ctx.t("Tillbaka till utredningen", "Back to the investigation")) } }
        }
    };
    layout::page(ctx, title, body)
}

#[derive(Deserialize)]
pub struct SentForm {
    #[serde(default)]
    sent_on: String,
    #[serde(default)]
    method: String,
}

/// POST /cases/{id}/home-report/sent
pub async fn sent(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    form: web::Form<SentForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let on = crate::school::clock::parse_day(form.sent_on.trim());
    let method = SendMethod::parse(form.method.trim());
    let (st, addr) = (state.clone(), client_addr(&req));
    let result = state
        .db_write(move |conn| {
            let act = st.act(&v, &addr);
            match (on, method) {
                (Some(on), Some(m)) => home_report::record_sent(conn, &act, id, on, m),
                _ => {
                    // out of reach is a 404 before the form's fault
                    home_report::load(conn, act.actor, id, act.today)?;
                    Ok(Err(Refusal::new("home_report_sent_on_range")))
                }
            }
        })
        .await?;
    match result {
        Ok(()) => Ok(see_other(&format!("/cases/{id}?done=sent"))),
        Err(refusal) => Err(AppError::refused(Code::BadForm, refusal)),
    }
}

/// GET /api/v1/cases/{id}/home-report: the report as JSON; for a pupil with protected
/// identity nothing is given (409: send it by hand).
pub async fn json(
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
) -> AppResult<HttpResponse> {
    let (today, id) = (state.today(), id.into_inner());
    let r = state
        .db(move |conn| home_report::load(conn, &v, id, today))
        .await?;
    if r.by_hand_only {
        return Err(AppError::conflict(
            Code::HomeReportByHand,
            Refusal::new("home_report_by_hand"),
        ));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "case_id": r.case,
        "pupil": {"id": r.pupil, "name": r.pupil_name, "civic_no": r.civic_no(&state.civic_key()), "birth_date": r.birth_date, "class": r.class},
        "school": {"name": r.school, "school_unit_code": r.school_unit_code},
        "huvudman": r.huvudman,
        "huvudman_municipality_code": r.huvudman_municipality_code,
        "home_municipality_code": r.home_municipality_code,
        "started_on": r.started_on,
        "deadline": r.deadline,
        "period": {"from": r.period_from, "to": r.period_to},
        "absent_minutes": r.absent_minutes,
        "scheduled_minutes": r.scheduled_minutes,
        "principal": r.principal,
        "sent": r.sent.map(|(on, how)| serde_json::json!({"on": on, "method": how})),
    })))
}
