//! The second factor of a password account: a TOTP secret (`totp`) a person enrols with an
//! authenticator app, one-time recovery codes for a lost phone, and an administrator's
//! reset. Every check-then-write is one conditional update, so two requests with the same
//! code (or recovery code) at once let at most one through, on any instance.
//!
//! Who needs one: whoever enrolled, and whoever holds a duty in a role the municipality
//! requires it for (`NARVARO_SECOND_FACTOR_FOR`), who enrols at their next password sign-in.
//! Sign-ins through the municipality's identity provider (OpenID Connect) rely on the
//! provider's own multi-factor authentication and never ask for this one.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::secret::{self, NoRandomness};
use super::totp;
use crate::audit::{self, Entry};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::{duties, recovery_codes as rc, second_factors as sf};
use crate::school::ids::PersonId;
use crate::school::states::Role;

pub const ENROLLED: &str = "second_factor.enrolled";
pub const REMOVED: &str = "second_factor.removed";
pub const RESET: &str = "second_factor.reset";
pub const RECOVERY_USED: &str = "second_factor.recovery_used";

/// What a sign-in needs after the password (or a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    /// nothing more
    None,
    /// a code from the enrolled app, or a recovery code
    Code,
    /// the person's role requires a second factor and they have none yet: they enrol now
    Enrol,
}

/// Where a person's second factor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolment {
    None,
    Pending,
    Confirmed,
}

/// What a typed code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// a code from the app, for a step not used before
    Code,
    /// an unused recovery code (now used)
    Recovery,
    /// a right code already used (within its window, here or on another instance)
    Reused,
    Wrong,
}

pub fn enrolment(conn: &mut DbConn, person: PersonId) -> QueryResult<Enrolment> {
    let confirmed: Option<Option<NaiveDateTime>> = sf::table
        .find(person)
        .select(sf::confirmed_at)
        .first(conn)
        .optional()?;
    Ok(match confirmed {
        None => Enrolment::None,
        Some(None) => Enrolment::Pending,
        Some(Some(_)) => Enrolment::Confirmed,
    })
}

/// Whether the person holds a duty today in a role that requires a second factor.
pub fn required(
    conn: &mut DbConn,
    person: PersonId,
    today: NaiveDate,
    roles: &[Role],
) -> QueryResult<bool> {
    if roles.is_empty() {
        return Ok(false);
    }
    let held: i64 = duties::table
        .filter(duties::person_id.eq(person))
        .filter(duties::role.eq_any(roles.to_vec()))
        .filter(crate::school::valid::duty::on(today))
        .count()
        .get_result(conn)?;
    Ok(held > 0)
}

/// What a sign-in of `person` needs next.
pub fn needed(
    conn: &mut DbConn,
    person: PersonId,
    today: NaiveDate,
    roles: &[Role],
) -> QueryResult<SecondStep> {
    Ok(match enrolment(conn, person)? {
        Enrolment::Confirmed => SecondStep::Code,
        _ if required(conn, person, today, roles)? => SecondStep::Enrol,
        _ => SecondStep::None,
    })
}

/// The secret of a pending enrolment, made now when there is none (a page shown twice
/// shows the same QR code). None when the person is enrolled already.
pub fn pending_secret(
    conn: &mut DbConn,
    person: PersonId,
    now: NaiveDateTime,
) -> AppResult<Option<Vec<u8>>> {
    let fresh = totp::base32(&totp::new_secret().map_err(AppError::caused)?);
    conn.write_transaction(|conn| {
        // the person's row is locked: two pages shown at once make one secret
        conn.lock_person(person)?;
        let stored: Option<(String, Option<NaiveDateTime>)> = sf::table
            .find(person)
            .select((sf::secret, sf::confirmed_at))
            .first(conn)
            .optional()?;
        Ok(match stored {
            Some((_, Some(_))) => None,
            Some((stored, None)) => totp::from_base32(&stored),
            None => {
                diesel::insert_into(sf::table)
                    .values((
                        sf::person_id.eq(person),
                        sf::secret.eq(&fresh),
                        sf::created_at.eq(now),
                        sf::last_step.eq(0i64),
                    ))
                    .execute(conn)?;
                totp::from_base32(&fresh)
            }
        })
    })
}

/// What the database keeps of a recovery code: a hash bound to its person.
fn recovery_hash(person: PersonId, code: &str) -> String {
    secret::token_hash(&format!(
        "recovery:{person}:{}",
        totp::normalise_recovery(code)
    ))
}

