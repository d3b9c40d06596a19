//! A pupil's page: who they are, their school and groups, for those who may see them.

use crate::attendance::leave_delegation::Delegated;

/// The decider's picture beside the applications: the school year's granted and taken
/// leave, and the rules that apply at the pupil's school.
type Decider = (
    crate::attendance::leave_application::YearSummary,
    crate::attendance::leave_rules::Effective,
);
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::absence;
use super::common::html_with_status;
use super::layout::{self, PageCtx};
use crate::auth::{access, Viewer};
use crate::error::AppResult;
use crate::school::ids::{LessonId, PupilId, ReportId};
use crate::school::states::LeaveStatus;
use crate::state::AppState;

pub use crate::attendance::pupil::summary;

#[derive(serde::Deserialize, Default)]
pub struct Done {
    done: Option<String>,
    /// the report just filed, shown with its undo
    report: Option<ReportId>,
    /// why a one-tap "sick today" was not filed (an error code)
    refused: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PupilId>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let ctx = PageCtx::new(&req);
    let id = id.into_inner();
    let today = state.today();
    let lang = ctx.lang;
    let tz = state.config.timezone;
    let now = state.now();
    let reader = super::reads::Reader::of(&req, &v);
    let me = v.id;
    let (p, reach, state_now, term, reports, leave, history, mentors) = state
        .db(move |conn| {
            let p = super::common::worded(summary(conn, &v, id, today)?, lang);
            let r = access::pupil(conn, &v, id, today)?;
            let state_now = absence::today_state(conn, id, today, tz)?;
            let from = crate::school::calendar::term_start(today);
            let term = crate::attendance::weeks::period_rows(
                conn,
                vec![(id, String::new(), String::new())],
                from,
                today,
                tz,
            )?
            .pop();
            let reports = crate::attendance::absence_report::list(
                conn,
                &r,
                today - chrono::Duration::days(60),
                today + chrono::Duration::days(60),
                tz,
                now,
            )?;
            let reports = super::common::worded_reports(reports, lang);
            let history = crate::school::absence::history(conn, id, from, today, tz)?;
            let lesson_ids: Vec<LessonId> = history.iter().map(|h| h.lesson_id).collect();
            let openable = access::openable_lessons(conn, &v, &lesson_ids)?;
            let mentors = p.groups.iter().any(|g| v.roles.mentor_of.contains(&g.id));
            let leave = leave_part(conn, &r, mentors, today)?;
            Ok((
                p,
                r.reach,
                state_now,
                term,
                reports,
                leave,
                (history, openable),
                mentors,
            ))
        })
        .await?;
    reader
        .read(&state, id, crate::access_log::ReadKind::PupilPage)
        .await?;
    let family = absence::family(reach);
    let principal = reach == crate::auth::access::PupilReach::Principal;
    let staff = !family;
    let just_filed = q
        .report
        .and_then(|id| reports.iter().find(|r| r.id == id && !r.cancelled));
    let refused = q.refused.as_deref().map(|c| refusal_text(&ctx, c));
    let notice = q.done.as_deref().map(|d| done_text(&ctx, d));
    let body = html! {
        h1 { bdi { (p.name) } }
        (just_done(&ctx, just_filed, notice))
        @if let Some(r) = refused { p.errors role="alert" { (r) } }
        dl.facts {
            dt { (ctx.t("Skola", "School")) } dd { bdi { (p.school_name) } }
            dt { (ctx.t("Grupper", "Groups")) }
            dd { bdi { (p.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", ")) } }
            dt { (ctx.t("I dag", "Today")) } dd { (absence::state_text(&state_now, &ctx)) }
            @if let Some(t) = &term {
                dt { (ctx.t("Frånvaro denna termin", "Absence this term")) }
                dd { (ctx.tf(
                    "{share} (giltig {valid} min, ogiltig {invalid} min)",
                    "{share} (valid {valid} min, invalid {invalid} min)",
                    &[("share", &ctx.lang.percent(t.absence_pct(), 1)), ("valid", &t.valid_minutes.to_string()), ("invalid", &t.invalid_minutes.to_string())],
                )) }
            }
        }
        @if principal { (open_case(&ctx, p.id)) }
        p.actions {
            @if family || staff {
                a.button href={"/pupils/" (p.id) "/report"} { (ctx.t("Anmäl frånvaro", "Report absence")) }
            }
            @if family {
                " " a.button.secondary href={"/pupils/" (p.id) "/leave"} { (ctx.t("Ansök om ledighet", "Apply for leave")) }
            }
        }
        (reports_list(&ctx, &reports))
        (leave_list(&ctx, &state, &leave, (mentors, principal, family.then_some(me))))
        (history_table(&ctx, &history.0, &history.1))
    };
    Ok(html_with_status(
        StatusCode::OK,
        layout::page(&ctx, &p.name, body),
    ))
}

