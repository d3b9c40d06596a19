//! The forms of an absence investigation (`/cases/{id}/…`): the decision, who takes part,
//! a step, a note about health, the conclusion, the closing, and the principal's update of
//! the report to the huvudman. Each answers with the case
//! again, or with its page, the refusal naming the field, and nothing stored.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;

use super::cases::{render, works_cases};
use super::common::{client_addr, see_other};
use super::layout::PageCtx;
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::follow_up::cases::{self, Conclusion, Decision, NewStep};
use crate::school::clock::parse_day;
use crate::school::ids::{CaseId, PersonId};
use crate::school::states::{CaseDecision, CaseOutcome, StepKind};
use crate::school::{Checked, Refusal};
use crate::state::AppState;

/// A form's answer: see the case again, or the page with the refusal and nothing stored.
async fn answered(
    req: &HttpRequest,
    state: &AppState,
    v: Viewer,
    id: CaseId,
    result: Result<(), Refusal>,
) -> AppResult<HttpResponse> {
    match result {
        Ok(()) => Ok(see_other(&format!("/cases/{id}?done=saved"))),
        Err(refusal) => {
            let ctx = PageCtx::new(req);
            let note = html! { p.errors role="alert" { (ctx.say(&refusal)) } };
            render(
                state,
                &ctx,
                v,
                id,
                (Some(note), None),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// Runs a write of the case as the viewer and answers it.
async fn write<F>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    v: Viewer,
    id: CaseId,
    f: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut crate::db::DbConn, &crate::school::Act) -> Checked<()> + Send + 'static,
{
    works_cases(&v)?;
    let (st, addr, viewer) = (state.clone(), client_addr(req), v.clone());
    let result = state
        .db_write(move |conn| f(conn, &st.act(&viewer, &addr)))
        .await?;
    answered(req, state, v, id, result).await
}

/// A date field: empty is `None`, a wrong one the refusal naming the field.
fn date_field(raw: &str, refusal: Refusal) -> Result<Option<NaiveDate>, Refusal> {
    match raw.trim() {
        "" => Ok(None),
        s => parse_day(s).map(Some).ok_or(refusal),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    decided_on: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    reason: String,
}

impl DecisionForm {
    fn parse(&self) -> Result<Decision, Refusal> {
        let decision = CaseDecision::parse(self.decision.trim())
            .ok_or(Refusal::new("case_decision_choose"))?;
        let decided_on = date_field(&self.decided_on, Refusal::new("case_decided_on_range"))?
            .ok_or(Refusal::new("case_decided_on_range"))?;
        let deadline = match decision {
            CaseDecision::Investigate => {
                date_field(&self.deadline, Refusal::new("case_deadline_required"))?
            }
            CaseDecision::NotNeeded => None,
        };
        Ok(Decision {
            decision,
            decided_on,
            deadline,
            reason: self.reason.clone(),
        })
    }
}

/// POST /cases/{id}/decision
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    form: web::Form<DecisionForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let parsed = form.parse();
    write(&req, &state, v, id, move |conn, act| match parsed {
        Ok(d) => cases::decide(conn, act, id, &d),
        Err(r) => refused_in_reach(conn, act, id, r),
    })
    .await
}

/// A form that did not parse: a 404 for a case out of reach, else the refusal.
fn refused_in_reach(
    conn: &mut crate::db::DbConn,
    act: &crate::school::Act,
    id: CaseId,
    r: Refusal,
) -> Checked<()> {
    cases::load(conn, act.actor, id, act.today)?;
    Ok(Err(r))
}

#[derive(Deserialize)]
pub struct ParticipantForm {
    #[serde(default)]
    person_id: String,
}

/// POST /cases/{id}/participants
pub async fn add_participant(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    form: web::Form<ParticipantForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let person: Option<PersonId> = form.person_id.trim().parse().ok();
    write(&req, &state, v, id, move |conn, act| match person {
        Some(p) => cases::add_participant(conn, act, id, p),
        None => refused_in_reach(
            conn,
            act,
            id,
            Refusal::new("case_participant_not_connected"),
        ),
    })
    .await
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    taken_on: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    note: String,
}

/// POST /cases/{id}/steps
pub async fn add_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    form: web::Form<StepForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let f = form.into_inner();
    let parsed = (|| {
        Ok(NewStep {
            taken_on: date_field(&f.taken_on, Refusal::new("case_step_date_range"))?
                .ok_or(Refusal::new("case_step_date_range"))?,
            kind: StepKind::parse(f.kind.trim()).ok_or(Refusal::new("form_held_wrong_value"))?,
            note: f.note,
        })
    })();
    write(&req, &state, v, id, move |conn, act| match parsed {
        Ok(s) => cases::add_step(conn, act, id, &s),
        Err(r) => refused_in_reach(conn, act, id, r),
    })
    .await
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

/// POST /cases/{id}/health-notes
pub async fn add_health_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    form: web::Form<NoteForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let note = form.into_inner().note;
    write(&req, &state, v, id, move |conn, act| {
        cases::add_health_note(conn, act, id, &note)
    })
    .await
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    body: String,
}

/// POST /cases/{id}/report-update: the principal's update of the report to the huvudman
/// (in the huvudman's round under way, if any).
pub async fn report_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    form: web::Form<UpdateForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let body = form.into_inner().body;
    write(&req, &state, v, id, move |conn, act| {
        crate::follow_up::rounds::write_update(conn, act, id, &body)
    })
    .await
}

#[derive(Deserialize)]
pub struct ConclusionForm {
    #[serde(default)]
    conclusion: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    follow_up_on: String,
    special_support: Option<String>,
}

/// POST /cases/{id}/conclusion
pub async fn conclude(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    form: web::Form<ConclusionForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let f = form.into_inner();
    let parsed =
        date_field(&f.follow_up_on, Refusal::new("case_follow_up_date")).map(|follow_up_on| {
            Conclusion {
                conclusion: f.conclusion,
                actions: f.actions,
                follow_up_on,
                special_support: f.special_support.is_some(),
            }
        });
    write(&req, &state, v, id, move |conn, act| match parsed {
        Ok(c) => cases::conclude(conn, act, id, &c),
        Err(r) => refused_in_reach(conn, act, id, r),
    })
    .await
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    outcome: String,
}

/// POST /cases/{id}/close
pub async fn close(
    req: HttpRequest,
    state: web::Data<AppState>,
    v: Viewer,
    id: web::Path<CaseId>,
    form: web::Form<CloseForm>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let outcome = CaseOutcome::parse(form.outcome.trim());
    write(&req, &state, v, id, move |conn, act| {
        cases::close(conn, act, id, outcome)
    })
    .await
}
