//! The principal's investigation of a pupil's repeated or long absence (Skollagen 7 kap.
//! 19 a §) and its report to the huvudman.
//!
//! A case is opened from a signal or by hand, one open case per pupil (the partial unique
//! index `absence_cases_open` decides, so two principals opening one at the same moment get
//! one). The principal decides: investigate, with a deadline, or no investigation needed,
//! with the reason the law asks for (which ends the case). Deciding to investigate makes
//! the report to the huvudman, with the minimum the huvudman needs. The principal,
//! elevhälsan's members and the pupil's mentors write the steps; the principal and
//! elevhälsan alone read and write the notes about health, which leave Närvaro nowhere.
//! The principal writes the conclusion and closes the case with an outcome. Nothing of a
//! case is deleted by a person; retention removes it with the rest of the pupil's records.
//!
//! Who reaches a case: the principal of its school, elevhälsan of its school and the
//! pupil's mentors today (without the health notes); anyone else gets a 404.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::on_backend;
use crate::schema::*;
use crate::school::ids::{
    CaseId, HuvudmanReportId, OrganisationId, PersonId, PupilId, SchoolId, SignalId,
};
use crate::school::states::{
    CaseDecision, CaseOutcome, CasePart, CaseStatus, ReportStatus, Role, SignalStatus, StepKind,
};
use crate::school::{Act, Checked, Refusal};

/// The longest time for an investigation the huvudman may set as its default, in days.
pub const MAX_DEADLINE_DAYS: i32 = 180;
/// The figures of a case opened by hand: the four weeks before it.
const HAND_PERIOD_DAYS: i64 = 28;
/// The longest text a case keeps in one field.
pub const MAX_TEXT: usize = 4000;

/// How the viewer reaches a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseReach {
    /// the principal of its school: everything
    Principal,
    /// a member of elevhälsan at its school: steps, participants and the health notes
    Health,
    /// the pupil's mentor today: reads it and writes steps, never the health notes
    Mentor,
}

impl CaseReach {
    pub fn reads_health(self) -> bool {
        matches!(self, CaseReach::Principal | CaseReach::Health)
    }
}

/// Whether the viewer works with investigations at all: a principal, a member of
/// elevhälsan or a mentor (the pages and the API answer 404 to anyone else).
pub fn works_cases(v: &Viewer) -> bool {
    let r = &v.roles;
    !(r.principal_of.is_empty() && r.health_of.is_empty() && r.mentor_of.is_empty())
}

/// How `v` reaches the cases of `pupil` at `school`, if at all.
fn reach_of(
    conn: &mut DbConn,
    v: &Viewer,
    pupil: PupilId,
    school: SchoolId,
    today: NaiveDate,
) -> AppResult<Option<CaseReach>> {
    if v.roles.principal_of.contains(&school) {
        return Ok(Some(CaseReach::Principal));
    }
    if v.roles.health_of.contains(&school) {
        return Ok(Some(CaseReach::Health));
    }
    if v.roles.mentor_of.is_empty() {
        return Ok(None);
    }
    let mentored: i64 = group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .filter(group_memberships::group_id.eq_any(v.roles.mentor_of.clone()))
        .filter(crate::school::membership::on(today))
        .count()
        .get_result(conn)?;
    Ok((mentored > 0).then_some(CaseReach::Mentor))
}

/// The case's pupil, school and status, and how the viewer reaches it (404 when not).
fn in_reach(
    conn: &mut DbConn,
    v: &Viewer,
    id: CaseId,
    today: NaiveDate,
) -> AppResult<(PupilId, SchoolId, CaseStatus, CaseReach)> {
    let row: Option<(PupilId, SchoolId, CaseStatus)> = absence_cases::table
        .find(id)
        .select((
            absence_cases::pupil_id,
            absence_cases::school_id,
            absence_cases::status,
        ))
        .first(conn)
        .optional()?;
    let (pupil, school, status) = row.ok_or(AppError::NotFound)?;
    let reach = reach_of(conn, v, pupil, school, today)?.ok_or(AppError::NotFound)?;
    Ok((pupil, school, status, reach))
}

/// The figures a case starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Figures {
    from: NaiveDate,
    to: NaiveDate,
    absent: i32,
    scheduled: i32,
}

/// The pupil's absence (valid and invalid) over the four weeks up to `today`, from the
/// statistics' per-day sums.
fn recent_figures(conn: &mut DbConn, pupil: PupilId, today: NaiveDate) -> AppResult<Figures> {
    let from = today - Duration::days(HAND_PERIOD_DAYS - 1);
    let days: Vec<(i32, i32, i32)> = absence_days::table
        .filter(absence_days::pupil_id.eq(pupil))
        .filter(absence_days::day.between(from, today))
        .select((
            absence_days::scheduled_minutes,
            absence_days::valid_minutes,
            absence_days::invalid_minutes,
        ))
        .load(conn)?;
    Ok(Figures {
        from,
        to: today,
        absent: days.iter().map(|d| d.1 + d.2).sum(),
        scheduled: days.iter().map(|d| d.0).sum(),
    })
}

