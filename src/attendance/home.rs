//! What a person's start page shows: their children (today and this term), themself as an
//! adult pupil, their schools, and what they follow up.

use diesel::prelude::*;

use crate::auth::Viewer;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::*;
use crate::school::absence::TodayState;
use crate::school::ids::{GroupId, LeaveId, PupilId, SchoolId};

/// A child on the guardian's start page.
pub struct ChildCard {
    pub id: PupilId,
    pub name: String,
    pub today: TodayState,
    pub term_pct: f64,
    pub invalid_minutes: i64,
    /// Leave decided in the last two weeks: (first day, last day, approved).
    pub recent_decisions: Vec<(chrono::NaiveDate, chrono::NaiveDate, bool)>,
    /// Another guardian's applications waiting for this guardian's answer: (id, first
    /// day, last day).
    pub to_answer: Vec<(LeaveId, chrono::NaiveDate, chrono::NaiveDate)>,
}

/// What the start page shows a signed-in person.
pub struct Home {
    pub given_name: String,
    pub children: Vec<ChildCard>,
    pub pupil_self: Option<PupilId>,
    /// (id, name, whether the viewer handles the school's day: principal or office)
    pub schools: Vec<(SchoolId, String, bool)>,
    pub admin: bool,
    /// a principal or mentor: follows up notices and leave
    pub follows_up: bool,
    /// a principal: the school's statistics
    pub principal: bool,
    /// leave applications waiting for this principal or mentor
    pub pending_leave: usize,
    /// new early signals of absence for this principal or mentor
    pub new_signals: i64,
    /// works absence investigations: a principal, a mentor or a member of elevhälsan
    pub cases: bool,
    /// the principal's investigations past their deadline without a conclusion
    pub overdue_cases: i64,
    /// the principal's reports the huvudman's round under way waits for
    pub reports_to_update: usize,
    /// the huvudman's case officer: the inbox of reports
    pub officer: bool,
}

impl Home {
    pub fn load(
        conn: &mut DbConn,
        v: &Viewer,
        today: chrono::NaiveDate,
        tz: chrono_tz::Tz,
        now_utc: chrono::NaiveDateTime,
    ) -> AppResult<Home> {
        let r = &v.roles;
        let kids = people::table
            .filter(people::id.eq_any(&r.children))
            .select((people::id, people::given_name, people::family_name))
            .order(people::given_name)
            .load::<(PupilId, String, String)>(conn)?;
        let mut children = Vec::new();
        for (id, g, f) in kids {
            let term = crate::attendance::weeks::period_rows(
                conn,
                vec![(id, g.clone(), f.clone())],
                crate::school::calendar::term_start(today),
                today,
                tz,
            )?
            .pop();
            let recent_decisions = leave_applications::table
                .filter(leave_applications::pupil_id.eq(id))
                .filter(leave_applications::decided_at.gt(now_utc - chrono::Duration::days(14)))
                .filter(leave_applications::status.eq_any([
                    crate::school::states::LeaveStatus::Approved,
                    crate::school::states::LeaveStatus::Rejected,
                ]))
                .select((
                    leave_applications::start_date,
                    leave_applications::end_date,
                    leave_applications::status,
                ))
                .order(leave_applications::decided_at.desc())
                .load::<(
                    chrono::NaiveDate,
                    chrono::NaiveDate,
                    crate::school::states::LeaveStatus,
                )>(conn)?
                .into_iter()
                .map(|(s, e, st)| (s, e, st == crate::school::states::LeaveStatus::Approved))
                .collect();
            let to_answer = leave_confirmations::table
                .inner_join(
                    leave_applications::table
                        .on(leave_applications::id.eq(leave_confirmations::leave_id)),
                )
                .filter(leave_applications::pupil_id.eq(id))
                .filter(leave_confirmations::guardian_id.eq(v.id))
                .filter(leave_confirmations::answer.eq("waiting"))
                .filter(
                    leave_applications::status
                        .eq(crate::school::states::LeaveStatus::AwaitingGuardian),
                )
                .select((
                    leave_applications::id,
                    leave_applications::start_date,
                    leave_applications::end_date,
                ))
                .order(leave_applications::start_date)
                .load(conn)?;
            children.push(ChildCard {
                recent_decisions,
                to_answer,
                id,
                name: format!("{g} {f}"),
                today: crate::school::absence::today_state(conn, id, today, tz)?,
                term_pct: term.as_ref().map_or(0.0, |t| t.absence_pct()),
                invalid_minutes: term.map_or(0, |t| t.invalid_minutes),
            });
        }
        let mut school_ids = r.principal_of.clone();
        school_ids.extend(&r.office_of);
        school_ids.extend(&r.teacher_at);
        let schools = organisations::table
            .filter(organisations::id.eq_any(&school_ids))
            .select((organisations::id, organisations::name))
            .order(organisations::name)
            .load::<(SchoolId, String)>(conn)?
            .into_iter()
            .map(|(id, name)| {
                let office = r.principal_of.contains(&id) || r.office_of.contains(&id);
                (id, name, office)
            })
            .collect();
        let follows_up = !r.principal_of.is_empty() || !r.mentor_of.is_empty();
        let pending_leave = if follows_up {
            crate::attendance::leave_application::pending_for(conn, v, today)?
                .iter()
                .filter(|p| p.waits_on_viewer)
                .count()
        } else {
            0
        };
        let new_signals = crate::follow_up::signals::new_for(conn, v, today)?;
        let overdue_cases = crate::follow_up::cases::overdue_for_principal(conn, v, today)?;
        let reports_to_update =
            crate::follow_up::rounds::waiting_for_principal(conn, v, today)?.len();
        Ok(Home {
            new_signals,
            cases: follows_up || !r.health_of.is_empty(),
            overdue_cases,
            reports_to_update,
            officer: !r.officer_of.is_empty(),
            given_name: v.given_name.clone(),
            children,
            pupil_self: v.as_pupil(),
            schools,
            admin: r.is_admin(),
            follows_up,
            principal: !r.principal_of.is_empty(),
            pending_leave,
        })
    }

    /// Nothing to show: a person with no child, no school and no duty.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.pupil_self.is_none()
            && self.schools.is_empty()
            && !self.admin
            && !self.cases
            && !self.officer
    }
}

/// The schools these groups belong to, each once.
pub fn schools_of_groups(conn: &mut DbConn, groups: &[GroupId]) -> AppResult<Vec<SchoolId>> {
    Ok(groups::table
        .filter(groups::id.eq_any(groups))
        .select(groups::school_id)
        .distinct()
        .load(conn)?)
}

/// Children enrolled at a school, by id: (id, given name, family name, school).
pub fn children(
    conn: &mut DbConn,
    ids: &[PupilId],
) -> AppResult<Vec<(PupilId, String, String, SchoolId)>> {
    Ok(people::table
        .filter(people::id.eq_any(ids))
        .filter(people::school_id.is_not_null())
        .select((
            people::id,
            people::given_name,
            people::family_name,
            people::school_id.assume_not_null(),
        ))
        .order(people::id)
        .load(conn)?)
}
