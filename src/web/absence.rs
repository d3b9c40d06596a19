//! Guardians' and adult pupils' pages: report absence (two taps for "sick today"), cancel a
//! report, apply for leave; the mentor's recommendation and the principal's decision.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate, NaiveTime};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::html_with_status;
use super::common::{client_addr, see_other};
use super::layout::{self, PageCtx};
use crate::attendance::absence_report::{self, NewReport, Reporter};
use crate::attendance::leave_application;
use crate::attendance::leave_rules::Effective;
use crate::auth::access::PupilReach;
use crate::auth::{access, Viewer};
use crate::error::{AppError, AppResult, Code};
use crate::i18n::Lang;
use crate::school::ids::{LeaveId, PupilId, ReportId};
use crate::state::AppState;

#[derive(Deserialize, Default, Clone)]
pub struct ReportForm {
    #[serde(default)]
    quick: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    from_date: String,
    #[serde(default)]
    to_date: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    from_time: String,
    #[serde(default)]
    to_time: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    message: String,
}

fn bad_date(lang: Lang) -> AppError {
    AppError::invalid(
        Code::BadDate,
        lang.pick(
            "Datum skrivs ÅÅÅÅ-MM-DD och tider TT:MM.",
            "Dates are written YYYY-MM-DD and times HH:MM.",
        ),
    )
}

fn date(s: &str, lang: Lang) -> AppResult<NaiveDate> {
    crate::school::clock::parse_day(s.trim()).ok_or_else(|| bad_date(lang))
}

fn time(s: &str, lang: Lang) -> AppResult<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad_date(lang))
}

/// The period and kind the form asks for.
fn period_of(f: &ReportForm, today: NaiveDate, lang: Lang) -> AppResult<NewReport> {
    let message = Some(f.message.clone()).filter(|m| !m.trim().is_empty());
    if f.quick == "sick_today" {
        return Ok(NewReport {
            from: today.and_time(NaiveTime::MIN),
            to: (today + Duration::days(1)).and_time(NaiveTime::MIN),
            kind: "sick".into(),
            message,
        });
    }
    let kind = if f.kind.is_empty() {
        "sick".to_string()
    } else {
        f.kind.clone()
    };
    if f.mode == "part" {
        let d = date(&f.date, lang)?;
        return Ok(NewReport {
            from: d.and_time(time(&f.from_time, lang)?),
            to: d.and_time(time(&f.to_time, lang)?),
            kind,
            message,
        });
    }
    let from = date(&f.from_date, lang)?;
    let to = if f.to_date.trim().is_empty() {
        from
    } else {
        date(&f.to_date, lang)?
    };
    Ok(NewReport {
        from: from.and_time(NaiveTime::MIN),
        to: (to + Duration::days(1)).and_time(NaiveTime::MIN),
        kind,
        message,
    })
}

