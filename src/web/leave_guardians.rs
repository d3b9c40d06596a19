//! Both guardians on a leave application (issue 39): the page a guardian reaches from the
//! message to answer another guardian's application (`/leave-applications/{id}/answer`),
//! the applicant's withdrawal, the answer the principal or mentor records when a guardian
//! answered by telephone, and the lines the pupil's page shows of all this to the family
//! and to the school. The rules are in `crate::attendance::leave_confirmation`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::attendance::leave_application::{LeaveStatus, LeaveView};
use crate::attendance::leave_confirmation::{self as confirmation, Answer, Awaited};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::school::ids::{LeaveId, PersonId};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// The application another guardian made, with the two answers while it waits.
pub async fn answer_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LeaveId>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let (id, addr, st) = (id.into_inner(), client_addr(&req), state.clone());
    let t = state
        .db(move |conn| {
            crate::attendance::leave_application::to_answer(conn, &st.act(&v, &addr), id)
        })
        .await?;
    let name = super::common::shown_name(&t.pupil, ctx.lang);
    let title = ctx.lang.fill(
        "Ansökan om ledighet för {child}",
        "Leave application for {child}",
        &[("child", &name)],
    );
    let l = &t.leave;
    let open = t.mine.answer == Answer::Waiting && l.status == LeaveStatus::AwaitingGuardian;
    let body = html! {
        h1 { (title) }
        @if q.done.is_some() { p.notice role="status" { (ctx.t("Tack, ditt svar är sparat.", "Thank you, your answer is saved.")) } }
        dl.facts {
            dt { (ctx.t("Dagar", "Days")) } dd { bdi { (ctx.lang.days(l.start_date, l.end_date)) } }
            dt { (ctx.t("Skäl", "Reason")) } dd { bdi { (l.reason) } }
            dt { (ctx.t("Ansökt av", "Applied for by")) } dd { (ctx.t("den andra vårdnadshavaren", "the other guardian")) }
        }
        @if open {
            p { (ctx.t("Godkänner du ansökan? Den går till skolan först när båda vårdnadshavarna har godkänt den.",
                "Do you agree to the application? It goes to the school only when both guardians have agreed to it.")) }
            form method="post" action={"/leave-applications/" (l.id) "/answer"} {
                (ctx.csrf_field())
                p { button type="submit" name="answer" value="yes" { (ctx.t("Jag godkänner ansökan", "I agree to the application")) } }
                label for="comment" { (ctx.t("Om du inte godkänner: varför? (visas för den andra vårdnadshavaren)", "If you do not agree: why? (shown to the other guardian)")) }
                textarea #comment name="comment" maxlength="500" rows="2" {}
                p { button.secondary type="submit" name="answer" value="no" { (ctx.t("Jag godkänner inte ansökan", "I do not agree to the application")) } }
            }
        } @else {
            p { strong { (where_it_stands(&ctx, l.status, &t.mine)) } }
        }
        p { a href={"/pupils/" (t.pupil.id)} { (ctx.tf("Till sidan om {child}", "To the page about {child}", &[("child", &name)])) } }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, &title, body),
    ))
}

/// Where an application stands for a guardian it asked, once there is nothing to answer.
fn where_it_stands(ctx: &PageCtx, status: LeaveStatus, mine: &Awaited) -> &'static str {
    match (mine.answer, status) {
        (Answer::Confirmed, _) => ctx.t(
            "Du har godkänt ansökan.",
            "You have agreed to the application.",
        ),
        (Answer::Declined, _) => ctx.t(
            "Du har inte godkänt ansökan. Den går inte vidare till skolan.",
            "You did not agree to the application. It does not go on to the school.",
        ),
        (Answer::Waiting, LeaveStatus::Withdrawn) => ctx.t(
            "Ansökan är återtagen: det finns inget att svara på.",
            "The application has been withdrawn: there is nothing to answer.",
        ),
        (Answer::Waiting, _) => ctx.t(
            "Ansökan väntar inte längre på ditt svar.",
            "The application no longer waits for your answer.",
        ),
    }
}

#[derive(Deserialize)]
pub struct AnswerForm {
    /// "yes" or "no"
    #[serde(default)]
    answer: String,
    #[serde(default)]
    comment: String,
    /// the guardian an answer by telephone is from (staff only)
    #[serde(default)]
    guardian_id: String,
}

/// A guardian's answer; back to the application with the outcome.
pub async fn answer(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LeaveId>,
    form: web::Form<AnswerForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let yes = super::absence::yes_no(&form.answer, Lang::from_request(&req))?;
    let (addr, st, comment) = (client_addr(&req), state.clone(), form.comment.clone());
    state
        .db_write(move |conn| {
            confirmation::answer(conn, &st.act(&v, &addr), id, yes, Some(&comment))
        })
        .await?;
    Ok(see_other(&format!(
        "/leave-applications/{id}/answer?done=1"
    )))
}