/// What was just done on the page: a report just filed (with its undo while it may be
/// undone) or another action's outcome.
fn just_done(
    ctx: &PageCtx,
    just_filed: Option<&crate::attendance::absence_report::ReportView>,
    notice: Option<&'static str>,
) -> Markup {
    html! {
        @if let Some(r) = just_filed {
            div.notice role="status" {
                p { strong { (ctx.tf("Frånvaron är anmäld: {when}.", "The absence has been reported: {when}.", &[("when", &ctx.lang.span(r.from, r.to))])) } }
                @if r.cancellable {
                    form method="post" action={"/absence-reports/" (r.id) "/cancel"} {
                        (ctx.csrf_field())
                        button.secondary type="submit" { (ctx.t("Ångra anmälan", "Undo the report")) }
                    }
                    p.muted { (ctx.t("Du kan ångra den tills första lektionen börjar, och alltid inom en kvart.", "You can undo it until the first lesson starts, and always within a quarter of an hour.")) }
                }
                p { a href="/" { (ctx.t("Tillbaka till startsidan", "Back to the start page")) } }
            }
        } @else if let Some(n) = notice {
            div.notice role="status" { p { (n) } p { a href="/" { (ctx.t("Tillbaka till startsidan", "Back to the start page")) } } }
        }
    }
}

/// The guardians' and staff's reports of the last and next 60 days.
fn reports_list(
    ctx: &PageCtx,
    reports: &[crate::attendance::absence_report::ReportView],
) -> Markup {
    html! {
    h2 { (ctx.t("Anmäld frånvaro", "Reported absence")) }
    @if reports.is_empty() { p.muted { (ctx.t("Inga anmälningar de senaste 60 dagarna.", "No reports in the last 60 days.")) } }
    ul { @for r in reports {
        li {
            (ctx.tf("{when}: {kind}, anmäld av {who}", "{when}: {kind}, reported by {who}", &[
                ("when", &ctx.lang.span(r.from, r.to)),
                ("kind", &r.kind),
                ("who", &r.reported_by),
            ]))
            @if r.registered_by_staff { " (" (ctx.t("registrerad av personal", "registered by staff")) ")" }
            @if r.cancelled { " – " strong { (ctx.t("borttagen", "cancelled")) } }
            @if let Some(m) = &r.message { br; span.muted { "”" (m) "”" } }
            @if r.cancellable {
                form.inline method="post" action={"/absence-reports/" (r.id) "/cancel"} {
                    (ctx.csrf_field()) " " button.link type="submit" { (ctx.t("Ta bort anmälan", "Cancel the report")) }
                }
            }
        }
    } }
    }
}

/// Why a one-tap report was not sent, from the code it was refused with.
fn refusal_text(ctx: &PageCtx, c: &str) -> &'static str {
    match c {
        "period_without_school_days" => ctx.t(
            "Ingen anmälan skickades: det finns inga lektioner i dag att vara borta från. Gäller det en annan dag, använd Anmäl frånvaro.",
            "No report was sent: there are no lessons today to be away from. For another day, use Report absence.",
        ),
        "overlapping_report" => ctx.t(
            "Ingen ny anmälan skickades: det finns redan en anmälan för i dag (se nedan).",
            "No new report was sent: there is already a report for today (see below).",
        ),
        _ => ctx.t(
            "Ingen anmälan skickades. Använd Anmäl frånvaro för att välja dag och tid.",
            "No report was sent. Use Report absence to choose the day and time.",
        ),
    }
}

/// What was just done, from `?done=`.
fn done_text(ctx: &PageCtx, d: &str) -> &'static str {
    match d {
        "reported" => ctx.t("Frånvaron är anmäld.", "The absence has been reported."),
        "cancelled" => ctx.t("Anmälan är borttagen.", "The report has been cancelled."),
        "applied" => ctx.t("Ansökan är skickad.", "The application has been sent."),
        "recommended" => ctx.t(
            "Rekommendationen är sparad.",
            "The recommendation has been saved.",
        ),
        "decided" => ctx.t("Beslutet är sparat.", "The decision has been saved."),
        "withdrawn" => ctx.t(
            "Ansökan är återtagen.",
            "The application has been withdrawn.",
        ),
        "answered" => ctx.t(
            "Vårdnadshavarens svar är registrerat.",
            "The guardian's answer has been recorded.",
        ),
        _ => "",
    }
}