/// The report form, empty or, after a refusal, with everything the guardian sent (`posted`).
fn report_form(
    ctx: &PageCtx,
    (pupil, name): (PupilId, &str),
    kinds: &[(String, String, String)],
    today: NaiveDate,
    posted: Option<&ReportForm>,
    error: Option<&str>,
) -> Markup {
    let title = ctx.t("Anmäl frånvaro", "Report absence");
    let t = today.format("%Y-%m-%d").to_string();
    let or = |v: Option<&String>, default: &str| -> String {
        v.filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let part = posted.is_some_and(|f| f.mode == "part");
    let from_date = or(posted.map(|f| &f.from_date), &t);
    let to_date = or(posted.map(|f| &f.to_date), &t);
    let date = or(posted.map(|f| &f.date), &t);
    let from_time = or(posted.map(|f| &f.from_time), "08:00");
    let to_time = or(posted.map(|f| &f.to_time), "12:00");
    let kind = posted.map(|f| f.kind.as_str()).unwrap_or("");
    let message = posted.map(|f| f.message.as_str()).unwrap_or("");
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) } p { (name) }
            @if let Some(e) = error { p.errors role="alert" { (e) } }
            form.report method="post" action={"/pupils/" (pupil) "/absence-reports"} {
                (ctx.csrf_field())
                fieldset.choice {
                    legend { (ctx.t("Hur länge?", "For how long?")) }
                    label { input type="radio" name="mode" value="days" checked[!part]; span { (ctx.t("Hela dagar", "Whole days")) } }
                    label { input type="radio" name="mode" value="part" checked[part]; span { (ctx.t("Del av dag", "Part of a day")) } }
                }
                div.days {
                    label for="from_date" { (ctx.t("Från och med", "From")) }
                    input #from_date name="from_date" type="date" value=(from_date);
                    label for="to_date" { (ctx.t("Till och med", "To")) }
                    input #to_date name="to_date" type="date" value=(to_date);
                }
                div.part {
                    label for="date" { (ctx.t("Datum", "Date")) }
                    input #date name="date" type="date" value=(date);
                    div.pair {
                        div { label for="from_time" { (ctx.t("Från klockan", "From")) }
                            input #from_time name="from_time" type="time" value=(from_time); }
                        div { label for="to_time" { (ctx.t("Till klockan", "To")) }
                            input #to_time name="to_time" type="time" value=(to_time); }
                    }
                }
                label for="kind" { (ctx.t("Orsak", "Reason")) }
                select #kind name="kind" {
                    @for (code, sv, en) in kinds {
                        @let value = if code == "SJUK" { "sick".to_string() } else { code.to_lowercase() };
                        option value=(value) selected[value == kind] { (ctx.t(sv, en)) }
                    }
                }
                label for="message" { (ctx.t("Meddelande till mentorn (valfritt)", "Message to the mentor (optional)")) }
                textarea #message name="message" maxlength="500" rows="3" { (message) }
                p { button.primary type="submit" { (ctx.t("Skicka anmälan", "Send the report")) } }
            }
        },
    )
}

pub async fn report_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PupilId>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let id = id.into_inner();
    let today = state.today();
    let (name, kinds) = state
        .db(move |conn| {
            let p = access::pupil(conn, &v, id, today)?;
            let kinds = absence_report::kinds(conn, p.school_id, Reporter::of(p.reach))?;
            Ok((super::common::shown_name(&p, Lang::Sv), kinds))
        })
        .await?;
    Ok(html_with_status(
        StatusCode::OK,
        report_form(&ctx, (id, &name), &kinds, today, None, None),
    ))
}

