//! The audit log for principals (their schools) and administrators (everything): a plain
//! GET form (period, who acted, pupil, lesson), the rows as a table, the same as CSV.
//! Everyone else gets 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate, TimeZone};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::html_with_status;
use super::layout::{self, PageCtx};
use super::statistics::csv::csv;
use crate::audit_search::{self, Filter, Line};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::state::AppState;

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    pupil: String,
    #[serde(default)]
    lesson: String,
}

fn bad(lang: Lang, sv: &str, en: &str) -> AppError {
    AppError::invalid(Code::BadParameter, lang.pick(sv, en))
}

/// The filter the query asks for: days school-local, 30 days up to today by default,
/// at most a year.
fn filter(
    q: &AuditQuery,
    state: &AppState,
    lang: Lang,
) -> AppResult<(Filter, NaiveDate, NaiveDate)> {
    let today = state.today();
    let day = |raw: &str, default: NaiveDate| -> AppResult<NaiveDate> {
        match raw.trim() {
            "" => Ok(default),
            s => crate::clock::parse_day(s).ok_or_else(|| {
                bad(
                    lang,
                    "Skriv datum som ÅÅÅÅ-MM-DD.",
                    "Write dates as YYYY-MM-DD.",
                )
            }),
        }
    };
    let to = day(&q.to, today)?;
    let from = day(&q.from, to - Duration::days(30))?;
    if to < from || (to - from).num_days() > 366 {
        return Err(bad(
            lang,
            "Perioden ska börja före sitt slut och vara högst ett år.",
            "The period must start before it ends and be at most a year.",
        ));
    }
    let id = |raw: &str, what_sv: &str, what_en: &str| -> AppResult<Option<i64>> {
        match raw.trim() {
            "" => Ok(None),
            s => s.parse().map(Some).map_err(|_| {
                AppError::invalid(
                    Code::BadParameter,
                    match lang {
                        Lang::Sv => format!("{what_sv} anges med sitt id, ett heltal."),
                        Lang::En => format!("The {what_en} is given by its id, a whole number."),
                    },
                )
            }),
        }
    };
    let tz = state.config.timezone;
    let utc = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or_else(|| d.and_time(chrono::NaiveTime::MIN))
    };
    let f = Filter {
        from: utc(from),
        to: utc(to + Duration::days(1)),
        actor_words: crate::admin_find::words(&q.who).unwrap_or_default(),
        pupil: id(&q.pupil, "Eleven", "pupil")?,
        lesson: id(&q.lesson, "Lektionen", "lesson")?,
    };
    Ok((f, from, to))
}

fn action(lang: Lang, code: &str) -> String {
    let (sv, en) = match code {
        "lesson.reported" => ("Lektionen rapporterad", "Lesson reported"),
        "lesson.resubmitted" => ("Lektionen ändrad", "Lesson changed"),
        "attendance.changed" => ("Markering ändrad", "Mark changed"),
        "leave.applied" => ("Ledighet sökt", "Leave applied for"),
        "leave.recommended" => ("Mentorns rekommendation", "Mentor's recommendation"),
        "leave.decided" => ("Beslut om ledighet", "Leave decided"),
        "leave.delegated" => ("Beslut om ledighet delegerade", "Leave decisions delegated"),
        "leave.delegation_ended" => ("Delegationen återkallad", "Delegation ended"),
        "guardianship.created" => ("Vårdnadshavare kopplad", "Guardian connected"),
        "lesson.substitute" => ("Vikarie tillsatt", "Substitute assigned"),
        "lesson.substitute_removed" => ("Vikarie borttagen", "Substitute removed"),
        "lesson.cancelled" => ("Lektionen inställd", "Lesson cancelled"),
        "lesson.restored" => ("Lektionen blir av igen", "Lesson takes place again"),
        "school.settings" => ("Skolans inställningar ändrade", "School settings changed"),
        "school.holiday_added" => ("Ledig dag inlagd", "Day off added"),
        "school.holiday_removed" => ("Ledig dag borttagen", "Day off removed"),
        "reason.added" => ("Frånvaroorsak tillagd", "Absence reason added"),
        "reason.retired" => ("Frånvaroorsak tagen ur bruk", "Absence reason retired"),
        "reason.reactivated" => ("Frånvaroorsak i bruk igen", "Absence reason in use again"),
        "reason.schools_may_add" => (
            "Skolornas egna orsaker tillåtna eller stoppade",
            "Schools' own reasons allowed or stopped",
        ),
        "staff.absent" => ("Lärare frånvarande", "Teacher away"),
        "staff.absence_ended" => (
            "Lärarens frånvaro borttagen",
            "Teacher's absence taken back",
        ),
        "trip.created" => ("Utflykt inlagd", "Trip added"),
        "trip.cancelled" => ("Utflykt borttagen", "Trip cancelled"),
        "trip.stays" => (
            "Vilka elever följer med på utflykten ändrat",
            "Who goes on a trip changed",
        ),
        _ => return code.to_string(),
    };
    lang.pick(sv, en).to_string()
}

