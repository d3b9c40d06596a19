//! The day page of a school (`/schools/{id}/day`), for its office and principal: the
//! day's lessons by teacher, a substitute for one lesson or for all of a teacher's lessons
//! of the day, and a lesson cancelled or given back. Plain forms, so it works without
//! JavaScript; laid out as one column for a phone. The rules are in `crate::school_day::day_changes`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveTime};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, parse_date, parse_id, query_date, see_other};
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::school::ids::{LessonId, PersonId, SchoolId};
use crate::school::Refusal;
use crate::school_day::day_changes::{self, Day, DayLesson, TeacherDay};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct DayQuery {
    date: Option<String>,
    done: Option<String>,
    /// what was just changed (`l<lesson>` or `t<teacher>`): its teacher opens
    at: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    q: web::Query<DayQuery>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let school = school.into_inner();
    let date = query_date(q.date.as_deref(), state.today(), "date", ctx.lang)?;
    let tz = state.config.timezone;
    let day = state
        .db(move |conn| {
            day_changes::may_manage(conn, &v, school)?;
            day_changes::load(conn, school, date, tz)
        })
        .await?;
    let note = q.done.as_deref().map(|d| {
        let (sv, en) = match d {
            "substitute" => ("Vikarien är sparad.", "The substitute is saved."),
            "cancelled" => ("Lektionen är inställd.", "The lesson is cancelled."),
            "restored" => ("Lektionen blir av igen.", "The lesson takes place again."),
            "absent" => ("Frånvaron är markerad.", "The absence is marked."),
            "absence_ended" => ("Frånvaron är borttagen.", "The absence is taken back."),
            _ => ("Sparat.", "Saved."),
        };
        html! { p.notice role="status" { (ctx.t(sv, en)) } }
    });
    let at = q.at.clone().unwrap_or_default();
    Ok(html_with_status(
        StatusCode::OK,
        day_page(&ctx, school, &day, (note, &at)),
    ))
}

/// The day page: the lessons that need a substitute first, then each teacher folded (open
/// when away, when a lesson needs a substitute, or when it holds what was just changed).
fn day_page(
    ctx: &PageCtx,
    school: SchoolId,
    day: &Day,
    (note, at): (Option<Markup>, &str),
) -> Markup {
    let title = format!(
        "{}, {}",
        ctx.t("Dagens ändringar", "Today's changes"),
        ctx.lang.day(day.date)
    );
    let action = |what: &str| format!("/schools/{school}/day/{what}");
    let tt = Timetable::of(day);
    let needing: Vec<&DayLesson> = day
        .teachers
        .iter()
        .filter(|t| t.absent.is_some())
        .flat_map(|t| t.lessons.iter())
        .filter(|l| needs_substitute(l, true))
        .collect();
    let body = html! {
        h1 { (ctx.t("Dagens ändringar", "Today's changes")) }
        p { (day.school) ", " (ctx.lang.day(day.date)) " – " a href={"/schools/" (school) "/settings"} { (ctx.t("Skolans inställningar", "School settings")) } " – " a href={"/schools/" (school) "/trips"} { (ctx.t("Utflykter", "Trips")) } }
        @if let Some(n) = note { (n) }
        form method="get" action={"/schools/" (school) "/day"} {
            label for="date" { (ctx.t("Dag", "Day")) }
            input #date type="date" name="date" value=(day.date);
            button type="submit" { (ctx.t("Visa", "Show")) }
        }
        @if !day.trips.is_empty() {
            h2 { (ctx.t("Utflykter", "Trips")) }
            ul { @for (group, title, from, to) in &day.trips { li { (group) ": " (title) ", " (ctx.lang.span(*from, *to)) } } }
        }
        @if !needing.is_empty() {
            section.card.needing aria-labelledby="needing-h" {
                h2 #needing-h { (ctx.t("Saknar vikarie", "Needs a substitute")) " (" (needing.len()) ")" }
                ul.lessons { @for l in &needing { li { (lesson(ctx, &action, (day, &tt), l, ("n", true))) } } }
            }
        }
        @if day.teachers.is_empty() { p { (ctx.t("Inga lektioner den dagen.", "No lessons that day.")) } }
        @for t in &day.teachers {
            @let open = t.absent.is_some()
                || at == format!("t{}", t.teacher.0)
                || t.lessons.iter().any(|l| at == format!("l{}", l.id));
            details.card.teacher open[open] {
                summary {
                    h2.inline id={"t" (t.teacher.0)} { (t.teacher.1) }
                    " " span.muted { (t.lessons.len()) " " (ctx.t("lektioner", "lessons")) }
                    @if let Some((_, first, last)) = t.absent { " " span.badge { (ctx.t("Frånvarande ", "Away ")) (ctx.lang.days(first, last)) } }
                }
                (absence(ctx, &action, day, t))
                form method="post" action=(action("substitute")) {
                    (ctx.csrf_field())
                    input type="hidden" name="date" value=(day.date);
                    input type="hidden" name="teacher" value=(t.teacher.0);
                    label for={"all" (t.teacher.0)} { (ctx.t("Vikarie för alla lektioner dagen", "Substitute for every lesson of the day")) }
                    (staff_select(ctx, &format!("all{}", t.teacher.0), &tt.available(day, &[t.teacher.0], None), None))
                    label for={"until" (t.teacher.0)} { (ctx.t("Till och med (tomt = bara i dag)", "Until and including (empty = this day only)")) }
                    input id={"until" (t.teacher.0)} type="date" name="last_day" value=[t.absent.map(|a| a.2)];
                    button type="submit" { (ctx.t("Spara för alla", "Save for all")) }
                }
                ul.lessons { @for l in &t.lessons { li { (lesson(ctx, &action, (day, &tt), l, ("", t.absent.is_some()))) } } }
            }
        }
    };
    layout::page(ctx, &title, body)
}

