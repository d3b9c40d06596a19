//! Pages that belong to no one area: the start page, the accessibility statement, the
//! language switch.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::common::html_response;
use super::layout::{self, PageCtx};
use crate::auth::viewer::MaybeViewer;
use crate::error::{AppError, AppResult};
use crate::i18n::{Lang, LANG_COOKIE};
use crate::state::AppState;

pub async fn home(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: MaybeViewer,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let Some(v) = viewer.0 else {
        let body = html! {
            h1 { "Närvaro" }
            p { (ctx.t(
                "Närvaro- och frånvarohantering för skolan: lärare rapporterar lektioner på sekunder, vårdnadshavare anmäler frånvaro och får besked samma dag, rektorer ser frånvaron direkt.",
                "Attendance and absence for schools: teachers report a lesson in seconds, guardians report absence and hear the same day, principals see absence as it happens."
            )) }
            p { a.button href="/login" { (ctx.t("Logga in", "Sign in")) } }
        };
        return Ok(html_response(layout::page(&ctx, "Närvaro", body)));
    };
    let person = v.id;
    let teaching = if v.roles.teacher_at.is_empty() {
        None
    } else {
        Some(super::teacher_start::teacher_start(&state, &ctx, &v).await?)
    };
    let (today, tz, now) = (state.today(), state.config.timezone, state.now());
    let time_now = state.now_local().time();
    let summary = state
        .db(move |conn| crate::attendance::home::Home::load(conn, &v, today, tz, now))
        .await?;
    let body = html! {
        h1 { (ctx.tf("Hej {name}", "Hello {name}", &[("name", &summary.given_name)])) }
        @if let Some(t) = teaching { (t) }
        (children_cards(&ctx, &summary, time_now))
        @if let Some(id) = summary.pupil_self {
            section.card {
                h2 { (ctx.t("Din frånvaro", "Your absence")) }
                p { a href={"/pupils/" (id)} { (ctx.t("Visa dina uppgifter", "Show your details")) } }
            }
        }
        @if !summary.schools.is_empty() {
            section.card {
                h2 { (ctx.t("Dina skolor", "Your schools")) }
                ul { @for (id, name, office) in &summary.schools { li { (name)
                    @if *office {
                        " – " a href={"/schools/" (id) "/day"} { (ctx.t("Dagens ändringar", "Today's changes")) }
                        " – " a href={"/schools/" (id) "/trips"} { (ctx.t("Utflykter", "Trips")) }
                        " – " a href={"/schools/" (id) "/reasons"} { (ctx.t("Frånvaroorsaker", "Absence reasons")) }
                        " – " a href={"/schools/" (id) "/settings"} { (ctx.t("Inställningar", "Settings")) }
                    }
                } } }
                @if summary.follows_up {
                    ul {
                        @if summary.principal {
                            li { a href="/statistics" { (ctx.t("Frånvarostatistik", "Absence statistics")) } }
                            li { a href="/audit" { (ctx.t("Ändringslogg", "Audit log")) } }
                        }
                        li { a href="/notices?unconfirmed=1" { (ctx.t("Dagens frånvaromeddelanden som ingen bekräftat", "Today's absence notices no one has confirmed")) } }
                        li { a href="/leave" { (ctx.t("Ledighetsansökningar att hantera", "Leave applications to handle")) " (" (summary.pending_leave) ")" } }
                        li { a href="/signals" { (ctx.t("Signaler om frånvaro, nya", "Absence signals, new")) " (" (summary.new_signals) ")" } }
                    }
                }
            }
        }
        (follow_up_cards(&ctx, &summary))
        @if summary.admin {
            section.card {
                h2 { (ctx.t("Administration", "Administration")) }
                p { a href="/admin" { (ctx.t("Personal, vårdnadshavare och uppdrag", "Staff, guardians and duties")) } }
                p { a href="/admin/reasons" { (ctx.t("Frånvaroorsaker", "Absence reasons")) } }
                p { a href="/admin/signals" { (ctx.t("Regler för frånvarosignaler", "Absence signal rules")) } }
                p { a href="/admin/leave-rules" { (ctx.t("Regler för ledighet och spärrade perioder", "Rules for leave and blocked periods")) } }
                p { a href="/huvudman/figures" { (ctx.t("Frånvaroutredningar per skola", "Absence investigations per school")) } }
                p { a href="/statistics" { (ctx.t("Frånvarostatistik för alla skolor", "Absence statistics for every school")) } }
                p { a href="/huvudman/schools?period=year" { (ctx.t("Huvudmannens översikt", "The huvudman's overview")) } }
                p { a href="/huvudman/term-report" { (ctx.t("Terminsrapport för nationell statistik", "Term report for national statistics")) } }
                p { a href="/notices" { (ctx.t("Dagens frånvaromeddelanden", "Today's absence notices")) } }
            }
        }
        @if summary.is_empty() {
            p { (ctx.t(
                "Ditt konto är inte kopplat till någon skola, något barn eller något uppdrag ännu. Kontakta skolan.",
                "Your account is not connected to a school, a child or a duty yet. Please contact the school."
            )) }
        }
    };
    let mut res = html_response(layout::page(&ctx, ctx.t("Startsida", "Start page"), body));
    // who is signed in, for the service worker: another person's kept pages go (static/sw.js)
    if let Ok(value) = header::HeaderValue::from_str(&person.to_string()) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-narvaro-person"), value);
    }
    Ok(res)
}

/// (The viewer is resolved only so the header shows who is signed in.)
#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
}

