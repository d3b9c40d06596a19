//! The Swedish school calendar the generator follows: autumn and spring terms, the usual
//! breaks (höstlov, jullov, sportlov, påsklov) and the public holidays.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Easter Sunday (Gregorian; anonymous computus).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

fn monday_of_iso_week(year: i32, week: u32) -> Option<NaiveDate> {
    NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
}

/// Named days off in `year` that fall on weekdays, including the breaks.
pub fn holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut days = Vec::new();
    let mut add = |d: Option<NaiveDate>, name: &'static str| {
        if let Some(d) = d {
            if d.weekday().num_days_from_monday() < 5 {
                days.push((d, name));
            }
        }
    };
    let ymd = NaiveDate::from_ymd_opt;
    add(ymd(year, 1, 1), "Nyårsdagen");
    add(ymd(year, 1, 6), "Trettondedag jul");
    let e = easter(year);
    add(Some(e - Duration::days(2)), "Långfredagen");
    add(Some(e + Duration::days(1)), "Annandag påsk");
    add(ymd(year, 5, 1), "Första maj");
    add(Some(e + Duration::days(39)), "Kristi himmelsfärdsdag");
    add(ymd(year, 6, 6), "Sveriges nationaldag");
    for (week, name) in [(8, "Sportlov"), (44, "Höstlov")] {
        if let Some(mon) = monday_of_iso_week(year, week) {
            for i in 0..5 {
                add(Some(mon + Duration::days(i)), name);
            }
        }
    }
    // Påsklov: the week after Easter Monday's week starts on the Tuesday after Easter.
    for i in 2..5 {
        add(Some(e + Duration::days(i)), "Påsklov");
    }
    let mut d = ymd(year, 12, 22);
    while let Some(day) = d.filter(|d| d.year() == year) {
        add(Some(day), "Jullov");
        d = day.succ_opt();
    }
    let mut d = ymd(year, 1, 2);
    while let Some(day) = d.filter(|d| d.month() == 1 && d.day() <= 7) {
        add(Some(day), "Jullov");
        d = day.succ_opt();
    }
    days.sort();
    days.dedup_by_key(|(d, _)| *d);
    days
}

/// Monday of ISO week 34: when the autumn term starts.
pub fn school_year_start(year: i32) -> NaiveDate {
    monday_of_iso_week(year, 34).unwrap_or_default()
}

/// True inside a term (summer is out); weekends and holidays are checked separately.
pub fn in_term(d: NaiveDate) -> bool {
    let summer_start = NaiveDate::from_ymd_opt(d.year(), 6, 13).unwrap_or_default();
    let autumn_start = school_year_start(d.year());
    !(d >= summer_start && d < autumn_start)
}

/// The start of the school year that contains `d`.
pub fn school_year_containing(d: NaiveDate) -> NaiveDate {
    let this = school_year_start(d.year());
    if d >= this {
        this
    } else {
        school_year_start(d.year() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_dates() {
        assert_eq!(easter(2026), NaiveDate::from_ymd_opt(2026, 4, 5).unwrap());
        assert_eq!(easter(2027), NaiveDate::from_ymd_opt(2027, 3, 28).unwrap());
    }

    #[test]
    fn breaks_and_terms() {
        let h = holidays(2026);
        let has = |m, d| {
            h.iter()
                .any(|(x, _)| *x == NaiveDate::from_ymd_opt(2026, m, d).unwrap())
        };
        assert!(has(10, 26)); // höstlov, week 44
        assert!(has(12, 23)); // jullov
        assert!(has(4, 3)); // långfredagen
        assert!(!has(11, 23));
        assert!(!in_term(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()));
        assert!(in_term(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()));
        assert_eq!(
            school_year_containing(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()),
            school_year_start(2026)
        );
    }
}
