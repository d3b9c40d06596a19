//! A school's trips page (`/schools/{id}/trips`), for its office and principal: the trips
//! that have not ended, a form to plan one, and a button to cancel one. Plain forms, one
//! column for a phone; the rules are in `crate::attendance::trips`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveTime;
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, parse_id, see_other};
use super::layout::{self, PageCtx};
use crate::attendance::trips::{self, NewTrip, TripsPage};
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::school::ids::{GroupId, PupilId, ReasonId, SchoolId};
use crate::school::Refusal;
use crate::school_day::day_changes;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
    lessons: Option<usize>,
    reported: Option<usize>,
    staying: Option<usize>,
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
    let note = q.done.as_deref().map(|d| match d {
        "added" => {
            let (lessons, reported) = (q.lessons.unwrap_or(0), q.reported.unwrap_or(0));
            html! { p.notice role="status" {
                (ctx.t("Utflykten är inlagd. Den gäller ", "The trip is added. It covers "))
                (lessons) (ctx.t(" lektioner.", " lessons."))
                @if reported > 0 {
                    " " (reported) (ctx.t(" av dem har redan rapporterats; den närvaron finns kvar tills läraren ändrar den.", " of them have a roll call already; it is kept until the teacher changes it."))
                }
            } }
        }
        "stays" => html! { p.notice role="status" {
            (ctx.t("Sparat. Elever som stannar kvar: ", "Saved. Pupils who stay at school: ")) (q.staying.unwrap_or(0)) "."
        } },
        _ => html! { p.notice role="status" { (ctx.t("Utflykten är borttagen.", "The trip is cancelled.")) } },
    });
    render(
        &state,
        &ctx,
        v,
        school,
        &FormValues::default(),
        note,
        StatusCode::OK,
    )
    .await
}

/// What the form shows: empty, or what was sent and refused.
#[derive(Deserialize, Default, Clone)]
pub struct FormValues {
    #[serde(default)]
    group: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    first_day: String,
    #[serde(default)]
    last_day: String,
    #[serde(default)]
    from_time: String,
    #[serde(default)]
    to_time: String,
    #[serde(default)]
    reason: String,
}

impl FormValues {
    /// The trip asked for, or the refusal that names what is wrong.
    fn parse(&self) -> Result<NewTrip, Refusal> {
        let wrong = Refusal::new("form_held_wrong_value");
        let group = self
            .group
            .trim()
            .parse::<GroupId>()
            .map_err(|_| Refusal::new("choose_one_school_s_groups"))?;
        let reason = self.reason.trim().parse::<ReasonId>().map_err(|_| wrong)?;
        let day = |raw: &str| crate::school::clock::parse_day(raw.trim());
        let first_day = day(&self.first_day).ok_or(Refusal::new("write_first_day_yyyy_mm"))?;
        let last_day = match self.last_day.trim() {
            "" => first_day,
            raw => day(raw).ok_or(Refusal::new("write_last_day_yyyy_mm"))?,
        };
        let time = |raw: &str| match raw.trim() {
            "" => Ok(None),
            t => NaiveTime::parse_from_str(t, "%H:%M")
                .map(Some)
                .map_err(|_| Refusal::new("write_time_hh_mm_leave")),
        };
        Ok(NewTrip {
            group,
            title: self.title.clone(),
            first_day,
            last_day,
            from_time: time(&self.from_time)?,
            to_time: time(&self.to_time)?,
            reason,
        })
    }
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    school: SchoolId,
    shown: &FormValues,
    note: Option<Markup>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let (now, tz) = (state.now(), state.config.timezone);
    let page = state
        .db(move |conn| {
            day_changes::may_manage(conn, &v, school)?;
            trips::load(conn, school, now, tz)
        })
        .await?;
    Ok(html_with_status(
        status,
        trips_page(ctx, school, &page, shown, note),
    ))
}

