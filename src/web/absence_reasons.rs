//! The municipality's absence reasons (`/admin/reasons`), for its administrator: the list
//! with what each reason means and who may choose it, a form to add one, and retiring or
//! taking back. Plain forms; the rules are in `crate::absence_reasons`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, parse_id, see_other};
use super::layout::{self, PageCtx};
use crate::absence_reasons::{self, Flags, NewReason, Reason};
use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult};
use crate::staff::{Act, Refusal};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// The administrator's municipality (the first, when they administer several).
fn municipality(v: &Viewer) -> AppResult<i64> {
    access::require_admin(v)?;
    v.roles.admin_of.first().copied().ok_or(AppError::NotFound)
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let note = q.done.as_deref().map(|d| {
        let (sv, en) = match d {
            "retired" => ("Orsaken används inte längre.", "The reason is retired."),
            "reactivated" => ("Orsaken används igen.", "The reason is in use again."),
            _ => ("Orsaken är tillagd.", "The reason is added."),
        };
        html! { p.notice role="status" { (ctx.t(sv, en)) } }
    });
    render(&state, &ctx, &v, None, note, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    v: &Viewer,
    shown: Option<&AddForm>,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let m = municipality(v)?;
    let reasons = state.db(move |conn| absence_reasons::list(conn, m)).await?;
    Ok(html_with_status(
        status,
        reasons_page(ctx, &reasons, shown, note),
    ))
}

fn yes(ctx: &PageCtx, b: bool) -> &'static str {
    if b {
        ctx.t("ja", "yes")
    } else {
        ctx.t("nej", "no")
    }
}

fn who(ctx: &PageCtx, r: &Reason) -> String {
    let mut w = Vec::new();
    if r.staff_selectable {
        w.push(ctx.t("personal", "staff"));
    }
    if r.guardian_selectable {
        w.push(ctx.t("vårdnadshavare", "guardians"));
    }
    if r.pupil_selectable {
        w.push(ctx.t("elever över 18", "pupils of 18 or over"));
    }
    w.join(", ")
}

