//! The principal's absence investigations (`/cases`): opened from a signal or from a
//! pupil's page, the case's page with the decision, who takes part, the steps, the notes
//! about health (the principal and elevhälsan only), the conclusion and the closing. Its
//! forms are in `case_forms`, the huvudman's inbox in `huvudman`, the rules in
//! `crate::follow_up::cases`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use serde::Deserialize;

use super::common::{client_addr, html_with_status, see_other};
use super::layout::{self, PageCtx};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::follow_up::cases::{self, Case, CaseLine, CaseReach};
use crate::i18n::Lang;
use crate::school::ids::{CaseId, PupilId, SignalId};
use crate::school::states::{
    CaseDecision, CaseOutcome, CasePart, CaseStatus, ReportStatus, StepKind,
};
use crate::state::AppState;

/// The words of a code, in the reader's language.
fn part_words(p: CasePart, lang: Lang) -> &'static str {
    match p {
        CasePart::Pupil => lang.pick("eleven", "the pupil"),
        CasePart::Guardian => lang.pick("vårdnadshavare", "guardian"),
        CasePart::Mentor => lang.pick("mentor", "mentor"),
        CasePart::Health => lang.pick("elevhälsan", "student health"),
        CasePart::Principal => lang.pick("rektor", "principal"),
    }
}

fn step_words(k: StepKind, lang: Lang) -> &'static str {
    match k {
        StepKind::Meeting => lang.pick("Möte", "Meeting"),
        StepKind::Talk => lang.pick("Samtal", "Talk"),
        StepKind::Letter => lang.pick("Brev eller meddelande", "Letter or message"),
        StepKind::Other => lang.pick("Annat", "Other"),
    }
}

fn outcome_words(o: CaseOutcome, lang: Lang) -> &'static str {
    match o {
        CaseOutcome::Improved => lang.pick("Närvaron har blivit bättre", "Attendance has improved"),
        CaseOutcome::Support => lang.pick(
            "Eleven får stöd (åtgärderna följs upp i elevhälsan)",
            "The pupil gets support (followed up by student health)",
        ),
        CaseOutcome::Moved => lang.pick("Eleven har bytt skola", "The pupil has changed school"),
        CaseOutcome::Other => lang.pick("Annat", "Other"),
    }
}

pub fn report_status_words(s: ReportStatus, lang: Lang) -> &'static str {
    match s {
        ReportStatus::Open => lang.pick("Inkommen", "Received"),
        ReportStatus::MoreInfo => lang.pick("Begärt komplettering", "More information asked for"),
        ReportStatus::FollowedUp => lang.pick("Uppföljd", "Followed up"),
        ReportStatus::Closed => lang.pick("Avslutad", "Closed"),
    }
}

pub(super) fn hours(m: i32) -> String {
    format!("{:.1}", f64::from(m) / 60.0)
}

/// Only a principal, a mentor or a member of elevhälsan works with cases.
pub(super) fn works_cases(v: &Viewer) -> AppResult<()> {
    if cases::works_cases(v) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// GET /cases
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
) -> AppResult<HttpResponse> {
    works_cases(&v)?;
    let ctx = PageCtx::new(&req);
    let today = state.today();
    let (lines, waiting) = state
        .db(move |conn| {
            Ok((
                cases::open_for_viewer(conn, &v, today)?,
                crate::follow_up::rounds::waiting_for_principal(conn, &v, today)?,
            ))
        })
        .await?;
    Ok(html_with_status(
        StatusCode::OK,
        list_page(&ctx, &lines, &waiting),
    ))
}

/// The open cases; `waiting` those whose report the huvudman's round waits for.
fn list_page(ctx: &PageCtx, lines: &[CaseLine], waiting: &[CaseId]) -> Markup {
    let title = ctx.t("Frånvaroutredningar", "Absence investigations");
    let lang = ctx.lang;
    let body = html! {
        h1 { (title) }
        p { (ctx.t("Öppna utredningar av upprepad eller långvarig frånvaro (skollagen 7 kap. 19 a §). En utredning öppnas från en signal eller från elevens sida.", "Open investigations of repeated or long absence (Skollagen 7 kap. 19 a §). An investigation is opened from a signal or from the pupil's page.")) }
        @if lines.is_empty() { p { (ctx.t("Inga öppna utredningar.", "No open investigations.")) } }
        ul.plain {
            @for l in lines {
                li {
                    a href={"/cases/" (l.id)} { (l.name) } " – " (l.school) ". "
                    @match (l.decision, l.deadline) {
                        (None, _) => { (ctx.t("Beslut saknas.", "No decision yet.")) }
                        (Some(CaseDecision::Investigate), Some(d)) => { (ctx.t("Klar senast ", "Due by ")) (lang.day(d)) "." }
                        _ => {}
                    }
                    @if l.overdue { " " strong.badge { (ctx.t("Försenad", "Overdue")) } }
                    @if waiting.contains(&l.id) { " " strong.badge { (ctx.t("Uppdatera huvudmannen", "Update the huvudman")) } }
                }
            }
        }
    };
    layout::page(ctx, title, body)
}

