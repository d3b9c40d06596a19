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

/// The export is for principals (their schools) and administrators (every school of
/// their municipality): anyone else gets the 404 of a resource that is not there, before
/// any parameter is read.
fn readers_only(v: &Viewer) -> AppResult<()> {
    if v.roles.principal_of.is_empty() && !v.roles.is_admin() {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
}

/// The three resources of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Attendances,
    Absences,
    Aggregated,
}

impl Resource {
    /// The lists a token of this resource may point into.
    fn token_kinds(self) -> &'static [&'static str] {
        match self {
            Resource::Attendances => &["a"],
            Resource::Absences => &["r", "l"],
            Resource::Aggregated => &["g"],
        }
    }

    /// The parameters SS 12000 v2.1 defines for the resource that Närvaro does not
    /// support yet: refused with a 400 that names them, never ignored.
    fn not_yet(self) -> &'static [&'static str] {
        const META: [&str; 4] = [
            "meta.created.before",
            "meta.created.after",
            "meta.modified.before",
            "meta.modified.after",
        ];
        match self {
            Resource::Attendances => &[
                "calendarEvent",
                META[0],
                META[1],
                META[2],
                META[3],
                "expandReferenceNames",
            ],
            Resource::Absences => &[
                "registeredBy",
                "type",
                "endTime.onOrBefore",
                "endTime.onOrAfter",
                META[0],
                META[1],
                META[2],
                META[3],
                "expandReferenceNames",
                "sortkey",
            ],
            Resource::Aggregated => &["schoolType", "expand", "expandReferenceNames"],
        }
    }
}

/// An export request's parameters, checked: each is read, or refused with a 400 that says
/// why (not supported yet, not a parameter of this resource, given twice, or beside a
/// `pageToken`, which carries the whole query).
#[derive(Debug, Default)]
struct Params {
    limit: Option<String>,
    token: Option<String>,
    organisation: Option<String>,
    students: Vec<String>,
    from: Option<String>,
    to: Option<String>,
}

fn params(pairs: &[(String, String)], r: Resource, lang: Lang) -> AppResult<Params> {
    let say = |code: Code, sv: String, en: String| {
        AppError::invalid(code, if lang == Lang::Sv { sv } else { en })
    };
    let mut p = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    // read: limit, pageToken, organisation, student, and the period (`startTime.*` on
    // attendances and absences, `startDate`/`endDate` on the aggregate)
    for (k, v) in pairs {
        let k = k.as_str();
        let repeatable = k == "student" && r == Resource::Aggregated;
        if seen.contains(&k) && !repeatable {
            return Err(say(
                Code::RepeatedParameter,
                format!("{k} anges högst en gång."),
                format!("{k} is given at most once."),
            ));
        }
        seen.push(k);
        match k {
            "limit" => p.limit = Some(v.clone()),
            "pageToken" => p.token = Some(v.clone()),
            "organisation" => p.organisation = Some(v.clone()),
            "student" => p.students.push(v.clone()),
            "startTime.onOrAfter" if r != Resource::Aggregated => p.from = Some(v.clone()),
            "startTime.onOrBefore" if r != Resource::Aggregated => p.to = Some(v.clone()),
            "startDate" if r == Resource::Aggregated => p.from = Some(v.clone()),
            "endDate" if r == Resource::Aggregated => p.to = Some(v.clone()),
            _ if r.not_yet().contains(&k) => {
                return Err(say(
                    Code::UnsupportedParameter,
                    format!("{k} stöds inte ännu av Närvaro; anropet görs utan det."),
                    format!("{k} is not supported by Närvaro yet; make the request without it."),
                ))
            }
            _ => {
                return Err(say(
                    Code::UnknownParameter,
                    format!("{k} är ingen parameter för den här resursen."),
                    format!("{k} is not a parameter of this resource."),
                ))
            }
        }
    }
    if p.token.is_some() && seen.iter().any(|k| !["limit", "pageToken"].contains(k)) {
        return Err(say(
            Code::PageTokenWithFilters,
            "pageToken bär hela frågan och kombineras bara med limit.".into(),
            "pageToken carries the whole query and is combined only with limit.".into(),
        ));
    }
    Ok(p)
}

/// The query of a first page (its ids resolved, the period defaulting to this term), or
/// the one a token carries, with where its page ended.
fn query_of(
    conn: &mut crate::db::DbConn,
    p: &Params,
    r: Resource,
    today: NaiveDate,
    lang: Lang,
) -> AppResult<(export::Query, Option<export::Position>)> {
    if let Some(t) = &p.token {
        let (at, q) = export::parse_token(t, r.token_kinds(), lang)?;
        return Ok((q, Some(at)));
    }
    let (from, to) = match r {
        Resource::Aggregated => {
            let need = |v: &Option<String>, name: &str| {
                v.clone().ok_or_else(|| {
                    AppError::invalid(
                        Code::MissingParameter,
                        match lang {
                            Lang::Sv => format!("{name} krävs (ÅÅÅÅ-MM-DD)."),
                            Lang::En => format!("{name} is required (YYYY-MM-DD)."),
                        },
                    )
                })
            };
            let from = super::common::parse_date(&need(&p.from, "startDate")?, "startDate", lang)?;
            let to = super::common::parse_date(&need(&p.to, "endDate")?, "endDate", lang)?;
            (Some(from), Some(to))
        }
        _ => (
            date_param(p.from.as_deref(), "startTime.onOrAfter", lang)?,
            date_param(p.to.as_deref(), "startTime.onOrBefore", lang)?,
        ),
    };
    let period = Period::or_term(from, to, today, lang)?;
    let organisation = match &p.organisation {
        None => None,
        Some(raw) => Some(export::resolve(conn, export::Ref::Org, raw)?.ok_or(AppError::NotFound)?),
    };
    let mut students = Vec::new();
    for raw in &p.students {
        students.push(export::resolve(conn, export::Ref::Person, raw)?.ok_or(AppError::NotFound)?);
    }
    Ok((
        export::Query {
            organisation,
            students,
            from: period.from,
            to: period.to,
        },
        None,
    ))
}

/// One page of a resource: the reader checked, the parameters read (or the token's query),
/// the page fetched in one go.
async fn serve(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Vec<(String, String)>>,
    r: Resource,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let (today, tz) = (state.today(), state.config.timezone);
    readers_only(&v)?;
    let p = params(&q, r, lang)?;
    let limit = export::limit(p.limit.as_deref(), lang)?;
    let out = state
        .db(move |conn| {
            let (query, at) = query_of(conn, &p, r, today, lang)?;
            match r {
                Resource::Attendances => {
                    let after = at.map(|t| (t.1, t.2)).unwrap_or((0, 0));
                    export::attendances(conn, &v, tz, &query, limit, after)
                }
                Resource::Absences => export::absences(conn, &v, tz, &query, limit, at),
                Resource::Aggregated => {
                    let after = at.map(|t| (t.1, t.2));
                    export::aggregated_page(conn, &v, tz, &query, limit, after, today, lang)
                }
            }
        })
        .await?;
    Ok(page(out.data, out.next))
}

/// GET /api/ss12000/v2/attendances: one per pupil per reported lesson, in lesson order.
pub async fn attendances(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    serve(req, state, v, q, Resource::Attendances).await
}

/// GET /api/ss12000/v2/absences: reports first (by id), then granted leave (by id).
pub async fn absences(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    serve(req, state, v, q, Resource::Absences).await
}

/// GET /api/ss12000/v2/aggregatedAttendance: per activity and pupil, in that order.
pub async fn aggregated_attendance(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    serve(req, state, v, q, Resource::Aggregated).await
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