/// A lesson of an away teacher that takes place and has nobody standing in.
fn needs_substitute(l: &DayLesson, away: bool) -> bool {
    away && l.substitute.is_none() && !l.cancelled
}

/// Who teaches when that day, worked out once for the whole page: who is away, each
/// person's lessons as (start, end) (their own without a substitute, and those they stand
/// in for), and each lesson's own teachers.
struct Timetable {
    away: HashSet<PersonId>,
    busy: HashMap<PersonId, Vec<(NaiveTime, NaiveTime)>>,
    teachers_of: HashMap<LessonId, Vec<PersonId>>,
}

impl Timetable {
    fn of(day: &Day) -> Timetable {
        let mut t = Timetable {
            away: HashSet::new(),
            busy: HashMap::new(),
            teachers_of: HashMap::new(),
        };
        for td in &day.teachers {
            if td.absent.is_some() {
                t.away.insert(td.teacher.0);
            }
            for l in &td.lessons {
                t.teachers_of.entry(l.id).or_default().push(td.teacher.0);
                if l.cancelled {
                    continue;
                }
                let who = l.substitute.as_ref().map_or(td.teacher.0, |s| s.0);
                t.busy
                    .entry(who)
                    .or_default()
                    .push((l.starts_at, l.ends_at));
            }
        }
        t
    }

    /// Who may stand in, as (id, name, free): never `own` (the lesson's teachers) nor
    /// anyone away; busy is who teaches or stands in at an overlapping lesson.
    fn available<'a>(
        &self,
        day: &'a Day,
        own: &[PersonId],
        time: Option<(NaiveTime, NaiveTime)>,
    ) -> Vec<(PersonId, &'a str, bool)> {
        let busy = |person: PersonId| {
            time.is_some_and(|(from, to)| {
                self.busy
                    .get(&person)
                    .is_some_and(|b| b.iter().any(|(s, e)| *s < to && from < *e))
            })
        };
        day.staff
            .iter()
            .filter(|(id, _)| !own.contains(id) && !self.away.contains(id))
            .map(|(id, name)| (*id, name.as_str(), !busy(*id)))
            .collect()
    }
}