/// Inserts an open case for the pupil unless one is open (the partial unique index
/// decides), and returns the open case and whether this call opened it.
fn open_case(
    conn: &mut DbConn,
    act: &Act,
    pupil: PupilId,
    school: SchoolId,
    f: Figures,
) -> AppResult<(CaseId, bool)> {
    let values = (
        absence_cases::pupil_id.eq(pupil),
        absence_cases::school_id.eq(school),
        absence_cases::status.eq(CaseStatus::Open),
        absence_cases::opened_by.eq(act.actor.id),
        absence_cases::opened_at.eq(act.now),
        absence_cases::period_from.eq(f.from),
        absence_cases::period_to.eq(f.to),
        absence_cases::absent_minutes.eq(f.absent),
        absence_cases::scheduled_minutes.eq(f.scheduled),
        absence_cases::special_support.eq(false),
    );
    let inserted = on_backend!(conn, c => diesel::insert_into(absence_cases::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(c))?;
    let id: CaseId = absence_cases::table
        .filter(absence_cases::pupil_id.eq(pupil))
        .filter(absence_cases::status.eq(CaseStatus::Open))
        .select(absence_cases::id)
        .first(conn)?;
    if inserted > 0 {
        audit::acted(
            conn,
            act,
            "case.opened",
            "absence_case",
            id,
            json!({"pupil_id": pupil}),
        )?;
    }
    Ok((id, inserted > 0))
}

/// Turns an open signal into an investigation: the pupil's open case, opened now with the
/// signal's figures unless one is open. The principal of the signal's school only (404
/// for anyone else). A signal already dismissed or closed is refused.
pub fn open_from_signal(conn: &mut DbConn, act: &Act, signal: SignalId) -> Checked<CaseId> {
    conn.transaction(|conn| {
        let row: Option<(
            PupilId,
            SchoolId,
            SignalStatus,
            NaiveDate,
            NaiveDate,
            i32,
            i32,
        )> = signals::table
            .find(signal)
            .select((
                signals::pupil_id,
                signals::school_id,
                signals::status,
                signals::period_from,
                signals::period_to,
                signals::absent_minutes,
                signals::scheduled_minutes,
            ))
            .first(conn)
            .optional()?;
        let Some((pupil, school, status, from, to, absent, scheduled)) = row else {
            return Err(AppError::NotFound);
        };
        if !act.actor.roles.principal_of.contains(&school) {
            return Err(AppError::NotFound);
        }
        if matches!(status, SignalStatus::Dismissed | SignalStatus::Closed) {
            return Ok(Err(Refusal::new("case_signal_ended")));
        }
        let figures = Figures {
            from,
            to,
            absent,
            scheduled,
        };
        let (id, _) = open_case(conn, act, pupil, school, figures)?;
        // the update decides, not the status read above: of two at the same moment, the
        // second finds the signal turned already
        let moved = diesel::update(
            signals::table
                .find(signal)
                .filter(signals::status.eq_any([SignalStatus::New, SignalStatus::Seen])),
        )
        .set((
            signals::status.eq(SignalStatus::Case),
            signals::case_id.eq(Some(id)),
        ))
        .execute(conn)?;
        if moved > 0 {
            let detail = json!({"pupil_id": pupil, "case_id": id});
            audit::acted(conn, act, "signal.case", "signal", signal, detail)?;
        }
        Ok(Ok(id))
    })
}

/// Opens an investigation by hand for a pupil of a school the viewer leads (404
/// otherwise), with the four weeks before as its figures; the pupil's open case when one is.
pub fn open_by_hand(conn: &mut DbConn, act: &Act, pupil: PupilId) -> AppResult<CaseId> {
    conn.transaction(|conn| {
        let school: Option<Option<SchoolId>> = people::table
            .find(pupil)
            .filter(people::active.eq(true))
            .select(people::school_id)
            .first(conn)
            .optional()?;
        let Some(Some(school)) = school else {
            return Err(AppError::NotFound);
        };
        if !act.actor.roles.principal_of.contains(&school) {
            return Err(AppError::NotFound);
        }
        let figures = recent_figures(conn, pupil, act.today)?;
        Ok(open_case(conn, act, pupil, school, figures)?.0)
    })
}

/// A person who takes part, or may be asked to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    pub person: PersonId,
    pub name: String,
    pub part: CasePart,
}

/// A step taken.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub taken_on: NaiveDate,
    pub kind: StepKind,
    pub note: String,
    pub written_by: String,
}

/// A note about health: only for the principal and elevhälsan.
#[derive(Debug, Clone)]
pub struct HealthNote {
    pub note: String,
    pub written_by: String,
    pub written_at: NaiveDateTime,
}

/// The report to the huvudman, as the case shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportState {
    pub id: HuvudmanReportId,
    pub status: ReportStatus,
    pub officer_note: Option<String>,
    pub updated_at: NaiveDateTime,
    /// what the principal wrote to the huvudman, newest first
    pub updates: Vec<super::rounds::Update>,
    /// the huvudman's round under way: its date, and whether this report has its update
    pub round: Option<(NaiveDate, bool)>,
}

