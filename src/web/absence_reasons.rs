//! Absence reasons: the municipality's (`/admin/reasons`, its administrator, who also lets
//! the schools add their own or not) and a school's own (`/schools/{id}/reasons`, its
//! principal or office, beside the municipality's, read only). The list with what each
//! reason means and who may choose it, a form to add one, and retiring or taking back.
//! Plain forms; the rules are in `crate::attendance::absence_reasons`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, parse_id, see_other};
use super::layout::{self, PageCtx};
use crate::attendance::absence_reasons::{self, Flags, NewReason, Owner, Reason, ReasonsView};
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::school::ids::SchoolId;
use crate::school_day::day_changes;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

/// The administrator's municipality's reasons (and rules for leave, `leave_rules`).
pub(super) fn municipal(v: &Viewer) -> AppResult<Owner> {
    super::common::admin_municipality(v).map(Owner::Municipality)
}

/// A school's own reasons, for its principal or office or the municipality's
/// administrator (404 for everyone else).
async fn of_school(state: &AppState, v: &Viewer, school: SchoolId) -> AppResult<Owner> {
    let v = v.clone();
    state
        .db(move |conn| {
            day_changes::may_manage(conn, &v, school)?;
            Owner::school(conn, school)
        })
        .await
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
    let note = q.done.as_deref().map(|d| {
        let (sv, en) = match d {
            "retired" => ("Orsaken används inte längre.", "The reason is retired."),
            "reactivated" => ("Orsaken används igen.", "The reason is in use again."),
            "schools" => ("Ändringen är sparad.", "The change is saved."),
            _ => ("Orsaken är tillagd.", "The reason is added."),
        };
        html! { p.notice role="status" { (ctx.t(sv, en)) } }
    });
    render(state, &ctx, owner, None, note, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    owner: Owner,
    shown: Option<&AddForm>,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let view = state
        .db(move |conn| absence_reasons::view(conn, owner))
        .await?;
    Ok(html_with_status(
        status,
        reasons_page(ctx, owner, &view, shown, note),
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

/// The reasons as a table; with `base`, each can be retired or taken back there.
fn table(ctx: &PageCtx, reasons: &[Reason], caption: &str, base: Option<&str>) -> Markup {
    html! {
        div.scroll tabindex="0" { table {
            caption { (caption) }
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
                    @if let Some(base) = base {
                        form.inline method="post" action={(base) "/active"} {
                            (ctx.csrf_field())
                            input type="hidden" name="reason" value=(r.id);
                            input type="hidden" name="active" value=(if r.active { "0" } else { "1" });
                            (yes(ctx, r.active)) " "
                            button.secondary type="submit" aria-label={(if r.active { ctx.t("Ta ur bruk: ", "Retire: ") } else { ctx.t("Ta i bruk: ", "Use again: ") }) (ctx.t(&r.name_sv, &r.name_en))} {
                                (if r.active { ctx.t("Ta ur bruk", "Retire") } else { ctx.t("Ta i bruk", "Use again") })
                            }
                        }
                    } @else { (yes(ctx, r.active)) }
                }
            } } }
        } }
    }
}