fn reasons_page(
    ctx: &PageCtx,
    reasons: &[Reason],
    shown: Option<&AddForm>,
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t("Frånvaroorsaker", "Absence reasons");
    let val = |f: fn(&AddForm) -> &str| shown.map(f).unwrap_or("").to_string();
    let checked = |f: fn(&AddForm) -> bool, default: bool| shown.map_or(default, f);
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        div.scroll tabindex="0" { table {
            caption { (ctx.t("Kommunens orsaker. En orsak som används kan tas ur bruk men aldrig tas bort.", "The municipality's reasons. A reason in use can be retired, never deleted.")) }
            thead { tr {
                th scope="col" { (ctx.t("Orsak", "Reason")) }
                th scope="col" { (ctx.t("Frånvaro", "Absence")) }
                th scope="col" { (ctx.t("Giltig", "Valid")) }
                th scope="col" { (ctx.t("Hälsa", "Health")) }
                th scope="col" { (ctx.t("Vem väljer", "Chosen by")) }
                th scope="col" { (ctx.t("Meddelande", "Notice")) }
                th scope="col" { (ctx.t("I bruk", "In use")) }
            } }
            tbody { @for r in reasons { tr {
                td { (ctx.t(&r.name_sv, &r.name_en)) " (" (r.code) ")" }
                td { (yes(ctx, r.counts_as_absence)) }
                td { (yes(ctx, r.is_valid)) }
                td { (yes(ctx, r.is_sick)) }
                td { (who(ctx, r)) }
                td { (yes(ctx, r.sends_notice)) }
                td {
                    form.inline method="post" action="/admin/reasons/active" {
                        (ctx.csrf_field())
                        input type="hidden" name="reason" value=(r.id);
                        input type="hidden" name="active" value=(if r.active { "0" } else { "1" });
                        (yes(ctx, r.active)) " "
                        button.secondary type="submit" aria-label={(if r.active { ctx.t("Ta ur bruk: ", "Retire: ") } else { ctx.t("Ta i bruk: ", "Use again: ") }) (ctx.t(&r.name_sv, &r.name_en))} {
                            (if r.active { ctx.t("Ta ur bruk", "Retire") } else { ctx.t("Ta i bruk", "Use again") })
                        }
                    }
                }
            } } }
        } }
        h2 { (ctx.t("Ny orsak", "New reason")) }
        form method="post" action="/admin/reasons" {
            (ctx.csrf_field())
            label for="r-code" { (ctx.t("Kod (2–12 tecken, A–Z)", "Code (2–12 characters, A–Z)")) }
            input #r-code name="code" maxlength="12" value=(val(|f| &f.code)) required;
            label for="r-sv" { (ctx.t("Namn på svenska", "Name in Swedish")) }
            input #r-sv name="name_sv" maxlength="100" value=(val(|f| &f.name_sv)) required;
            label for="r-en" { (ctx.t("Namn på engelska", "Name in English")) }
            input #r-en name="name_en" maxlength="100" value=(val(|f| &f.name_en)) required;
            fieldset {
                legend { (ctx.t("Vad orsaken betyder", "What the reason means")) }
                label { input type="checkbox" name="counts_as_absence" value="1" checked[checked(|f| f.counts_as_absence.is_some(), true)]; " " (ctx.t("Räknas som frånvaro", "Counts as absence")) }
                label { input type="checkbox" name="is_valid" value="1" checked[checked(|f| f.is_valid.is_some(), true)]; " " (ctx.t("Giltig frånvaro", "Valid absence")) }
                label { input type="checkbox" name="is_sick" value="1" checked[checked(|f| f.is_sick.is_some(), false)]; " " (ctx.t("Hälsorelaterad (visas aldrig för vårdnadshavare eller i e-post)", "Health-related (never shown to guardians or in e-mail)")) }
                label { input type="checkbox" name="sends_notice" value="1" checked[checked(|f| f.sends_notice.is_some(), false)]; " " (ctx.t("Skickar meddelande", "Sends a notice")) }
            }
            fieldset {
                legend { (ctx.t("Vem får ange orsaken", "Who may give the reason")) }
                label { input type="checkbox" name="staff" value="1" checked[checked(|f| f.staff.is_some(), true)]; " " (ctx.t("Personal", "Staff")) }
                label { input type="checkbox" name="guardian" value="1" checked[checked(|f| f.guardian.is_some(), false)]; " " (ctx.t("Vårdnadshavare", "Guardians")) }
                label { input type="checkbox" name="pupil" value="1" checked[checked(|f| f.pupil.is_some(), false)]; " " (ctx.t("Elever som fyllt 18", "Pupils of 18 or over")) }
            }
            button type="submit" { (ctx.t("Lägg till orsaken", "Add the reason")) }
        }
    };
    layout::page(ctx, title, body)
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_sv: String,
    #[serde(default)]
    name_en: String,
    counts_as_absence: Option<String>,
    is_valid: Option<String>,
    is_sick: Option<String>,
    sends_notice: Option<String>,
    staff: Option<String>,
    guardian: Option<String>,
    pupil: Option<String>,
}

pub async fn add(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<AddForm>,
) -> AppResult<HttpResponse> {
    let m = municipality(&v)?;
    let ctx = PageCtx::new(&req);
    let f = form.into_inner();
    let flags = Flags {
        counts_as_absence: f.counts_as_absence.is_some(),
        is_valid: f.is_valid.is_some(),
        is_sick: f.is_sick.is_some(),
        staff: f.staff.is_some(),
        guardian: f.guardian.is_some(),
        pupil: f.pupil.is_some(),
        sends_notice: f.sends_notice.is_some(),
    };
    let result = match NewReason::parse(&f.code, &f.name_sv, &f.name_en, flags) {
        Err(r) => Err(r),
        Ok(new) => {
            let (actor, addr, today, now) =
                (v.clone(), client_addr(&req), state.today(), state.now());
            state
                .db_write(move |conn| {
                    let act = Act {
                        actor: &actor,
                        client_addr: &addr,
                        today,
                        now,
                    };
                    absence_reasons::add(conn, &act, m, &new)
                })
                .await?
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(see_other("/admin/reasons?done=added")),
        Err(Refusal(sv, en)) => {
            let note = html! { p.errors role="alert" { (ctx.t(sv, en)) } };
            render(
                &state,
                &ctx,
                &v,
                Some(&f),
                Some(note),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    reason: String,
    active: String,
}

pub async fn set_active(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<ActiveForm>,
) -> AppResult<HttpResponse> {
    let m = municipality(&v)?;
    let id = parse_id(&form.reason)?;
    let active = form.active == "1";
    let (actor, addr, today, now) = (v.clone(), client_addr(&req), state.today(), state.now());
    state
        .db_write(move |conn| {
            let act = Act {
                actor: &actor,
                client_addr: &addr,
                today,
                now,
            };
            absence_reasons::set_active(conn, &act, m, id, active)
        })
        .await?;
    Ok(see_other(if active {
        "/admin/reasons?done=reactivated"
    } else {
        "/admin/reasons?done=retired"
    }))
}
