//! The huvudman's rules for leave (issue 39): the municipality's at `/admin/leave-rules`
//! (its administrator), a school's stricter ones at `/schools/{id}/leave-rules` (its
//! principal), and what a guardian reads of them above the leave form. The rules are in
//! `crate::attendance::leave_rules`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;

use super::absence_reasons::municipal;
use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::attendance::absence_reasons::Owner;
use crate::attendance::leave_rules::{self, Blocked, Effective, Rules};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::school::ids::{BlockedPeriodId, SchoolId};
use crate::school::Refusal;
use crate::state::AppState;

/// What a guardian or an adult pupil reads of the rules before applying: the notice, the
/// longest leave, the leave left before the principal decides, and the blocked periods
/// from today on.
pub fn for_families(ctx: &PageCtx, e: &Effective, granted: i64, today: NaiveDate) -> Markup {
    let lang = ctx.lang;
    let r = e.rules;
    let blocked = e.blocked_from(today);
    html! {
        @if r.notice_days.is_some() || r.longest_days.is_some() || r.principal_above_days.is_some() || r.both_guardians || !blocked.is_empty() {
            ul.rules {
                @if r.both_guardians {
                    li { (ctx.t("Båda vårdnadshavarna ska godkänna ansökan. När du har skickat den får den andra vårdnadshavaren ett meddelande och svarar i Närvaro; först därefter går ansökan till skolan.",
                        "Both guardians must agree to the application. When you have sent it, the other guardian gets a message and answers in Närvaro; only then does the application go to the school.")) }
                }
                @if let Some(days) = r.notice_days {
                    li { (ctx.tf("Ansök senast {days} dagar före den första lediga dagen, alltså för dagar från och med {date}.",
                        "Apply at least {days} days before the first day of leave, that is for days from {date} on.",
                        &[("days", &days.to_string()), ("date", &lang.day(e.earliest_start(today)))])) }
                }
                @if let Some(days) = r.longest_days {
                    li { (ctx.tf("En ansökan kan gälla högst {days} skoldagar.", "One application can cover at most {days} school days.",
                        &[("days", &days.to_string())])) }
                }
                @if let Some(above) = r.principal_above_days {
                    li { (ctx.tf("Över {days} skoldagar ledighet per läsår beslutar rektor. Kvar innan dess: {left} skoldagar.",
                        "Above {days} school days of leave per school year the principal decides. Left before that: {left} school days.",
                        &[("days", &above.to_string()), ("left", &(i64::from(above) - granted).max(0).to_string())])) }
                }
                @if !blocked.is_empty() {
                    li {
                        (ctx.t("En ansökan som rör en spärrad period behöver en särskild motivering och beslutas av rektor. Spärrade perioder:",
                            "An application that touches a blocked period needs a special reason and is decided by the principal. Blocked periods:"))
                        ul { @for b in &blocked { li { bdi { (b.name) } ": " (lang.days(b.first, b.last)) } } }
                    }
                }
            }
        }
    }
}

/// The field a family fills in when the leave touches a blocked period.
pub fn blocked_reason_field(ctx: &PageCtx, e: &Effective, today: NaiveDate, value: &str) -> Markup {
    html! {
        @if !e.blocked_from(today).is_empty() {
            label for="blocked_reason" { (ctx.t("Om ledigheten rör en spärrad period: varför kan den inte tas en annan tid?",
                "If the leave touches a blocked period: why can it not be taken at another time?")) }
            textarea #blocked_reason name="blocked_reason" maxlength="500" rows="2" { (value) }
        }
    }
}

