//! The acting context of a write: who acts, from where, and when, in the school's time.
//! The writes of staff, the day's changes, settings, trips, reasons, leave and the roll call
//! take one, and write their audit row from it.

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use super::viewer::Viewer;

/// Who acts, from where, and when (school-local today, UTC now, the school's time zone).
pub struct Act<'a> {
    pub actor: &'a Viewer,
    pub client_addr: &'a str,
    pub today: NaiveDate,
    pub now: NaiveDateTime,
    pub tz: Tz,
}

impl<'a> Act<'a> {
    /// `actor` acting from `client_addr` at (school-local today, UTC now, the school's time
    /// zone).
    pub fn new(
        actor: &'a Viewer,
        client_addr: &'a str,
        (today, now, tz): (NaiveDate, NaiveDateTime, Tz),
    ) -> Act<'a> {
        Act {
            actor,
            client_addr,
            today,
            now,
            tz,
        }
    }
}