/// POST /signals/{id}/case: the principal turns a signal into an investigation.
pub async fn open_from_signal(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<SignalId>,
) -> AppResult<HttpResponse> {
    if v.roles.principal_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let (id, st, addr) = (id.into_inner(), state.clone(), client_addr(&req));
    let opened = state
        .db_write(move |conn| cases::open_from_signal(conn, &st.act(&v, &addr), id))
        .await?;
    match opened {
        Ok(case) => Ok(see_other(&format!("/cases/{case}"))),
        Err(refusal) => Err(AppError::refused(crate::error::Code::BadForm, refusal)),
    }
}

/// POST /pupils/{id}/case: the principal opens an investigation by hand.
pub async fn open_by_hand(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<PupilId>,
) -> AppResult<HttpResponse> {
    if v.roles.principal_of.is_empty() {
        return Err(AppError::NotFound);
    }
    let (id, st, addr) = (id.into_inner(), state.clone(), client_addr(&req));
    let case = state
        .db_write(move |conn| cases::open_by_hand(conn, &st.act(&v, &addr), id))
        .await?;
    Ok(see_other(&format!("/cases/{case}")))
}

#[derive(Deserialize, Default)]
pub struct Done {
    pub(super) done: Option<String>,
}

/// GET /cases/{id}
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    works_cases(&v)?;
    let ctx = PageCtx::new(&req);
    let note = q
        .done
        .as_deref()
        .map(|_| html! { p.notice role="status" { (ctx.t("Sparat.", "Saved.")) } });
    let reader = super::reads::Reader::of(&req, &v);
    render(
        &state,
        &ctx,
        v,
        id.into_inner(),
        (note, Some(reader)),
        StatusCode::OK,
    )
    .await
}

pub(super) async fn render(
    state: &AppState,
    ctx: &PageCtx,
    v: Viewer,
    id: CaseId,
    (note, reader): (Option<Markup>, Option<super::reads::Reader>),
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let tz = state.config.timezone;
    let (case, home) = state
        .db(move |conn| {
            let case = cases::load(conn, &v, id, today)?;
            // the principal's: the report to the home municipality, when one is needed
            let home = match crate::follow_up::home_report::load(conn, &v, id, today) {
                Ok(r) => Some(r),
                Err(crate::error::AppError::NotFound) => None,
                Err(e) => return Err(e),
            };
            Ok((case, home))
        })
        .await?;
    if let Some(reader) = reader {
        reader
            .read(state, case.pupil, crate::access_log::ReadKind::Case)
            .await?;
    }
    let home = home.map(|r| super::home_report::case_part(ctx, &r, today));
    Ok(html_with_status(
        status,
        case_page(ctx, &case, (note, home), today, tz),
    ))
}