/// What the decider (the principal, a mentor) reads above a pupil's applications: leave
/// granted and taken this school year, and the rules that apply.
pub fn for_deciders(
    ctx: &PageCtx,
    (year, e): &(crate::attendance::leave_application::YearSummary, Effective),
) -> Markup {
    let r = e.rules;
    let n = |v: i64| v.to_string();
    html! {
        p { (ctx.lang.fill(
            "Beviljad ledighet detta läsår: {days} skoldagar ({lessons} lektioner), varav tagen hittills: {taken} skoldagar ({taken_lessons} lektioner).",
            "Leave granted this school year: {days} school days ({lessons} lessons), of which taken so far: {taken} school days ({taken_lessons} lessons).",
            &[("days", &n(year.granted_days)), ("lessons", &n(year.granted_lessons)), ("taken", &n(year.taken_days)), ("taken_lessons", &n(year.taken_lessons))],
        )) }
        @if r.notice_days.is_some() || r.longest_days.is_some() || r.principal_above_days.is_some() || r.both_guardians {
            p { (ctx.t("Regler:", "Rules:"))
                @if r.both_guardians { " " (ctx.t("båda vårdnadshavarna godkänner ansökan;", "both guardians agree to the application;")) }
                @if let Some(d) = r.notice_days { " " (ctx.lang.fill("ansökan {days} dagar i förväg;", "applications {days} days ahead;", &[("days", &d.to_string())])) }
                @if let Some(d) = r.longest_days { " " (ctx.lang.fill("högst {days} skoldagar per beslut;", "at most {days} school days per decision;", &[("days", &d.to_string())])) }
                @if let Some(d) = r.principal_above_days { " " (ctx.lang.fill("över {days} skoldagar per läsår beslutar rektor.", "above {days} school days per school year the principal decides.", &[("days", &d.to_string())])) }
            }
        }
    }
}