fn trips_page(
    ctx: &PageCtx,
    school: SchoolId,
    page: &TripsPage,
    f: &FormValues,
    note: Option<Markup>,
) -> Markup {
    let title = ctx.t(
        "Utflykter och skolaktiviteter",
        "Trips and school activities",
    );
    let chosen_reason = |id: ReasonId, code: &str| match f.reason.trim() {
        "" => code == "SKOLAKT",
        r => r == id.to_string(),
    };
    let body = html! {
        h1 { (title) }
        p { (page.school) " – " a href={"/schools/" (school) "/day"} { (ctx.t("Dagens ändringar", "Today's changes")) } }
        @if let Some(n) = note { (n) }
        h2 { (ctx.t("Kommande och pågående", "Coming and under way")) }
        @if page.trips.is_empty() { p { (ctx.t("Inga utflykter inlagda.", "No trips planned.")) } }
        @for t in &page.trips {
            section.card {
                h3 { (t.group) ": " (t.title) }
                p { (ctx.lang.span(t.from, t.to)) }
                p.muted {
                    (ctx.t("Räknas som ", "Counts as ")) (ctx.t(&t.reason_sv, &t.reason_en)) ". "
                    (t.lessons) (ctx.t(" lektioner", " lessons"))
                    @if t.reported > 0 { ", " (t.reported) (ctx.t(" redan rapporterade", " with a roll call already")) }
                    ". " (ctx.t("Inlagd av ", "Added by ")) (t.created_by) "."
                }
                (stays_form(ctx, school, t))
                form method="post" action={"/schools/" (school) "/trips/cancel"} {
                    (ctx.csrf_field())
                    input type="hidden" name="trip" value=(t.id);
                    button.secondary type="submit" aria-label={(ctx.t("Ta bort utflykten ", "Cancel the trip ")) (t.title)} { (ctx.t("Ta bort utflykten", "Cancel the trip")) }
                }
            }
        }
        h2 { (ctx.t("Lägg in en utflykt", "Plan a trip")) }
        form method="post" action={"/schools/" (school) "/trips"} {
            (ctx.csrf_field())
            label for="group" { (ctx.t("Grupp", "Group")) }
            select #group name="group" required {
                option value="" { (ctx.t("Välj grupp", "Choose a group")) }
                @for (id, name) in &page.groups { option value=(id) selected[f.group.trim() == id.to_string()] { (name) } }
            }
            label for="title" { (ctx.t("Vad (till exempel Skansen)", "What (for example Skansen)")) }
            input #title name="title" maxlength="100" value=(f.title) required;
            label for="first" { (ctx.t("Första dagen", "First day")) }
            input #first type="date" name="first_day" value=(f.first_day) required;
            label for="last" { (ctx.t("Sista dagen (tomt = samma dag)", "Last day (empty = the same day)")) }
            input #last type="date" name="last_day" value=(f.last_day);
            label for="from" { (ctx.t("Från klockan (tomt = hela dagen)", "From (empty = the whole day)")) }
            input #from type="time" name="from_time" value=(f.from_time);
            label for="to" { (ctx.t("Till klockan (tomt = hela dagen)", "Until (empty = the whole day)")) }
            input #to type="time" name="to_time" value=(f.to_time);
            label for="reason" { (ctx.t("Räknas som", "Counts as")) }
            select #reason name="reason" {
                @for (id, code, sv, en) in &page.reasons { option value=(id) selected[chosen_reason(*id, code)] { (ctx.t(sv, en)) } }
            }
            button type="submit" { (ctx.t("Lägg in utflykten", "Add the trip")) }
        }
        p.muted { (ctx.t("Gruppens elever markeras med orsaken i lektionerna under utflykten, och tiden räknas inte som frånvaro. En elev som stannar kvar bockas ur under utflykten, och läraren markerar eleven som vanligt.", "The group's pupils are marked with the reason in the lessons during the trip, and the time does not count as absence. A pupil who stays at school is unticked under the trip, and the teacher marks them as usual.")) }
    };
    layout::page(ctx, title, body)
}