/// Stores the chosen language for a year (a code Närvaro does not have is Swedish) and
/// goes back to the page the person was on. A signed-in person's choice is kept with them
/// too: their e-mails and text messages are written in it.
pub async fn set_language(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: MaybeViewer,
    form: web::Form<LanguageForm>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::parse(&form.lang).unwrap_or_default();
    if let Some(v) = viewer.0.filter(|v| v.client.is_none()) {
        let addr = crate::web::common::client_addr(&req);
        let now = state.now();
        let id = v.id;
        state
            .db_write(move |conn| {
                crate::auth::account::set_language(conn, id, lang.code(), (&addr, now))
            })
            .await?;
    }
    Ok(HttpResponse::SeeOther()
        .cookie(language_cookie(lang))
        .insert_header((header::LOCATION, back_to(&req)))
        .finish())
}

/// The browser's language for a year.
pub(super) fn language_cookie(lang: Lang) -> Cookie<'static> {
    Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The same-site path of the Referer, or the start page.
fn back_to(req: &HttpRequest) -> String {
    let referer = req
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = req.connection_info().host().to_string();
    referer
        .split_once("://")
        .and_then(|(_, rest)| rest.strip_prefix(host.as_str()))
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or("/")
        .to_string()
}

/// A guardian's children: today, the term's absence, recent leave decisions and the
/// quick actions ("Sjuk i dag" while it helps).
fn children_cards(
    ctx: &PageCtx,
    summary: &crate::attendance::home::Home,
    time_now: chrono::NaiveTime,
) -> maud::Markup {
    html! {
        @if !summary.children.is_empty() {
            h2 { (ctx.t("Dina barn", "Your children")) }
            @for c in &summary.children {
                section.card {
                    h3 { a href={"/pupils/" (c.id)} { bdi { (c.name) } } }
                    p { (super::absence::state_text(&c.today, ctx)) }
                    p.muted { (ctx.tf(
                        "Frånvaro denna termin: {share} (ogiltig {minutes} min)",
                        "Absence this term: {share} (invalid {minutes} min)",
                        &[("share", &ctx.lang.percent(c.term_pct, 1)), ("minutes", &c.invalid_minutes.to_string())],
                    )) }
                    @for (leave, first, last) in &c.to_answer {
                        p { a.button href={"/leave-applications/" (leave) "/answer"} { (ctx.tf("Ansökan om ledighet {days} väntar på ditt svar", "Leave application {days} is waiting for your answer", &[("days", &ctx.lang.days(*first, *last))])) } }
                    }
                    @for (first, last, approved) in &c.recent_decisions {
                        @let days = ctx.lang.days(*first, *last);
                        p { a href={"/pupils/" (c.id)} { (if *approved {
                            ctx.tf("Ledighet {days}: beviljad", "Leave {days}: approved", &[("days", &days)])
                        } else {
                            ctx.tf("Ledighet {days}: avslagen", "Leave {days}: rejected", &[("days", &days)])
                        }) } }
                    }
                    div.quick {
                        @if c.today.sick_today_helps(time_now) {
                            form method="post" action={"/pupils/" (c.id) "/absence-reports"} {
                                (ctx.csrf_field())
                                input type="hidden" name="quick" value="sick_today";
                                button.primary type="submit" { (ctx.t("Sjuk i dag", "Sick today")) }
                            }
                        }
                        a.button.secondary href={"/pupils/" (c.id) "/report"} { (ctx.t("Anmäl frånvaro", "Report absence")) }
                        a.button.secondary href={"/pupils/" (c.id) "/leave"} { (ctx.t("Ansök om ledighet", "Apply for leave")) }
                    }
                }
            }
        }
    }
}

/// The investigations (overdue ones counted for the principal) and the huvudman's inbox.
fn follow_up_cards(ctx: &PageCtx, summary: &crate::attendance::home::Home) -> maud::Markup {
    html! {
        @if summary.cases {
            section.card {
                h2 { (ctx.t("Frånvaroutredningar", "Absence investigations")) }
                @if summary.overdue_cases > 0 {
                    p.errors { strong { (ctx.t("Försenade utredningar: ", "Overdue investigations: ")) (summary.overdue_cases) } }
                }
                @if summary.reports_to_update > 0 {
                    p { strong { (ctx.t("Huvudmannens uppföljning väntar på ", "The huvudman's follow-up waits for ")) (summary.reports_to_update) (ctx.t(" anmälningar", " reports")) } }
                }
                p { a href="/cases" { (ctx.t("Öppna utredningar", "Open investigations")) } }
                @if !summary.follows_up {
                    p { a href="/signals" { (ctx.t("Signaler om frånvaro, nya", "Absence signals, new")) " (" (summary.new_signals) ")" } }
                } @else {
                    p { a href="/guardians/unreached" { (ctx.t("Vårdnadshavare som inte nås", "Guardians not reached")) } }
                }
            }
        }
        @if summary.officer {
            section.card {
                h2 { (ctx.t("Huvudmannen", "The huvudman")) }
                p { a href="/huvudman/reports" { (ctx.t("Anmälningar om inledda frånvaroutredningar", "Reports of started absence investigations")) } }
                p { a href="/huvudman/figures" { (ctx.t("Frånvaroutredningar per skola", "Absence investigations per school")) } }
                p { a href="/huvudman/schools?period=year" { (ctx.t("Huvudmannens översikt", "The huvudman's overview")) } }
                p { a href="/huvudman/term-report" { (ctx.t("Terminsrapport för nationell statistik", "Term report for national statistics")) } }
            }
        }
    }
}
