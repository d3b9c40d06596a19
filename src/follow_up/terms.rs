//! Closing a term (issue 38): once its term report is checked, the huvudman closes a
//! school's term. A closed term's marks change only by the school's principal, with a
//! reason, and each such change is kept for the huvudman to see; the huvudman can reopen
//! the term, with a reason. At most one closing of a school's term is in force, which the
//! database keeps (a partial unique index), so two administrators closing at once close it
//! once.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::audit;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, Code};
use crate::insight::term_report::Term;
use crate::on_backend;
use crate::schema::*;
use crate::school::ids::{LessonId, PersonId, SchoolId};
use crate::school::{Act, Refusal};

/// A closing in force: its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosingId(pub i64);

/// The closing in force of the term `date` falls in at `school`, if any.
pub fn closed_on(
    conn: &mut DbConn,
    school: SchoolId,
    date: NaiveDate,
) -> AppResult<Option<ClosingId>> {
    Ok(term_closings::table
        .filter(term_closings::school_id.eq(school))
        .filter(term_closings::term_start.eq(Term::of(date).first_day()))
        .filter(term_closings::reopened_at.is_null())
        .select(term_closings::id)
        .first::<i64>(conn)
        .optional()?
        .map(ClosingId))
}

/// Refuses a change to attendance on the days from `first` to `last` at the school (an
/// absence report registered or withdrawn, a leave decided) when a term they touch is
/// closed: the figures the huvudman delivered stay as delivered. The principal corrects a
/// closed term in the lessons' roll calls, with a reason, which the huvudman sees; or the
/// huvudman reopens it.
pub fn refuse_if_closed(
    conn: &mut DbConn,
    school: SchoolId,
    first: NaiveDate,
    last: NaiveDate,
) -> AppResult<()> {
    let mut starts = Vec::new();
    let mut term = Term::of(first);
    while term.first_day() <= last {
        starts.push(term.first_day());
        term = term.next();
    }
    let closed: i64 = term_closings::table
        .filter(term_closings::school_id.eq(school))
        .filter(term_closings::term_start.eq_any(starts))
        .filter(term_closings::reopened_at.is_null())
        .count()
        .get_result(conn)?;
    if closed > 0 {
        return Err(AppError::conflict(
            Code::TermClosed,
            Refusal::new("term_closed_period"),
        ));
    }
    Ok(())
}

/// The longest reason kept.
pub const MAX_REASON: usize = 500;

fn reason_of(raw: &str) -> AppResult<String> {
    let r = raw.trim();
    if r.is_empty() {
        return Err(AppError::invalid(
            Code::ReasonRequired,
            Refusal::new("term_reason_required"),
        ));
    }
    if r.chars().count() > MAX_REASON {
        return Err(AppError::invalid(
            Code::CommentTooLong,
            Refusal::new("term_reason_too_long").with("max", MAX_REASON),
        ));
    }
    Ok(r.to_string())
}

