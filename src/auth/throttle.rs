//! Attempt limits: passwords per account and per client address, sign-in link requests,
//! API client secrets, and whatever second step a sign-in grows. An attempt is *reserved*
//! before the work it limits (the password hash, the secret check): [`take`] locks the
//! limit's key, counts the attempts held in its window and adds this one, in one write
//! transaction, so a burst of parallel attempts on any instance gets at most the limit
//! through. An attempt that succeeded is given back ([`give_back`]), so only failures (and
//! attempts still being checked) count.
//!
//! The windows run on the system clock, never on the school day's clock
//! (`NARVARO_CLOCK_START`): the callers pass `crate::school::clock::Clock::System.now()`, and every row of a window is
//! written and counted with that one clock.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::throttle_hits as h;
use crate::school::ids::PersonId;

pub const WINDOW_MINUTES: i64 = 15;
/// Failed attempts on one account within the window (since its last success), from
/// devices the person has not signed in on before.
pub const PER_ACCOUNT: i64 = 5;
/// Failed attempts from one address within the window, whatever the account.
pub const PER_ADDRESS: i64 = 30;
/// Sign-in link and password-reset requests from one address within the window.
pub const LINKS_PER_ADDRESS: i64 = 10;
/// Links one person is sent within the window; further requests send nothing.
pub const LINKS_PER_PERSON: i64 = 3;
/// Failed API client authentications from one address within the window.
pub const CLIENT_FAILURES_PER_ADDRESS: i64 = 20;

pub const FAILED: &str = "sign_in.failed";
pub const SUCCEEDED: &str = "sign_in.ok";
pub const THROTTLED: &str = "sign_in.throttled";
pub const LINK_REQUESTED: &str = "sign_in_link.requested";

/// One limit an attempt is held against: a key and how many attempts it may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    key: String,
    most: i64,
}

impl Limit {
    /// Password attempts on an account from devices it has not signed in on.
    pub fn account(person: PersonId) -> Limit {
        Limit {
            key: format!("account:{person}"),
            most: PER_ACCOUNT,
        }
    }

    /// Password attempts on an account from a device where the person signed in before:
    /// a counter of its own, so that somebody else's wrong guesses do not lock the person
    /// out on their own phone or laptop.
    pub fn known_device(person: PersonId) -> Limit {
        Limit {
            key: format!("device:{person}"),
            most: PER_ACCOUNT,
        }
    }

    /// Password attempts from one client address, whatever the account.
    pub fn address(addr: &str) -> Limit {
        Limit {
            key: format!("address:{addr}"),
            most: PER_ADDRESS,
        }
    }

    /// Link and password-reset requests from one client address.
    pub fn link_requests(addr: &str) -> Limit {
        Limit {
            key: format!("links:{addr}"),
            most: LINKS_PER_ADDRESS,
        }
    }

    /// API client authentications from one client address.
    pub fn client_secrets(addr: &str) -> Limit {
        Limit {
            key: format!("client:{addr}"),
            most: CLIENT_FAILURES_PER_ADDRESS,
        }
    }
}

/// The attempts one [`take`] reserved: give them back when the attempt succeeded.
#[derive(Debug, Clone, Default)]
pub struct Reserved {
    ids: Vec<i64>,
    /// the keys, for clearing an account's counters after a success
    keys: Vec<String>,
}

/// Seconds until the `most`-th newest of `times` leaves the window, when there are that many.
fn wait_secs(times: &[NaiveDateTime], most: i64, now: NaiveDateTime) -> Option<u64> {
    let oldest = times.get(usize::try_from(most).ok()?.checked_sub(1)?)?;
    let free_at = *oldest + Duration::minutes(WINDOW_MINUTES);
    Some((free_at - now).num_seconds().max(1) as u64)
}

/// Locks a limit's key until the end of the transaction. On PostgreSQL an advisory lock
/// on the key's hash (no row needs to exist first; a collision only makes two keys wait
/// for each other); SQLite's write transaction already holds the whole database.
fn lock_key(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(c)?;
    }
    Ok(())
}

