//! A school's settings page (`/schools/{id}/settings`), for its principal and office:
//! the settings form, and the holidays and study days from today on. Plain forms; the rules
//! are in `crate::school_day::school_settings`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, parse_date, see_other};
use super::day::check_access;
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::school::ids::SchoolId;
use crate::school::Refusal;
use crate::school_day::day_changes;
use crate::school_day::school_settings::{self, Holiday, Settings};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let school = school.into_inner();
    let note = q.done.as_deref().map(|d| {
        let (sv, en) = match d {
            "holiday" => (
                "Dagen är inlagd och dagens lektioner är inställda.",
                "The day is added and its lessons are cancelled.",
            ),
            "holiday_removed" => (
                "Dagen är borttagen och lektionerna blir av.",
                "The day is removed and its lessons take place.",
            ),
            _ => ("Inställningarna är sparade.", "The settings are saved."),
        };
        html! { p.notice role="status" { (ctx.t(sv, en)) } }
    });
    render(&state, &ctx, v, school, None, note, StatusCode::OK).await
}

/// The page with the stored settings, or with `shown` (a refused form) and a note.
async fn render(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    school: SchoolId,
    shown: Option<FormValues>,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let (name, settings, holidays) = state
        .db(move |conn| {
            day_changes::may_manage(conn, &v, school)?;
            school_settings::load(conn, school, today)
        })
        .await?;
    let values = shown.unwrap_or_else(|| FormValues::of(&settings));
    Ok(html_with_status(
        status,
        settings_page(ctx, school, &name, &values, &holidays, note),
    ))
}

/// What the form shows: the stored values, or what was sent.
struct FormValues {
    days: String,
    threshold: String,
    notice_at: String,
    adults: bool,
}

impl FormValues {
    fn of(s: &Settings) -> FormValues {
        FormValues {
            days: s.report_days_ahead.to_string(),
            threshold: s.alert_threshold_pct.to_string(),
            notice_at: s
                .notice_at
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default(),
            adults: s.allow_adult_self_report,
        }
    }
}

fn settings_page(
    ctx: &PageCtx,
    school: SchoolId,
    name: &str,
    f: &FormValues,
    holidays: &[Holiday],
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t("Skolans inställningar", "School settings");
    let body = html! {
        h1 { (title) }
        p { (name) " – " a href={"/schools/" (school) "/day"} { (ctx.t("Dagens ändringar", "Today's changes")) } " – " a href={"/schools/" (school) "/reasons"} { (ctx.t("Frånvaroorsaker", "Absence reasons")) } }
        @if let Some(n) = note { (n) }
        form method="post" action={"/schools/" (school) "/settings"} {
            (ctx.csrf_field())
            label for="days" { (ctx.t("Vårdnadshavare får anmäla frånvaro så här många dagar framåt (0–60)", "Guardians may report absence this many days ahead (0–60)")) }
            input #days name="report_days_ahead" inputmode="numeric" value=(f.days) required;
            label for="threshold" { (ctx.t("Frånvarogräns i procent för statistikens elevlista (1–100)", "Absence threshold in per cent for the statistics' list of pupils (1–100)")) }
            input #threshold name="alert_threshold_pct" inputmode="numeric" value=(f.threshold) required aria-describedby="threshold-hint";
            p.muted #threshold-hint { (ctx.t("Vem som får e-post om hög frånvaro bestämmer rektor bland skolans regler för frånvarosignaler.", "Who is e-mailed about high absence is up to the principal, among the school's absence signal rules.")) }
            label for="notice" { (ctx.t("Tid för dagens frånvaromeddelanden, TT:MM (tomt = kommunens)", "Time of the day's absence notices, HH:MM (empty = the municipality's)")) }
            input #notice name="notice_at" value=(f.notice_at) placeholder="15:30";
            p { label { input type="checkbox" name="allow_adult_self_report" value="1" checked[f.adults]; " " (ctx.t("Elever som fyllt 18 får anmäla sin egen frånvaro", "Pupils of 18 or over may report their own absence")) } }
            button type="submit" { (ctx.t("Spara inställningarna", "Save the settings")) }
        }
        h2 { (ctx.t("Lov och studiedagar", "Holidays and study days")) }
        @if holidays.is_empty() { p { (ctx.t("Inga kommande lediga dagar.", "No coming days off.")) } }
        ul { @for (id, date, day_name) in holidays {
            li {
                (ctx.lang.day(*date)) ": " (day_name) " "
                form.inline method="post" action={"/schools/" (school) "/holidays/remove"} {
                    (ctx.csrf_field())
                    input type="hidden" name="holiday" value=(id);
                    button.secondary type="submit" aria-label={(ctx.t("Ta bort ", "Remove ")) (ctx.lang.day(*date))} { (ctx.t("Ta bort", "Remove")) }
                }
            }
        } }
        form method="post" action={"/schools/" (school) "/holidays"} {
            (ctx.csrf_field())
            label for="h-date" { (ctx.t("Dag", "Day")) }
            input #h-date type="date" name="date" required;
            label for="h-name" { (ctx.t("Namn (till exempel Studiedag)", "Name (for example Study day)")) }
            input #h-name name="name" maxlength="100" required;
            button type="submit" { (ctx.t("Lägg till ledig dag", "Add a day off")) }
        }
        p.muted { (ctx.t("En ledig dag ställer in skolans lektioner den dagen; tas den bort blir de av igen.", "A day off cancels the school's lessons that day; removing it gives them back.")) }
    };
    layout::page(ctx, title, body)
}

