//! The audit log: who did what to which record, from where, and when. Written in the same
//! transaction as the change it describes.

use diesel::prelude::*;
use serde_json::Value;

use crate::db::DbConn;
use crate::schema::audit_log;
use crate::school::ids::PersonId;

pub struct Entry<'a> {
    /// When it happened: the service clock's now, like the change it describes. A sign-in,
    /// a session or a link, which run on the system clock (`clock::system_now`), are
    /// recorded at its time.
    pub at: chrono::NaiveDateTime,
    pub actor: Option<PersonId>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<i64>,
    pub detail: Value,
    pub client_addr: Option<&'a str>,
}

pub fn record(conn: &mut DbConn, e: Entry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(e.at),
            audit_log::actor_id.eq(e.actor),
            audit_log::action.eq(e.action),
            audit_log::entity.eq(e.entity),
            audit_log::entity_id.eq(e.entity_id),
            audit_log::detail.eq(e.detail.to_string()),
            audit_log::client_addr.eq(e.client_addr),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records what the acting person did (`act`: who, when, from where) to a record.
pub fn acted(
    conn: &mut DbConn,
    act: &crate::school::Act,
    action: &str,
    entity: &str,
    id: impl Into<i64>,
    detail: Value,
) -> QueryResult<()> {
    record(
        conn,
        Entry {
            at: act.now,
            actor: Some(act.actor.id),
            action,
            entity,
            entity_id: Some(id.into()),
            detail,
            client_addr: Some(act.client_addr),
        },
    )
}

/// The ids of the audit rows about a person or by them: their own row (sign-ins among
/// them), the marks, reports, leave, notices, absence signals, investigations and reports
/// to the huvudman about them, and what
/// they did. For the register extract and for retention.
pub fn about(c: &mut DbConn, person: PersonId) -> QueryResult<Vec<i64>> {
    use crate::schema::{
        absence_cases, absence_reports, huvudman_reports, leave_applications, outbox, signals,
    };
    let reports = absence_reports::table
        .filter(absence_reports::pupil_id.eq(person))
        .select(absence_reports::id.nullable());
    let leave = leave_applications::table
        .filter(leave_applications::pupil_id.eq(person))
        .select(leave_applications::id.nullable());
    let signals = signals::table
        .filter(signals::pupil_id.eq(person))
        .select(signals::id.nullable());
    let cases = absence_cases::table
        .filter(absence_cases::pupil_id.eq(person))
        .select(absence_cases::id.nullable());
    let reported = huvudman_reports::table
        .filter(huvudman_reports::pupil_id.eq(person))
        .select(huvudman_reports::id.nullable());
    let notices: Vec<i64> = outbox::table
        .filter(
            outbox::pupil_id
                .eq(person)
                .or(outbox::recipient_id.eq(person)),
        )
        .select(outbox::id)
        .load(c)?;
    // a mark's row names the pupil in its detail (keys in order, no spaces)
    let mark_a = format!("%\"pupil_id\":{person},%");
    let mark_b = format!("%\"pupil_id\":{person}}}%");
    audit_log::table
        .filter(
            audit_log::actor_id
                .eq(person)
                .or(audit_log::entity
                    .eq("person")
                    .and(audit_log::entity_id.eq(person)))
                .or(audit_log::entity.eq("lesson").and(
                    audit_log::detail
                        .like(mark_a)
                        .or(audit_log::detail.like(mark_b)),
                ))
                .or(audit_log::entity
                    .eq("absence_report")
                    .and(audit_log::entity_id.eq_any(reports)))
                .or(audit_log::entity
                    .eq("leave_application")
                    .and(audit_log::entity_id.eq_any(leave)))
                .or(audit_log::entity
                    .eq("notice")
                    .and(audit_log::entity_id.eq_any(notices)))
                .or(audit_log::entity
                    .eq("signal")
                    .and(audit_log::entity_id.eq_any(signals)))
                .or(audit_log::entity
                    .eq("absence_case")
                    .and(audit_log::entity_id.eq_any(cases)))
                .or(audit_log::entity
                    .eq("huvudman_report")
                    .and(audit_log::entity_id.eq_any(reported))),
        )
        .select(audit_log::id)
        .load(c)
}