/// Who of the group goes: a box per pupil, ticked for those who go, in a disclosure that
/// says how many stay.
fn stays_form(ctx: &PageCtx, school: SchoolId, t: &trips::Trip) -> Markup {
    let staying = t.pupils.iter().filter(|p| p.2).count();
    html! {
        details {
            summary { (ctx.t("Vilka elever följer med", "Which pupils go")) " (" (t.pupils.len() - staying) (ctx.t(" av ", " of ")) (t.pupils.len()) ")" }
            form method="post" action={"/schools/" (school) "/trips/stays"} {
                (ctx.csrf_field())
                input type="hidden" name="trip" value=(t.id);
                fieldset {
                    legend { (ctx.t("Bocka ur elever som stannar kvar på skolan", "Untick pupils who stay at school")) }
                    @for (id, name, stays) in &t.pupils {
                        label.rs { input type="checkbox" name="goes" value=(id) checked[!stays]; " " (name) }
                    }
                }
                button.secondary type="submit" { (ctx.t("Spara vilka som följer med", "Save who goes")) }
            }
        }
    }
}

pub async fn add(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<FormValues>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    let ctx = PageCtx::new(&req);
    let f = form.into_inner();
    let parsed = f.parse();
    let (st, addr, viewer) = (state.clone(), client_addr(&req), v.clone());
    let result = state
        .db_write(move |conn| {
            day_changes::may_manage(conn, &viewer, school)?;
            match parsed {
                Ok(t) => trips::add(conn, &st.act(&viewer, &addr), school, &t),
                Err(r) => Ok(Err(r)),
            }
        })
        .await?;
    match result {
        Ok((_, lessons, reported)) => Ok(see_other(&format!(
            "/schools/{school}/trips?done=added&lessons={lessons}&reported={reported}"
        ))),
        Err(r) => refused(&state, &ctx, v, school, &f, r).await,
    }
}

#[derive(Deserialize)]
pub struct CancelForm {
    trip: String,
}

pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<CancelForm>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    let ctx = PageCtx::new(&req);
    let trip = parse_id(&form.trip)?;
    let (st, addr, viewer) = (state.clone(), client_addr(&req), v.clone());
    let result = state
        .db_write(move |conn| {
            day_changes::may_manage(conn, &viewer, school)?;
            trips::cancel(conn, &st.act(&viewer, &addr), school, trip)
        })
        .await?;
    match result {
        Ok(()) => Ok(see_other(&format!(
            "/schools/{school}/trips?done=cancelled"
        ))),
        Err(r) => refused(&state, &ctx, v, school, &FormValues::default(), r).await,
    }
}

/// The trip's pupils who go (the boxes ticked); the others in its group stay at school.
pub async fn stays(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    let ctx = PageCtx::new(&req);
    let fields = form.into_inner();
    let trip = parse_id(
        fields
            .iter()
            .find(|(k, _)| k == "trip")
            .map_or("", |(_, v)| v.as_str()),
    )?;
    let goes = fields
        .iter()
        .filter(|(k, _)| k == "goes")
        .map(|(_, v)| parse_id(v))
        .collect::<AppResult<Vec<PupilId>>>()?;
    let (st, addr, viewer) = (state.clone(), client_addr(&req), v.clone());
    let result = state
        .db_write(move |conn| {
            day_changes::may_manage(conn, &viewer, school)?;
            trips::set_goers(conn, &st.act(&viewer, &addr), school, trip, &goes)
        })
        .await?;
    match result {
        Ok(staying) => Ok(see_other(&format!(
            "/schools/{school}/trips?done=stays&staying={staying}"
        ))),
        Err(r) => refused(&state, &ctx, v, school, &FormValues::default(), r).await,
    }
}

/// The page again with the refusal and the form as sent (400).
async fn refused(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    school: SchoolId,
    f: &FormValues,
    refusal: Refusal,
) -> AppResult<HttpResponse> {
    let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
    render(
        state,
        ctx,
        v,
        school,
        f,
        Some(note),
        StatusCode::BAD_REQUEST,
    )
    .await
}
