//! Who read a pupil's records, for an administrator: a pupil and a period (30 days up to
//! today unless chosen, at most a year), the reads as a table, the same as CSV for an
//! incident report. Everyone else gets 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::html_with_status;
use super::layout::{self, PageCtx};
use super::statistics::csv::csv;
use crate::access_log::{self, Line, MOST_DAYS};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::school::ids::PersonId;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct ReadsQuery {
    #[serde(default)]
    pupil: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn bad(lang: Lang, sv: &str, en: &str) -> AppError {
    AppError::invalid(Code::BadParameter, lang.pick(sv, en))
}

/// What was read, in words.
pub(super) fn kind_words(lang: Lang, code: &str) -> String {
    let (sv, en) = match access_log::ReadKind::parse(code) {
        Some(access_log::ReadKind::PupilPage) => ("Elevens sida", "The pupil's page"),
        Some(access_log::ReadKind::StatisticsPupil) => (
            "Frånvarostatistik för eleven",
            "Absence statistics for the pupil",
        ),
        Some(access_log::ReadKind::Case) => ("Frånvaroutredning", "Absence investigation"),
        Some(access_log::ReadKind::RegisterExtract) => ("Registerutdrag", "Register extract"),
        Some(access_log::ReadKind::ApiPupil) => ("Eleven via API", "The pupil through the API"),
        Some(access_log::ReadKind::ApiAbsences) => (
            "Elevens frånvaro via API",
            "The pupil's absence through the API",
        ),
        None => return code.to_string(),
    };
    lang.pick(sv, en).to_string()
}

struct Asked {
    pupil: Option<(PersonId, String)>,
    from: NaiveDate,
    to: NaiveDate,
    lines: Vec<Line>,
}

/// The question, checked, and its answer.
async fn ask(state: &AppState, v: &Viewer, q: &ReadsQuery, lang: Lang) -> AppResult<Asked> {
    if !v.roles.is_admin() || v.client.is_some() {
        return Err(AppError::NotFound);
    }
    let (from, to) = super::common::asked_days((&q.from, &q.to), state.today(), 30, lang)?;
    if to < from {
        return Err(bad(
            lang,
            "Perioden ska börja före sitt slut.",
            "The period must start before it ends.",
        ));
    }
    if (to - from).num_days() >= MOST_DAYS {
        return Err(bad(
            lang,
            "Välj en period på högst ett år. Längre tillbaka frågar du en gång per år.",
            "Choose a period of at most a year. For longer, ask one year at a time.",
        ));
    }
    let pupil = match q.pupil.trim() {
        "" => None,
        s => Some(s.parse::<PersonId>().map_err(|_| {
            bad(
                lang,
                "Eleven anges med sitt id, ett heltal (sök fram eleven under Administration).",
                "The pupil is given by their id, a whole number (find them under Administration).",
            )
        })?),
    };
    let Some(pupil) = pupil else {
        return Ok(Asked {
            pupil: None,
            from,
            to,
            lines: Vec::new(),
        });
    };
    let tz = state.config.timezone;
    let utc = |d: NaiveDate| super::common::day_start_utc(tz, d);
    let span = (utc(from), utc(to + Duration::days(1)));
    let (name, lines) = state
        .db(move |conn| {
            let name = access_log::name_of(conn, pupil)?.ok_or(AppError::NotFound)?;
            Ok((name, access_log::of_pupil(conn, pupil, span)?))
        })
        .await?;
    Ok(Asked {
        pupil: Some((pupil, name)),
        from,
        to,
        lines,
    })
}

fn when(state: &AppState, lang: Lang, l: &Line) -> String {
    let local = l.at.and_utc().with_timezone(&state.config.timezone);
    format!(
        "{} {}",
        lang.day(local.date_naive()),
        lang.time(local.time())
    )
}

fn form(ctx: &PageCtx, a: &Asked) -> Markup {
    let pupil = a
        .pupil
        .as_ref()
        .map(|p| p.0.to_string())
        .unwrap_or_default();
    html! {
        form.filters method="get" action="/admin/access-log" {
            label for="pupil" { (ctx.t("Elevens id", "The pupil's id")) }
            input #pupil name="pupil" inputmode="numeric" value=(pupil);
            label for="from" { (ctx.t("Från och med", "From")) }
            input #from name="from" type="date" value=(a.from);
            label for="to" { (ctx.t("Till och med", "To")) }
            input #to name="to" type="date" value=(a.to);
            p { button type="submit" { (ctx.t("Visa", "Show")) } }
        }
    }
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<ReadsQuery>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let a = ask(&state, &v, &q, ctx.lang).await?;
    let title = ctx.t(
        "Vem har läst elevens uppgifter",
        "Who read the pupil's records",
    );
    let body = html! {
        h1 { (title) }
        p { (ctx.t(
            "Varje gång någon öppnar en elevs sida, statistik, utredning eller registerutdrag, eller läser eleven via API:t, sparas vem, när, vad och varifrån. Uppgifterna sparas ett år om kommunen inte bestämt annat.",
            "Each time someone opens a pupil's page, statistics, investigation or register extract, or reads the pupil through the API, who, when, what and from where is kept. It is kept for a year unless the municipality decided otherwise."
        )) }
        (form(&ctx, &a))
        @if let Some((id, name)) = &a.pupil {
            h2 { (name) " (" (ctx.lang.days(a.from, a.to)) ")" }
            @if a.lines.is_empty() {
                p { (ctx.t("Ingen har läst elevens uppgifter under perioden.", "Nobody read the pupil's records in the period.")) }
            } @else {
                p { a href={"/admin/access-log.csv?pupil=" (id) "&from=" (a.from) "&to=" (a.to)} { (ctx.t("Hämta som CSV", "Download as CSV")) } }
                div.scroll tabindex="0" role="region" aria-label=(title) {
                    table {
                        thead { tr {
                            th scope="col" { (ctx.t("När", "When")) }
                            th scope="col" { (ctx.t("Vem", "Who")) }
                            th scope="col" { (ctx.t("Vad", "What")) }
                            th scope="col" { (ctx.t("Varifrån", "From where")) }
                        } }
                        tbody { @for l in &a.lines { tr {
                            td { (when(&state, ctx.lang, l)) }
                            td { (l.reader) @if l.client { " (" (ctx.t("API-klient", "API client")) ")" } }
                            td { (kind_words(ctx.lang, &l.kind)) }
                            td { (l.client_addr.clone().unwrap_or_default()) }
                        } } }
                    }
                }
            }
        }
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, title, body),
    ))
}

pub async fn csv_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<ReadsQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req).staff();
    let a = ask(&state, &v, &q, lang).await?;
    let Some((id, _)) = a.pupil else {
        return Err(AppError::invalid(
            Code::MissingParameter,
            lang.pick("Ange elevens id i pupil.", "Give the pupil's id in pupil."),
        ));
    };
    let head = [
        lang.pick("Tid (UTC)", "Time (UTC)"),
        lang.pick("Vem", "Who"),
        lang.pick("Personens id", "The person's id"),
        lang.pick("Vad", "What"),
        lang.pick("Kod", "Code"),
        lang.pick("Adress i Närvaro", "Address in Närvaro"),
        lang.pick("Varifrån", "From where"),
    ];
    let lines: Vec<Vec<String>> = a
        .lines
        .iter()
        .map(|l| {
            vec![
                l.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                l.reader.clone(),
                l.reader_id.map(|p| p.to_string()).unwrap_or_default(),
                kind_words(lang, &l.kind),
                l.kind.clone(),
                l.route.clone(),
                l.client_addr.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Ok(csv(
        &format!("lasningar-{id}-{}-{}.csv", a.from, a.to),
        &head,
        &lines,
    ))
}