/// Closes the term at the school; `problems` is what the check found then. A term that has
/// not ended cannot be closed, and one already closed answers 409.
pub fn close(
    conn: &mut DbConn,
    act: &Act,
    school: SchoolId,
    term: Term,
    problems: i64,
) -> AppResult<()> {
    if term.last_day() >= act.today {
        return Err(AppError::invalid(
            Code::TermNotEnded,
            Refusal::new("term_not_ended"),
        ));
    }
    conn.transaction(|conn| {
        // the unique index answers a second closing; ON CONFLICT keeps the transaction
        // usable on PostgreSQL
        let values = (
            term_closings::school_id.eq(school),
            term_closings::term_start.eq(term.first_day()),
            term_closings::closed_at.eq(act.now),
            term_closings::closed_by.eq(act.actor.id),
            term_closings::problems.eq(i32::try_from(problems).unwrap_or(i32::MAX)),
        );
        let inserted = on_backend!(conn, c => diesel::insert_into(term_closings::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(c))?;
        if inserted == 0 {
            return Err(AppError::conflict(
                Code::TermClosed,
                Refusal::new("term_already_closed"),
            ));
        }
        audit::acted(
            conn,
            act,
            "term.closed",
            "organisation",
            school,
            json!({"term": term.code(), "problems": problems}),
        )?;
        Ok(())
    })
}

/// Reopens the closed term at the school, with a reason; one not closed is a 409.
pub fn reopen(
    conn: &mut DbConn,
    act: &Act,
    school: SchoolId,
    term: Term,
    reason: &str,
) -> AppResult<()> {
    let reason = reason_of(reason)?;
    conn.transaction(|conn| {
        let n = diesel::update(
            term_closings::table
                .filter(term_closings::school_id.eq(school))
                .filter(term_closings::term_start.eq(term.first_day()))
                .filter(term_closings::reopened_at.is_null()),
        )
        .set((
            term_closings::reopened_at.eq(act.now),
            term_closings::reopened_by.eq(act.actor.id),
            term_closings::reopen_reason.eq(&reason),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::conflict(
                Code::TermNotClosed,
                Refusal::new("term_not_closed"),
            ));
        }
        audit::acted(
            conn,
            act,
            "term.reopened",
            "organisation",
            school,
            json!({"term": term.code(), "reason": reason}),
        )?;
        Ok(())
    })
}

/// A change to a closed term's marks: who, when, on which lesson, why.
pub fn record_change(
    conn: &mut DbConn,
    closing: ClosingId,
    lesson: LessonId,
    by: PersonId,
    at: NaiveDateTime,
    marks: usize,
    reason: &str,
) -> AppResult<()> {
    diesel::insert_into(closed_term_changes::table)
        .values((
            closed_term_changes::closing_id.eq(closing.0),
            closed_term_changes::lesson_id.eq(lesson),
            closed_term_changes::changed_by.eq(by),
            closed_term_changes::changed_at.eq(at),
            closed_term_changes::marks.eq(i32::try_from(marks).unwrap_or(i32::MAX)),
            closed_term_changes::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// A school's closing of a term, for the huvudman's page.
#[derive(Debug, Clone)]
pub struct Closing {
    pub school: SchoolId,
    pub closed_at: NaiveDateTime,
    pub closed_by: String,
    pub problems: i32,
}

/// The closings in force of the term at the schools.
pub fn closings(conn: &mut DbConn, schools: &[SchoolId], term: Term) -> AppResult<Vec<Closing>> {
    let rows: Vec<(SchoolId, NaiveDateTime, String, String, i32)> = term_closings::table
        .inner_join(people::table.on(people::id.eq(term_closings::closed_by)))
        .filter(term_closings::school_id.eq_any(schools))
        .filter(term_closings::term_start.eq(term.first_day()))
        .filter(term_closings::reopened_at.is_null())
        .select((
            term_closings::school_id,
            term_closings::closed_at,
            people::given_name,
            people::family_name,
            term_closings::problems,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(school, closed_at, given, family, problems)| Closing {
            school,
            closed_at,
            closed_by: format!("{given} {family}"),
            problems,
        })
        .collect())
}

/// A change made to a closed term.
#[derive(Debug, Clone)]
pub struct Change {
    pub school: SchoolId,
    pub lesson_date: NaiveDate,
    pub subject: String,
    pub changed_at: NaiveDateTime,
    pub changed_by: String,
    pub marks: i32,
    pub reason: String,
}

/// Every change made to the term at the schools while it was closed (reopened or not),
/// newest first.
pub fn changes(conn: &mut DbConn, schools: &[SchoolId], term: Term) -> AppResult<Vec<Change>> {
    type Line = (
        SchoolId,
        NaiveDate,
        String,
        NaiveDateTime,
        String,
        String,
        i32,
        String,
    );
    let rows: Vec<Line> = closed_term_changes::table
        .inner_join(term_closings::table)
        .inner_join(lessons::table.inner_join(activities::table))
        .inner_join(people::table.on(people::id.eq(closed_term_changes::changed_by)))
        .filter(term_closings::school_id.eq_any(schools))
        .filter(term_closings::term_start.eq(term.first_day()))
        .select((
            term_closings::school_id,
            lessons::lesson_date,
            activities::display_name,
            closed_term_changes::changed_at,
            people::given_name,
            people::family_name,
            closed_term_changes::marks,
            closed_term_changes::reason,
        ))
        .order(closed_term_changes::changed_at.desc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(school, lesson_date, subject, changed_at, given, family, marks, reason)| Change {
                school,
                lesson_date,
                subject,
                changed_at,
                changed_by: format!("{given} {family}"),
                marks,
                reason,
            },
        )
        .collect())
}