/// "Närvarande → Frånvarande 10 min (orsak …)" for a mark; the detail as it is otherwise.
fn detail(lang: Lang, l: &Line) -> String {
    let side = |v: &serde_json::Value| -> String {
        let status = v["status"].as_str().unwrap_or("");
        let word = crate::roll_call::Status::parse(status)
            .map_or(status.to_string(), |s| s.label(lang).to_string());
        match v["minutes"].as_i64() {
            Some(m) if m > 0 && status != "absent" => format!("{word} {m} min"),
            _ => word,
        }
    };
    if matches!(l.action.as_str(), "lesson.reported" | "lesson.resubmitted")
        && l.detail["substitute"].as_bool() == Some(true)
    {
        return lang.pick("av vikarie", "by a substitute").to_string();
    }
    if l.action == "attendance.changed" {
        let mut s = format!("{} → {}", side(&l.detail["from"]), side(&l.detail["to"]));
        if let Some(r) = l.detail["reason"].as_str() {
            s.push_str(&format!(" ({}: {r})", lang.pick("skäl", "reason")));
        }
        return s;
    }
    match &l.detail {
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        serde_json::Value::Null => String::new(),
        d => d.to_string(),
    }
}

fn when(state: &AppState, lang: Lang, l: &Line) -> String {
    let local = l.at.and_utc().with_timezone(&state.config.timezone);
    format!(
        "{} {}",
        lang.day(local.date_naive()),
        local.format("%H:%M:%S")
    )
}

async fn load(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: Viewer,
    q: &AuditQuery,
) -> AppResult<(Vec<Line>, NaiveDate, NaiveDate)> {
    if !audit_search::may_read(&v) {
        return Err(AppError::NotFound);
    }
    let lang = Lang::from_request(req);
    let (f, from, to) = filter(q, state, lang)?;
    let rows = state
        .db(move |conn| audit_search::search(conn, &v, &f))
        .await?;
    Ok((rows, from, to))
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let (rows, from, to) = load(&req, &state, v, &q).await?;
    let ctx = PageCtx::new(&req);
    let title = ctx.t("Ändringslogg", "Audit log");
    let csv_href = format!(
        "/audit.csv?{}",
        serde_urlencoded::to_string([
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("who", q.who.clone()),
            ("pupil", q.pupil.clone()),
            ("lesson", q.lesson.clone()),
        ])
        .unwrap_or_default()
    );
    let body = html! {
        h1 { (title) }
        form method="get" action="/audit" {
            label for="a-from" { (ctx.t("Från och med", "From")) }
            input #a-from name="from" type="date" value=(from);
            label for="a-to" { (ctx.t("Till och med", "To")) }
            input #a-to name="to" type="date" value=(to);
            label for="a-who" { (ctx.t("Vem ändrade (namn eller användarnamn)", "Who changed it (name or username)")) }
            input #a-who name="who" value=(q.who) maxlength="200" autocomplete="off";
            label for="a-pupil" { (ctx.t("Elevens id (tomt = alla)", "The pupil's id (empty = all)")) }
            input #a-pupil name="pupil" inputmode="numeric" value=(q.pupil);
            label for="a-lesson" { (ctx.t("Lektionens id (tomt = alla)", "The lesson's id (empty = all)")) }
            input #a-lesson name="lesson" inputmode="numeric" value=(q.lesson);
            p { button type="submit" { (ctx.t("Visa", "Show")) } " " a href=(csv_href) { (ctx.t("Ladda ner som CSV", "Download as CSV")) } }
        }
        p role="status" { (rows.len()) " " (ctx.t("händelser", "events")) @if rows.len() as i64 == audit_search::LIMIT { " " (ctx.t("(de senaste; gör perioden kortare för att se fler)", "(the latest; shorten the period to see more)")) } }
        @if !rows.is_empty() { (table(&state, &ctx, &rows)) }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

fn table(state: &AppState, ctx: &PageCtx, rows: &[Line]) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label=(ctx.t("Händelser", "Events")) {
            table {
                thead { tr {
                    th { (ctx.t("När", "When")) } th { (ctx.t("Vem", "Who")) } th { (ctx.t("Vad", "What")) }
                    th { (ctx.t("Gäller", "About")) } th { (ctx.t("Ändring", "Change")) } th { (ctx.t("Varifrån", "From where")) }
                } }
                tbody { @for l in rows { tr {
                    td { (when(state, ctx.lang, l)) } td { (l.actor) } td { (action(ctx.lang, &l.action)) }
                    td { (l.about) } td { (detail(ctx.lang, l)) } td { (l.client_addr.as_deref().unwrap_or("")) }
                } } }
            }
        }
    }
}

pub async fn csv_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let (rows, from, to) = load(&req, &state, v, &q).await?;
    let head = [
        lang.pick("Tid (UTC)", "Time (UTC)"),
        lang.pick("Vem", "Who"),
        lang.pick("Händelse", "Event"),
        lang.pick("Kod", "Code"),
        lang.pick("Gäller", "About"),
        lang.pick("Ändring", "Change"),
        lang.pick("Varifrån", "From where"),
    ];
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|l| {
            vec![
                l.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                l.actor.clone(),
                action(lang, &l.action),
                l.action.clone(),
                l.about.clone(),
                detail(lang, l),
                l.client_addr.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Ok(csv(&format!("andringslogg-{from}-{to}.csv"), &head, &lines))
}
