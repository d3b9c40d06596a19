//! Group membership over time: a pupil is in a group on a date when the membership has
//! started by then and has not ended before it. Said once here, for every query that asks
//! who is in a group (a roll call, a mentor's pupils, the statistics, access), so that a
//! pupil who changes class is counted in the right one on each date.

use chrono::NaiveDate;
use diesel::dsl::auto_type;
use diesel::prelude::*;

use crate::schema::group_memberships;

/// Memberships valid at some time between `from` and `to` (inclusive).
#[auto_type]
pub fn during(from: NaiveDate, to: NaiveDate) -> _ {
    group_memberships::start_date.le(to).and(
        group_memberships::end_date
            .is_null()
            .or(group_memberships::end_date.ge(from)),
    )
}

/// Memberships valid on `date`.
pub fn on(date: NaiveDate) -> during {
    during(date, date)
}