/// The pupil's applications; for a mentor, which pending ones they decide under the
/// principal's delegation; for a decider, the year so far and the rules.
fn leave_part(
    conn: &mut crate::db::DbConn,
    r: &crate::auth::access::PupilRef,
    mentors: bool,
    today: chrono::NaiveDate,
) -> AppResult<LeaveLists> {
    let id = r.id;
    let leave = crate::attendance::leave_application::list(conn, id)?;
    let principal = r.reach == crate::auth::access::PupilReach::Principal;
    let delegated = if mentors && !principal {
        let pending: Vec<_> = leave
            .iter()
            .filter(|l| l.status == LeaveStatus::Pending)
            .map(|l| (l.id, l.start_date, l.end_date))
            .collect();
        crate::attendance::leave_delegation::for_mentor(conn, id, r.school_id, &pending)?
    } else {
        Default::default()
    };
    let decider = if mentors || principal {
        Some((
            crate::attendance::leave_application::year_summary(conn, id, today)?,
            crate::attendance::leave_rules::effective(conn, r.school_id)?,
        ))
    } else {
        None
    };
    let asked = crate::attendance::leave_confirmation::awaited(
        conn,
        &leave.iter().map(|l| l.id).collect::<Vec<_>>(),
    )?;
    Ok((leave, delegated, decider, asked))
}

/// What the leave list shows: the applications, the mentor's delegated ones, the decider's
/// picture.
type LeaveLists = (
    Vec<crate::attendance::leave_application::LeaveView>,
    Delegated,
    Option<Decider>,
    Vec<crate::attendance::leave_confirmation::Awaited>,
);

/// Leave applications, with the mentor's and the principal's forms while one is pending;
/// the guardians an application asks (`me`: the family member viewing, if it is one).
fn leave_list(
    ctx: &PageCtx,
    state: &AppState,
    (leave, delegated, decider, asked): &LeaveLists,
    (mentors, principal, me): (bool, bool, Option<crate::school::ids::PersonId>),
) -> Markup {
    html! {
    h2 { (ctx.t("Ledighet", "Leave")) }
    @if let Some(d) = decider { (super::leave_rules::for_deciders(ctx, d)) }
    @if leave.is_empty() { p.muted { (ctx.t("Inga ansökningar.", "No applications.")) } }
    ul { @for l in leave {
        li {
            bdi { (ctx.lang.days(l.start_date, l.end_date)) } ": " bdi { (l.reason) } " – " strong { (match l.status {
                LeaveStatus::Approved => ctx.t("beviljad", "approved"),
                LeaveStatus::Rejected => ctx.t("avslagen", "rejected"),
                LeaveStatus::Withdrawn => ctx.t("återtagen", "withdrawn"),
                LeaveStatus::Pending => ctx.t("väntar på beslut", "awaiting decision"),
                LeaveStatus::AwaitingGuardian => ctx.t("väntar på den andra vårdnadshavaren", "waiting for the other guardian"),
                LeaveStatus::Declined => ctx.t("inte godkänd av den andra vårdnadshavaren", "not agreed to by the other guardian"),
            }) }
            @let of_this: Vec<_> = asked.iter().filter(|a| a.leave == l.id).collect();
            @match me {
                Some(me) => (super::leave_guardians::family_part(ctx, l, &of_this, me)),
                None => (super::leave_guardians::school_part(ctx, l, &of_this, principal || mentors)),
            }
            @if let Some(r) = &l.recommendation { " (" (if r == "recommended" { ctx.t("mentorn tillstyrker", "recommended by the mentor") } else { ctx.t("mentorn avstyrker", "not recommended by the mentor") }) ")" }
            @if let Some(c) = &l.decision_comment { br; span.muted { (c) } }
            @if let (Some((_, rules)), LeaveStatus::Pending) = (decider, l.status) {
                (super::leave_rules::blocked_line(ctx, rules, l))
            }
            @if let Some(d) = &l.delegation {
                br; span.muted { (ctx.lang.fill(
                    "Beslutat av mentor {mentor} med delegation från rektor {principal} ({on}, upp till {days} skoldagar per läsår).",
                    "Decided by the mentor {mentor} under the delegation from principal {principal} ({on}, up to {days} school days per school year).",
                    &[("mentor", &d.decided_by), ("principal", &d.delegated_by), ("on", &super::leave::given_on(state, ctx.lang, d.delegated_at)), ("days", &d.max_days.to_string())],
                )) }
            }
            @if l.status == LeaveStatus::Pending && mentors {
                form method="post" action={"/leave-applications/" (l.id) "/recommendation"} {
                    (ctx.csrf_field())
                    label { (ctx.t("Kommentar (valfri)", "Comment (optional)")) " " input name="comment" maxlength="500"; }
                    button type="submit" name="answer" value="yes" { (ctx.t("Tillstyrk", "Recommend")) } " "
                    button.secondary type="submit" name="answer" value="no" { (ctx.t("Avstyrk", "Do not recommend")) }
                }
            }
            @if l.status == LeaveStatus::Pending && !principal {
                @match delegated.get(&l.id) {
                    Some(Ok(_)) => p.muted { (ctx.t("Rektor har delegerat beslutet till dig som mentor.", "The principal has delegated this decision to you as mentor.")) },
                    Some(Err(outside)) => p.muted { (ctx.say(&outside.refusal())) },
                    None => {}
                }
            }
            @if l.status == LeaveStatus::Pending && (principal || matches!(delegated.get(&l.id), Some(Ok(_)))) {
                form method="post" action={"/leave-applications/" (l.id) "/decision"} {
                    (ctx.csrf_field())
                    label { (ctx.t("Motivering (valfri)", "Comment (optional)")) " " input name="comment" maxlength="500"; }
                    button type="submit" name="answer" value="yes" { (ctx.t("Bevilja", "Approve")) } " "
                    button.secondary type="submit" name="answer" value="no" { (ctx.t("Avslå", "Reject")) }
                }
            }
        }
    } }
    }
}