/// A case as its page shows it. `health` is empty for a viewer who may not read it.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub id: CaseId,
    pub pupil: PupilId,
    pub pupil_name: String,
    pub class: Option<String>,
    pub school: String,
    pub status: CaseStatus,
    pub opened_at: NaiveDateTime,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub absent_minutes: i32,
    pub scheduled_minutes: i32,
    pub decision: Option<CaseDecision>,
    pub decided_on: Option<NaiveDate>,
    pub decision_reason: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub conclusion: Option<String>,
    pub actions: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
    pub special_support: bool,
    pub outcome: Option<CaseOutcome>,
    pub closed_at: Option<NaiveDateTime>,
    pub overdue: bool,
    pub reach: CaseReach,
    /// the huvudman's default time for an investigation, for the decision form
    pub deadline_days: i32,
    pub participants: Vec<Participant>,
    /// who may still be asked to take part
    pub candidates: Vec<Participant>,
    pub steps: Vec<Step>,
    #[serde(skip)]
    pub health: Vec<HealthNote>,
    pub report: Option<ReportState>,
}

/// Whether an investigation is overdue on `today`: decided on, not concluded, past its
/// deadline. (The huvudman's inbox and figures count by it too.)
pub(crate) fn overdue(
    status: CaseStatus,
    decision: Option<CaseDecision>,
    conclusion: &Option<String>,
    deadline: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    status == CaseStatus::Open
        && decision == Some(CaseDecision::Investigate)
        && conclusion.is_none()
        && deadline.is_some_and(|d| d < today)
}

type CaseRow = (
    (
        CaseId,
        PupilId,
        CaseStatus,
        NaiveDateTime,
        NaiveDate,
        NaiveDate,
        i32,
        i32,
    ),
    (
        Option<CaseDecision>,
        Option<NaiveDate>,
        Option<String>,
        Option<NaiveDate>,
        Option<String>,
        Option<String>,
        Option<NaiveDate>,
        bool,
        Option<CaseOutcome>,
        Option<NaiveDateTime>,
    ),
    (String, String),
    String,
);

/// The case, when the viewer reaches it (404 otherwise).
pub fn load(conn: &mut DbConn, v: &Viewer, id: CaseId, today: NaiveDate) -> AppResult<Case> {
    let (pupil, school, _, reach) = in_reach(conn, v, id, today)?;
    let (c, d, (given, family), school_name): CaseRow = absence_cases::table
        .find(id)
        .inner_join(people::table.on(people::id.eq(absence_cases::pupil_id)))
        .inner_join(organisations::table.on(organisations::id.eq(absence_cases::school_id)))
        .select((
            (
                absence_cases::id,
                absence_cases::pupil_id,
                absence_cases::status,
                absence_cases::opened_at,
                absence_cases::period_from,
                absence_cases::period_to,
                absence_cases::absent_minutes,
                absence_cases::scheduled_minutes,
            ),
            (
                absence_cases::decision,
                absence_cases::decided_on,
                absence_cases::decision_reason,
                absence_cases::deadline,
                absence_cases::conclusion,
                absence_cases::actions,
                absence_cases::follow_up_on,
                absence_cases::special_support,
                absence_cases::outcome,
                absence_cases::closed_at,
            ),
            (people::given_name, people::family_name),
            organisations::name,
        ))
        .first(conn)?;
    let class =
        crate::insight::statistics::overview::classes_on(conn, &[pupil], today)?.remove(&pupil);
    let participants = participants_of(conn, id)?;
    let candidates = connected(conn, pupil, school, today)?
        .into_iter()
        .filter(|c| !participants.iter().any(|p| p.person == c.person))
        .collect();
    let steps = steps_of(conn, id)?;
    let health = if reach.reads_health() {
        health_notes_of(conn, id)?
    } else {
        Vec::new()
    };
    let report = report_of(conn, id, today)?;
    let deadline_days = deadline_days_of(conn, school)?;
    Ok(Case {
        id: c.0,
        pupil: c.1,
        pupil_name: crate::school::full_name(&given, &family),
        class,
        school: school_name,
        status: c.2,
        opened_at: c.3,
        period_from: c.4,
        period_to: c.5,
        absent_minutes: c.6,
        scheduled_minutes: c.7,
        decision: d.0,
        decided_on: d.1,
        decision_reason: d.2,
        deadline: d.3,
        overdue: overdue(c.2, d.0, &d.4, d.3, today),
        conclusion: d.4,
        actions: d.5,
        follow_up_on: d.6,
        special_support: d.7,
        outcome: d.8,
        closed_at: d.9,
        reach,
        deadline_days,
        participants,
        candidates,
        steps,
        health,
        report,
    })
}

/// The huvudman's default time for an investigation at the school (its municipality's).
fn deadline_days_of(conn: &mut DbConn, school: SchoolId) -> AppResult<i32> {
    let parent: Option<OrganisationId> = organisations::table
        .find(school)
        .select(organisations::parent_id)
        .first(conn)?;
    let Some(parent) = parent else {
        return Ok(21);
    };
    Ok(organisations::table
        .find(parent)
        .select(organisations::case_deadline_days)
        .first(conn)?)
}