/// The case's page: `note` on top (saved, or what was refused), `home` the report to the
/// home municipality when one is needed.
fn case_page(
    ctx: &PageCtx,
    c: &Case,
    (note, home): (Option<Markup>, Option<Markup>),
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Markup {
    let title = format!(
        "{} {}",
        ctx.t("Frånvaroutredning:", "Absence investigation:"),
        c.pupil_name
    );
    let body = html! {
        h1 { (title) }
        @if let Some(n) = note { (n) }
        (summary_part(ctx, c, tz))
        @if let Some(h) = home { (h) }
        (decision_part(ctx, c, today))
        (people_part(ctx, c))
        (steps_part(ctx, c, today))
        (health_part(ctx, c, tz))
        (conclusion_part(ctx, c))
        (close_part(ctx, c))
    };
    layout::page(ctx, &title, body)
}

/// The case in brief, and its report to the huvudman.
fn summary_part(ctx: &PageCtx, c: &Case, tz: chrono_tz::Tz) -> Markup {
    let lang = ctx.lang;
    let open = c.status == CaseStatus::Open;
    let local_day = |t: chrono::NaiveDateTime| crate::school::calendar::to_local(tz, t).date();
    html! {
        p {
            (c.school) @if let Some(class) = &c.class { ", " (class) } ". "
            (ctx.t("Öppnad ", "Opened ")) (lang.day(local_day(c.opened_at))) ". "
            @if open { strong.badge { (ctx.t("Öppen", "Open")) } } @else { strong.badge { (ctx.t("Avslutad", "Closed")) } }
            @if c.overdue { " " strong.badge { (ctx.t("Försenad", "Overdue")) } }
        }
        p {
            (lang.days(c.period_from, c.period_to)) ": " (hours(c.absent_minutes)) (ctx.t(" timmars frånvaro av ", " hours of absence of ")) (hours(c.scheduled_minutes)) (ctx.t(" schemalagda", " scheduled")) ". "
            a href={"/pupils/" (c.pupil)} { (ctx.t("Elevens frånvaro", "The pupil's absence")) }
        }
        @if let Some(r) = &c.report {
            section.card aria-labelledby="report" {
                h2 #report { (ctx.t("Anmälan till huvudmannen", "Report to the huvudman")) }
                p { (report_status_words(r.status, lang)) " (" (lang.day(local_day(r.updated_at))) ")." }
                @if let Some(n) = &r.officer_note { p { (ctx.t("Huvudmannen skriver: ", "The huvudman writes: ")) (n) } }
                @if let Some((round, written)) = r.round {
                    @if written {
                        p { (ctx.t("Uppdaterad i huvudmannens uppföljning ", "Updated in the huvudman's follow-up of ")) (lang.day(round)) "." }
                    } @else {
                        p { strong.badge { (ctx.t("Huvudmannen följer upp anmälningarna ", "The huvudman follows the reports up on ")) (lang.day(round)) (ctx.t(": skriv hur det går.", ": write how it goes.")) } }
                    }
                }
                @for u in &r.updates {
                    p { (ctx.t("Rektor skrev ", "The principal wrote ")) (lang.day(local_day(u.written_at))) ": " (u.body) }
                }
                @if c.reach == CaseReach::Principal && r.status != ReportStatus::Closed {
                    form method="post" action={"/cases/" (c.id) "/report-update"} {
                        (ctx.csrf_field())
                        label for="report-update" { (ctx.t("Uppdatering till huvudmannen (inga hälsouppgifter)", "Update to the huvudman (no health details)")) }
                        textarea #report-update name="body" maxlength=(crate::follow_up::rounds::MAX_UPDATE) required {}
                        button.secondary type="submit" { (ctx.t("Skicka uppdateringen", "Send the update")) }
                    }
                }
            }
        }
    }
}

/// The principal's decision, or its form.
fn decision_part(ctx: &PageCtx, c: &Case, today: NaiveDate) -> Markup {
    let lang = ctx.lang;
    let open = c.status == CaseStatus::Open;
    let principal = c.reach == CaseReach::Principal;
    let action = |what: &str| format!("/cases/{}/{what}", c.id);
    html! {
        section.card aria-labelledby="decision" {
            h2 #decision { (ctx.t("Rektors beslut", "The principal's decision")) }
            @match c.decision {
                Some(CaseDecision::Investigate) => {
                    p { (ctx.t("Frånvaron utreds. Beslutat ", "The absence is investigated. Decided ")) (c.decided_on.map(|d| lang.day(d)).unwrap_or_default())
                        @if let Some(d) = c.deadline { (ctx.t(", klar senast ", ", due by ")) (lang.day(d)) } "." }
                }
                Some(CaseDecision::NotNeeded) => {
                    p { (ctx.t("Ingen utredning behövs. Beslutat ", "No investigation is needed. Decided ")) (c.decided_on.map(|d| lang.day(d)).unwrap_or_default()) "." }
                    @if let Some(r) = &c.decision_reason { p { (ctx.t("Skäl: ", "Reason: ")) (r) } }
                }
                None => {
                    @if principal && open {
                        form method="post" action=(action("decision")) {
                            (ctx.csrf_field())
                            fieldset {
                                legend { (ctx.t("Beslut", "Decision")) }
                                label.rs { input type="radio" name="decision" value="investigate" checked; " " (ctx.t("Frånvaron ska utredas", "The absence is to be investigated")) }
                                label.rs { input type="radio" name="decision" value="not_needed"; " " (ctx.t("Utredning behövs inte", "No investigation is needed")) }
                            }
                            label for="decided_on" { (ctx.t("Beslutsdatum", "Date of the decision")) }
                            input #decided_on name="decided_on" type="date" required value=(today);
                            label for="deadline" { (ctx.t("Utredningen klar senast (om den ska utredas; huvudmannen föreslår ", "The investigation due by (if it is investigated; the huvudman suggests ")) (c.deadline_days) (ctx.t(" dagar)", " days)")) }
                            input #deadline name="deadline" type="date" value=(today + Duration::days(i64::from(c.deadline_days)));
                            label for="reason" { (ctx.t("Skäl (om utredning inte behövs)", "Reason (if no investigation is needed)")) }
                            textarea #reason name="reason" maxlength=(cases::MAX_TEXT) {}
                            button type="submit" { (ctx.t("Spara beslutet", "Save the decision")) }
                        }
                    } @else {
                        p { (ctx.t("Rektor har inte beslutat ännu.", "The principal has not decided yet.")) }
                    }
                }
            }
        }
    }
}

/// Who takes part, and who may be added.
fn people_part(ctx: &PageCtx, c: &Case) -> Markup {
    let lang = ctx.lang;
    let open = c.status == CaseStatus::Open;
    let action = |what: &str| format!("/cases/{}/{what}", c.id);
    html! {
        section.card aria-labelledby="participants" {
            h2 #participants { (ctx.t("Deltar", "Taking part")) }
            @if c.participants.is_empty() { p { (ctx.t("Ingen ännu.", "No one yet.")) } }
            ul { @for p in &c.participants { li { (p.name) " (" (part_words(p.part, lang)) ")" } } }
            @if open && c.reach != CaseReach::Mentor && !c.candidates.is_empty() {
                form method="post" action=(action("participants")) {
                    (ctx.csrf_field())
                    label for="person" { (ctx.t("Lägg till", "Add")) }
                    select #person name="person_id" required {
                        @for p in &c.candidates { option value=(p.person) { (p.name) " (" (part_words(p.part, lang)) ")" } }
                    }
                    button.secondary type="submit" { (ctx.t("Lägg till", "Add")) }
                }
            }
        }
    }
}

