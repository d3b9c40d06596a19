//! Both guardians (issue 39): where the huvudman's rules (or a school's) say so, an
//! application from one guardian waits for the pupil's other guardians before it goes to
//! the school. Each of them gets a message and answers after signing in: a confirmation
//! (the last one sends the application on to the mentor and the decider) or a decline,
//! which ends the application with the reason shown to the guardian who applied.
//!
//! A guardian who cannot be reached (no e-mail address or telephone number) or has a
//! protected identity is shown to the school as such; the principal or the pupil's mentor
//! records an answer given by telephone, audited with who recorded it.
//!
//! Every step takes the pupil's lock and moves the application only from the state it
//! expects, so two guardians answering and withdrawing at the same moment end in one state.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::auth::access::{self, PupilReach};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code, Refusal};
use crate::schema::*;
use crate::school::ids::{LeaveId, PersonId, PupilId};
use crate::school::states::LeaveStatus;
use crate::school::Act;

crate::text_enum!(
    /// A guardian's answer to another guardian's application (`leave_confirmations.answer`).
    Answer {
        Waiting => "waiting",
        Confirmed => "confirmed",
        Declined => "declined",
    }
);

/// The longest comment with a decline.
pub const MAX_COMMENT: usize = 500;

/// One guardian an application waits (or waited) for, as the school and the family see
/// them.
#[derive(Debug, Clone, Serialize)]
pub struct Awaited {
    pub leave: LeaveId,
    pub guardian: PersonId,
    pub given_name: String,
    pub family_name: String,
    pub answer: Answer,
    /// why they declined, as they wrote it (shown to the guardian who applied)
    pub comment: Option<String>,
    /// no valid e-mail address and no telephone number: no message reaches them
    pub unreachable: bool,
    /// a protected identity: the school reaches them only through its own channel
    pub protected: bool,
    /// the answer was given by telephone and recorded by staff
    pub by_phone: bool,
}

/// The pupil's other guardians an application by `applicant` waits for: every active
/// guardian but the applicant.
pub fn others(conn: &mut DbConn, pupil: PupilId, applicant: PersonId) -> AppResult<Vec<PersonId>> {
    Ok(guardianships::table
        .inner_join(people::table.on(people::id.eq(guardianships::guardian_id)))
        .filter(guardianships::pupil_id.eq(pupil))
        .filter(guardianships::guardian_id.ne(applicant))
        .filter(people::active.eq(true))
        .select(people::id)
        .order(people::id)
        .load(conn)?)
}

/// Asks each of `others` to confirm the application just made (in its transaction): a row
/// each, waiting, and a message.
pub fn ask(
    conn: &mut DbConn,
    pupil: PupilId,
    leave: LeaveId,
    others: &[PersonId],
    now: chrono::NaiveDateTime,
) -> AppResult<()> {
    for g in others {
        diesel::insert_into(leave_confirmations::table)
            .values((
                leave_confirmations::leave_id.eq(leave),
                leave_confirmations::guardian_id.eq(g),
                leave_confirmations::answer.eq(Answer::Waiting),
            ))
            .execute(conn)?;
        crate::notices::leave_confirmation(conn, pupil, leave, *g, now)?;
    }
    Ok(())
}

/// A comment with a decline: blank is none, more than [`MAX_COMMENT`] characters refused.
fn checked_comment(comment: Option<&str>) -> AppResult<Option<String>> {
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT) {
        return Err(AppError::invalid(
            Code::CommentTooLong,
            Refusal::new("comment_most_500_characters"),
        ));
    }
    Ok(comment.map(str::to_string))
}

/// The pupil an application is about, when the viewer may see them (404 otherwise).
fn pupil_of(conn: &mut DbConn, act: &Act, leave: LeaveId) -> AppResult<access::PupilRef> {
    let pupil: PupilId = leave_applications::table
        .find(leave)
        .select(leave_applications::pupil_id)
        .first(conn)?;
    access::pupil(conn, act.actor, pupil, act.today)
}

