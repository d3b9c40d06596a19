//! The SS 12000 export (SS 12000:2020, API version 2.1), read-only, under
//! `/api/ss12000/v2/`: `attendances`, `absences` (each also by id and by lookup),
//! `aggregatedAttendance` and `deletedEntities`, with the standard's names, parameters and
//! paging (`limit`, `pageToken`; `{"data": …, "pageToken": …}`, the token only while there
//! is more). Every parameter the standard defines for a resource is read; one it does not
//! define, or one Närvaro does not support, is a 400, never ignored. For principals (their
//! schools) and administrators (every school), with bearer tokens like `/api/v1`.

mod params;
mod records;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::auth::Viewer;
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::interop::ss12000::query::{self, Position, Query};
use crate::interop::ss12000::{absences, aggregated, attendances, deleted};
use crate::school::ids::{ActivityId, PupilId};
use crate::state::AppState;

pub use records::{absence, absences_lookup, attendance, attendances_lookup};

pub(super) fn say(lang: Lang, code: Code, sv: String, en: String) -> AppError {
    AppError::invalid(code, if lang == Lang::Sv { sv } else { en })
}

pub(super) fn answer(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// The export is for principals (their schools) and administrators (every school of
/// their municipality): anyone else gets the 404 of a resource that is not there, before
/// any parameter is read.
pub(super) fn readers_only(v: &Viewer) -> AppResult<()> {
    if v.roles.principal_of.is_empty() && !v.roles.is_admin() {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
}

/// The lists of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resource {
    Attendances,
    Absences,
    Aggregated,
    Deleted,
}

impl Resource {
    /// The lists a token of this resource may point into.
    pub(super) fn token_kinds(self) -> &'static [&'static str] {
        match self {
            Resource::Attendances => &["a"],
            Resource::Absences => &["r", "l"],
            Resource::Aggregated => &["g"],
            Resource::Deleted => &["d"],
        }
    }

    /// Whether the standard makes the parameter an array (given once per value).
    pub(super) fn repeatable(self, name: &str) -> bool {
        matches!(
            (self, name),
            (Resource::Aggregated, "student" | "schoolType" | "expand")
                | (Resource::Deleted, "entities")
        )
    }
}

/// One page of a list: the reader checked, the parameters read (or the token's query),
/// the page fetched in one go.
async fn serve(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    pairs: web::Query<Vec<(String, String)>>,
    r: Resource,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let (today, tz) = (state.today(), state.config.timezone);
    readers_only(&v)?;
    let pairs = pairs.into_inner();
    let p = params::params(&pairs, r, lang)?;
    let (limit, token) = (p.limit, p.token.map(str::to_string));
    let filters: Vec<(String, String)> = p
        .filters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = state
        .db(move |conn| {
            let (q, at): (Query, Option<Position>) = match &token {
                Some(t) => {
                    let (at, q) = query::parse_token(t, r.token_kinds())?;
                    (q, Some(at))
                }
                None => {
                    let f: Vec<(&str, &str)> = filters
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    (params::query_of(conn, &f, r, tz, today, lang)?, None)
                }
            };
            match r {
                Resource::Attendances => {
                    let after = at.map_or((0, 0), |t| (t.1, t.2));
                    attendances::page(conn, &v, tz, &q, limit, after)
                }
                Resource::Absences => absences::page(conn, &v, tz, &q, limit, at),
                Resource::Aggregated => {
                    let after = at.map(|t| (ActivityId(t.1), PupilId(t.2)));
                    aggregated::page(conn, &v, tz, &q, limit, after, today)
                }
                Resource::Deleted => deleted::page(conn, &v, &q, limit, at),
            }
        })
        .await?;
    let mut body = match r {
        // DeletedEntities.data is one object of lists
        Resource::Deleted => json!({ "data": out.data.into_iter().next().unwrap_or(json!({})) }),
        _ => json!({ "data": out.data }),
    };
    if let Some(t) = out.next {
        body["pageToken"] = t.into();
    }
    Ok(answer(body))
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

/// GET /api/ss12000/v2/absences: reports and granted leave, in the order asked for.
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

/// GET /api/ss12000/v2/deletedEntities: what was removed, after a moment.
pub async fn deleted_entities(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    serve(req, state, v, q, Resource::Deleted).await
}