/// The term's lessons with absence, one row each.
/// Each lesson the viewer may open links to its roll call, to correct it there.
fn history_table(
    ctx: &PageCtx,
    history: &[crate::school::absence::LessonAbsence],
    openable: &std::collections::HashSet<LessonId>,
) -> Markup {
    html! {
    h2 { (ctx.t("Frånvaro per lektion denna termin", "Absence per lesson this term")) }
    @if history.is_empty() { p.muted { (ctx.t("Ingen frånvaro.", "No absence.")) } } @else {
        div.scroll tabindex="0" { table {
            thead { tr { th { (ctx.t("Datum", "Date")) } th { (ctx.t("Lektion", "Lesson")) } th { (ctx.t("Frånvaro", "Absence")) } th { (ctx.t("Orsak", "Reason")) } th { (ctx.t("Rapporterad av", "Reported by")) } } }
            tbody { @for h in history { tr {
                td { (ctx.lang.day(h.date)) " " (ctx.lang.time(h.starts_at)) }
                td { @if openable.contains(&h.lesson_id) { a href={"/lessons/" (h.lesson_id)} { (h.subject) } } @else { (h.subject) } }
                td { (status_text(&h.status, ctx)) " " (ctx.tf("{n} min", "{n} min", &[("n", &h.minutes.to_string())])) }
                td { @if h.refused_leave { (ctx.t("Ogiltig: frånvaro trots avslagen ledighet", "Invalid: absence despite refused leave")) } @else if h.invalid_minutes > 0 { (ctx.t("Ogiltig", "Invalid")) } @else if let Some(r) = &h.reason { (ctx.t(&r.name_sv, &r.name_en)) } @else if h.covered_by == Some("leave") { (ctx.t("Beviljad ledighet", "Granted leave")) } @else if h.covered_by.is_some() { (ctx.t("Anmäld frånvaro", "Reported absence")) } @else { (ctx.t("Giltig", "Valid")) } }
                td { bdi { (h.marked_by) } }
            } } }
        } }
    }
    }
}

fn status_text(s: &str, ctx: &PageCtx) -> &'static str {
    match s {
        "late" => ctx.t("Sen", "Late"),
        "left_early" => ctx.t("Gick tidigt", "Left early"),
        "partly_absent" => ctx.t("Delvis frånvarande", "Partly absent"),
        _ => ctx.t("Frånvarande", "Absent"),
    }
}

/// The principal opens an investigation of the pupil's absence (or finds the open one).
fn open_case(ctx: &PageCtx, pupil: PupilId) -> Markup {
    html! {
        form method="post" action={"/pupils/" (pupil) "/case"} {
            (ctx.csrf_field())
            button.secondary type="submit" { (ctx.t("Öppna frånvaroutredning", "Open an absence investigation")) }
        }
    }
}