/// Reserves one attempt against every limit, or says how long to wait when any of them
/// is full (then nothing is reserved). Must run inside a write transaction
/// ([`DbConn::write_transaction`]); the keys are locked in order, so two attempts that
/// share keys cannot deadlock.
pub fn take(
    conn: &mut DbConn,
    limits: &[Limit],
    now: NaiveDateTime,
) -> QueryResult<Result<Reserved, u64>> {
    let since = now - Duration::minutes(WINDOW_MINUTES);
    let mut ordered: Vec<&Limit> = limits.iter().collect();
    ordered.sort_by(|a, b| a.key.cmp(&b.key));
    ordered.dedup_by(|a, b| a.key == b.key);
    for limit in &ordered {
        lock_key(conn, &limit.key)?;
    }
    // what has left these keys' windows goes (only rows under the locks held, so that two
    // reservations never wait for each other's deletes); [`sweep`] takes the rest
    let keys: Vec<&str> = ordered.iter().map(|l| l.key.as_str()).collect();
    diesel::delete(
        h::table
            .filter(h::limit_key.eq_any(&keys))
            .filter(h::at.le(since)),
    )
    .execute(conn)?;
    let mut wait = None;
    for limit in &ordered {
        let held: Vec<NaiveDateTime> = h::table
            .filter(h::limit_key.eq(&limit.key))
            .filter(h::at.gt(since))
            .select(h::at)
            .order(h::at.desc())
            .limit(limit.most)
            .load(conn)?;
        wait = wait.max(wait_secs(&held, limit.most, now));
    }
    if let Some(wait) = wait {
        return Ok(Err(wait));
    }
    let mut reserved = Reserved::default();
    for limit in &ordered {
        let id: i64 = diesel::insert_into(h::table)
            .values((h::limit_key.eq(&limit.key), h::at.eq(now)))
            .returning(h::id)
            .get_result(conn)?;
        reserved.ids.push(id);
        reserved.keys.push(limit.key.clone());
    }
    Ok(Ok(reserved))
}

/// The attempt succeeded: it no longer counts against any of its limits.
pub fn give_back(conn: &mut DbConn, reserved: &Reserved) -> QueryResult<()> {
    if !reserved.ids.is_empty() {
        diesel::delete(h::table.filter(h::id.eq_any(&reserved.ids))).execute(conn)?;
    }
    Ok(())
}

/// A person signed in: their account's failures so far no longer count (the limit runs
/// "since the last success"), on either counter.
pub fn clear_account(conn: &mut DbConn, person: PersonId) -> QueryResult<()> {
    let keys = [Limit::account(person).key, Limit::known_device(person).key];
    diesel::delete(h::table.filter(h::limit_key.eq_any(keys))).execute(conn)?;
    Ok(())
}

/// Deletes every attempt whose window is over, whatever its key (the retention run, daily).
pub fn sweep(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(h::table.filter(h::at.le(now - Duration::minutes(WINDOW_MINUTES)))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_wait_runs_until_the_oldest_counted_attempt_leaves_the_window() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap();
        let times: Vec<_> = (0..5).map(|i| now - Duration::minutes(i * 2)).collect();
        // the fifth newest is 8 minutes old: 7 minutes to go
        assert_eq!(wait_secs(&times, 5, now), Some(7 * 60));
        assert_eq!(wait_secs(&times[..4], 5, now), None);
        assert_eq!(wait_secs(&times, 0, now), None);
    }

    #[test]
    fn a_device_has_a_counter_of_its_own() {
        assert_ne!(
            Limit::account(PersonId(7)),
            Limit::known_device(PersonId(7))
        );
        assert_eq!(Limit::account(PersonId(7)).most, PER_ACCOUNT);
        assert_ne!(Limit::address("10.0.0.1"), Limit::link_requests("10.0.0.1"));
    }
}