pub async fn create_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PupilId>,
    form: web::Form<ReportForm>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let id = id.into_inner();
    let (today, now, tz, addr) = (
        state.today(),
        state.now_local(),
        state.config.timezone,
        client_addr(&req),
    );
    let form = form.into_inner();
    let posted = form.clone();
    let quick = form.quick == "sick_today";
    let result = state
        .db_write(move |conn| {
            let p = access::pupil(conn, &v, id, today)?;
            let outcome = period_of(&form, today, lang)
                .and_then(|new| absence_report::create(conn, &v, &p, &new, tz, now, &addr));
            match outcome {
                Ok(report) => Ok(Ok(report)),
                Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
                    let kinds = absence_report::kinds(conn, p.school_id, Reporter::of(p.reach))?;
                    Ok(Err((e, super::common::shown_name(&p, lang), kinds)))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
    match result {
        Ok(report) => Ok(see_other(&format!(
            "/pupils/{id}?done=reported&report={report}"
        ))),
        // "sick today" is one tap from the start page: its refusal is said on the child's
        // page (a reload there sends nothing again)
        Err((AppError::Invalid { code, .. } | AppError::Conflict { code, .. }, _, _)) if quick => {
            Ok(see_other(&format!(
                "/pupils/{id}?refused={}",
                code.as_str()
            )))
        }
        Err((e, name, kinds)) => {
            let msg = super::words::refusal(&e, ctx.lang);
            Ok(html_with_status(
                e.status(),
                report_form(&ctx, (id, &name), &kinds, today, Some(&posted), Some(&msg)),
            ))
        }
    }
}

pub async fn cancel_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<ReportId>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (today, addr, now) = (state.today(), client_addr(&req), state.now());
    let tz = state.config.timezone;
    let pupil = state
        .db_write(move |conn| absence_report::cancel(conn, &v, tz, id, today, now, &addr))
        .await?;
    Ok(see_other(&format!("/pupils/{pupil}?done=cancelled")))
}

#[derive(Deserialize, Default, Clone)]
pub struct LeaveForm {
    start_date: String,
    end_date: String,
    reason: String,
    #[serde(default)]
    blocked_reason: String,
}

/// The leave form, empty or, after a refusal, with everything the guardian sent.
fn leave_form(
    ctx: &PageCtx,
    (pupil, name): (PupilId, &str),
    (granted, rules): (i64, &Effective),
    today: NaiveDate,
    posted: Option<&LeaveForm>,
    error: Option<&str>,
) -> Markup {
    let title = ctx.t("Ansök om ledighet", "Apply for leave");
    // the first day the rules allow, unless the guardian wrote another
    let t = rules.earliest_start(today).format("%Y-%m-%d").to_string();
    let start = posted.map_or(t.clone(), |f| f.start_date.clone());
    let end = posted.map_or(t, |f| f.end_date.clone());
    let reason = posted.map(|f| f.reason.as_str()).unwrap_or("");
    layout::page(
        ctx,
        title,
        html! {
            h1 { (title) } p { (name) }
            p { (ctx.tf("Beviljad ledighet hittills i år: {days} skoldagar", "Leave granted so far this school year: {days} school days", &[("days", &granted.to_string())])) }
            (super::leave_rules::for_families(ctx, rules, granted, today))
            @if let Some(e) = error { p.errors role="alert" { (e) } }
            form method="post" action={"/pupils/" (pupil) "/leave-applications"} {
                (ctx.csrf_field())
                label for="start_date" { (ctx.t("Från och med", "From")) }
                input #start_date name="start_date" type="date" required value=(start);
                label for="end_date" { (ctx.t("Till och med", "To")) }
                input #end_date name="end_date" type="date" required value=(end);
                label for="reason" { (ctx.t("Skäl", "Reason")) }
                textarea #reason name="reason" required maxlength="500" rows="3" { (reason) }
                (super::leave_rules::blocked_reason_field(ctx, rules, today, posted.map_or("", |f| f.blocked_reason.as_str())))
                p { button type="submit" { (ctx.t("Skicka ansökan", "Send the application")) } }
            }
        },
    )
}

pub async fn leave_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PupilId>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let id = id.into_inner();
    let today = state.today();
    let lang = ctx.lang;
    let (name, granted, rules) = state
        .db(move |conn| {
            let p = access::pupil(conn, &v, id, today)?;
            Ok((
                super::common::shown_name(&p, lang),
                leave_application::granted_days(conn, id, today)?,
                crate::attendance::leave_rules::effective(conn, p.school_id)?,
            ))
        })
        .await?;
    Ok(html_with_status(
        StatusCode::OK,
        leave_form(&ctx, (id, &name), (granted, &rules), today, None, None),
    ))
}