#[derive(Deserialize)]
pub struct SettingsForm {
    report_days_ahead: String,
    alert_threshold_pct: String,
    #[serde(default)]
    notice_at: String,
    allow_adult_self_report: Option<String>,
}

pub async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<SettingsForm>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    check_access(&state, &v, school).await?;
    let ctx = PageCtx::new(&req);
    let f = form.into_inner();
    let adults = f.allow_adult_self_report.is_some();
    let parsed = Settings::parse(
        &f.report_days_ahead,
        &f.alert_threshold_pct,
        &f.notice_at,
        adults,
    );
    let new = match parsed {
        Ok(new) => new,
        Err(refusal) => {
            let shown = FormValues {
                days: f.report_days_ahead,
                threshold: f.alert_threshold_pct,
                notice_at: f.notice_at,
                adults,
            };
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            return render(
                &state,
                &ctx,
                v,
                school,
                Some(shown),
                Some(note),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let (st, addr, viewer) = (state.clone(), client_addr(&req), v.clone());
    state
        .db_write(move |conn| school_settings::save(conn, &st.act(&viewer, &addr), school, &new))
        .await?;
    Ok(see_other(&format!(
        "/schools/{school}/settings?done=settings"
    )))
}

#[derive(Deserialize)]
pub struct HolidayForm {
    date: String,
    name: String,
}

pub async fn add_holiday(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<HolidayForm>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    check_access(&state, &v, school).await?;
    let ctx = PageCtx::new(&req);
    let date = parse_date(&form.date, "date", ctx.lang)?;
    let name = form.name.clone();
    let (st, addr, viewer) = (state.clone(), client_addr(&req), v.clone());
    let result = state
        .db_write(move |conn| {
            school_settings::add_holiday(conn, &st.act(&viewer, &addr), school, date, &name)
        })
        .await?;
    finish(&state, &ctx, v, school, result, "holiday").await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    holiday: String,
}

pub async fn remove_holiday(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<RemoveForm>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    check_access(&state, &v, school).await?;
    let ctx = PageCtx::new(&req);
    let holiday = super::common::parse_id(&form.holiday)?;
    let (st, addr, viewer) = (state.clone(), client_addr(&req), v.clone());
    let result = state
        .db_write(move |conn| {
            school_settings::remove_holiday(conn, &st.act(&viewer, &addr), school, holiday)
        })
        .await?;
    finish(&state, &ctx, v, school, result, "holiday_removed").await
}

async fn finish(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    school: SchoolId,
    result: Result<usize, Refusal>,
    done: &str,
) -> AppResult<HttpResponse> {
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/schools/{school}/settings?done={done}"
        ))),
        Err(refusal) => {
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            render(
                state,
                ctx,
                v,
                school,
                None,
                Some(note),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}
