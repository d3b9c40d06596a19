//! The clock the school day runs on: what "now" and "today" are for roll calls, reports,
//! leave and notices. It is the system clock in a running service; a test sets it to a
//! moment of its choosing (`Clock::starting_at`), so that no test depends on the day or
//! the hour it runs. Time still passes on a set clock, from that moment.
//!
//! Sessions, sign-in limits and link lifetimes are security windows and stay on the
//! system clock.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    System,
    /// The system clock moved by this much.
    Offset(Duration),
}

impl Clock {
    /// A clock that reads `moment` now, and runs on from there.
    pub fn starting_at(moment: DateTime<Utc>) -> Clock {
        Clock::Offset(moment - Utc::now())
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Offset(d) => Utc::now() + *d,
        }
    }

    /// Now, in UTC without a zone (as the database stores instants).
    pub fn now_utc(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    /// The school-local date.
    pub fn today(&self, tz: Tz) -> NaiveDate {
        self.now().with_timezone(&tz).date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_set_clock_reads_its_moment_and_runs_on() {
        let moment = Utc.with_ymd_and_hms(2026, 11, 24, 7, 30, 0).unwrap();
        let clock = Clock::starting_at(moment);
        let read = clock.now();
        assert!(read >= moment && read - moment < Duration::seconds(5));
        assert_eq!(
            clock.today(chrono_tz::Europe::Stockholm),
            NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
        );
    }
}