pub async fn apply_leave(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PupilId>,
    form: web::Form<LeaveForm>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let lang = ctx.lang;
    let id = id.into_inner();
    let (today, addr, now, tz) = (
        state.today(),
        client_addr(&req),
        state.now(),
        state.config.timezone,
    );
    let f = form.into_inner();
    let posted = f.clone();
    let result = state
        .db_write(move |conn| {
            let p = access::pupil(conn, &v, id, today)?;
            let outcome = date(&f.start_date, lang)
                .and_then(|s| Ok((s, date(&f.end_date, lang)?)))
                .and_then(|(s, e)| {
                    leave_application::apply(
                        conn,
                        &crate::school::Act::new(&v, &addr, (today, now, tz)),
                        &p,
                        &leave_application::Application {
                            start: s,
                            end: e,
                            reason: &f.reason,
                            blocked_reason: Some(f.blocked_reason.as_str()),
                        },
                    )
                });
            match outcome {
                Ok(_) => Ok(Ok(())),
                Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => Ok(Err((
                    e,
                    super::common::shown_name(&p, lang),
                    leave_application::granted_days(conn, id, today)?,
                    crate::attendance::leave_rules::effective(conn, p.school_id)?,
                ))),
                Err(e) => Err(e),
            }
        })
        .await?;
    match result {
        Ok(()) => Ok(see_other(&format!("/pupils/{id}?done=applied"))),
        Err((e, name, granted, rules)) => {
            let msg = super::words::refusal(&e, ctx.lang);
            Ok(html_with_status(
                e.status(),
                leave_form(
                    &ctx,
                    (id, &name),
                    (granted, &rules),
                    today,
                    Some(&posted),
                    Some(&msg),
                ),
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct OpinionForm {
    /// "yes" or "no"
    answer: String,
    #[serde(default)]
    comment: String,
}

pub(super) fn yes_no(s: &str, lang: Lang) -> AppResult<bool> {
    match s {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(AppError::invalid(
            Code::BadAnswer,
            lang.pick("Svara ja eller nej.", "Answer yes or no."),
        )),
    }
}

pub async fn recommend(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LeaveId>,
    form: web::Form<OpinionForm>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let id = id.into_inner();
    let yes = yes_no(&form.answer, lang)?;
    let (today, addr, now, tz) = (
        state.today(),
        client_addr(&req),
        state.now(),
        state.config.timezone,
    );
    let comment = form.comment.clone();
    let pupil = state
        .db_write(move |conn| {
            leave_application::recommend(
                conn,
                &crate::school::Act::new(&v, &addr, (today, now, tz)),
                id,
                yes,
                Some(&comment),
            )
        })
        .await?;
    Ok(see_other(&format!("/pupils/{pupil}?done=recommended")))
}

pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<LeaveId>,
    form: web::Form<OpinionForm>,
) -> AppResult<HttpResponse> {
    let lang = Lang::from_request(&req);
    let id = id.into_inner();
    let yes = yes_no(&form.answer, lang)?;
    let (today, addr, now) = (state.today(), client_addr(&req), state.now());
    let comment = form.comment.clone();
    let tz = state.config.timezone;
    let pupil = state
        .db_write(move |conn| {
            leave_application::decide(
                conn,
                &crate::school::Act::new(&v, &addr, (today, now, tz)),
                id,
                yes,
                Some(&comment),
            )
        })
        .await?;
    Ok(see_other(&format!("/pupils/{pupil}?done=decided")))
}

pub use crate::school::absence::{today_state, TodayState};

/// The child's day in a sentence: "Lektioner i dag 08:10–14:30", "Ingen lektion i dag".
pub fn state_text(s: &TodayState, ctx: &PageCtx) -> String {
    match s {
        TodayState::ReportedAbsent => ctx
            .t("Anmäld frånvarande i dag", "Reported absent today")
            .into(),
        TodayState::OnLeave => ctx.t("Ledig i dag", "On leave today").into(),
        TodayState::MarkedAbsent => ctx
            .t(
                "Markerad frånvarande eller sen i dag",
                "Marked absent or late today",
            )
            .into(),
        TodayState::Expected { first, last } => ctx.lang.fill(
            "Lektioner i dag {from}–{to}",
            "Lessons today {from}–{to}",
            &[
                ("from", &ctx.lang.time(*first)),
                ("to", &ctx.lang.time(*last)),
            ],
        ),
        TodayState::NoLessons => ctx.t("Ingen lektion i dag", "No lessons today").into(),
    }
}

/// Who may use the family actions on this pupil.
pub fn family(reach: PupilReach) -> bool {
    matches!(reach, PupilReach::Guardian | PupilReach::Myself)
}