/// The municipality's default time for an investigation, in days.
pub fn deadline_days(conn: &mut DbConn, municipality: OrganisationId) -> AppResult<i32> {
    Ok(organisations::table
        .find(municipality)
        .select(organisations::case_deadline_days)
        .first(conn)?)
}

/// The huvudman's administrator sets the default time for an investigation (1 to
/// `MAX_DEADLINE_DAYS` days from the decision).
pub fn set_deadline_days(
    conn: &mut DbConn,
    act: &Act,
    municipality: OrganisationId,
    days: i32,
) -> Checked<()> {
    if !(1..=MAX_DEADLINE_DAYS).contains(&days) {
        return Ok(Err(
            Refusal::new("case_deadline_days_range").with("max", MAX_DEADLINE_DAYS)
        ));
    }
    conn.transaction(|conn| {
        diesel::update(organisations::table.find(municipality))
            .set(organisations::case_deadline_days.eq(days))
            .execute(conn)?;
        let detail = json!({"days": days});
        audit::acted(
            conn,
            act,
            "case.deadline_days",
            "organisation",
            municipality,
            detail,
        )?;
        Ok(Ok(()))
    })
}

fn participants_of(conn: &mut DbConn, id: CaseId) -> AppResult<Vec<Participant>> {
    Ok(case_participants::table
        .inner_join(people::table.on(people::id.eq(case_participants::person_id)))
        .filter(case_participants::case_id.eq(id))
        .select((
            case_participants::person_id,
            people::given_name,
            people::family_name,
            case_participants::part,
        ))
        .order(case_participants::added_at)
        .load::<(PersonId, String, String, CasePart)>(conn)?
        .into_iter()
        .map(|(person, g, f, part)| Participant {
            person,
            name: crate::school::full_name(&g, &f),
            part,
        })
        .collect())
}

fn steps_of(conn: &mut DbConn, id: CaseId) -> AppResult<Vec<Step>> {
    Ok(case_steps::table
        .inner_join(people::table.on(people::id.eq(case_steps::written_by)))
        .filter(case_steps::case_id.eq(id))
        .select((
            case_steps::taken_on,
            case_steps::kind,
            case_steps::note,
            people::given_name,
            people::family_name,
        ))
        .order((case_steps::taken_on, case_steps::id))
        .load::<(NaiveDate, StepKind, String, String, String)>(conn)?
        .into_iter()
        .map(|(taken_on, kind, note, g, f)| Step {
            taken_on,
            kind,
            note,
            written_by: crate::school::full_name(&g, &f),
        })
        .collect())
}

/// The notes about health: the caller has checked the viewer may read them.
fn health_notes_of(conn: &mut DbConn, id: CaseId) -> AppResult<Vec<HealthNote>> {
    Ok(case_health_notes::table
        .inner_join(people::table.on(people::id.eq(case_health_notes::written_by)))
        .filter(case_health_notes::case_id.eq(id))
        .select((
            case_health_notes::note,
            people::given_name,
            people::family_name,
            case_health_notes::written_at,
        ))
        .order(case_health_notes::id)
        .load::<(String, String, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(note, g, f, written_at)| HealthNote {
            note,
            written_by: crate::school::full_name(&g, &f),
            written_at,
        })
        .collect())
}

fn report_of(conn: &mut DbConn, id: CaseId, today: NaiveDate) -> AppResult<Option<ReportState>> {
    let found = huvudman_reports::table
        .filter(huvudman_reports::case_id.eq(id))
        .select((
            huvudman_reports::id,
            huvudman_reports::status,
            huvudman_reports::officer_note,
            huvudman_reports::updated_at,
        ))
        .first::<(
            HuvudmanReportId,
            ReportStatus,
            Option<String>,
            NaiveDateTime,
        )>(conn)
        .optional()?;
    let Some((id, status, officer_note, updated_at)) = found else {
        return Ok(None);
    };
    Ok(Some(ReportState {
        id,
        status,
        officer_note,
        updated_at,
        updates: super::rounds::updates(conn, id)?,
        round: super::rounds::in_round(conn, id, today)?,
    }))
}

/// Everyone connected to the pupil who may take part: the pupil, their guardians, their
/// mentors today, and the principals and elevhälsan of the school.
fn connected(
    conn: &mut DbConn,
    pupil: PupilId,
    school: SchoolId,
    today: NaiveDate,
) -> AppResult<Vec<Participant>> {
    let mut out = Vec::new();
    let mut push = |rows: Vec<(PersonId, String, String)>, part: CasePart| {
        for (person, g, f) in rows {
            if !out.iter().any(|p: &Participant| p.person == person) {
                out.push(Participant {
                    person,
                    name: crate::school::full_name(&g, &f),
                    part,
                });
            }
        }
    };
    let me: Vec<(PersonId, String, String)> = people::table
        .find(pupil)
        .select((people::id, people::given_name, people::family_name))
        .load(conn)?;
    push(me, CasePart::Pupil);
    let guardians = guardianships::table
        .inner_join(people::table.on(people::id.eq(guardianships::guardian_id)))
        .filter(guardianships::pupil_id.eq(pupil))
        .filter(people::active.eq(true))
        .select((people::id, people::given_name, people::family_name))
        .order(people::family_name)
        .load(conn)?;
    push(guardians, CasePart::Guardian);
    let groups = group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .filter(crate::school::membership::on(today))
        .select(group_memberships::group_id.nullable());
    let mentors = duties::table
        .inner_join(people::table.on(people::id.eq(duties::person_id)))
        .filter(duties::role.eq(Role::Mentor))
        .filter(duties::group_id.eq_any(groups))
        .filter(crate::school::duty::on(today))
        .select((people::id, people::given_name, people::family_name))
        .order(people::family_name)
        .load(conn)?;
    push(mentors, CasePart::Mentor);
    for (role, part) in [
        (Role::Health, CasePart::Health),
        (Role::Principal, CasePart::Principal),
    ] {
        let staff = duties::table
            .inner_join(people::table.on(people::id.eq(duties::person_id)))
            .filter(duties::role.eq(role))
            .filter(duties::organisation_id.eq(school))
            .filter(crate::school::duty::on(today))
            .select((people::id, people::given_name, people::family_name))
            .order(people::family_name)
            .load(conn)?;
        push(staff, part);
    }
    Ok(out)
}