/// The teacher's absence: shown with a button to take it back, or a form to mark it.
fn absence(ctx: &PageCtx, action: &dyn Fn(&str) -> String, day: &Day, t: &TeacherDay) -> Markup {
    html! {
        @if let Some((id, first, last)) = t.absent {
            p { span.badge { (ctx.t("Frånvarande ", "Away ")) (ctx.lang.days(first, last)) } }
            form method="post" action=(action("absent/end")) {
                (ctx.csrf_field())
                input type="hidden" name="date" value=(day.date);
                input type="hidden" name="absence" value=(id);
                button.secondary type="submit" { (ctx.t("Ta bort frånvaron", "Take the absence back")) }
            }
        } @else {
            form method="post" action=(action("absent")) {
                (ctx.csrf_field())
                input type="hidden" name="date" value=(day.date);
                input type="hidden" name="teacher" value=(t.teacher.0);
                label for={"away" (t.teacher.0)} { (ctx.t("Frånvarande till och med", "Away until and including")) }
                input id={"away" (t.teacher.0)} type="date" name="last_day" value=(day.date);
                button.secondary type="submit" { (ctx.t("Markera frånvaro", "Mark as away")) }
            }
        }
    }
}

/// A lesson with its forms. `prefix` keeps ids apart where a lesson shows twice (the
/// "needs a substitute" list and its teacher's).
fn lesson(
    ctx: &PageCtx,
    action: &dyn Fn(&str) -> String,
    (day, tt): (&Day, &Timetable),
    l: &DayLesson,
    (prefix, away): (&str, bool),
) -> Markup {
    let own = tt.teachers_of.get(&l.id).map_or(&[][..], Vec::as_slice);
    let staff = tt.available(day, own, Some((l.starts_at, l.ends_at)));
    html! {
        h3 id={(prefix) "l" (l.id)} {
            (l.starts_at.format("%H:%M")) "–" (l.ends_at.format("%H:%M")) " " (l.name)
            @if !l.groups.is_empty() { " (" (l.groups) ")" }
        }
        p {
            @if l.cancelled { span.badge { (ctx.t("Inställd", "Cancelled")) } " " }
            @if let Some((_, name)) = &l.substitute { span.badge { (ctx.t("Vikarie: ", "Substitute: ")) (name) } " " }
            @if l.by_hand { span.badge { (ctx.t("Ändrad för hand", "Changed by hand")) } " " }
            @if l.reported { span.badge { (ctx.t("Rapporterad", "Reported")) } " " }
            @if needs_substitute(l, away) { strong.badge { (ctx.t("Saknar vikarie", "Needs a substitute")) } }
        }
        @if l.cancelled && l.reported {
            p.muted { (ctx.t("Närvaron som redan rapporterades finns kvar.", "The roll call already made is kept.")) }
        }
        form method="post" action=(action("substitute")) {
            (ctx.csrf_field())
            input type="hidden" name="date" value=(day.date);
            input type="hidden" name="lesson" value=(l.id);
            label for={(prefix) "s" (l.id)} { (ctx.t("Vikarie", "Substitute")) }
            (staff_select(ctx, &format!("{prefix}s{}", l.id), &staff, l.substitute.as_ref().map(|s| s.0)))
            button type="submit" { (ctx.t("Spara vikarie", "Save substitute")) }
        }
        form method="post" action=(action("cancel")) {
            (ctx.csrf_field())
            input type="hidden" name="date" value=(day.date);
            input type="hidden" name="lesson" value=(l.id);
            @if l.cancelled {
                input type="hidden" name="cancel" value="0";
                button.secondary type="submit" { (ctx.t("Lektionen blir av ändå", "The lesson takes place after all")) }
            } @else {
                input type="hidden" name="cancel" value="1";
                button.secondary type="submit" { (ctx.t("Ställ in lektionen", "Cancel the lesson")) }
            }
        }
    }
}