/// Beside a pending application: the blocked periods it touches and why the guardian asks
/// for leave then.
pub fn blocked_line(
    ctx: &PageCtx,
    e: &Effective,
    l: &crate::attendance::leave_application::LeaveView,
) -> Markup {
    let touched = e.blocked_in(l.start_date, l.end_date);
    html! {
        @if !touched.is_empty() {
            br; strong { (ctx.t("Rör en spärrad period:", "Touches a blocked period:")) }
            " " (touched.iter().map(|b| b.name.as_str()).collect::<Vec<_>>().join(", "))
            @if let Some(why) = &l.blocked_reason { ". " (ctx.t("Motivering:", "Reason given:")) " " bdi { (why) } }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// A school, for its principal (404 for everyone else).
async fn of_school(state: &AppState, v: &Viewer, school: SchoolId) -> AppResult<Owner> {
    if !v.roles.principal_of.contains(&school) {
        return Err(AppError::NotFound);
    }
    state.db(move |conn| Owner::school(conn, school)).await
}

fn page_of(owner: Owner) -> String {
    match owner {
        Owner::Municipality(_) => "/admin/leave-rules".into(),
        Owner::School { school, .. } => format!("/schools/{school}/leave-rules"),
    }
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let owner = municipal(&v)?;
    show(&req, &state, owner, q.into_inner()).await
}

pub async fn school_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let owner = of_school(&state, &v, school.into_inner()).await?;
    show(&req, &state, owner, q.into_inner()).await
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    owner: Owner,
    q: Done,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(req);
    let note = q.done.map(|_| {
        html! { p.notice role="status" { (ctx.t("Ändringen är sparad.", "The change is saved.")) } }
    });
    render(state, &ctx, owner, None, note, StatusCode::OK).await
}

/// What the rules form shows after a refusal: what was sent.
#[derive(Deserialize, Default, Clone)]
pub struct RulesForm {
    #[serde(default)]
    notice_days: String,
    #[serde(default)]
    longest_days: String,
    #[serde(default)]
    principal_above_days: String,
    /// the checkbox: present when ticked
    #[serde(default)]
    both_guardians: Option<String>,
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    owner: Owner,
    shown: Option<RulesForm>,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let (stored, municipality, blocked) = state
        .db(move |conn| {
            let stored = leave_rules::stored(conn, owner.org())?;
            let municipality = match owner {
                Owner::School { municipality, .. } => {
                    Some(leave_rules::stored(conn, municipality)?)
                }
                Owner::Municipality(_) => None,
            };
            Ok((
                stored,
                municipality,
                leave_rules::own_blocked(conn, owner.org())?,
            ))
        })
        .await?;
    let form = shown.unwrap_or_else(|| {
        let s = |d: Option<i32>| d.map(|d| d.to_string()).unwrap_or_default();
        RulesForm {
            notice_days: s(stored.notice_days),
            longest_days: s(stored.longest_days),
            principal_above_days: s(stored.principal_above_days),
            both_guardians: stored.both_guardians.then(|| "on".into()),
        }
    });
    Ok(html_with_status(
        status,
        rules_page(ctx, owner, &form, municipality, &blocked, note),
    ))
}

fn rules_page(
    ctx: &PageCtx,
    owner: Owner,
    form: &RulesForm,
    municipality: Option<Rules>,
    blocked: &[Blocked],
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t("Regler för ledighet", "Rules for leave");
    let base = page_of(owner);
    let theirs = |d: Option<i32>| -> Markup {
        html! {
            @if let (Some(_), Some(d)) = (municipality, d) {
                " " (ctx.tf("(kommunen: {days})", "(the municipality: {days})", &[("days", &d.to_string())]))
            }
        }
    };
    let m = municipality.unwrap_or_default();
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) }
            @if let Some(n) = note { (n) }
            p { (ctx.t("Tomt fält: ingen regel. En skola kan skärpa kommunens regler men inte mildra dem; det strängaste gäller.",
                "An empty field: no rule. A school can make the municipality's rules stricter, not looser; the strictest applies.")) }
            form method="post" action=(base) {
                (ctx.csrf_field())
                label for="notice_days" { (ctx.t("Dagar i förväg en ansökan ska komma in", "Days ahead an application must come in")) (theirs(m.notice_days)) }
                input #notice_days name="notice_days" inputmode="numeric" pattern="[0-9]*" value=(form.notice_days);
                label for="longest_days" { (ctx.t("Längsta ledighet ett beslut kan bevilja (skoldagar)", "Longest leave one decision can grant (school days)")) (theirs(m.longest_days)) }
                input #longest_days name="longest_days" inputmode="numeric" pattern="[0-9]*" value=(form.longest_days);
                label for="principal_above_days" { (ctx.t("Ledighet per elev och läsår över vilken bara rektor beslutar (skoldagar)", "Leave per pupil and school year above which only the principal decides (school days)")) (theirs(m.principal_above_days)) }
                input #principal_above_days name="principal_above_days" inputmode="numeric" pattern="[0-9]*" value=(form.principal_above_days);
                @if m.both_guardians {
                    p { (ctx.t("Kommunen kräver att båda vårdnadshavarna godkänner en ansökan.", "The municipality requires both guardians to agree to an application.")) }
                } @else {
                    p { label { input type="checkbox" name="both_guardians" value="on" checked[form.both_guardians.is_some()]; " " (ctx.t("Båda vårdnadshavarna ska godkänna en ansökan (den andra får ett meddelande och svarar i Närvaro)", "Both guardians must agree to an application (the other gets a message and answers in Närvaro)")) } }
                }
                p { button type="submit" { (ctx.t("Spara reglerna", "Save the rules")) } }
            }
            h2 { (ctx.t("Spärrade perioder", "Blocked periods")) }
            p { (ctx.t("En ansökan som rör en spärrad period behöver en särskild motivering och beslutas av rektor.",
                "An application that touches a blocked period needs a special reason and is decided by the principal.")) }
            @if !blocked.is_empty() {
                table {
                    thead { tr { th scope="col" { (ctx.t("Namn", "Name")) } th scope="col" { (ctx.t("Dagar", "Days")) } th scope="col" { (ctx.t("Ta bort", "Remove")) } } }
                    tbody { @for b in blocked { tr {
                        td { (b.name) } td { (ctx.lang.days(b.first, b.last)) }
                        td { form method="post" action={(base) "/blocked/remove"} {
                            (ctx.csrf_field()) input type="hidden" name="id" value=(b.id);
                            button type="submit" aria-label={(ctx.t("Ta bort", "Remove")) " " (b.name)} { (ctx.t("Ta bort", "Remove")) }
                        } }
                    } } }
                }
            }
            form method="post" action={(base) "/blocked"} {
                (ctx.csrf_field())
                label for="name" { (ctx.t("Namn (till exempel Nationella prov åk 9)", "Name (for example the national tests in year 9)")) }
                input #name name="name" required maxlength="100";
                label for="first_day" { (ctx.t("Första dagen", "First day")) }
                input #first_day name="first_day" type="date" required;
                label for="last_day" { (ctx.t("Sista dagen", "Last day")) }
                input #last_day name="last_day" type="date" required;
                p { button type="submit" { (ctx.t("Lägg till perioden", "Add the period")) } }
            }
        },
    )
}