/// The principal's decision, as the form gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub decision: CaseDecision,
    pub decided_on: NaiveDate,
    /// investigate: when the investigation is to be done
    pub deadline: Option<NaiveDate>,
    /// not needed: why (the law asks for the reason)
    pub reason: String,
}

impl Decision {
    /// What is wrong with the decision, field by field.
    pub fn check(&self, opened: NaiveDate, today: NaiveDate) -> Result<(), Refusal> {
        if self.decided_on < opened || self.decided_on > today {
            return Err(Refusal::new("case_decided_on_range"));
        }
        match self.decision {
            CaseDecision::Investigate => match self.deadline {
                Some(d) if d >= self.decided_on => Ok(()),
                Some(_) => Err(Refusal::new("case_deadline_before_decision")),
                None => Err(Refusal::new("case_deadline_required")),
            },
            CaseDecision::NotNeeded => {
                text(&self.reason, Refusal::new("case_reason_required")).map(|_| ())
            }
        }
    }
}

/// A text of 1 to `MAX_TEXT` characters, trimmed; the refusal (told the most) otherwise.
fn text(raw: &str, refusal: Refusal) -> Result<&str, Refusal> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        Err(refusal.with("max", MAX_TEXT))
    } else {
        Ok(t)
    }
}

/// Only the principal of the case's school may do this (a 404 for those who do not reach
/// the case, a refusal for those who do).
fn principal_only(reach: CaseReach) -> Result<(), Refusal> {
    if reach == CaseReach::Principal {
        Ok(())
    } else {
        Err(Refusal::new("case_principal_only"))
    }
}

fn still_open(status: CaseStatus) -> Result<(), Refusal> {
    if status == CaseStatus::Open {
        Ok(())
    } else {
        Err(Refusal::new("case_closed"))
    }
}

/// Closes the case's signals: the rules may raise them again.
fn close_signals(conn: &mut DbConn, id: CaseId) -> QueryResult<usize> {
    diesel::update(signals::table.filter(signals::case_id.eq(Some(id))))
        .set(signals::status.eq(SignalStatus::Closed))
        .execute(conn)
}

/// Records the principal's decision, once. To investigate makes the report to the
/// huvudman; no investigation needed ends the case.
pub fn decide(conn: &mut DbConn, act: &Act, id: CaseId, d: &Decision) -> Checked<()> {
    conn.transaction(|conn| {
        let (pupil, school, status, reach) = in_reach(conn, act.actor, id, act.today)?;
        if let Err(r) = principal_only(reach).and_then(|_| still_open(status)) {
            return Ok(Err(r));
        }
        let opened: NaiveDateTime = absence_cases::table
            .find(id)
            .select(absence_cases::opened_at)
            .first(conn)?;
        let opened = opened.and_utc().with_timezone(&act.tz).date_naive();
        if let Err(r) = d.check(opened, act.today) {
            return Ok(Err(r));
        }
        let investigate = d.decision == CaseDecision::Investigate;
        let reason = (!investigate).then(|| d.reason.trim());
        let moved = diesel::update(
            absence_cases::table
                .find(id)
                .filter(absence_cases::decision.is_null()),
        )
        .set((
            absence_cases::decision.eq(Some(d.decision)),
            absence_cases::decided_on.eq(Some(d.decided_on)),
            absence_cases::decided_by.eq(Some(act.actor.id)),
            absence_cases::decision_reason.eq(reason),
            absence_cases::deadline.eq(if investigate { d.deadline } else { None }),
        ))
        .execute(conn)?;
        if moved == 0 {
            return Ok(Err(Refusal::new("case_already_decided")));
        }
        audit::acted(
            conn,
            act,
            "case.decided",
            "absence_case",
            id,
            json!({"pupil_id": pupil, "decision": d.decision.as_str()}),
        )?;
        if investigate {
            report_to_huvudman(conn, act, id, pupil, school, d.decided_on)?;
        } else {
            diesel::update(absence_cases::table.find(id))
                .set((
                    absence_cases::status.eq(CaseStatus::Closed),
                    absence_cases::closed_by.eq(Some(act.actor.id)),
                    absence_cases::closed_at.eq(Some(act.now)),
                ))
                .execute(conn)?;
            close_signals(conn, id)?;
        }
        Ok(Ok(()))
    })
}