/// The substitutes to choose from: free at the time first, then those who have a lesson
/// then (still choosable, said so).
fn staff_select(
    ctx: &PageCtx,
    id: &str,
    staff: &[(PersonId, &str, bool)],
    chosen: Option<PersonId>,
) -> Markup {
    html! {
        select id=(id) name="substitute" {
            option value="" selected[chosen.is_none()] { (ctx.t("Ingen vikarie", "No substitute")) }
            optgroup label=(ctx.t("Lediga då", "Free then")) {
                @for (pid, name, _) in staff.iter().filter(|s| s.2) {
                    option value=(pid) selected[chosen == Some(*pid)] { (name) }
                }
            }
            @if staff.iter().any(|s| !s.2) {
                optgroup label=(ctx.t("Har lektion då", "Teaching then")) {
                    @for (pid, name, _) in staff.iter().filter(|s| !s.2) {
                        option value=(pid) selected[chosen == Some(*pid)] { (name) " (" (ctx.t("har lektion", "teaching")) ")" }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct SubstituteForm {
    date: String,
    /// For "all at once": the last day (empty: the day only).
    #[serde(default)]
    last_day: String,
    #[serde(default)]
    lesson: String,
    #[serde(default)]
    teacher: String,
    #[serde(default)]
    substitute: String,
}

#[derive(Deserialize)]
pub struct CancelForm {
    date: String,
    lesson: String,
    cancel: String,
}

/// A whole number from a form field, or the refusal that names it.
fn number<T: std::str::FromStr>(raw: &str) -> Result<Option<T>, Refusal> {
    match raw.trim() {
        "" => Ok(None),
        s => s
            .parse::<T>()
            .map(Some)
            .map_err(|_| Refusal::new("form_held_wrong_value")),
    }
}

/// The school office's pages answer 404 before anything else to whoever may not manage
/// the school (`day_changes::may_manage`).
/// The principal's and the office's answer needs no database; the handlers' writes that
/// follow rely on this check and do not repeat it.
pub(super) async fn check_access(state: &AppState, v: &Viewer, school: SchoolId) -> AppResult<()> {
    if let Some(decided) = day_changes::manages_by_role(v, school) {
        return decided;
    }
    let v = v.clone();
    state
        .db(move |conn| day_changes::may_manage(conn, &v, school))
        .await
}

pub async fn substitute(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<SubstituteForm>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    let ctx = PageCtx::new(&req);
    check_access(&state, &v, school).await?;
    let date = query_date(Some(&form.date), state.today(), "date", ctx.lang)?;
    let last = match form.last_day.trim() {
        "" => date,
        raw => parse_date(raw, "last_day", ctx.lang)?,
    };
    let period = day_changes::check_period(state.today(), date, last);
    let parsed = (
        number::<LessonId>(&form.lesson),
        number::<PersonId>(&form.teacher),
        number::<PersonId>(&form.substitute),
    );
    let st = state.clone();
    let addr = client_addr(&req);
    let viewer = v;
    let result = state
        .db_write(move |conn| {
            let (lesson, teacher, substitute) = match parsed {
                (Ok(l), Ok(t), Ok(s)) => (l, t, s),
                (Err(r), ..) | (_, Err(r), _) | (.., Err(r)) => return Ok(Err(r)),
            };
            let ids = match (lesson, teacher) {
                (Some(l), _) => vec![l],
                (None, Some(t)) => match period {
                    Ok(()) => day_changes::lessons_of_teacher(conn, school, t, (date, last))?,
                    Err(r) => return Ok(Err(r)),
                },
                (None, None) => Vec::new(),
            };
            day_changes::set_substitute(conn, &st.act(&viewer, &addr), school, &ids, substitute)
        })
        .await?;
    // back to the lesson changed, or to the teacher whose lessons were
    let at = match (
        number::<LessonId>(&form.lesson),
        number::<PersonId>(&form.teacher),
    ) {
        (Ok(Some(l)), _) => format!("l{l}"),
        (_, Ok(Some(t))) => format!("t{t}"),
        _ => String::new(),
    };
    finish(
        &req,
        &state,
        school,
        date,
        result.map(|_| ("substitute", at)),
    )
    .await
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
    check_access(&state, &v, school).await?;
    let date = query_date(Some(&form.date), state.today(), "date", ctx.lang)?;
    let lesson = number::<LessonId>(&form.lesson);
    let cancel = form.cancel == "1";
    let st = state.clone();
    let addr = client_addr(&req);
    let viewer = v;
    let result = state
        .db_write(move |conn| {
            let id = match lesson {
                Ok(Some(id)) => id,
                Ok(None) => return Ok(Err(Refusal::new("choose_lesson"))),
                Err(r) => return Ok(Err(r)),
            };
            day_changes::set_cancelled(conn, &st.act(&viewer, &addr), school, id, cancel)
        })
        .await?;
    let done = if cancel { "cancelled" } else { "restored" };
    let at = match number::<LessonId>(&form.lesson) {
        Ok(Some(l)) => format!("l{l}"),
        _ => String::new(),
    };
    finish(&req, &state, school, date, result.map(|_| (done, at))).await
}

/// Back to the day page: with the change, or with the refusal on the page (400).
async fn finish(
    req: &HttpRequest,
    state: &AppState,
    school: SchoolId,
    date: NaiveDate,
    result: Result<(&str, String), Refusal>,
) -> AppResult<HttpResponse> {
    match result {
        Ok((done, at)) => Ok(see_other(&format!(
            "/schools/{school}/day?date={date}&done={done}&at={at}#{at}"
        ))),
        Err(refusal) => {
            let ctx = PageCtx::new(req);
            let tz = state.config.timezone;
            // (the handler checked access before its write)
            let day = state
                .db(move |conn| day_changes::load(conn, school, date, tz))
                .await?;
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            Ok(html_with_status(
                StatusCode::BAD_REQUEST,
                day_page(&ctx, school, &day, (Some(note), "")),
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct AbsentForm {
    date: String,
    #[serde(default)]
    teacher: String,
    #[serde(default)]
    last_day: String,
}

/// Marks a teacher away from the page's day to the last day given.
pub async fn absent(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<AbsentForm>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    let ctx = PageCtx::new(&req);
    check_access(&state, &v, school).await?;
    let date = query_date(Some(&form.date), state.today(), "date", ctx.lang)?;
    let last = match form.last_day.trim() {
        "" => date,
        raw => parse_date(raw, "last_day", ctx.lang)?,
    };
    let teacher = number::<PersonId>(&form.teacher);
    let (st, addr, viewer) = (state.clone(), client_addr(&req), v);
    let result = state
        .db_write(move |conn| {
            let teacher = match teacher {
                Ok(Some(t)) => t,
                Ok(None) => return Ok(Err(Refusal::new("choose_teacher"))),
                Err(r) => return Ok(Err(r)),
            };
            let ch = st.act(&viewer, &addr);
            day_changes::mark_absent(conn, &ch, school, teacher, (date, last))
        })
        .await?;
    let at = match number::<PersonId>(&form.teacher) {
        Ok(Some(t)) => format!("t{t}"),
        _ => String::new(),
    };
    finish(&req, &state, school, date, result.map(|_| ("absent", at))).await
}

#[derive(Deserialize)]
pub struct EndAbsenceForm {
    date: String,
    absence: String,
}

pub async fn end_absence(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    school: web::Path<SchoolId>,
    form: web::Form<EndAbsenceForm>,
) -> AppResult<HttpResponse> {
    let school = school.into_inner();
    let ctx = PageCtx::new(&req);
    check_access(&state, &v, school).await?;
    let date = query_date(Some(&form.date), state.today(), "date", ctx.lang)?;
    let absence = parse_id(&form.absence)?;
    let (st, addr, viewer) = (state.clone(), client_addr(&req), v);
    let result = state
        .db_write(move |conn| {
            day_changes::end_absence(conn, &st.act(&viewer, &addr), school, absence)
        })
        .await?;
    finish(
        &req,
        &state,
        school,
        date,
        result.map(|_| ("absence_ended", String::new())),
    )
    .await
}
