//! Early signals of absence: the list for those who follow pupils up (`/signals`: the
//! principal's schools, the mentor's groups, elevhälsan), per school and per class, with
//! "seen" and "dismiss with a reason". The rules are on `super::signal_rules`, the
//! signals themselves in `crate::follow_up::signals`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use super::signal_rules::rule_words;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::follow_up::signals::{self, SignalLine};
use crate::i18n::Lang;
use crate::school::ids::{SchoolId, SignalId};
use crate::school::states::{RuleKind, SignalStatus};
use crate::school::Refusal;
use crate::state::AppState;

/// Only those who follow pupils up (a principal, a mentor, elevhälsan) have the list.
fn follows_up(v: &Viewer) -> AppResult<()> {
    if signals::follows_up(v) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The list's query: what was just done, and which school and class to show (empty:
/// all).
#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
    #[serde(default)]
    school: String,
    #[serde(default)]
    class: String,
}

/// GET /signals
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    follows_up(&v)?;
    let ctx = PageCtx::new(&req);
    let note = q.done.as_deref().map(|d| {
        let (sv, en) = match d {
            "dismissed" => ("Signalen är avfärdad.", "The signal is dismissed."),
            _ => (
                "Signalen är markerad som sedd.",
                "The signal is marked as seen.",
            ),
        };
        html! { p.notice role="status" { (ctx.t(sv, en)) } }
    });
    render(&state, &ctx, v, &q, note, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    filter: &Done,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let leads = v.roles.principal_of.clone();
    let lines = state
        .db(move |conn| signals::for_viewer(conn, &v, today))
        .await?;
    Ok(html_with_status(
        status,
        list_page(ctx, &lines, &leads, filter, note),
    ))
}

/// The schools and the classes of the lines, each once, in order, for the filter.
fn choices(lines: &[SignalLine]) -> (Vec<(SchoolId, &str)>, Vec<&str>) {
    let mut schools: Vec<(SchoolId, &str)> = lines
        .iter()
        .map(|l| (l.school_id, l.school.as_str()))
        .collect();
    schools.sort_by_key(|s| crate::i18n::swedish_order(s.1));
    schools.dedup();
    let mut classes: Vec<&str> = lines.iter().filter_map(|l| l.class.as_deref()).collect();
    classes.sort_by_key(|c| crate::i18n::swedish_order(c));
    classes.dedup();
    (schools, classes)
}

fn filter_form(ctx: &PageCtx, lines: &[SignalLine], f: &Done) -> Markup {
    let (schools, classes) = choices(lines);
    html! {
        form.inline method="get" action="/signals" {
            @if schools.len() > 1 {
                label for="f-school" { (ctx.t("Skola", "School")) }
                select #f-school name="school" {
                    option value="" { (ctx.t("Alla skolor", "All schools")) }
                    @for (id, name) in &schools {
                        option value=(id) selected[f.school == id.to_string()] { (name) }
                    }
                }
            }
            label for="f-class" { (ctx.t("Klass", "Class")) }
            select #f-class name="class" {
                option value="" { (ctx.t("Alla klasser", "All classes")) }
                @for c in &classes { option value=(c) selected[f.class == *c] { (c) } }
            }
            button.secondary type="submit" { (ctx.t("Visa", "Show")) }
        }
    }
}

fn list_page(
    ctx: &PageCtx,
    all: &[SignalLine],
    leads: &[SchoolId],
    f: &Done,
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t("Signaler om frånvaro", "Absence signals");
    // a school that is not a number matches none (the form only offers numbers)
    let school = (!f.school.is_empty()).then(|| f.school.parse().unwrap_or(SchoolId(0)));
    let class = (!f.class.is_empty()).then_some(f.class.as_str());
    let lines: Vec<&SignalLine> = all.iter().filter(|l| l.in_view(school, class)).collect();
    let new = lines
        .iter()
        .filter(|l| l.status == SignalStatus::New)
        .count();
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        p { (ctx.t("Elever som upprepad eller långvarig frånvaro gör att någon behöver se över (skollagen 7 kap. 19 a §). Nya: ", "Pupils whose repeated or long absence someone needs to look into (Skollagen 7 kap. 19 a §). New: ")) (new) "." }
        @if !all.is_empty() { (filter_form(ctx, all, f)) }
        @if lines.is_empty() { p { (ctx.t("Inga öppna signaler.", "No open signals.")) } }
        @for l in lines { (signal_card(ctx, l, leads.contains(&l.school_id))) }
        @if let [school] = leads {
            p { a href={"/schools/" (school) "/signals"} { (ctx.t("Skolans egna regler", "The school's own rules")) } }
        }
    };
    layout::page(ctx, title, body)
}

