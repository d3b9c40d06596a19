//! Absence statistics over the API: minutes and shares of a school, group or pupil.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::insight::statistics::Scope;
use crate::interop::ss12000::aggregated;
use crate::school::ids::{GroupId, PupilId, SchoolId};
use crate::state::AppState;
use crate::web::common::{parse_id, statistics_period};

#[derive(Deserialize)]
pub struct StatisticsQuery {
    scope: Option<String>,
    id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

fn figures_json(f: &crate::insight::statistics::Figures) -> serde_json::Value {
    json!({
        "scheduled_minutes": f.scheduled_minutes,
        "reported_minutes": f.reported_minutes,
        "absent_minutes": f.absent_minutes(),
        "valid_minutes": f.valid_minutes,
        "invalid_minutes": f.invalid_minutes,
        "refused_leave_minutes": f.refused_leave_minutes,
        "absence_pct": f.absence_pct(),
        "valid_pct": f.valid_pct(),
        "invalid_pct": f.invalid_pct(),
        "reporting_rate": f.reporting_rate(),
    })
}

/// GET /api/v1/statistics/absence: minutes and shares of a school, group or pupil over a
/// period, in total and by pupil, group, subject, week, weekday or sex.
pub async fn statistics_absence(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<StatisticsQuery>,
) -> AppResult<HttpResponse> {
    use crate::insight::statistics::{self as stats, By, Scope};
    let lang = Lang::from_request(&req);
    let today = state.today();
    let tz = state.config.timezone;
    let q = q.into_inner();
    let scope_name = q.scope.as_deref().unwrap_or("");
    let id = match q.id.as_deref() {
        Some(raw) => parse_id::<PupilId>(raw).map(i64::from).map_err(|_| {
            AppError::invalid(
                Code::BadId,
                lang.pick(
                    "id är ett positivt heltal.",
                    "id is a positive whole number.",
                ),
            )
        })?,
        None => {
            return Err(AppError::invalid(
                Code::IdRequired,
                lang.pick(
                    "Ange id för skolan, gruppen eller eleven.",
                    "Give the id of the school, group or pupil.",
                ),
            ))
        }
    };
    let scope = match scope_name {
        "school" => Scope::School(SchoolId(id)),
        "group" => Scope::Group(GroupId(id)),
        "pupil" => Scope::Pupil(PupilId(id)),
        _ => {
            return Err(AppError::invalid(
                Code::BadScope,
                lang.pick(
                    "scope är school, group eller pupil.",
                    "scope is school, group or pupil.",
                ),
            ))
        }
    };
    let by_name = q.by.clone().unwrap_or_else(|| "total".into());
    let by = By::parse(&by_name).ok_or_else(|| {
        AppError::invalid(
            Code::BadBy,
            lang.pick(
                "by är pupil, group, subject, week, weekday, sex eller total.",
                "by is pupil, group, subject, week, weekday, sex or total.",
            ),
        )
    })?;
    let period = statistics_period(q.from.as_deref(), q.to.as_deref(), today, lang)?;
    let (rows, hide) = state
        .db(move |conn| {
            let hide = match scope {
                Scope::School(s) => {
                    access::school(conn, &v, s)?;
                    !v.roles.principal_of.contains(&s)
                }
                Scope::Group(g) => {
                    let s = access::group(conn, &v, g)?;
                    !v.roles.principal_of.contains(&s) && !v.roles.mentor_of.contains(&g)
                }
                Scope::Pupil(p) => !access::pupil(conn, &v, p, today)?.name_visible(),
                Scope::Municipality(_) => return Err(AppError::NotFound),
            };
            Ok((stats::figures(conn, tz, scope, period, by, today)?, hide))
        })
        .await?;
    let total = stats::total(&rows);
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut o = figures_json(&r.figures);
            o["key"] = r.key_json();
            o["label"] = crate::web::statistics::labels::row_label(r, lang, hide).into();
            o
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "scope": scope_name,
        "id": id,
        "from": period.from,
        "to": period.to,
        "counted_until": period.until(today).to,
        "by": by_name,
        "total": figures_json(&total),
        "rows": out,
    })))
}

/// An optional id in a query: a positive whole number.
fn id_param<T: std::str::FromStr>(
    raw: Option<&str>,
    name: &str,
    lang: Lang,
) -> AppResult<Option<T>> {
    raw.map(|r| {
        r.parse::<T>().map_err(|_| {
            AppError::invalid(
                Code::BadId,
                lang.fill(
                    "{name} är ett positivt heltal.",
                    "{name} is a positive whole number.",
                    &[("name", name)],
                ),
            )
        })
    })
    .transpose()
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
/// per activity and pupil, for a school or a pupil (Närvaro's ids).
pub async fn v1_aggregated_attendance(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<AggregatedQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let today = state.today();
    let tz = state.config.timezone;
    let q = q.into_inner();
    let organisation: Option<SchoolId> = id_param(q.organisation.as_deref(), "organisation", lang)?;
    let student: Option<PupilId> = id_param(q.student.as_deref(), "student", lang)?;
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
        .db(move |conn| aggregated::of_scope(conn, &v, tz, scope, organisation, period, today))
        .await?;
    let data: Vec<Value> = sums
        .iter()
        .map(|((activity, pupil), f)| {
            aggregated::to_json(&refs, (*activity).into(), (*pupil).into(), f, period)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data })))
}
