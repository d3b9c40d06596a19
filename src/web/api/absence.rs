//! Absence over the API: a pupil's marked lessons, reports and leave; guardians' reports
//! and their cancellation; leave applications, recommendations and decisions.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::school::ids::{LeaveId, PupilId, ReportId};
use crate::state::AppState;
use crate::web::common::client_addr;
use crate::web::common::{local_datetime, query_date};

#[derive(Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A pupil's absence between two dates: marked lessons, reports and leave.
pub async fn pupil_absences(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PupilId>,
    q: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let lang = Lang::from_request(&req);
    let today = state.today();
    let from = query_date(
        q.from.as_deref(),
        crate::school::calendar::term_start(today),
        "from",
        lang,
    )?;
    let to = query_date(q.to.as_deref(), today, "to", lang)?;
    if to < from {
        return Err(AppError::invalid(
            Code::PeriodEndsBeforeStart,
            lang.pick("to ligger före from.", "to lies before from."),
        ));
    }
    if (to - from).num_days() > 366 {
        return Err(AppError::invalid(
            Code::PeriodTooLong,
            lang.pick("Högst ett år åt gången.", "At most one year at a time."),
        ));
    }
    let (tz, now) = (state.config.timezone, state.now());
    let reader = crate::web::reads::Reader::of(&req, &v);
    let out = state
        .db(move |conn| {
            let p = access::pupil(conn, &v, id, today)?;
            let lessons = crate::school::absence::history(conn, id, from, to, tz)?;
            let reports = super::super::common::worded_reports(
                crate::attendance::absence_report::list(conn, &p, from, to, tz, now)?,
                lang,
            );
            let leave: Vec<_> = crate::attendance::leave_application::list(conn, id)?
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
                    "refused_leave": l.refused_leave,
                    "covered_by": l.covered_by,
                    "reason": l.reason,
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
    reader
        .read(&state, id, crate::access_log::ReadKind::ApiAbsences)
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
    crate::school::clock::parse_local_instant(s).ok_or_else(|| {
        AppError::invalid(
            Code::BadDatetime,
            lang.fill(
                "{name} skrivs som lokal tid, t.ex. 2026-11-23T08:00:00.",
                "{name} is a local date-time, e.g. 2026-11-23T08:00:00.",
                &[("name", name)],
            ),
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
    let new = crate::attendance::absence_report::NewReport {
        from: local_instant(&b.from, "from", lang)?,
        to: local_instant(&b.to, "to", lang)?,
        kind: b.kind.unwrap_or_else(|| "sick".into()),
        message: b.message,
    };
    let (today, now, tz, addr) = (
        state.today(),
        state.now_local(),
        state.config.timezone,
        client_addr(&req),
    );
    let pupil = b.pupil_id;
    let id = state
        .db_write(move |conn| {
            let p = access::pupil(conn, &v, PupilId(pupil), today)?;
            crate::attendance::absence_report::create(conn, &v, &p, &new, tz, now, &addr)
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
    id: web::Path<ReportId>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (today, addr, now) = (state.today(), client_addr(&req), state.now());
    let tz = state.config.timezone;
    state
        .db_write(move |conn| {
            crate::attendance::absence_report::cancel(conn, &v, tz, id, today, now, &addr)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct LeaveIn {
    pupil_id: i64,
    #[serde(deserialize_with = "crate::school::clock::de_day")]
    start_date: NaiveDate,
    #[serde(deserialize_with = "crate::school::clock::de_day")]
    end_date: NaiveDate,
    reason: String,
    /// why the leave must be in a blocked period, when it touches one
    blocked_reason: Option<String>,
}

pub async fn create_leave_application(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    body: web::Json<LeaveIn>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let (today, addr, now, tz) = (
        state.today(),
        client_addr(&req),
        state.now(),
        state.config.timezone,
    );
    let pupil = b.pupil_id;
    let (id, status) = state
        .db_write(move |conn| {
            let p = access::pupil(conn, &v, PupilId(pupil), today)?;
            let id = crate::attendance::leave_application::apply(
                conn,
                &crate::school::Act::new(&v, &addr, (today, now, tz)),
                &p,
                &crate::attendance::leave_application::Application {
                    start: b.start_date,
                    end: b.end_date,
                    reason: &b.reason,
                    blocked_reason: b.blocked_reason.as_deref(),
                },
            )?;
            // pending, or waiting for the other guardian where the rules ask both
            Ok((id, crate::attendance::leave_application::status(conn, id)?))
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({"id": id, "pupil_id": pupil, "status": status})))
}

#[derive(Deserialize)]
pub struct AnswerIn {
    agree: bool,
    comment: Option<String>,
}

/// POST /api/v1/leave-applications/{id}/answer: the other guardian's answer (issue 39).
pub async fn answer_leave(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LeaveId>,
    body: web::Json<AnswerIn>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let b = body.into_inner();
    let (addr, st) = (client_addr(&req), state.clone());
    let status = state
        .db_write(move |conn| {
            crate::attendance::leave_confirmation::answer(
                conn,
                &st.act(&v, &addr),
                id,
                b.agree,
                b.comment.as_deref(),
            )?;
            crate::attendance::leave_application::status(conn, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"id": id, "status": status})))
}

/// POST /api/v1/leave-applications/{id}/withdraw: the applicant takes it back.
pub async fn withdraw_leave(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LeaveId>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (addr, st) = (client_addr(&req), state.clone());
    state
        .db_write(move |conn| {
            crate::attendance::leave_confirmation::withdraw(conn, &st.act(&v, &addr), id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"id": id, "status": "withdrawn"})))
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
    id: web::Path<LeaveId>,
    body: web::Json<RecommendationIn>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let b = body.into_inner();
    let (today, addr, now, tz) = (
        state.today(),
        client_addr(&req),
        state.now(),
        state.config.timezone,
    );
    state
        .db_write(move |conn| {
            crate::attendance::leave_application::recommend(
                conn,
                &crate::school::Act::new(&v, &addr, (today, now, tz)),
                id,
                b.recommended,
                b.comment.as_deref(),
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
    id: web::Path<LeaveId>,
    body: web::Json<DecisionIn>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let b = body.into_inner();
    let (today, addr, now) = (state.today(), client_addr(&req), state.now());
    let tz = state.config.timezone;
    state
        .db_write(move |conn| {
            crate::attendance::leave_application::decide(
                conn,
                &crate::school::Act::new(&v, &addr, (today, now, tz)),
                id,
                b.approved,
                b.comment.as_deref(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"id": id, "status": if b.approved { "approved" } else { "rejected" }})))
}