/// The report of a started investigation to the huvudman: pupil, school, class, the date
/// it started and the responsible principal (the figures are the case's). Once per case.
fn report_to_huvudman(
    conn: &mut DbConn,
    act: &Act,
    id: CaseId,
    pupil: PupilId,
    school: SchoolId,
    started_on: NaiveDate,
) -> AppResult<()> {
    let huvudman: Option<OrganisationId> = organisations::table
        .find(school)
        .select(organisations::parent_id)
        .first(conn)?;
    let huvudman = huvudman.unwrap_or(OrganisationId::from(school));
    let class =
        crate::insight::statistics::overview::classes_on(conn, &[pupil], act.today)?.remove(&pupil);
    let values = (
        huvudman_reports::case_id.eq(id),
        huvudman_reports::organisation_id.eq(huvudman),
        huvudman_reports::school_id.eq(school),
        huvudman_reports::pupil_id.eq(pupil),
        huvudman_reports::class_name.eq(class),
        huvudman_reports::started_on.eq(started_on),
        huvudman_reports::principal_id.eq(act.actor.id),
        huvudman_reports::status.eq(ReportStatus::Open),
        huvudman_reports::created_at.eq(act.now),
        huvudman_reports::updated_at.eq(act.now),
    );
    let report: HuvudmanReportId = diesel::insert_into(huvudman_reports::table)
        .values(values)
        .returning(huvudman_reports::id)
        .get_result(conn)?;
    audit::acted(
        conn,
        act,
        "report.made",
        "huvudman_report",
        report,
        json!({"pupil_id": pupil, "case_id": id}),
    )?;
    Ok(())
}

