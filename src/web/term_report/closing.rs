//! Closing a term on the term report's page: each school's state (open, closed by whom and
//! when), the forms that close and reopen (the administrator's), and the changes the
//! principals made while it was closed.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{exporters, Asked, TermQuery};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::follow_up::terms::{self, Change, Closing};
use crate::i18n::Lang;
use crate::insight::term_quality::{self, SchoolCheck};
use crate::insight::term_report::{self, Term};
use crate::school::ids::SchoolId;
use crate::state::AppState;
use crate::web::common::{client_addr, see_other};
use crate::web::layout::PageCtx;
use crate::web::roll_call::local_stamp;

/// The term's closings in force and the changes made while closed, at the schools.
pub(super) async fn load(
    state: &AppState,
    schools: Vec<SchoolId>,
    term: Term,
) -> AppResult<(Vec<Closing>, Vec<Change>)> {
    state
        .db(move |conn| {
            Ok((
                terms::closings(conn, &schools, term)?,
                terms::changes(conn, &schools, term)?,
            ))
        })
        .await
}

/// The part of the page that closes and reopens, with the changes below it.
pub(super) fn part(
    ctx: &PageCtx,
    state: &AppState,
    asked: &Asked,
    checks: &[SchoolCheck],
    (closings, changes): &(Vec<Closing>, Vec<Change>),
    may_close: bool,
) -> Markup {
    let lang = ctx.lang;
    let ended = asked.term.last_day() < state.today();
    let name = |id: SchoolId| {
        checks
            .iter()
            .find(|c| c.school.id == id)
            .map(|c| c.school.name.clone())
            .unwrap_or_default()
    };
    html! {
        section aria-labelledby="closing" {
            h2 #closing { (ctx.t("Stänga terminen", "Closing the term")) }
            p { (ctx.t(
                "När terminen är kontrollerad stänger huvudmannen den för skolan. I en stängd termin kan bara rektor ändra närvaron, med en anledning, och ändringarna listas här.",
                "Once the term is checked, the huvudman closes it for the school. In a closed term only the principal can change attendance, with a reason, and the changes are listed here.")) }
            @if !ended {
                p { (ctx.t("Terminen kan stängas när den har slutat.", "The term can be closed once it has ended.")) }
            }
            ul.plain {
                @for c in checks {
                    li {
                        strong { (c.school.name) } ": "
                        @match closings.iter().find(|x| x.school == c.school.id) {
                            Some(x) => {
                                (ctx.t("stängd ", "closed ")) (local_stamp(state, lang, x.closed_at)) (ctx.t(" av ", " by ")) (x.closed_by)
                                " (" (x.problems) (ctx.t(" problem vid stängningen)", " problems when closed)"))
                                @if may_close {
                                    form.inline method="post" action="/huvudman/term-report/reopen" {
                                        (ctx.csrf_field())
                                        input type="hidden" name="term" value=(asked.term.code());
                                        input type="hidden" name="school" value=(c.school.id);
                                        label for={"reason-" (c.school.id)} { (ctx.t("Anledning att öppna", "Reason to reopen")) }
                                        input id={"reason-" (c.school.id)} name="reason" required maxlength="500";
                                        button.secondary type="submit" { (ctx.t("Öppna terminen igen", "Reopen the term")) }
                                    }
                                }
                            },
                            None => {
                                (ctx.t("öppen", "open"))
                                @if may_close && ended {
                                    form.inline method="post" action="/huvudman/term-report/close" {
                                        (ctx.csrf_field())
                                        input type="hidden" name="term" value=(asked.term.code());
                                        input type="hidden" name="school" value=(c.school.id);
                                        button.secondary type="submit" { (ctx.t("Stäng terminen", "Close the term")) " – " (c.school.name) }
                                    }
                                }
                            },
                        }
                    }
                }
            }
            h3 { (ctx.t("Ändringar i stängd termin", "Changes to a closed term")) }
            @if changes.is_empty() {
                p { (ctx.t("Inga ändringar.", "No changes.")) }
            } @else {
                div.scroll tabindex="0" {
                    table {
                        thead { tr {
                            th scope="col" { (ctx.t("Skola", "School")) }
                            th scope="col" { (ctx.t("Lektion", "Lesson")) }
                            th scope="col" { (ctx.t("Ändrad", "Changed")) }
                            th scope="col" { (ctx.t("Av", "By")) }
                            th scope="col" { (ctx.t("Markeringar", "Marks")) }
                            th scope="col" { (ctx.t("Anledning", "Reason")) }
                        } }
                        tbody {
                            @for x in changes {
                                tr {
                                    td { (name(x.school)) }
                                    td { (x.subject) ", " (lang.day(x.lesson_date)) }
                                    td { (local_stamp(state, lang, x.changed_at)) }
                                    td { (x.changed_by) }
                                    td { (x.marks) }
                                    td { (x.reason) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    term: String,
    #[serde(default)]
    school: String,
    #[serde(default)]
    reason: String,
}

/// The school and term a form names: a school of the administrator's municipalities (any
/// other is a 404) and a term that has begun.
async fn chosen(
    state: &AppState,
    v: &Viewer,
    f: &CloseForm,
    lang: Lang,
) -> AppResult<(SchoolId, Term, SchoolCheck)> {
    let municipalities = exporters(v)?;
    let term = TermQuery::of_term(&f.term).asked(state.today(), lang)?.term;
    let school: SchoolId = f.school.trim().parse().map_err(|_| AppError::NotFound)?;
    let (today, tz) = (state.today(), state.config.timezone);
    let check = state
        .db(move |conn| {
            let schools: Vec<_> = term_report::schools(conn, &municipalities, None)?
                .into_iter()
                .filter(|s| s.id == school)
                .collect();
            if schools.is_empty() {
                return Err(AppError::NotFound);
            }
            let mut checks =
                term_quality::check(conn, tz, &municipalities, schools, term.period(), today)?;
            checks.pop().ok_or(AppError::NotFound)
        })
        .await?;
    Ok((school, term, check))
}

/// POST /huvudman/term-report/close: closes the term for one school.
pub async fn close(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<CloseForm>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let (school, term, check) = chosen(&state, &v, &form, lang).await?;
    let addr = client_addr(&req);
    let act_state = state.clone();
    state
        .db_write(move |conn| {
            let act = act_state.act(&v, &addr);
            terms::close(conn, &act, school, term, check.total())
        })
        .await?;
    Ok(see_other(&format!(
        "/huvudman/term-report?term={}#closing",
        term.code()
    )))
}

/// POST /huvudman/term-report/reopen: reopens it, with a reason.
pub async fn reopen(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<CloseForm>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let (school, term, _) = chosen(&state, &v, &form, lang).await?;
    let addr = client_addr(&req);
    let reason = form.reason.clone();
    let act_state = state.clone();
    state
        .db_write(move |conn| {
            let act = act_state.act(&v, &addr);
            terms::reopen(conn, &act, school, term, &reason)
        })
        .await?;
    Ok(see_other(&format!(
        "/huvudman/term-report?term={}#closing",
        term.code()
    )))
}
