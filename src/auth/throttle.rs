//! Sign-in attempt limits, per account and per client address. The attempts are the audit
//! log's `sign_in.failed` rows, so the limits hold across every instance of the service.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::error::AppResult;
use crate::schema::audit_log as a;

pub const WINDOW_MINUTES: i64 = 15;
/// Failed attempts on one account within the window (since its last success).
pub const PER_ACCOUNT: i64 = 5;
/// Failed attempts from one address within the window, whatever the account.
pub const PER_ADDRESS: i64 = 30;
/// Sign-in link and password-reset requests from one address within the window.
pub const LINKS_PER_ADDRESS: i64 = 10;
/// Links one person is sent within the window; further requests send nothing.
pub const LINKS_PER_PERSON: i64 = 3;

pub const FAILED: &str = "sign_in.failed";
pub const SUCCEEDED: &str = "sign_in.ok";
pub const THROTTLED: &str = "sign_in.throttled";
pub const LINK_REQUESTED: &str = "sign_in_link.requested";

/// Seconds until the `limit`-th newest of `times` leaves the window, when there are that many.
fn wait_secs(times: &[NaiveDateTime], limit: i64, now: NaiveDateTime) -> Option<u64> {
    let oldest = times.get(usize::try_from(limit).ok()? - 1)?;
    let free_at = *oldest + Duration::minutes(WINDOW_MINUTES);
    Some((free_at - now).num_seconds().max(1) as u64)
}

fn newest(
    conn: &mut DbConn,
    action: &str,
    since: NaiveDateTime,
    account: Option<i64>,
    addr: Option<&str>,
    limit: i64,
) -> AppResult<Vec<NaiveDateTime>> {
    let mut q = a::table
        .filter(a::action.eq(action))
        .filter(a::at.gt(since))
        .select(a::at)
        .order(a::at.desc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = account {
        q = q.filter(a::entity_id.eq(id));
    }
    if let Some(addr) = addr {
        q = q.filter(a::client_addr.eq(addr.to_string()));
    }
    Ok(q.load(conn)?)
}

/// How long the client must wait before another password attempt, if it must. An attempt
/// from a device where the account signed in before (`known_device`) is held back only by
/// the limit per account: many failures from one address (a school's one NAT address)
/// do not lock out the people who sign in there every day, while a password sprayer,
/// without their device cookies, stays limited per address.
pub fn sign_in_wait(
    conn: &mut DbConn,
    account: Option<i64>,
    addr: &str,
    known_device: bool,
    now: NaiveDateTime,
) -> AppResult<Option<u64>> {
    let window_start = now - Duration::minutes(WINDOW_MINUTES);
    let mut wait = None;
    if !known_device {
        let by_addr = newest(conn, FAILED, window_start, None, Some(addr), PER_ADDRESS)?;
        wait = wait_secs(&by_addr, PER_ADDRESS, now);
    }
    if let Some(id) = account {
        let last_ok: Option<NaiveDateTime> = a::table
            .filter(a::action.eq(SUCCEEDED))
            .filter(a::entity_id.eq(id))
            .select(diesel::dsl::max(a::at))
            .first(conn)?;
        let since = last_ok.map_or(window_start, |t| t.max(window_start));
        let by_account = newest(conn, FAILED, since, Some(id), None, PER_ACCOUNT)?;
        wait = wait.max(wait_secs(&by_account, PER_ACCOUNT, now));
    }
    Ok(wait)
}

/// How long the client must wait before asking for another link, if it must.
pub fn link_wait(conn: &mut DbConn, addr: &str, now: NaiveDateTime) -> AppResult<Option<u64>> {
    let since = now - Duration::minutes(WINDOW_MINUTES);
    let recent = newest(
        conn,
        LINK_REQUESTED,
        since,
        None,
        Some(addr),
        LINKS_PER_ADDRESS,
    )?;
    Ok(wait_secs(&recent, LINKS_PER_ADDRESS, now))
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
    }
}
