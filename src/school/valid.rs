//! What is valid on a date: a pupil's group membership and a person's duty each run from a
//! start date to an end date (open when there is none). Said once here, for every query
//! that asks who is in a group or who holds a duty (a roll call, a mentor's pupils, the
//! statistics, access, sign-in, the day's changes), so that a pupil who changes class is
//! counted in the right one on each date, and a duty that ended gives nothing more.

/// Group memberships (`group_memberships`).
pub mod membership {
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
}

/// Duties (`duties`): a role at an organisation, or for a group.
pub mod duty {
    use chrono::NaiveDate;
    use diesel::dsl::auto_type;
    use diesel::prelude::*;

    use crate::schema::duties;

    /// Duties valid at some time between `from` and `to` (inclusive).
    #[auto_type]
    pub fn during(from: NaiveDate, to: NaiveDate) -> _ {
        duties::start_date
            .le(to)
            .and(duties::end_date.is_null().or(duties::end_date.ge(from)))
    }

    /// Duties valid on `date`.
    pub fn on(date: NaiveDate) -> during {
        during(date, date)
    }

    /// Duties that have not ended before `date`: valid then, or from later.
    #[auto_type]
    pub fn not_ended_by(date: NaiveDate) -> _ {
        duties::end_date.is_null().or(duties::end_date.ge(date))
    }
}
