//! The JSON API under /api/v1: bearer tokens, who am I, pupils and lessons. Errors are
//! problem+json (see `crate::error`).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client_addr;
use super::pupils::{parse_id, summary};
use crate::auth::session::{self, Audience, API_TOKEN_SECS};
use crate::auth::sign_in::{self, Outcome};
use crate::auth::viewer::today;
use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::roll_call::{self, LessonLine, MarkInput, RollCall, Status, Submission};
use crate::schema::*;
use crate::startup::AppState;

#[derive(Deserialize)]
pub struct TokenRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<TokenRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let lang = Lang::from_request(&req);
    if body.username.trim().is_empty()
        || body.password.is_empty()
        || body.username.len() > 200
        || body.password.len() > 1000
    {
        return Err(AppError::invalid(
            "missing_credentials",
            lang.pick(
                "Ange username och password.",
                "Give a username and a password.",
            ),
        ));
    }
    let outcome =
        super::sign_in::password_attempt(&req, &state, body.username, body.password, "api").await?;
    match outcome {
        Outcome::SignedIn { person, version } => {
            let (access_token, _) =
                session::issue(&state.jwt_secret, Audience::Api, person, version, None)
                    .map_err(AppError::internal)?;
            Ok(HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(TokenResponse {
                    access_token,
                    token_type: "Bearer",
                    expires_in: API_TOKEN_SECS,
                }))
        }
        Outcome::Refused => Err(AppError::Unauthorized(
            lang.pick(
                "Fel användarnamn eller lösenord.",
                "Wrong username or password.",
            )
            .into(),
        )),
        Outcome::Throttled { wait_secs } => Err(AppError::TooManyRequests {
            retry_after_secs: wait_secs,
        }),
    }
}