/// Adds someone connected to the pupil to those who take part (principal or elevhälsan).
pub fn add_participant(conn: &mut DbConn, act: &Act, id: CaseId, person: PersonId) -> Checked<()> {
    conn.transaction(|conn| {
        let (pupil, school, status, reach) = in_reach(conn, act.actor, id, act.today)?;
        if reach == CaseReach::Mentor {
            return Ok(Err(Refusal::new("case_principal_or_health_only")));
        }
        if let Err(r) = still_open(status) {
            return Ok(Err(r));
        }
        let Some(p) = connected(conn, pupil, school, act.today)?
            .into_iter()
            .find(|c| c.person == person)
        else {
            return Ok(Err(Refusal::new("case_participant_not_connected")));
        };
        let added = on_backend!(conn, c => diesel::insert_into(case_participants::table)
            .values((
                case_participants::case_id.eq(id),
                case_participants::person_id.eq(person),
                case_participants::part.eq(p.part),
                case_participants::added_by.eq(act.actor.id),
                case_participants::added_at.eq(act.now),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        if added > 0 {
            let detail = json!({"pupil_id": pupil, "person_id": person, "part": p.part.as_str()});
            audit::acted(conn, act, "case.participant", "absence_case", id, detail)?;
        }
        Ok(Ok(()))
    })
}

/// A step taken, as the form gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStep {
    pub taken_on: NaiveDate,
    pub kind: StepKind,
    pub note: String,
}

/// Writes a step (the principal, elevhälsan, the mentor): a date not in the future and
/// not before the case, and a note.
pub fn add_step(conn: &mut DbConn, act: &Act, id: CaseId, s: &NewStep) -> Checked<()> {
    conn.transaction(|conn| {
        let (pupil, _, status, _) = in_reach(conn, act.actor, id, act.today)?;
        if let Err(r) = still_open(status) {
            return Ok(Err(r));
        }
        if s.taken_on > act.today || s.taken_on < act.today - Duration::days(366) {
            return Ok(Err(Refusal::new("case_step_date_range")));
        }
        let note = match text(&s.note, Refusal::new("case_note_required")) {
            Ok(n) => n,
            Err(r) => return Ok(Err(r)),
        };
        diesel::insert_into(case_steps::table)
            .values((
                case_steps::case_id.eq(id),
                case_steps::taken_on.eq(s.taken_on),
                case_steps::kind.eq(s.kind),
                case_steps::note.eq(note),
                case_steps::written_by.eq(act.actor.id),
                case_steps::written_at.eq(act.now),
            ))
            .execute(conn)?;
        // the note stays with the case, not in the log
        let detail = json!({"pupil_id": pupil, "kind": s.kind.as_str()});
        audit::acted(conn, act, "case.step", "absence_case", id, detail)?;
        Ok(Ok(()))
    })
}

/// Writes a note about health (the principal and elevhälsan only; a mentor who reaches
/// the case is refused).
pub fn add_health_note(conn: &mut DbConn, act: &Act, id: CaseId, note: &str) -> Checked<()> {
    conn.transaction(|conn| {
        let (pupil, _, status, reach) = in_reach(conn, act.actor, id, act.today)?;
        if !reach.reads_health() {
            return Ok(Err(Refusal::new("case_principal_or_health_only")));
        }
        if let Err(r) = still_open(status) {
            return Ok(Err(r));
        }
        let note = match text(note, Refusal::new("case_note_required")) {
            Ok(n) => n,
            Err(r) => return Ok(Err(r)),
        };
        diesel::insert_into(case_health_notes::table)
            .values((
                case_health_notes::case_id.eq(id),
                case_health_notes::note.eq(note),
                case_health_notes::written_by.eq(act.actor.id),
                case_health_notes::written_at.eq(act.now),
            ))
            .execute(conn)?;
        audit::acted(
            conn,
            act,
            "case.health_note",
            "absence_case",
            id,
            json!({"pupil_id": pupil}),
        )?;
        Ok(Ok(()))
    })
}

/// The conclusion of an investigation, as the form gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conclusion {
    pub conclusion: String,
    pub actions: String,
    pub follow_up_on: Option<NaiveDate>,
    pub special_support: bool,
}

/// Writes the conclusion, the actions decided and the follow-up date (the principal, once
/// the decision is to investigate; it may be written again while the case is open).
pub fn conclude(conn: &mut DbConn, act: &Act, id: CaseId, c: &Conclusion) -> Checked<()> {
    conn.transaction(|conn| {
        let (pupil, _, status, reach) = in_reach(conn, act.actor, id, act.today)?;
        if let Err(r) = principal_only(reach).and_then(|_| still_open(status)) {
            return Ok(Err(r));
        }
        let decided: Option<(CaseDecision, NaiveDate)> = absence_cases::table
            .find(id)
            .select((
                absence_cases::decision.assume_not_null(),
                absence_cases::decided_on.assume_not_null(),
            ))
            .filter(absence_cases::decision.eq(CaseDecision::Investigate))
            .first(conn)
            .optional()?;
        let Some((_, decided_on)) = decided else {
            return Ok(Err(Refusal::new("case_decide_first")));
        };
        let conclusion = match text(&c.conclusion, Refusal::new("case_conclusion_required")) {
            Ok(t) => t,
            Err(r) => return Ok(Err(r)),
        };
        let actions = c.actions.trim();
        if actions.chars().count() > MAX_TEXT {
            return Ok(Err(Refusal::new("case_text_too_long").with("max", MAX_TEXT)));
        }
        if c.follow_up_on.is_some_and(|f| f < decided_on) {
            return Ok(Err(Refusal::new("case_follow_up_before_decision")));
        }
        diesel::update(absence_cases::table.find(id))
            .set((
                absence_cases::conclusion.eq(Some(conclusion)),
                absence_cases::actions.eq((!actions.is_empty()).then_some(actions)),
                absence_cases::follow_up_on.eq(c.follow_up_on),
                absence_cases::special_support.eq(c.special_support),
            ))
            .execute(conn)?;
        let detail = json!({"pupil_id": pupil, "special_support": c.special_support});
        audit::acted(conn, act, "case.concluded", "absence_case", id, detail)?;
        Ok(Ok(()))
    })
}

/// Closes the case with an outcome (the principal, once concluded). Its signals close
/// too, so the rules may raise them again.
pub fn close(
    conn: &mut DbConn,
    act: &Act,
    id: CaseId,
    outcome: Option<CaseOutcome>,
) -> Checked<()> {
    conn.transaction(|conn| {
        let (pupil, _, status, reach) = in_reach(conn, act.actor, id, act.today)?;
        if let Err(r) = principal_only(reach).and_then(|_| still_open(status)) {
            return Ok(Err(r));
        }
        let Some(outcome) = outcome else {
            return Ok(Err(Refusal::new("case_outcome_required")));
        };
        let concluded: Option<String> = absence_cases::table
            .find(id)
            .select(absence_cases::conclusion)
            .first(conn)?;
        if concluded.is_none() {
            return Ok(Err(Refusal::new("case_conclude_first")));
        }
        let moved = diesel::update(
            absence_cases::table
                .find(id)
                .filter(absence_cases::status.eq(CaseStatus::Open)),
        )
        .set((
            absence_cases::status.eq(CaseStatus::Closed),
            absence_cases::outcome.eq(Some(outcome)),
            absence_cases::closed_by.eq(Some(act.actor.id)),
            absence_cases::closed_at.eq(Some(act.now)),
        ))
        .execute(conn)?;
        if moved == 0 {
            return Ok(Err(Refusal::new("case_closed")));
        }
        close_signals(conn, id)?;
        let detail = json!({"pupil_id": pupil, "outcome": outcome.as_str()});
        audit::acted(conn, act, "case.closed", "absence_case", id, detail)?;
        Ok(Ok(()))
    })
}

/// A case in a list.
#[derive(Debug, Clone, Serialize)]
pub struct CaseLine {
    pub id: CaseId,
    pub pupil: PupilId,
    pub name: String,
    pub school: String,
    pub status: CaseStatus,
    pub opened_at: NaiveDateTime,
    pub decision: Option<CaseDecision>,
    pub deadline: Option<NaiveDate>,
    pub overdue: bool,
}

type LineRow = (
    CaseId,
    PupilId,
    CaseStatus,
    NaiveDateTime,
    Option<CaseDecision>,
    Option<NaiveDate>,
    Option<String>,
    String,
    String,
    String,
);

/// The open cases the viewer reaches (the schools they lead or are elevhälsa of, the
/// pupils they mentor), overdue first, then by deadline.
pub fn open_for_viewer(
    conn: &mut DbConn,
    v: &Viewer,
    today: NaiveDate,
) -> AppResult<Vec<CaseLine>> {
    if !works_cases(v) {
        return Ok(Vec::new());
    }
    let r = &v.roles;
    let schools: Vec<SchoolId> = r
        .principal_of
        .iter()
        .chain(r.health_of.iter())
        .copied()
        .collect();
    let mentored = group_memberships::table
        .filter(group_memberships::group_id.eq_any(r.mentor_of.clone()))
        .filter(crate::school::membership::on(today))
        .select(group_memberships::pupil_id);
    let rows: Vec<LineRow> = absence_cases::table
        .inner_join(people::table.on(people::id.eq(absence_cases::pupil_id)))
        .inner_join(organisations::table.on(organisations::id.eq(absence_cases::school_id)))
        .filter(absence_cases::status.eq(CaseStatus::Open))
        .filter(
            absence_cases::school_id
                .eq_any(schools)
                .or(absence_cases::pupil_id.eq_any(mentored)),
        )
        .select((
            absence_cases::id,
            absence_cases::pupil_id,
            absence_cases::status,
            absence_cases::opened_at,
            absence_cases::decision,
            absence_cases::deadline,
            absence_cases::conclusion,
            people::given_name,
            people::family_name,
            organisations::name,
        ))
        .order(absence_cases::id)
        .limit(1000)
        .load(conn)?;
    let mut out: Vec<CaseLine> = rows
        .into_iter()
        .map(
            |(id, pupil, status, opened_at, decision, deadline, conclusion, g, f, school)| {
                CaseLine {
                    id,
                    pupil,
                    name: crate::school::full_name(&g, &f),
                    school,
                    status,
                    opened_at,
                    decision,
                    deadline,
                    overdue: overdue(status, decision, &conclusion, deadline, today),
                }
            },
        )
        .collect();
    out.sort_by_key(|l| (!l.overdue, l.deadline.unwrap_or(NaiveDate::MAX), l.id));
    Ok(out)
}

/// How many investigations of the schools the viewer leads are past their deadline
/// without a conclusion (the principal's start page): one count.
pub fn overdue_for_principal(conn: &mut DbConn, v: &Viewer, today: NaiveDate) -> AppResult<i64> {
    if v.roles.principal_of.is_empty() {
        return Ok(0);
    }
    Ok(absence_cases::table
        .filter(absence_cases::school_id.eq_any(v.roles.principal_of.clone()))
        .filter(absence_cases::status.eq(CaseStatus::Open))
        .filter(absence_cases::decision.eq(CaseDecision::Investigate))
        .filter(absence_cases::conclusion.is_null())
        .filter(absence_cases::deadline.lt(today))
        .count()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_decision_names_what_is_wrong_with_it() {
        let (opened, today) = (d("2026-12-01"), d("2026-12-04"));
        let ok = Decision {
            decision: CaseDecision::Investigate,
            decided_on: d("2026-12-02"),
            deadline: Some(d("2026-12-23")),
            reason: String::new(),
        };
        assert_eq!(ok.check(opened, today), Ok(()));
        let code = |x: Decision| x.check(opened, today).unwrap_err().code;
        assert_eq!(
            code(Decision {
                deadline: Some(d("2026-12-01")),
                ..ok.clone()
            }),
            "case_deadline_before_decision"
        );
        assert_eq!(
            code(Decision {
                deadline: None,
                ..ok.clone()
            }),
            "case_deadline_required"
        );
        assert_eq!(
            code(Decision {
                decided_on: d("2026-12-05"),
                ..ok.clone()
            }),
            "case_decided_on_range"
        );
        assert_eq!(
            code(Decision {
                decided_on: d("2026-11-30"),
                ..ok.clone()
            }),
            "case_decided_on_range"
        );
        let not_needed = Decision {
            decision: CaseDecision::NotNeeded,
            deadline: None,
            reason: "  ".into(),
            ..ok.clone()
        };
        assert_eq!(code(not_needed.clone()), "case_reason_required");
        assert_eq!(
            Decision {
                reason: "Frånvaron gäller en planerad operation.".into(),
                ..not_needed
            }
            .check(opened, today),
            Ok(())
        );
    }

    #[test]
    fn a_case_is_overdue_past_its_deadline_until_concluded() {
        let today = d("2026-12-10");
        let inv = Some(CaseDecision::Investigate);
        assert!(overdue(
            CaseStatus::Open,
            inv,
            &None,
            Some(d("2026-12-09")),
            today
        ));
        assert!(!overdue(CaseStatus::Open, inv, &None, Some(today), today));
        assert!(!overdue(
            CaseStatus::Open,
            inv,
            &Some("klar".into()),
            Some(d("2026-12-09")),
            today
        ));
        assert!(!overdue(
            CaseStatus::Closed,
            inv,
            &None,
            Some(d("2026-12-01")),
            today
        ));
        assert!(!overdue(CaseStatus::Open, None, &None, None, today));
    }
}
