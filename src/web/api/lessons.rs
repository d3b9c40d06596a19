//! The roll call over the API: a teacher's lessons of a day, a lesson, its roll call, and
//! reporting it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::attendance::lesson_list::{self, LessonLine};
use crate::attendance::roll_call::{self, MarkInput, RollCall, Status, Submission};
use crate::auth::{access, SignedIn, Viewer};
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::school::ids::{LessonId, PupilId, ReasonId};
use crate::state::AppState;
use crate::web::common::client_addr;
use crate::web::common::local_datetime;

#[derive(Serialize)]
struct LessonOut {
    id: LessonId,
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
    let today = state.today();
    let date = match q.date.as_deref() {
        None => today,
        Some(raw) => crate::school::clock::parse_day(raw)
            .filter(|d| (*d - today).num_days().abs() <= 366 * 5)
            .ok_or_else(|| {
                AppError::invalid(
                    Code::BadDate,
                    lang.pick(
                        "date skrivs ÅÅÅÅ-MM-DD (inom fem år).",
                        "date is written YYYY-MM-DD (within five years).",
                    ),
                )
            })?,
    };
    let lines = state
        .db(move |conn| lesson_list::teacher_lessons(conn, &v, date, date))
        .await?;
    let lessons: Vec<LessonOut> = lines.iter().map(LessonOut::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"date": date, "lessons": lessons})))
}

pub async fn lesson(
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LessonId>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let out = state
        .db(move |conn| {
            let l = access::lesson(conn, &v, id)?;
            let s = crate::attendance::roll_call::summary(conn, &l)?;
            Ok(json!({
                "id": l.id,
                "starts_at": local_datetime(s.date, s.starts_at),
                "ends_at": local_datetime(s.date, s.ends_at),
                "subject": s.subject,
                "group": s.groups.join(", "),
                "room": s.room,
                "cancelled": s.cancelled,
                "reported": s.reported,
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
    who: SignedIn,
    id: web::Path<LessonId>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (tz, lang, lookup) = (
        state.config.timezone,
        Lang::from_request(&req),
        who.lookup(),
    );
    // the viewer and the roll call on one connection
    let (v, rc) = state
        .db(move |conn| {
            let v = lookup.viewer(conn)?;
            let rc = roll_call::open(conn, &v, id, tz);
            Ok((v, rc))
        })
        .await?;
    who.found(&v)?;
    let rc = rc?;
    let rc = super::super::common::named(rc, lang);
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
    who: SignedIn,
    id: web::Path<LessonId>,
    body: web::Json<RollCallIn>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let lang = Lang::from_request(&req);
    let body = body.into_inner();
    if body.marks.len() > 1000 {
        return Err(AppError::invalid(
            Code::TooManyMarks,
            lang.pick(
                "Högst 1000 markeringar per anrop.",
                "At most 1000 marks per request.",
            ),
        ));
    }
    let mut marks = Vec::with_capacity(body.marks.len());
    for m in body.marks {
        let status = Status::parse(&m.status).ok_or_else(|| AppError::invalid(Code::UnknownStatus, lang.fill(
            "Okänd status '{status}': använd present, absent, late, left_early eller partly_absent.",
            "Unknown status '{status}': use present, absent, late, left_early or partly_absent.",
            &[("status", &m.status.chars().take(40).collect::<String>())],
        )))?;
        // numbers as sent: one that is no pupil of the lesson (or no reason of the school)
        // is refused by the roll call, which names it
        marks.push(MarkInput {
            pupil_id: PupilId(m.pupil_id),
            status,
            minutes: m.minutes,
            reason_id: m.reason_id.map(ReasonId),
        });
    }
    let sub = Submission {
        marks,
        expected_version: body.expected_version,
        correction_reason: body.correction_reason,
        saved_on_device: None,
        device_submission: None,
    };
    let policy = crate::notices::Policy::from_config(&state.config);
    let (today, now, addr) = (state.today(), state.now(), client_addr(&req));
    let lookup = who.lookup();
    // the viewer and the submission on one connection
    let (v, outcome) = state
        .db_write(move |conn| {
            let v = lookup.viewer(conn)?;
            let outcome = access::lesson(conn, &v, id).and_then(|l| {
                let act = crate::school::Act::new(&v, &addr, (today, now, policy.tz));
                roll_call::submit(conn, &act, &l, &sub, &policy)
            });
            Ok((v, outcome))
        })
        .await?;
    who.found(&v)?;
    match outcome? {
        Ok(rc) => Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(roll_call_json(&super::super::common::named(rc, lang), &state))),
        Err(_) => Err(AppError::Conflict {
            code: Code::StaleRollCall,
            message: lang.pick(
                "Någon annan har sparat lektionen efter den version du angav (expected_version). Hämta roll-call igen och skicka dina ändringar på nytt.",
                "Someone else saved the lesson after the version you gave (expected_version). Fetch the roll call again and send your changes anew.",
            ).into(),
        }),
    }
}