/// Whether the application asks `guardian`.
fn asks(conn: &mut DbConn, leave: LeaveId, guardian: PersonId) -> AppResult<bool> {
    let n: i64 = leave_confirmations::table
        .filter(leave_confirmations::leave_id.eq(leave))
        .filter(leave_confirmations::guardian_id.eq(guardian))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A guardian's own answer to an application that waits for them.
pub fn answer(
    conn: &mut DbConn,
    act: &Act,
    leave: LeaveId,
    confirmed: bool,
    comment: Option<&str>,
) -> AppResult<PupilId> {
    let pupil = pupil_of(conn, act, leave)?;
    if pupil.reach != PupilReach::Guardian {
        return Err(AppError::NotFound);
    }
    if !asks(conn, leave, act.actor.id)? {
        return Err(AppError::NotFound);
    }
    let comment = checked_comment(comment)?;
    settle(
        conn,
        act,
        (pupil.id, leave, act.actor.id),
        confirmed,
        comment,
        false,
    )?;
    Ok(pupil.id)
}

/// An answer a guardian gave by telephone, recorded by the pupil's principal or mentor.
pub fn record_by_phone(
    conn: &mut DbConn,
    act: &Act,
    leave: LeaveId,
    guardian: PersonId,
    confirmed: bool,
    comment: Option<&str>,
) -> AppResult<PupilId> {
    let pupil = pupil_of(conn, act, leave)?;
    let principal = pupil.reach == PupilReach::Principal;
    if !principal && !mentors(conn, act.actor, pupil.id, act.today)? {
        return Err(AppError::Forbidden(
            Refusal::new("leave_phone_answer_staff").into(),
        ));
    }
    if !asks(conn, leave, guardian)? {
        return Err(AppError::invalid(
            Code::BadParameter,
            Refusal::new("choose_guardian_application_waits"),
        ));
    }
    let comment = checked_comment(comment)?;
    settle(
        conn,
        act,
        (pupil.id, leave, guardian),
        confirmed,
        comment,
        true,
    )?;
    Ok(pupil.id)
}

/// The answer, under the pupil's lock: only while the application waits and the guardian
/// has not answered; the last confirmation sends it on, a decline ends it.
fn settle(
    conn: &mut DbConn,
    act: &Act,
    (pupil, leave, guardian): (PupilId, LeaveId, PersonId),
    confirmed: bool,
    comment: Option<String>,
    by_phone: bool,
) -> AppResult<()> {
    let now = act.now;
    conn.write_transaction(|conn| {
        conn.lock_person(pupil)?;
        let status: LeaveStatus = leave_applications::table
            .find(leave)
            .select(leave_applications::status)
            .first(conn)?;
        if status != LeaveStatus::AwaitingGuardian {
            return Err(not_awaiting());
        }
        let answer = if confirmed {
            Answer::Confirmed
        } else {
            Answer::Declined
        };
        let moved = diesel::update(
            leave_confirmations::table
                .filter(leave_confirmations::leave_id.eq(leave))
                .filter(leave_confirmations::guardian_id.eq(guardian))
                .filter(leave_confirmations::answer.eq(Answer::Waiting)),
        )
        .set((
            leave_confirmations::answer.eq(answer),
            leave_confirmations::comment.eq(&comment),
            leave_confirmations::answered_at.eq(now),
            leave_confirmations::by_phone.eq(by_phone.then_some(act.actor.id)),
        ))
        .execute(conn)?;
        if moved == 0 {
            return Err(AppError::Conflict {
                code: Code::LeaveAlreadyAnswered,
                message: Refusal::new("leave_already_answered").into(),
            });
        }
        let waiting: i64 = leave_confirmations::table
            .filter(leave_confirmations::leave_id.eq(leave))
            .filter(leave_confirmations::answer.eq(Answer::Waiting))
            .count()
            .get_result(conn)?;
        let next = match (confirmed, waiting) {
            (false, _) => Some(LeaveStatus::Declined),
            (true, 0) => Some(LeaveStatus::Pending),
            (true, _) => None,
        };
        if let Some(next) = next {
            let moved = diesel::update(
                leave_applications::table
                    .find(leave)
                    .filter(leave_applications::status.eq(LeaveStatus::AwaitingGuardian)),
            )
            .set(leave_applications::status.eq(next))
            .execute(conn)?;
            if moved == 0 {
                return Err(not_awaiting());
            }
        }
        if !confirmed {
            let applicant: PersonId = leave_applications::table
                .find(leave)
                .select(leave_applications::applied_by)
                .first(conn)?;
            crate::notices::leave_declined(conn, pupil, leave, applicant, now)?;
        }
        let action = match (confirmed, by_phone) {
            (true, false) => "leave.confirmed",
            (false, false) => "leave.declined",
            (true, true) => "leave.confirmed_by_phone",
            (false, true) => "leave.declined_by_phone",
        };
        let detail = json!({"guardian_id": guardian, "next": next});
        audit::acted(conn, act, action, "leave_application", leave, detail)?;
        Ok(())
    })
}

fn not_awaiting() -> AppError {
    AppError::Conflict {
        code: Code::LeaveNotAwaiting,
        message: Refusal::new("leave_not_awaiting").into(),
    }
}

/// The guardian who applied (or the adult pupil) takes the application back while it
/// waits for the other guardians or for the decision.
pub fn withdraw(conn: &mut DbConn, act: &Act, leave: LeaveId) -> AppResult<PupilId> {
    let pupil = pupil_of(conn, act, leave)?;
    if !matches!(pupil.reach, PupilReach::Guardian | PupilReach::Myself) {
        return Err(AppError::NotFound);
    }
    let applicant: PersonId = leave_applications::table
        .find(leave)
        .select(leave_applications::applied_by)
        .first(conn)?;
    if applicant != act.actor.id {
        return Err(AppError::Forbidden(
            Refusal::new("leave_withdraw_applicant").into(),
        ));
    }
    conn.write_transaction(|conn| {
        conn.lock_person(pupil.id)?;
        let moved = diesel::update(
            leave_applications::table.find(leave).filter(
                leave_applications::status
                    .eq_any([LeaveStatus::AwaitingGuardian, LeaveStatus::Pending]),
            ),
        )
        .set(leave_applications::status.eq(LeaveStatus::Withdrawn))
        .execute(conn)?;
        if moved == 0 {
            return Err(AppError::Conflict {
                code: Code::AlreadyDecided,
                message: Refusal::new("leave_cannot_withdraw").into(),
            });
        }
        audit::acted(
            conn,
            act,
            "leave.withdrawn",
            "leave_application",
            leave,
            json!({}),
        )?;
        Ok(pupil.id)
    })
}

/// The guardians the applications ask, with their answers, by application.
pub fn awaited(conn: &mut DbConn, leaves: &[LeaveId]) -> AppResult<Vec<Awaited>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        LeaveId,
        PersonId,
        String,
        String,
        Answer,
        Option<String>,
        Option<PersonId>,
        Option<String>,
        Option<String>,
        String,
    )> = leave_confirmations::table
        .inner_join(people::table.on(people::id.eq(leave_confirmations::guardian_id)))
        .filter(leave_confirmations::leave_id.eq_any(leaves))
        .select((
            leave_confirmations::leave_id,
            people::id,
            people::given_name,
            people::family_name,
            leave_confirmations::answer,
            leave_confirmations::comment,
            leave_confirmations::by_phone,
            people::email,
            people::phone,
            people::security_marking,
        ))
        .order((leave_confirmations::leave_id, people::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                leave,
                guardian,
                given_name,
                family_name,
                answer,
                comment,
                by,
                email,
                phone,
                marking,
            )| {
                let addressed = email
                    .as_deref()
                    .is_some_and(|e| crate::mail::Email::parse(e).is_some());
                Awaited {
                    leave,
                    guardian,
                    given_name,
                    family_name,
                    answer,
                    comment,
                    unreachable: !addressed && phone.is_none(),
                    protected: marking != "none",
                    by_phone: by.is_some(),
                }
            },
        )
        .collect())
}

/// Whether the viewer mentors a class or mentor group the pupil is in today.
pub fn mentors(
    conn: &mut DbConn,
    v: &crate::auth::Viewer,
    pupil: PupilId,
    today: chrono::NaiveDate,
) -> AppResult<bool> {
    if v.roles.mentor_of.is_empty() {
        return Ok(false);
    }
    let n: i64 = group_memberships::table
        .filter(group_memberships::pupil_id.eq(pupil))
        .filter(group_memberships::group_id.eq_any(&v.roles.mentor_of))
        .filter(crate::school::membership::on(today))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The guardian's own row of an application that asks them, with the pupil (404 for
/// anyone it does not ask).
pub fn asked(
    conn: &mut DbConn,
    act: &Act,
    leave: LeaveId,
) -> AppResult<(access::PupilRef, Awaited)> {
    let pupil = pupil_of(conn, act, leave)?;
    if pupil.reach != PupilReach::Guardian {
        return Err(AppError::NotFound);
    }
    let mine = awaited(conn, &[leave])?
        .into_iter()
        .find(|a| a.guardian == act.actor.id)
        .ok_or(AppError::NotFound)?;
    Ok((pupil, mine))
}