/// The applicant takes the application back.
pub async fn withdraw(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LeaveId>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (addr, st) = (client_addr(&req), state.clone());
    let pupil = state
        .db_write(move |conn| confirmation::withdraw(conn, &st.act(&v, &addr), id))
        .await?;
    Ok(see_other(&format!("/pupils/{pupil}?done=withdrawn")))
}

/// The principal or mentor records a guardian's answer given by telephone.
pub async fn by_phone(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LeaveId>,
    form: web::Form<AnswerForm>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let id = id.into_inner();
    let yes = super::absence::yes_no(&form.answer, lang)?;
    let guardian: PersonId = form.guardian_id.trim().parse().map_err(|_| {
        AppError::invalid(
            Code::BadParameter,
            crate::error::Refusal::new("choose_guardian_application_waits"),
        )
    })?;
    let (addr, st, comment) = (client_addr(&req), state.clone(), form.comment.clone());
    let pupil = state
        .db_write(move |conn| {
            confirmation::record_by_phone(
                conn,
                &st.act(&v, &addr),
                id,
                guardian,
                yes,
                Some(&comment),
            )
        })
        .await?;
    Ok(see_other(&format!("/pupils/{pupil}?done=answered")))
}

/// Under an application on the pupil's page, for the family: whom it waits for, the
/// other guardian's reason for declining, the answer the viewer owes, and the withdrawal.
pub fn family_part(ctx: &PageCtx, l: &LeaveView, asked: &[&Awaited], me: PersonId) -> Markup {
    let mine = asked
        .iter()
        .find(|a| a.guardian == me && a.answer == Answer::Waiting);
    html! {
        @for a in asked.iter().filter(|a| a.answer == Answer::Declined) {
            @if let Some(why) = &a.comment {
                br; (ctx.t("Den andra vårdnadshavarens motivering:", "The other guardian's reason:")) " " bdi { (why) }
            }
        }
        @if mine.is_some() && l.status == LeaveStatus::AwaitingGuardian {
            br; a.button href={"/leave-applications/" (l.id) "/answer"} { (ctx.t("Svara på ansökan", "Answer the application")) }
        }
        @if l.applied_by == me && matches!(l.status, LeaveStatus::AwaitingGuardian | LeaveStatus::Pending) {
            form.inline method="post" action={"/leave-applications/" (l.id) "/withdraw"} {
                (ctx.csrf_field()) " " button.link type="submit" { (ctx.t("Återta ansökan", "Withdraw the application")) }
            }
        }
    }
}

/// Under an application on the pupil's page, for the school: each guardian it asked and
/// their answer, whether a message reaches them, and (for the principal and the mentor,
/// while it waits) the form to record an answer given by telephone.
pub fn school_part(ctx: &PageCtx, l: &LeaveView, asked: &[&Awaited], may_record: bool) -> Markup {
    html! {
        @for a in asked {
            br;
            @if a.protected { (ctx.t("Vårdnadshavare med skyddade personuppgifter", "A guardian with protected personal details")) }
            @else { bdi { (a.given_name) " " (a.family_name) } }
            ": " (match a.answer {
                Answer::Waiting => ctx.t("har inte svarat", "has not answered"),
                Answer::Confirmed => ctx.t("har godkänt", "has agreed"),
                Answer::Declined => ctx.t("godkände inte", "did not agree"),
            })
            @if a.by_phone { " " (ctx.t("(per telefon, registrerat av skolan)", "(by telephone, recorded by the school)")) }
            @if a.answer == Answer::Waiting && a.unreachable { " – " strong { (ctx.t("kan inte nås med e-post eller sms", "cannot be reached by e-mail or text message")) } }
            @if a.answer == Answer::Waiting && a.protected { " – " strong { (ctx.t("kontakta via skolans rutin för skyddade personuppgifter", "contact through the school's routine for protected personal details")) } }
            @if may_record && a.answer == Answer::Waiting && l.status == LeaveStatus::AwaitingGuardian {
                form method="post" action={"/leave-applications/" (l.id) "/by-phone"} {
                    (ctx.csrf_field())
                    input type="hidden" name="guardian_id" value=(a.guardian);
                    label { (ctx.t("Svar per telefon, kommentar (valfri)", "Answer by telephone, comment (optional)")) " " input name="comment" maxlength="500"; }
                    button type="submit" name="answer" value="yes" { (ctx.t("Registrera: godkänner", "Record: agrees")) } " "
                    button.secondary type="submit" name="answer" value="no" { (ctx.t("Registrera: godkänner inte", "Record: does not agree")) }
                }
            }
        }
    }
}
