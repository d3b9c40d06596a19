//! The leave page (`/leave`): applications waiting for the principal or the mentor, and the
//! principal's delegation of leave decisions to the school's mentors, with the forms that
//! give, change and end it. Everyone who is neither principal nor mentor gets 404.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::attendance::leave_application::Pending;
use crate::attendance::leave_delegation::{self, Delegation};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::school::ids::SchoolId;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// The day a delegation was given, in words, in the municipality's time zone.
pub fn given_on(state: &AppState, lang: Lang, at: NaiveDateTime) -> String {
    let local = at.and_utc().with_timezone(&state.config.timezone);
    lang.day(local.date_naive())
}

/// Pending leave applications for the principal's schools and the mentor's groups, and
/// the delegations that decide who decides.
pub async fn pending_leave(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    if v.roles.principal_of.is_empty() && v.roles.mentor_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let ctx = PageCtx::new(&req);
    let today = state.today();
    let (rows, led, delegations) = state
        .db(move |conn| {
            let rows = crate::attendance::leave_application::pending_for(conn, &v, today)?;
            let (led, mentored) = leave_delegation::schools_of(conn, &v)?;
            let mut all: Vec<SchoolId> = led.iter().map(|s| s.0).collect();
            all.extend(mentored);
            let delegations: HashMap<SchoolId, Delegation> = leave_delegation::running(conn, &all)?
                .into_iter()
                .map(|d| (d.school_id, d))
                .collect();
            Ok((rows, led, delegations))
        })
        .await?;
    let title = ctx.t(
        "Ledighetsansökningar att hantera",
        "Leave applications to handle",
    );
    let note = q.done.as_deref().and_then(|d| match d {
        "delegated" => Some(ctx.t(
            "Delegationen är sparad: mentorerna beslutar om ledighet inom gränsen.",
            "The delegation is saved: mentors decide on leave within the limit.",
        )),
        "ended" => Some(ctx.t(
            "Delegationen är återkallad: du beslutar om all ledighet.",
            "The delegation is ended: you decide on all leave.",
        )),
        _ => None,
    });
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { p.notice role="status" { (n) } }
        (pending_list(&ctx, &rows))
        @for (school, name) in &led { (delegation_card(&ctx, &state, *school, name, delegations.get(school))) }
        @let others: Vec<&Delegation> = delegations.values().filter(|d| !led.iter().any(|(s, _)| *s == d.school_id)).collect();
        @for d in others {
            p {
                (ctx.lang.fill(
                    "Rektor {principal} har delegerat beslut om ledighet till mentorerna ({on}): du beslutar själv om dina elevers ansökningar upp till {days} skoldagar per läsår, räknat med redan beviljad ledighet.",
                    "Principal {principal} has delegated leave decisions to mentors ({on}): you decide your pupils' applications of up to {days} school days per school year, counting leave already granted.",
                    &[("principal", &d.delegated_by), ("on", &given_on(&state, ctx.lang, d.delegated_at)), ("days", &d.max_days.to_string())],
                ))
            }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

/// The applications waiting on the viewer, then those waiting on someone else (a mentor's
/// answered applications wait on the principal), each saying where the mentor stands.
fn pending_list(ctx: &PageCtx, rows: &[Pending]) -> Markup {
    let (guardians, rows): (Vec<&Pending>, Vec<&Pending>) =
        rows.iter().partition(|p| p.awaiting_guardian);
    let (mine, others): (Vec<&Pending>, Vec<&Pending>) =
        rows.into_iter().partition(|p| p.waits_on_viewer);
    let line = |l: &Pending| {
        html! {
            li { a href={"/pupils/" (l.pupil)} { (l.given_name) " " (l.family_name) } " " (ctx.lang.days(l.start_date, l.end_date)) ": " (l.reason)
                " (" (match l.recommendation.as_deref() {
                    Some("recommended") => ctx.t("mentorn tillstyrker", "recommended by the mentor"),
                    Some(_) => ctx.t("mentorn avstyrker", "not recommended by the mentor"),
                    None => ctx.t("mentorn har inte svarat ännu", "the mentor has not answered yet"),
                }) ")" }
        }
    };
    html! {
        h2 { (ctx.t("Väntar på dig", "Waiting for you")) }
        @if mine.is_empty() { p { (ctx.t("Inga ansökningar väntar på dig.", "No applications are waiting for you.")) } }
        ul { @for l in &mine { (line(l)) } }
        @if !others.is_empty() {
            h2 { (ctx.t("Du har svarat, rektor beslutar", "You have answered; the principal decides")) }
            ul { @for l in &others { (line(l)) } }
        }
        @if !guardians.is_empty() {
            h2 { (ctx.t("Väntar på den andra vårdnadshavaren", "Waiting for the other guardian")) }
            p { (ctx.t("Reglerna kräver att båda vårdnadshavarna godkänner. Elevens sida visar om någon inte kan nås; där kan du registrera ett svar som lämnats per telefon.",
                "The rules require both guardians to agree. The pupil's page shows whether one cannot be reached; there you can record an answer given by telephone.")) }
            ul { @for l in &guardians { li { a href={"/pupils/" (l.pupil)} { (l.given_name) " " (l.family_name) } " " (ctx.lang.days(l.start_date, l.end_date)) } } }
        }
    }
}

/// The principal's card for one school: the running delegation, or none, and the forms.
fn delegation_card(
    ctx: &PageCtx,
    state: &AppState,
    school: SchoolId,
    name: &str,
    d: Option<&Delegation>,
) -> Markup {
    let field = format!("days-{school}");
    html! {
        section.card aria-labelledby={"deleg-" (school)} {
            h2 id={"deleg-" (school)} { (ctx.t("Beslut om ledighet", "Leave decisions")) ": " (name) }
            p { a href={"/schools/" (school) "/leave-rules"} { (ctx.t("Skolans regler för ledighet och spärrade perioder", "The school's rules for leave and blocked periods")) } }
            @match d {
                Some(d) => p {
                    (ctx.lang.fill(
                        "Mentorerna beslutar om ledighet för sina elever upp till {days} skoldagar per läsår, räknat med redan beviljad ledighet. Delegerat av {principal} {on}.",
                        "Mentors decide on their pupils' leave of up to {days} school days per school year, counting leave already granted. Delegated by {principal} on {on}.",
                        &[("days", &d.max_days.to_string()), ("principal", &d.delegated_by), ("on", &given_on(state, ctx.lang, d.delegated_at))],
                    ))
                },
                None => p { (ctx.t("Du beslutar om all ledighet. Du kan delegera beslut om kortare ledighet till elevernas mentorer; längre ledighet beslutar du själv.", "You decide on all leave. You can delegate decisions on shorter leave to the pupils' mentors; longer leave stays with you.")) },
            }
            form method="post" action="/leave-delegations" {
                (ctx.csrf_field())
                input type="hidden" name="school_id" value=(school);
                label for=(field) { (ctx.t("Mentorerna beslutar upp till (skoldagar per läsår och elev)", "Mentors decide up to (school days per school year and pupil)")) }
                input id=(field) name="max_days" type="number" inputmode="numeric" min="1" max=(leave_delegation::MAX_DAYS) required value=(d.map_or(10, |d| d.max_days));
                p { button type="submit" { @if d.is_some() { (ctx.t("Ändra gränsen", "Change the limit")) } @else { (ctx.t("Delegera till mentorerna", "Delegate to the mentors")) } } }
            }
            @if d.is_some() {
                form method="post" action="/leave-delegations/end" {
                    (ctx.csrf_field())
                    input type="hidden" name="school_id" value=(school);
                    button.secondary type="submit" { (ctx.t("Återkalla delegationen", "End the delegation")) }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct DelegationForm {
    #[serde(default)]
    school_id: String,
    #[serde(default)]
    max_days: String,
}

/// The school a principal's delegation form names (anyone else: 404).
fn school_of(v: &Viewer, form: &DelegationForm, lang: Lang) -> AppResult<SchoolId> {
    if v.roles.principal_of.is_empty() {
        return Err(AppError::NotFound);
    }
    form.school_id.trim().parse().map_err(|_| {
        AppError::invalid(
            Code::BadSchool,
            lang.pick("Välj en skola.", "Choose a school."),
        )
    })
}

pub async fn delegate(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<DelegationForm>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let school = school_of(&v, &form, lang)?;
    let days: i32 = form.max_days.trim().parse().map_err(|_| {
        AppError::invalid(
            Code::BadParameter,
            lang.pick(
                "Ange ett antal dagar från 1 till 60.",
                "Give a number of days from 1 to 60.",
            ),
        )
    })?;
    let (addr, now) = (client_addr(&req), state.now());
    state
        .db_write(move |conn| leave_delegation::delegate(conn, &v, school, days, now, &addr))
        .await?;
    Ok(see_other("/leave?done=delegated"))
}

pub async fn end_delegation(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<DelegationForm>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let school = school_of(&v, &form, lang)?;
    let (addr, now) = (client_addr(&req), state.now());
    state
        .db_write(move |conn| leave_delegation::end(conn, &v, school, now, &addr))
        .await?;
    Ok(see_other("/leave?done=ended"))
}