/// The steps taken, and a new one.
fn steps_part(ctx: &PageCtx, c: &Case, today: NaiveDate) -> Markup {
    let lang = ctx.lang;
    let open = c.status == CaseStatus::Open;
    let action = |what: &str| format!("/cases/{}/{what}", c.id);
    html! {
        section.card aria-labelledby="steps" {
            h2 #steps { (ctx.t("Åtgärder och möten", "Steps and meetings")) }
            @if c.steps.is_empty() { p { (ctx.t("Inga ännu.", "None yet.")) } }
            ul {
                @for s in &c.steps {
                    li { strong { (lang.day(s.taken_on)) ", " (step_words(s.kind, lang)) } ": " (s.note) " " span.muted { "(" (s.written_by) ")" } }
                }
            }
            @if open {
                form method="post" action=(action("steps")) {
                    (ctx.csrf_field())
                    label for="taken_on" { (ctx.t("Datum", "Date")) }
                    input #taken_on name="taken_on" type="date" required value=(today);
                    label for="kind" { (ctx.t("Slag", "Kind")) }
                    select #kind name="kind" {
                        @for k in StepKind::ALL { option value=(k.as_str()) { (step_words(*k, lang)) } }
                    }
                    label for="step_note" { (ctx.t("Vad gjordes? (inga hälsouppgifter här)", "What was done? (no health details here)")) }
                    textarea #step_note name="note" required maxlength=(cases::MAX_TEXT) {}
                    button.secondary type="submit" { (ctx.t("Spara åtgärden", "Save the step")) }
                }
            }
        }
    }
}