/// What a signal of a pattern is of: the subject, or the weekday and time of the slot.
fn pattern_words(l: &SignalLine, lang: Lang) -> Option<String> {
    let p = l.pattern.as_deref()?;
    match l.rule.kind {
        RuleKind::Subject => Some(format!("{}: {p}", lang.pick("ämne", "subject"))),
        RuleKind::Slot => {
            let (wd, at) = p.split_once(' ')?;
            let days = lang.weekdays(wd.parse().ok()?)?;
            Some(format!("{days} {at}"))
        }
        _ => None,
    }
}

/// A signal; the principal of its school may turn it into an investigation.
fn signal_card(ctx: &PageCtx, l: &SignalLine, principal: bool) -> Markup {
    let lang = ctx.lang;
    let hours = |m: i32| format!("{:.1}", f64::from(m) / 60.0);
    html! {
        section.card aria-labelledby={"s" (l.id)} {
            h2 id={"s" (l.id)} {
                (l.name)
                @if let Some(c) = &l.class { " (" (c) ")" }
                @if l.status == SignalStatus::New { " " strong.badge { (ctx.t("Ny", "New")) } }
            }
            p { (l.school) ": " (rule_words(&l.rule, lang)) "." }
            p.muted {
                (lang.days(l.period_from, l.period_to)) ": "
                @if l.days_in_row > 0 && l.rule.kind == RuleKind::DaysInRow {
                    (l.days_in_row) (ctx.t(" skoldagar i rad", " school days in a row"))
                } @else if l.rule.kind == RuleKind::Occasions {
                    (l.days_in_row) (ctx.t(" tillfällen", " occasions"))
                } @else if l.rule.kind == RuleKind::Weekday {
                    (l.days_in_row) (ctx.t(" gånger samma veckodag", " times on the same weekday"))
                } @else if l.rule.kind.is_lesson() {
                    (l.days_in_row) (ctx.t(" lektioner", " lessons"))
                    @if let Some(w) = pattern_words(l, lang) { " (" (w) ")" }
                } @else {
                    (hours(l.absent_minutes)) (ctx.t(" av ", " of ")) (hours(l.scheduled_minutes)) (ctx.t(" timmar", " hours"))
                }
                ". " a href={"/pupils/" (l.pupil)} aria-label={(ctx.t("Lektionerna bakom: ", "The lessons behind it: ")) (l.name)} { (ctx.t("Lektionerna bakom", "The lessons behind it")) }
            }
            @if let Some(case) = l.case {
                p { a href={"/cases/" (case)} { (ctx.t("Utredningen", "The investigation")) } }
            } @else if principal {
                form method="post" action={"/signals/" (l.id) "/case"} {
                    (ctx.csrf_field())
                    button type="submit" aria-label={(ctx.t("Öppna utredning: ", "Open an investigation: ")) (l.name)} { (ctx.t("Öppna utredning", "Open an investigation")) }
                }
            }
            @if l.status == SignalStatus::New {
                form method="post" action={"/signals/" (l.id) "/seen"} {
                    (ctx.csrf_field())
                    button.secondary type="submit" { (ctx.t("Markera som sedd", "Mark as seen")) }
                }
            }
            @if l.case.is_none() {
                form method="post" action={"/signals/" (l.id) "/dismiss"} {
                    (ctx.csrf_field())
                    label for={"r" (l.id)} { (ctx.t("Varför behövs ingen åtgärd?", "Why is no action needed?")) }
                    textarea id={"r" (l.id)} name="reason" maxlength=(signals::MAX_REASON) required {}
                    button.secondary type="submit" { (ctx.t("Avfärda signalen", "Dismiss the signal")) }
                }
            }
        }
    }
}

/// POST /signals/{id}/seen
pub async fn seen(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<SignalId>,
) -> AppResult<HttpResponse> {
    follows_up(&v)?;
    let (id, st, addr) = (id.into_inner(), state.clone(), client_addr(&req));
    state
        .db_write(move |conn| signals::mark_seen(conn, &st.act(&v, &addr), id))
        .await?;
    Ok(see_other("/signals?done=seen"))
}

#[derive(Deserialize)]
pub struct DismissForm {
    #[serde(default)]
    reason: String,
}

/// POST /signals/{id}/dismiss
pub async fn dismiss(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<SignalId>,
    form: web::Form<DismissForm>,
) -> AppResult<HttpResponse> {
    follows_up(&v)?;
    let ctx = PageCtx::new(&req);
    let (id, st, addr, viewer) = (id.into_inner(), state.clone(), client_addr(&req), v.clone());
    let reason = form.into_inner().reason;
    let result = state
        .db_write(move |conn| signals::dismiss(conn, &st.act(&viewer, &addr), id, &reason))
        .await?;
    match result {
        Ok(()) => Ok(see_other("/signals?done=dismissed")),
        Err(refusal) => refused(&state, &ctx, v, &refusal).await,
    }
}

async fn refused(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    refusal: &Refusal,
) -> AppResult<HttpResponse> {
    let note = html! { p.errors role="alert" { (ctx.say(refusal)) } };
    let all = Done::default();
    render(state, ctx, v, &all, Some(note), StatusCode::BAD_REQUEST).await
}