/// Ends every token and session of the caller.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
) -> AppResult<HttpResponse> {
    let addr = client_addr(&req);
    state
        .db_write(move |conn| sign_in::sign_out(conn, v.id, &addr))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct RoleOut {
    role: &'static str,
    school_ids: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_ids: Option<Vec<i64>>,
}

#[derive(Serialize)]
struct ChildOut {
    id: i64,
    name: String,
    school_id: i64,
}

pub async fn me(state: web::Data<AppState>, v: Viewer) -> AppResult<HttpResponse> {
    let out = state
        .db(move |conn| {
            let r = &v.roles;
            let mut roles = Vec::new();
            if r.is_admin() {
                let schools = access::admin_schools(conn, &v)?
                    .into_iter()
                    .map(|s| s.0)
                    .collect();
                roles.push(RoleOut {
                    role: "admin",
                    school_ids: schools,
                    group_ids: None,
                });
            }
            if !r.principal_of.is_empty() {
                roles.push(RoleOut {
                    role: "principal",
                    school_ids: r.principal_of.clone(),
                    group_ids: None,
                });
            }
            if !r.teacher_at.is_empty() {
                roles.push(RoleOut {
                    role: "teacher",
                    school_ids: r.teacher_at.clone(),
                    group_ids: None,
                });
            }
            if !r.mentor_of.is_empty() {
                let schools: Vec<i64> = groups::table
                    .filter(groups::id.eq_any(&r.mentor_of))
                    .select(groups::school_id)
                    .distinct()
                    .load(conn)?;
                roles.push(RoleOut {
                    role: "mentor",
                    school_ids: schools,
                    group_ids: Some(r.mentor_of.clone()),
                });
            }
            let children: Vec<ChildOut> = people::table
                .filter(people::id.eq_any(&r.children))
                .filter(people::school_id.is_not_null())
                .select((
                    people::id,
                    people::given_name,
                    people::family_name,
                    people::school_id.assume_not_null(),
                ))
                .order(people::id)
                .load::<(i64, String, String, i64)>(conn)?
                .into_iter()
                .map(|(id, g, f, school_id)| ChildOut {
                    id,
                    name: format!("{g} {f}"),
                    school_id,
                })
                .collect();
            if !children.is_empty() {
                let mut schools: Vec<i64> = children.iter().map(|c| c.school_id).collect();
                schools.sort_unstable();
                schools.dedup();
                roles.push(RoleOut {
                    role: "guardian",
                    school_ids: schools,
                    group_ids: None,
                });
            }
            if let Some(school) = r.pupil_self_at {
                roles.push(RoleOut {
                    role: "pupil",
                    school_ids: vec![school],
                    group_ids: None,
                });
            }
            Ok(json!({
                "id": v.id,
                "name": v.name(),
                "username": v.username,
                "email": v.email,
                "language": v.language,
                "roles": roles,
                "children": children,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(out))
}

pub async fn pupil(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let today = today(&state);
    let lang = Lang::from_request(&req);
    let p = state
        .db(move |conn| summary(conn, &v, id, today, lang))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(p))
}

/// A school-local date-time as the API writes it: `2026-11-23T08:10:00`.
fn local_datetime(date: NaiveDate, time: NaiveTime) -> String {
    date.and_time(time).format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[derive(Serialize)]
struct LessonOut {
    id: i64,
    starts_at: String,
    ends_at: String,
    subject: String,
    group: String,
    room: Option<String>,
    cancelled: bool,
    reported: bool,
    substitute: bool,
}

impl From<&LessonLine> for LessonOut {
    fn from(l: &LessonLine) -> Self {
        LessonOut {
            id: l.id,
            starts_at: local_datetime(l.date, l.starts_at),
            ends_at: local_datetime(l.date, l.ends_at),
            subject: l.subject.clone(),
            group: l.group.clone(),
            room: l.room.clone(),
            cancelled: l.cancelled,
            reported: l.reported,
            substitute: l.substitute,
        }
    }
}

#[derive(Deserialize)]
pub struct DateQuery {
    date: Option<String>,
}

/// The caller's lessons on a day (default: today).
pub async fn lessons(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<DateQuery>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let today = today(&state);
    let date = match q.date.as_deref() {
        None => today,
        Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .filter(|d| (*d - today).num_days().abs() <= 366 * 5)
            .ok_or_else(|| {
                AppError::invalid(
                    "bad_date",
                    lang.pick(
                        "date skrivs ÅÅÅÅ-MM-DD (inom fem år).",
                        "date is written YYYY-MM-DD (within five years).",
                    ),
                )
            })?,
    };
    let lines = state
        .db(move |conn| roll_call::teacher_lessons(conn, &v, date, date))
        .await?;
    let lessons: Vec<LessonOut> = lines.iter().map(LessonOut::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"date": date, "lessons": lessons})))
}

pub async fn lesson(
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let out = state
        .db(move |conn| {
            let l = access::lesson(conn, &v, id)?;
            let (date, starts, ends, room, cancelled, subject): (
                NaiveDate,
                NaiveTime,
                NaiveTime,
                Option<String>,
                bool,
                String,
            ) = lessons::table
                .inner_join(activities::table)
                .filter(lessons::id.eq(l.id))
                .select((
                    lessons::lesson_date,
                    lessons::starts_at,
                    lessons::ends_at,
                    lessons::room,
                    lessons::cancelled,
                    activities::subject_name,
                ))
                .first(conn)?;
            let groups: Vec<String> = activity_groups::table
                .inner_join(groups::table)
                .filter(activity_groups::activity_id.eq(l.activity_id))
                .select(groups::name)
                .order(groups::name)
                .load(conn)?;
            let reported: i64 = lesson_reports::table
                .filter(lesson_reports::lesson_id.eq(l.id))
                .count()
                .get_result(conn)?;
            Ok(json!({
                "id": l.id,
                "starts_at": local_datetime(date, starts),
                "ends_at": local_datetime(date, ends),
                "subject": subject,
                "group": groups.join(", "),
                "room": room,
                "cancelled": cancelled,
                "reported": reported > 0,
                "school_id": l.school_id,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(out))
}

fn roll_call_json(rc: &RollCall, state: &AppState) -> serde_json::Value {
    let l = &rc.lesson;
    json!({
        "lesson": {
            "id": l.id,
            "starts_at": local_datetime(l.date, l.starts_at),
            "ends_at": local_datetime(l.date, l.ends_at),
            "minutes": l.minutes,
            "subject": l.subject,
            "group": l.groups.join(", "),
            "cancelled": l.cancelled,
        },
        "version": rc.version(),
        "reported": rc.report.as_ref().map(|r| json!({
            "by": r.by,
            "at": r.at.and_utc().with_timezone(&state.config.timezone).naive_local().format("%Y-%m-%dT%H:%M:%S").to_string(),
        })),
        "pupils": rc.pupils.iter().map(|p| json!({
            "id": p.id,
            "name": p.name,
            "status": p.mark.status.as_str(),
            "minutes": p.mark.minutes,
            "reason_id": p.mark.reason_id,
            "covered_by": p.covered_by,
        })).collect::<Vec<_>>(),
        "reasons": rc.reasons.iter().map(|r| json!({"id": r.id, "name_sv": r.name_sv, "name_en": r.name_en, "valid": r.is_valid})).collect::<Vec<_>>(),
    })
}

pub async fn roll_call(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let (tz, lang) = (state.config.timezone, Lang::from_request(&req));
    let rc = state
        .db(move |conn| {
            let l = access::lesson(conn, &v, id)?;
            roll_call::load(conn, &l, tz, lang)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(roll_call_json(&rc, &state)))
}

#[derive(Deserialize)]
pub struct MarkIn {
    pupil_id: i64,
    status: String,
    minutes: Option<i32>,
    reason_id: Option<i64>,
}

#[derive(Deserialize)]
pub struct RollCallIn {
    marks: Vec<MarkIn>,
    expected_version: Option<i32>,
    correction_reason: Option<String>,
}

/// Idempotent: the listed pupils get these marks; pupils not listed keep theirs.
pub async fn submit_roll_call(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
    body: web::Json<RollCallIn>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let lang = Lang::from_request(&req);
    let body = body.into_inner();
    if body.marks.len() > 1000 {
        return Err(AppError::invalid(
            "too_many_marks",
            lang.pick(
                "Högst 1000 markeringar per anrop.",
                "At most 1000 marks per request.",
            ),
        ));
    }
    let mut marks = Vec::with_capacity(body.marks.len());
    for m in body.marks {
        let status = Status::parse(&m.status).ok_or_else(|| AppError::invalid("unknown_status", match lang {
            Lang::Sv => format!("Okänd status '{}': använd present, absent, late, left_early eller partly_absent.", m.status.chars().take(40).collect::<String>()),
            Lang::En => format!("Unknown status '{}': use present, absent, late, left_early or partly_absent.", m.status.chars().take(40).collect::<String>()),
        }))?;
        marks.push(MarkInput {
            pupil_id: m.pupil_id,
            status,
            minutes: m.minutes,
            reason_id: m.reason_id,
        });
    }
    let sub = Submission {
        marks,
        expected_version: body.expected_version,
        correction_reason: body.correction_reason,
    };
    let policy = crate::notices::Policy::from_config(&state.config);
    let (today, now, addr) = (today(&state), state.now(), client_addr(&req));
    let outcome = state
        .db_write(move |conn| {
            let l = access::lesson(conn, &v, id)?;
            roll_call::submit(conn, &v, &l, &sub, &policy, today, now, &addr, lang)
        })
        .await?;
    match outcome {
        Ok(rc) => Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(roll_call_json(&rc, &state))),
        Err(_) => Err(AppError::Conflict {
            code: "stale_roll_call",
            message: lang.pick(
                "Någon annan har sparat lektionen efter den version du angav (expected_version). Hämta roll-call igen och skicka dina ändringar på nytt.",
                "Someone else saved the lesson after the version you gave (expected_version). Fetch the roll call again and send your changes anew.",
            ).into(),
        }),
    }
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A date in a query, `YYYY-MM-DD`; a 400 naming the parameter otherwise.
pub(super) fn parse_date(raw: &str, name: &str, lang: Lang) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        AppError::invalid(
            "bad_date",
            match lang {
                Lang::Sv => format!("{name} skrivs ÅÅÅÅ-MM-DD."),
                Lang::En => format!("{name} is written YYYY-MM-DD."),
            },
        )
    })
}

fn query_date(
    raw: Option<&str>,
    default: NaiveDate,
    name: &str,
    lang: Lang,
) -> AppResult<NaiveDate> {
    raw.map_or(Ok(default), |s| parse_date(s, name, lang))
}

/// A pupil's absence between two dates: marked lessons, reports and leave.
pub async fn pupil_absences(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
    q: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let lang = Lang::from_request(&req);
    let today = today(&state);
    let from = query_date(
        q.from.as_deref(),
        crate::absence::term_start(today),
        "from",
        lang,
    )?;
    let to = query_date(q.to.as_deref(), today, "to", lang)?;
    if to < from {
        return Err(AppError::invalid(
            "period_ends_before_start",
            lang.pick("to ligger före from.", "to lies before from."),
        ));
    }
    if (to - from).num_days() > 366 {
        return Err(AppError::invalid(
            "period_too_long",
            lang.pick("Högst ett år åt gången.", "At most one year at a time."),
        ));
    }
    let (tz, now) = (state.config.timezone, state.now());
    let out = state
        .db(move |conn| {
            let p = access::pupil(conn, &v, id, today)?;
            let lessons = crate::absence::history(conn, id, from, to, tz)?;
            let reports = crate::absence_report::list(conn, &p, from, to, tz, now, lang)?;
            let leave: Vec<_> = crate::leave_application::list(conn, id)?
                .into_iter()
                .filter(|l| l.end_date >= from && l.start_date <= to)
                .collect();
            Ok(json!({
                "pupil_id": id,
                "from": from,
                "to": to,
                "lessons": lessons.iter().map(|l| json!({
                    "lesson_id": l.lesson_id,
                    "starts_at": local_datetime(l.date, l.starts_at),
                    "ends_at": local_datetime(l.date, l.ends_at),
                    "subject": l.subject,
                    "status": l.status,
                    "minutes": l.minutes,
                    "valid_minutes": l.valid_minutes,
                    "invalid_minutes": l.invalid_minutes,
                    "covered_by": l.covered_by,
                    "reported_by": l.marked_by,
                })).collect::<Vec<_>>(),
                "reports": reports.iter().map(|r| json!({
                    "id": r.id,
                    "from": r.from.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "to": r.to.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "kind": r.kind,
                    "message": r.message,
                    "cancelled": r.cancelled,
                    "registered_by_staff": r.registered_by_staff,
                    "reported_by": r.reported_by,
                })).collect::<Vec<_>>(),
                "leave": leave,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(out))
}

#[derive(Deserialize)]
pub struct AbsenceReportIn {
    pupil_id: i64,
    from: String,
    to: String,
    #[serde(default)]
    kind: Option<String>,
    message: Option<String>,
}

fn local_instant(s: &str, name: &str, lang: Lang) -> AppResult<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .map_err(|_| {
            AppError::invalid(
                "bad_datetime",
                match lang {
                    Lang::Sv => format!("{name} skrivs som lokal tid, t.ex. 2026-11-23T08:00:00."),
                    Lang::En => format!("{name} is a local date-time, e.g. 2026-11-23T08:00:00."),
                },
            )
        })
}

pub async fn create_absence_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    body: web::Json<AbsenceReportIn>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let b = body.into_inner();
    let new = crate::absence_report::NewReport {
        from: local_instant(&b.from, "from", lang)?,
        to: local_instant(&b.to, "to", lang)?,
        kind: b.kind.unwrap_or_else(|| "sick".into()),
        message: b.message,
    };
    let (today, now, tz, addr) = (
        today(&state),
        super::absence::now_local(&state),
        state.config.timezone,
        client_addr(&req),
    );
    let pupil = b.pupil_id;
    let id = state
        .db_write(move |conn| {
            let p = access::pupil(conn, &v, pupil, today)?;
            crate::absence_report::create(conn, &v, &p, &new, tz, now, &addr, lang)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/pupils/{pupil}/absences")))
        .json(json!({"id": id, "pupil_id": pupil})))
}

pub async fn cancel_absence_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let id = parse_id(&id)?;
    let (today, addr, now) = (today(&state), client_addr(&req), state.now());
    let tz = state.config.timezone;
    state
        .db_write(move |conn| {
            crate::absence_report::cancel(conn, &v, tz, id, today, now, &addr, lang)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct LeaveIn {
    pupil_id: i64,
    start_date: NaiveDate,
    end_date: NaiveDate,
    reason: String,
}

pub async fn create_leave_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    body: web::Json<LeaveIn>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let b = body.into_inner();
    let (today, addr, now) = (today(&state), client_addr(&req), state.now());
    let pupil = b.pupil_id;
    let id = state
        .db_write(move |conn| {
            let p = access::pupil(conn, &v, pupil, today)?;
            crate::leave_application::apply(
                conn,
                &v,
                &p,
                b.start_date,
                b.end_date,
                &b.reason,
                today,
                now,
                &addr,
                lang,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({"id": id, "pupil_id": pupil, "status": "pending"})))
}

#[derive(Deserialize)]
pub struct RecommendationIn {
    recommended: bool,
    comment: Option<String>,
}

pub async fn recommend_leave(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
    body: web::Json<RecommendationIn>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let id = parse_id(&id)?;
    let b = body.into_inner();
    let (today, addr, now) = (today(&state), client_addr(&req), state.now());
    state
        .db_write(move |conn| {
            crate::leave_application::recommend(
                conn,
                &v,
                id,
                b.recommended,
                b.comment.as_deref(),
                today,
                now,
                &addr,
                lang,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"id": id, "recommendation": if b.recommended { "recommended" } else { "not_recommended" }})))
}

#[derive(Deserialize)]
pub struct DecisionIn {
    approved: bool,
    comment: Option<String>,
}

pub async fn decide_leave(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<String>,
    body: web::Json<DecisionIn>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let id = parse_id(&id)?;
    let b = body.into_inner();
    let (today, addr, now) = (today(&state), client_addr(&req), state.now());
    let tz = state.config.timezone;
    state
        .db_write(move |conn| {
            crate::leave_application::decide(
                conn,
                &v,
                tz,
                id,
                b.approved,
                b.comment.as_deref(),
                today,
                now,
                &addr,
                lang,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"id": id, "status": if b.approved { "approved" } else { "rejected" }})))
}

#[derive(Deserialize)]
pub struct StatisticsQuery {
    scope: Option<String>,
    id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

fn figures_json(f: &crate::statistics::Figures) -> serde_json::Value {
    json!({
        "scheduled_minutes": f.scheduled_minutes,
        "reported_minutes": f.reported_minutes,
        "absent_minutes": f.absent_minutes(),
        "valid_minutes": f.valid_minutes,
        "invalid_minutes": f.invalid_minutes,
        "absence_pct": f.absence_pct(),
        "valid_pct": f.valid_pct(),
        "invalid_pct": f.invalid_pct(),
        "reporting_rate": f.reporting_rate(),
    })
}

fn statistics_period(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
    lang: Lang,
) -> AppResult<crate::statistics::Period> {
    let from = from.map(|f| parse_date(f, "from", lang)).transpose()?;
    let to = to.map(|t| parse_date(t, "to", lang)).transpose()?;
    crate::statistics::Period::or_term(from, to, today, lang)
}

/// GET /api/v1/statistics/absence: minutes and shares of a school, group or pupil over a
/// period, in total and by pupil, group, subject, week, weekday or sex.
pub async fn statistics_absence(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<StatisticsQuery>,
) -> AppResult<HttpResponse> {
    use crate::statistics::{self as stats, By, Scope};
    let lang = Lang::from_request(&req);
    let today = today(&state);
    let tz = state.config.timezone;
    let q = q.into_inner();
    let scope_name = q.scope.as_deref().unwrap_or("");
    let id = match q.id.as_deref() {
        Some(raw) => parse_id(raw).map_err(|_| {
            AppError::invalid(
                "bad_id",
                lang.pick(
                    "id är ett positivt heltal.",
                    "id is a positive whole number.",
                ),
            )
        })?,
        None => {
            return Err(AppError::invalid(
                "id_required",
                lang.pick(
                    "Ange id för skolan, gruppen eller eleven.",
                    "Give the id of the school, group or pupil.",
                ),
            ))
        }
    };
    let scope = match scope_name {
        "school" => Scope::School(id),
        "group" => Scope::Group(id),
        "pupil" => Scope::Pupil(id),
        _ => {
            return Err(AppError::invalid(
                "bad_scope",
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
            "bad_by",
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
            Ok((
                stats::figures(conn, tz, scope, period, by, today, lang)?,
                hide,
            ))
        })
        .await?;
    let total = stats::total(&rows);
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut o = figures_json(&r.figures);
            o["key"] = r.key_json();
            o["label"] = r.label(lang, hide).into();
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AggregatedQuery {
    pub(super) start_date: Option<String>,
    pub(super) end_date: Option<String>,
    pub(super) organisation: Option<String>,
    pub(super) student: Option<String>,
}

/// GET /api/v1/statistics/aggregated-attendance: SS 12000 `AggregatedAttendance`, minutes
/// per activity and pupil.
pub async fn aggregated_attendance(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    q: web::Query<AggregatedQuery>,
) -> AppResult<HttpResponse> {
    let (sums, period, refs) = aggregated_sums(&req, &state, v, q.into_inner()).await?;
    let data: Vec<serde_json::Value> = sums
        .iter()
        .map(|((activity, pupil), f)| {
            super::ss12000::aggregated_json(&refs, *activity, *pupil, f, period)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data })))
}

/// The sums per (activity, pupil) an aggregated-attendance request asks for, after its
/// access check: by `student`, or by `organisation` (a school).
pub(super) async fn aggregated_sums(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: Viewer,
    q: AggregatedQuery,
) -> AppResult<(
    std::collections::BTreeMap<(i64, i64), crate::statistics::Figures>,
    crate::statistics::Period,
    super::ss12000::Refs,
)> {
    use crate::statistics::{self as stats, Scope};
    let lang = Lang::from_request(req);
    let today = today(state);
    let tz = state.config.timezone;
    let organisation = super::ss12000::id_param(q.organisation.as_deref(), "organisation", lang)?;
    let student = super::ss12000::id_param(q.student.as_deref(), "student", lang)?;
    let period = statistics_period(q.start_date.as_deref(), q.end_date.as_deref(), today, lang)?;
    let scope = match (student, organisation) {
        (Some(p), _) => Scope::Pupil(p),
        (None, Some(s)) => Scope::School(s),
        (None, None) => {
            return Err(AppError::invalid(
                "organisation_or_student_required",
                lang.pick(
                    "Ange organisation (skolans id) eller student (elevens id).",
                    "Give organisation (the school's id) or student (the pupil's id).",
                ),
            ))
        }
    };
    let sums = state
        .db(move |conn| {
            match scope {
                Scope::School(s) => access::school(conn, &v, s)?,
                Scope::Pupil(p) => {
                    access::pupil(conn, &v, p, today)?;
                }
                _ => return Err(AppError::NotFound),
            }
            let sums =
                stats::per_activity(conn, tz, scope, period.until(today), organisation, lang)?;
            use super::ss12000::{Ref, Refs};
            let wanted: Vec<(Ref, i64)> = sums
                .keys()
                .flat_map(|(a, p)| [(Ref::Activity, *a), (Ref::Person, *p)])
                .collect();
            let refs = Refs::load(conn, &wanted)?;
            Ok((sums, refs))
        })
        .await?;
    Ok((sums.0, period, sums.1))
}