/// The notes about health: the principal and elevhälsan only.
fn health_part(ctx: &PageCtx, c: &Case, tz: chrono_tz::Tz) -> Markup {
    let lang = ctx.lang;
    let open = c.status == CaseStatus::Open;
    let action = |what: &str| format!("/cases/{}/{what}", c.id);
    let local_day = |t: chrono::NaiveDateTime| crate::school::calendar::to_local(tz, t).date();
    html! {
        @if c.reach.reads_health() {
            section.card aria-labelledby="health" {
                h2 #health { (ctx.t("Hälsa (läses bara av rektor och elevhälsan)", "Health (read by the principal and student health only)")) }
                @if c.health.is_empty() { p { (ctx.t("Inga anteckningar.", "No notes.")) } }
                ul { @for h in &c.health { li { strong { (lang.day(local_day(h.written_at))) } ": " (h.note) " " span.muted { "(" (h.written_by) ")" } } } }
                @if open {
                    form method="post" action=(action("health-notes")) {
                        (ctx.csrf_field())
                        label for="health_note" { (ctx.t("Ny anteckning", "New note")) }
                        textarea #health_note name="note" required maxlength=(cases::MAX_TEXT) {}
                        button.secondary type="submit" { (ctx.t("Spara anteckningen", "Save the note")) }
                    }
                }
            }
        }
    }
}

/// The conclusion, the actions and the follow-up.
fn conclusion_part(ctx: &PageCtx, c: &Case) -> Markup {
    let lang = ctx.lang;
    let open = c.status == CaseStatus::Open;
    let principal = c.reach == CaseReach::Principal;
    let action = |what: &str| format!("/cases/{}/{what}", c.id);
    html! {
        @if c.decision == Some(CaseDecision::Investigate) {
            section.card aria-labelledby="conclusion" {
                h2 #conclusion { (ctx.t("Slutsats och åtgärder", "Conclusion and actions")) }
                @if let Some(t) = &c.conclusion { p { (t) } }
                @if let Some(t) = &c.actions { p { (ctx.t("Beslutade åtgärder: ", "Actions decided: ")) (t) } }
                @if let Some(d) = c.follow_up_on { p { (ctx.t("Följs upp ", "Followed up on ")) (lang.day(d)) "." } }
                @if c.special_support { p { (ctx.t("En utredning om särskilt stöd har inletts.", "An investigation of special support has been started.")) } }
                @if principal && open {
                    form method="post" action=(action("conclusion")) {
                        (ctx.csrf_field())
                        label for="conclusion_text" { (ctx.t("Slutsats", "Conclusion")) }
                        textarea #conclusion_text name="conclusion" required maxlength=(cases::MAX_TEXT) { (c.conclusion.clone().unwrap_or_default()) }
                        label for="actions" { (ctx.t("Beslutade åtgärder", "Actions decided")) }
                        textarea #actions name="actions" maxlength=(cases::MAX_TEXT) { (c.actions.clone().unwrap_or_default()) }
                        label for="follow_up_on" { (ctx.t("Uppföljning (datum)", "Follow-up (date)")) }
                        input #follow_up_on name="follow_up_on" type="date" value=(c.follow_up_on.map(|d| d.to_string()).unwrap_or_default());
                        label.rs { input type="checkbox" name="special_support" value="1" checked[c.special_support]; " " (ctx.t("En utredning om särskilt stöd har inletts", "An investigation of special support has been started")) }
                        button.secondary type="submit" { (ctx.t("Spara slutsatsen", "Save the conclusion")) }
                    }
                }
            }
        }
    }
}

/// The outcome, or the closing form.
fn close_part(ctx: &PageCtx, c: &Case) -> Markup {
    let lang = ctx.lang;
    let open = c.status == CaseStatus::Open;
    let principal = c.reach == CaseReach::Principal;
    let action = |what: &str| format!("/cases/{}/{what}", c.id);
    html! {
        @if let Some(o) = c.outcome { p { strong { (ctx.t("Avslutad: ", "Closed: ")) (outcome_words(o, lang)) "." } } }
        @if principal && open && c.conclusion.is_some() {
            section.card aria-labelledby="close" {
                h2 #close { (ctx.t("Avsluta utredningen", "Close the investigation")) }
                form method="post" action=(action("close")) {
                    (ctx.csrf_field())
                    label for="outcome" { (ctx.t("Utfall", "Outcome")) }
                    select #outcome name="outcome" required {
                        option value="" { (ctx.t("Välj", "Choose")) }
                        @for o in CaseOutcome::ALL { option value=(o.as_str()) { (outcome_words(*o, lang)) } }
                    }
                    button type="submit" { (ctx.t("Avsluta", "Close")) }
                }
            }
        }
    }
}