/// Confirms a pending enrolment with a first code from the app (the step it was for is
/// taken, so the same code cannot sign in afterwards), and makes the recovery codes,
/// which are answered here once and kept only as hashes. None: no pending enrolment, or
/// the code is wrong.
pub fn confirm(
    conn: &mut DbConn,
    person: PersonId,
    typed: &str,
    (now_step, now): (i64, NaiveDateTime),
    addr: &str,
) -> AppResult<Option<Vec<String>>> {
    let codes = totp::new_recovery_codes().map_err(|e: NoRandomness| AppError::caused(e))?;
    conn.write_transaction(|conn| {
        let pending: Option<String> = sf::table
            .find(person)
            .filter(sf::confirmed_at.is_null())
            .select(sf::secret)
            .first(conn)
            .optional()?;
        let secret = pending.as_deref().and_then(totp::from_base32);
        let step = match (secret, totp::normalise_code(typed)) {
            (Some(secret), Some(code)) => totp::matching_step(&secret, &code, now_step),
            _ => None,
        };
        let Some(step) = step else { return Ok(None) };
        let confirmed = diesel::update(sf::table.find(person))
            .filter(sf::confirmed_at.is_null())
            .set((sf::confirmed_at.eq(now), sf::last_step.eq(step)))
            .execute(conn)?;
        if confirmed != 1 {
            return Ok(None);
        }
        diesel::delete(rc::table.filter(rc::person_id.eq(person))).execute(conn)?;
        for code in &codes {
            diesel::insert_into(rc::table)
                .values((
                    rc::person_id.eq(person),
                    rc::code_hash.eq(recovery_hash(person, code)),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            Entry {
                at: now,
                actor: Some(person),
                action: ENROLLED,
                entity: "person",
                entity_id: Some(person.into()),
                detail: json!({"recovery_codes": codes.len()}),
                client_addr: Some(addr),
            },
        )?;
        Ok(Some(codes.clone()))
    })
}

/// Checks a typed code (six digits: the app; anything else: a recovery code) and takes
/// it: an app code's step becomes the last one used, a recovery code is spent. Both in one
/// conditional update, so a code is accepted once, whatever runs in parallel.
pub fn verify(
    conn: &mut DbConn,
    person: PersonId,
    typed: &str,
    (now_step, now): (i64, NaiveDateTime),
) -> QueryResult<Checked> {
    let enrolled: Option<(String, i64)> = sf::table
        .find(person)
        .filter(sf::confirmed_at.is_not_null())
        .select((sf::secret, sf::last_step))
        .first(conn)
        .optional()?;
    let Some((secret, last_step)) = enrolled else {
        return Ok(Checked::Wrong);
    };
    if let Some(code) = totp::normalise_code(typed) {
        let step = totp::from_base32(&secret)
            .and_then(|secret| totp::matching_step(&secret, &code, now_step));
        return Ok(match step {
            None => Checked::Wrong,
            Some(step) if step <= last_step => Checked::Reused,
            Some(step) => {
                let taken = diesel::update(sf::table.find(person))
                    .filter(sf::last_step.lt(step))
                    .set(sf::last_step.eq(step))
                    .execute(conn)?;
                if taken == 1 {
                    Checked::Code
                } else {
                    Checked::Reused
                }
            }
        });
    }
    if totp::normalise_recovery(typed).len() != 10 {
        return Ok(Checked::Wrong);
    }
    let spent = diesel::update(
        rc::table
            .filter(rc::person_id.eq(person))
            .filter(rc::code_hash.eq(recovery_hash(person, typed)))
            .filter(rc::used_at.is_null()),
    )
    .set(rc::used_at.eq(now))
    .execute(conn)?;
    Ok(if spent == 1 {
        Checked::Recovery
    } else {
        Checked::Wrong
    })
}

/// Recovery codes not used yet.
pub fn recovery_left(conn: &mut DbConn, person: PersonId) -> QueryResult<i64> {
    rc::table
        .filter(rc::person_id.eq(person))
        .filter(rc::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Takes a person's second factor away (the person themself, with a code; or an
/// administrator's reset for a lost phone, `by` the administrator), audited. The person
/// enrols again; where their role requires it, at their next sign-in. False: there was none.
pub fn remove(
    conn: &mut DbConn,
    person: PersonId,
    by: PersonId,
    (now, addr): (NaiveDateTime, &str),
) -> QueryResult<bool> {
    conn.write_transaction(|conn| {
        diesel::delete(rc::table.filter(rc::person_id.eq(person))).execute(conn)?;
        let removed = diesel::delete(sf::table.find(person)).execute(conn)?;
        if removed > 0 {
            audit::record(
                conn,
                Entry {
                    at: now,
                    actor: Some(by),
                    action: if by == person { REMOVED } else { RESET },
                    entity: "person",
                    entity_id: Some(person.into()),
                    detail: json!({}),
                    client_addr: Some(addr),
                },
            )?;
        }
        Ok(removed > 0)
    })
}