fn reasons_page(
    ctx: &PageCtx,
    owner: Owner,
    view: &ReasonsView,
    shown: Option<&AddForm>,
    note: Option<Markup>,
) -> Markup {
    let base = owner.page();
    let school = matches!(owner, Owner::School { .. });
    let title = if school {
        ctx.t("Skolans frånvaroorsaker", "The school's absence reasons")
    } else {
        ctx.t("Frånvaroorsaker", "Absence reasons")
    };
    let val = |f: fn(&AddForm) -> &str| shown.map(f).unwrap_or("").to_string();
    let checked = |f: fn(&AddForm) -> bool, default: bool| shown.map_or(default, f);
    let never = ctx.t(
        " En orsak som används kan tas ur bruk men aldrig tas bort.",
        " A reason in use can be retired, never deleted.",
    );
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        @if school {
            (table(ctx, &view.municipality, ctx.t("Kommunens orsaker, som kommunens administratör ändrar.", "The municipality's reasons, changed by its administrator."), None))
            (table(ctx, &view.own, &format!("{}{never}", ctx.t("Skolans egna orsaker.", "The school's own reasons.")), Some(&base)))
        } @else {
            (table(ctx, &view.own, &format!("{}{never}", ctx.t("Kommunens orsaker.", "The municipality's reasons.")), Some(&base)))
            form method="post" action={(base) "/schools"} {
                (ctx.csrf_field())
                p { label { input type="checkbox" name="allowed" value="1" checked[view.schools_may_add]; " " (ctx.t("Skolornas rektorer och expeditioner får lägga till egna orsaker", "The schools' principals and offices may add reasons of their own")) } }
                button.secondary type="submit" { (ctx.t("Spara", "Save")) }
            }
        }
        @if school && !view.schools_may_add {
            p { (ctx.t("Kommunen låter inte skolorna lägga till egna orsaker.", "The municipality does not let its schools add reasons of their own.")) }
        } @else {
            h2 { (ctx.t("Ny orsak", "New reason")) }
            form method="post" action=(base) {
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
                    label { input type="checkbox" name="sends_notice" value="1" checked[checked(|f| f.sends_notice.is_some(), false)]; " " (ctx.t("Ogiltig frånvaro med orsaken meddelas vårdnadshavare samma dag", "Invalid absence with the reason is told to guardians the same day")) }
                }
                fieldset {
                    legend { (ctx.t("Vem får ange orsaken", "Who may give the reason")) }
                    label { input type="checkbox" name="staff" value="1" checked[checked(|f| f.staff.is_some(), true)]; " " (ctx.t("Personal", "Staff")) }
                    label { input type="checkbox" name="guardian" value="1" checked[checked(|f| f.guardian.is_some(), false)]; " " (ctx.t("Vårdnadshavare", "Guardians")) }
                    label { input type="checkbox" name="pupil" value="1" checked[checked(|f| f.pupil.is_some(), false)]; " " (ctx.t("Elever som fyllt 18", "Pupils of 18 or over")) }
                }
                button type="submit" { (ctx.t("Lägg till orsaken", "Add the reason")) }
            }
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
    let owner = municipal(&v)?;
    add_to(&req, &state, &v, owner, form.into_inner()).await
}

pub async fn school_add(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<AddForm>,
) -> AppResult<HttpResponse> {
    let owner = of_school(&state, &v, school.into_inner()).await?;
    add_to(&req, &state, &v, owner, form.into_inner()).await
}

async fn add_to(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: &Viewer,
    owner: Owner,
    f: AddForm,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(req);
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
            let (st, actor, addr) = (state.clone(), v.clone(), client_addr(req));
            state
                .db_write(move |conn| {
                    absence_reasons::add(conn, &st.act(&actor, &addr), owner, &new)
                })
                .await?
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(see_other(&format!("{}?done=added", owner.page()))),
        Err(refusal) => {
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            render(
                state,
                &ctx,
                owner,
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
    let owner = municipal(&v)?;
    activate(&req, &state, &v, owner, &form).await
}

pub async fn school_set_active(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<ActiveForm>,
) -> AppResult<HttpResponse> {
    let owner = of_school(&state, &v, school.into_inner()).await?;
    activate(&req, &state, &v, owner, &form).await
}

async fn activate(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: &Viewer,
    owner: Owner,
    form: &ActiveForm,
) -> AppResult<HttpResponse> {
    let id = parse_id(&form.reason)?;
    let active = form.active == "1";
    let (st, actor, addr) = (state.clone(), v.clone(), client_addr(req));
    state
        .db_write(move |conn| {
            absence_reasons::set_active(conn, &st.act(&actor, &addr), owner, id, active)
        })
        .await?;
    let done = if active { "reactivated" } else { "retired" };
    Ok(see_other(&format!("{}?done={done}", owner.page())))
}

#[derive(Deserialize)]
pub struct SchoolsForm {
    allowed: Option<String>,
}

/// The administrator lets the municipality's schools add their own reasons, or stops it.
pub async fn schools_may_add(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    form: web::Form<SchoolsForm>,
) -> AppResult<HttpResponse> {
    let m = super::common::admin_municipality(&v)?;
    let allowed = form.allowed.is_some();
    let (st, actor, addr) = (state.clone(), v.clone(), client_addr(&req));
    state
        .db_write(move |conn| {
            absence_reasons::set_schools_may_add(conn, &st.act(&actor, &addr), m, allowed)
        })
        .await?;
    Ok(see_other("/admin/reasons?done=schools"))
}
