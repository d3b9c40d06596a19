//! The SS 12000 export, read-only, under `/api/ss12000/v2/`: `attendances` (one per pupil
//! per reported lesson), `absences` (guardians' reports as "Anmäld frånvaro", granted
//! leave as "Beviljad ledighet") and `aggregatedAttendance`, with the standard's field
//! names and paging (`limit`, `pageToken`; answers `{"data": […], "pageToken": …}`, the
//! token only while there is more). For principals (their schools) and administrators
//! (every school), with bearer tokens like `/api/v1`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::common::statistics_period;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::ss12000::export;
use crate::state::AppState;
use crate::statistics::{Period, Scope};

/// A date filter: `YYYY-MM-DD`, or a date-time whose date is taken.
fn date_param(raw: Option<&str>, name: &str, lang: Lang) -> AppResult<Option<NaiveDate>> {
    raw.map(|r| {
        // a date-time's date, or the whole
        let date = if r.as_bytes().get(10) == Some(&b'T') {
            r.get(..10).unwrap_or(r)
        } else {
            r
        };
        super::common::parse_date(date, name, lang)
    })
    .transpose()
}

/// An optional id in a query: a positive whole number.
pub(super) fn id_param(raw: Option<&str>, name: &str, lang: Lang) -> AppResult<Option<i64>> {
    raw.map(|r| {
        r.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            AppError::invalid(
                Code::BadId,
                match lang {
                    Lang::Sv => format!("{name} är ett positivt heltal."),
                    Lang::En => format!("{name} is a positive whole number."),
                },
            )
        })
    })
    .transpose()
}

fn page(data: Vec<Value>, next: Option<String>) -> HttpResponse {
    let mut body = json!({ "data": data });
    if let Some(t) = next {
        body["pageToken"] = t.into();
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

#[derive(Deserialize)]
pub struct ExportQuery {
    limit: Option<String>,
    #[serde(rename = "pageToken")]
    page_token: Option<String>,
    organisation: Option<String>,
    #[serde(rename = "startTime.onOrAfter")]
    after: Option<String>,
    #[serde(rename = "startTime.onOrBefore")]
    before: Option<String>,
}

struct Export {
    limit: usize,
    organisation: Option<i64>,
    period: Period,
}

fn export_params(q: &ExportQuery, today: NaiveDate, lang: Lang) -> AppResult<Export> {
    let from = date_param(q.after.as_deref(), "startTime.onOrAfter", lang)?;
    let to = date_param(q.before.as_deref(), "startTime.onOrBefore", lang)?;
    Ok(Export {
        limit: export::limit(q.limit.as_deref(), lang)?,
        organisation: id_param(q.organisation.as_deref(), "organisation", lang)?,
        period: Period::or_term(from, to, today, lang)?,
    })
}

/// GET /api/ss12000/v2/attendances: one per pupil per reported lesson, in lesson order.
pub async fn attendances(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let today = state.today();
    let tz = state.config.timezone;
    let p = export_params(&q, today, lang)?;
    let after = export::parse_token(q.page_token.as_deref(), &["a"], lang)?;
    let after = after.map(|t| (t.1, t.2)).unwrap_or((0, 0));
    let out = state
        .db(move |conn| export::attendances(conn, &v, tz, p.organisation, p.period, p.limit, after))
        .await?;
    Ok(page(out.data, out.next))
}

/// GET /api/ss12000/v2/absences: reports first (by id), then granted leave (by id).
pub async fn absences(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let today = state.today();
    let tz = state.config.timezone;
    let p = export_params(&q, today, lang)?;
    let after = export::parse_token(q.page_token.as_deref(), &["r", "l"], lang)?;
    let out = state
        .db(move |conn| export::absences(conn, &v, tz, p.organisation, p.period, p.limit, after))
        .await?;
    Ok(page(out.data, out.next))
}

#[derive(Deserialize)]
pub struct AggregatedPageQuery {
    limit: Option<String>,
    #[serde(rename = "pageToken")]
    page_token: Option<String>,
    #[serde(rename = "startDate")]
    start_date: Option<String>,
    #[serde(rename = "endDate")]
    end_date: Option<String>,
    organisation: Option<String>,
    student: Option<String>,
}

/// GET /api/ss12000/v2/aggregatedAttendance: per activity and pupil, in that order.
pub async fn aggregated_attendance(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<AggregatedPageQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let q = q.into_inner();
    let limit = export::limit(q.limit.as_deref(), lang)?;
    let after = export::parse_token(q.page_token.as_deref(), &["g"], lang)?.map(|t| (t.1, t.2));
    let inner = AggregatedQuery {
        start_date: q.start_date,
        end_date: q.end_date,
        organisation: q.organisation,
        student: q.student,
    };
    let (sums, period, refs) = aggregated_sums(&req, &state, v, inner).await?;
    let rest = sums.iter().filter(|(k, _)| after.map_or(true, |a| **k > a));
    let data: Vec<Value> = rest
        .clone()
        .take(limit)
        .map(|((a, p), f)| export::aggregated_json(&refs, *a, *p, f, period))
        .collect();
    let next = if rest.count() > limit {
        sums.keys()
            .filter(|k| after.map_or(true, |a| **k > a))
            .nth(limit - 1)
            .map(|(a, p)| export::token("g", *a, *p))
    } else {
        None
    };
    Ok(page(data, next))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedQuery {
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub organisation: Option<String>,
    pub student: Option<String>,
}

/// GET /api/v1/statistics/aggregated-attendance: SS 12000 `AggregatedAttendance`, minutes
/// per activity and pupil.
pub async fn v1_aggregated_attendance(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<AggregatedQuery>,
) -> AppResult<HttpResponse> {
    let (sums, period, refs) = aggregated_sums(&req, &state, v, q.into_inner()).await?;
    let data: Vec<serde_json::Value> = sums
        .iter()
        .map(|((activity, pupil), f)| export::aggregated_json(&refs, *activity, *pupil, f, period))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data })))
}

/// The sums per (activity, pupil) an aggregated-attendance request asks for, after its
/// access check: by `student`, or by `organisation` (a school).
async fn aggregated_sums(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: Viewer,
    q: AggregatedQuery,
) -> AppResult<(export::Sums, Period, export::Refs)> {
    let lang = Lang::from_request(req);
    let today = state.today();
    let tz = state.config.timezone;
    let organisation = id_param(q.organisation.as_deref(), "organisation", lang)?;
    let student = id_param(q.student.as_deref(), "student", lang)?;
    let period = statistics_period(q.start_date.as_deref(), q.end_date.as_deref(), today, lang)?;
    let scope = match (student, organisation) {
        (Some(p), _) => Scope::Pupil(p),
        (None, Some(s)) => Scope::School(s),
        (None, None) => {
            return Err(AppError::invalid(
                Code::OrganisationOrStudentRequired,
                lang.pick(
                    "Ange organisation (skolans id) eller student (elevens id).",
                    "Give organisation (the school's id) or student (the pupil's id).",
                ),
            ))
        }
    };
    let (sums, refs) = state
        .db(move |conn| export::aggregated(conn, &v, tz, scope, organisation, period, today, lang))
        .await?;
    Ok((sums, period, refs))
}
