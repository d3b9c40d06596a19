//! Single-use links: a guardian's sign-in link, a staff invitation, a password reset.
//! The link carries 256 random bits; the database keeps only their hash, the purpose,
//! and the expiry. Using a link is one atomic UPDATE, so it works once, on any instance.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::secret;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::schema::one_time_tokens as t;
use crate::school::ids::PersonId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    Invite,
    Reset,
}

impl Purpose {
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "sign_in" => Some(Purpose::SignIn),
            "invite" => Some(Purpose::Invite),
            "reset" => Some(Purpose::Reset),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign_in",
            Purpose::Invite => "invite",
            Purpose::Reset => "reset",
        }
    }

    /// Sign-in links and resets last 15 minutes; an invitation three days, since the
    /// new colleague may not read their mail at once.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::SignIn | Purpose::Reset => Duration::minutes(15),
            Purpose::Invite => Duration::days(3),
        }
    }
}

/// A new link secret for `person`.
pub fn create(
    conn: &mut DbConn,
    person: PersonId,
    purpose: Purpose,
    now: NaiveDateTime,
) -> AppResult<String> {
    let token = secret::random_hex(32).map_err(AppError::caused)?;
    diesel::insert_into(t::table)
        .values((
            t::token_hash.eq(secret::token_hash(&token)),
            t::person_id.eq(person),
            t::purpose.eq(purpose.as_str()),
            t::created_at.eq(now),
            t::expires_at.eq(now + purpose.lifetime()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// How many links of this purpose the person was sent since `since`.
pub fn recent(
    conn: &mut DbConn,
    person: PersonId,
    purpose: Purpose,
    since: NaiveDateTime,
) -> AppResult<i64> {
    Ok(t::table
        .filter(t::person_id.eq(person))
        .filter(t::purpose.eq(purpose.as_str()))
        .filter(t::created_at.gt(since))
        .count()
        .get_result(conn)?)
}

fn plausible(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The person a still-valid, unused link belongs to, without using it (for the page that
/// asks the person to confirm: mail scanners that open links must not spend them).
pub fn peek(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
    now: NaiveDateTime,
) -> AppResult<Option<PersonId>> {
    if !plausible(token) {
        return Ok(None);
    }
    Ok(t::table
        .filter(t::token_hash.eq(secret::token_hash(token)))
        .filter(t::purpose.eq(purpose.as_str()))
        .filter(t::used_at.is_null())
        .filter(t::expires_at.gt(now))
        .select(t::person_id)
        .first(conn)
        .optional()?)
}

/// Uses the link: the person it belongs to, once; None when it is unknown, used, expired,
/// or for another purpose.
pub fn consume(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
    now: NaiveDateTime,
) -> AppResult<Option<PersonId>> {
    if !plausible(token) {
        return Ok(None);
    }
    Ok(diesel::update(
        t::table
            .filter(t::token_hash.eq(secret::token_hash(token)))
            .filter(t::purpose.eq(purpose.as_str()))
            .filter(t::used_at.is_null())
            .filter(t::expires_at.gt(now)),
    )
    .set(t::used_at.eq(now))
    .returning(t::person_id)
    .get_result(conn)
    .optional()?)
}

/// Ends every unused link of the person (after a password is set, or when the person is
/// ended).
pub fn revoke_all(conn: &mut DbConn, person: PersonId, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        t::table
            .filter(t::person_id.eq(person))
            .filter(t::used_at.is_null()),
    )
    .set(t::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}
