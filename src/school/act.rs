//! The acting context of a write: who acts, from where, and when, in the school's time.
//! Every capability that changes something takes one, and writes its audit row from it.

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