pub async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<RulesForm>,
) -> AppResult<HttpResponse> {
    let owner = municipal(&v)?;
    save_for(&req, &state, &v, owner, form.into_inner()).await
}

pub async fn school_save(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<RulesForm>,
) -> AppResult<HttpResponse> {
    let owner = of_school(&state, &v, school.into_inner()).await?;
    save_for(&req, &state, &v, owner, form.into_inner()).await
}

async fn save_for(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: &Viewer,
    owner: Owner,
    f: RulesForm,
) -> AppResult<HttpResponse> {
    let both = f.both_guardians.is_some();
    let result = match Rules::parse(
        &f.notice_days,
        &f.longest_days,
        &f.principal_above_days,
        both,
    ) {
        Err(r) => Err(r),
        Ok(rules) => {
            let (st, actor, addr) = (state.clone(), v.clone(), client_addr(req));
            state
                .db_write(move |conn| leave_rules::set(conn, &st.act(&actor, &addr), owner, rules))
                .await?
        }
    };
    finish(req, state, owner, result, Some(f)).await
}

/// Back to the page, or the page again with the refusal and what was sent.
async fn finish(
    req: &HttpRequest,
    state: &AppState,
    owner: Owner,
    result: Result<(), Refusal>,
    shown: Option<RulesForm>,
) -> AppResult<HttpResponse> {
    match result {
        Ok(()) => Ok(see_other(&format!("{}?done=saved", page_of(owner)))),
        Err(refusal) => {
            let ctx = PageCtx::new(req);
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            render(
                state,
                &ctx,
                owner,
                shown,
                Some(note),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct BlockedForm {
    name: String,
    first_day: String,
    last_day: String,
}

pub async fn add_blocked(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<BlockedForm>,
) -> AppResult<HttpResponse> {
    let owner = municipal(&v)?;
    add_for(&req, &state, &v, owner, form.into_inner()).await
}

pub async fn school_add_blocked(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<BlockedForm>,
) -> AppResult<HttpResponse> {
    let owner = of_school(&state, &v, school.into_inner()).await?;
    add_for(&req, &state, &v, owner, form.into_inner()).await
}

async fn add_for(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: &Viewer,
    owner: Owner,
    f: BlockedForm,
) -> AppResult<HttpResponse> {
    let days = (
        crate::school::clock::parse_day(f.first_day.trim()),
        crate::school::clock::parse_day(f.last_day.trim()),
    );
    let result = match days {
        (Some(first), Some(last)) => {
            let (st, actor, addr) = (state.clone(), v.clone(), client_addr(req));
            state
                .db_write(move |conn| {
                    leave_rules::add_blocked(
                        conn,
                        &st.act(&actor, &addr),
                        owner,
                        (&f.name, first, last),
                    )
                })
                .await?
                .map(|_| ())
        }
        _ => Err(Refusal::new("blocked_period_dates")),
    };
    finish(req, state, owner, result, None).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    id: String,
}

pub async fn remove_blocked(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<RemoveForm>,
) -> AppResult<HttpResponse> {
    let owner = municipal(&v)?;
    remove_for(&req, &state, &v, owner, &form.id).await
}

pub async fn school_remove_blocked(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<RemoveForm>,
) -> AppResult<HttpResponse> {
    let owner = of_school(&state, &v, school.into_inner()).await?;
    remove_for(&req, &state, &v, owner, &form.id).await
}

async fn remove_for(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: &Viewer,
    owner: Owner,
    id: &str,
) -> AppResult<HttpResponse> {
    let id: BlockedPeriodId = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let (st, actor, addr) = (state.clone(), v.clone(), client_addr(req));
    state
        .db_write(move |conn| leave_rules::remove_blocked(conn, &st.act(&actor, &addr), owner, id))
        .await?;
    Ok(see_other(&format!("{}?done=removed", page_of(owner))))
}
