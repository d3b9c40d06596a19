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

/// The system clock, unmoved: for the security windows (sessions, sign-in limits, link
/// lifetimes) and what is recorded about them. Everything else reads a [`Clock`].
pub fn system_now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// A calendar date as people and forms write it, `YYYY-MM-DD` with a four-digit year
/// (0000–9999), and nothing else: chrono alone would also read a signed year such as
/// `-5000-01-01` (before PostgreSQL's first day, 4713 BC) or `+20000-01-01`. Every date
/// that arrives from outside (a form, a query, a JSON body) is read by this one rule.
pub fn parse_day(raw: &str) -> Option<NaiveDate> {
    let b = raw.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

/// A date-time written `YYYY-MM-DDTHH:MM[:SS]` (no zone), with the date read as
/// [`parse_day`] reads it.
pub fn parse_local_instant(raw: &str) -> Option<NaiveDateTime> {
    let (day, time) = raw.split_once('T')?;
    let day = parse_day(day)?;
    let time = chrono::NaiveTime::parse_from_str(time, "%H:%M:%S")
        .or_else(|_| chrono::NaiveTime::parse_from_str(time, "%H:%M"))
        .ok()?;
    Some(day.and_time(time))
}

/// Serde: a date field read by [`parse_day`] (`#[serde(deserialize_with = ...)]`).
pub fn de_day<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let raw = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    parse_day(&raw).ok_or_else(|| serde::de::Error::custom("a date is written YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_day_has_a_four_digit_year_and_nothing_else() {
        assert_eq!(
            parse_day("2026-12-01"),
            NaiveDate::from_ymd_opt(2026, 12, 1)
        );
        for bad in [
            "-5000-01-01",
            "+20000-01-01",
            "20000-01-01",
            "2026-1-01",
            "2026-02-30",
            " 2026-12-01",
            "2026-12-01T00:00",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        assert!(parse_local_instant("2026-12-01T08:10").is_some());
        assert!(parse_local_instant("2026-12-01T08:10:30").is_some());
        assert_eq!(parse_local_instant("-4714-12-01T08:10"), None);
    }

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
